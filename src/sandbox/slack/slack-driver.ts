/**
 * Requests INTO the bot, built and signed the way Slack builds and signs them: slash commands as form
 * bodies, interactions as a `payload=<json>` form field, `X-Slack-Signature: v0=hmac_sha256("v0:ts:body")`.
 * Button clicks and view submissions are built from what the bot actually put in FakeSlack, so a test
 * (or a person on the sandbox page) can only click a button the bot really rendered.
 */
import { createHmac } from 'node:crypto';
import { type Agent, request } from 'node:http';
import { elementsOf, isObject, type JsonObject } from './block-kit-rules.js';
import type { FakeSlack } from './fake-slack.js';

/** Exactly Slack's content type; Bolt 4's HTTP receiver answers 400 when `; charset=utf-8` is added. */
export const SLACK_CONTENT_TYPE = 'application/x-www-form-urlencoded';

/** Headers Slack sends with a request body: timestamp and `v0=` HMAC-SHA256 signature of `v0:<ts>:<body>`. */
export function signRequest(
  rawBody: string,
  signingSecret: string,
  timestampSeconds: number = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const signature = createHmac('sha256', signingSecret)
    .update(`v0:${timestampSeconds}:${rawBody}`)
    .digest('hex');
  return {
    'Content-Type': SLACK_CONTENT_TYPE,
    'X-Slack-Request-Timestamp': String(timestampSeconds),
    'X-Slack-Signature': `v0=${signature}`,
  };
}

export interface DriverResponse {
  status: number;
  /** Parsed JSON when the bot answered JSON, else the raw text ('' for an empty 200). */
  body: unknown;
}

export interface SlashResult extends DriverResponse {
  responseUrl: string;
  triggerId: string;
  /** What Slack made of the immediate answer: `ok`, or the error it would show (e.g. `invalid_blocks`). */
  delivery: string;
}

export interface InteractionResult extends DriverResponse {
  payload: JsonObject;
  triggerId: string;
  responseUrl?: string;
}

export interface MessageRef {
  channel: string;
  ts: string;
}

export interface ButtonMatch {
  actionId: string;
  value?: string;
  blockId?: string;
  where?: (button: JsonObject, block: JsonObject) => boolean;
}

/** What a user enters in a modal: keyed by block_id (or action_id); strings, lists of strings, or a number. */
export type ViewValues = Record<string, string | string[] | number | null>;

export interface SlackDriverOptions {
  /** The bot's Request URL, e.g. `http://127.0.0.1:<port>/slack/events`. */
  eventsUrl: string;
  signingSecret: string;
  slack: FakeSlack;
  teamId?: string;
  apiAppId?: string;
  /** The deprecated verification token Slack still puts in payloads. */
  verificationToken?: string;
  /** Carries the requests (a test picks its own keep-alive sockets); default Node's global agent. */
  agent?: Agent;
}

export class SlackDriver {
  private readonly eventsUrl: string;
  private readonly signingSecret: string;
  private readonly slack: FakeSlack;
  private readonly teamId: string;
  private readonly apiAppId: string;
  private readonly verificationToken: string;
  private readonly agent: Agent | undefined;

  constructor(options: SlackDriverOptions) {
    this.eventsUrl = options.eventsUrl;
    this.signingSecret = options.signingSecret;
    this.slack = options.slack;
    this.teamId = options.teamId ?? options.slack.teamId;
    this.apiAppId = options.apiAppId ?? options.slack.appId;
    this.verificationToken = options.verificationToken ?? 'fake-verification-token';
    this.agent = options.agent;
  }

  /** POSTs a raw body to the bot, signed now unless other headers are given (for unsigned/stale tests). */
  async send(rawBody: string, headers: Record<string, string> = signRequest(rawBody, this.signingSecret)) {
    return postRaw(this.eventsUrl, rawBody, headers, this.agent);
  }

  /** The form body Slack sends for a slash command, with a fresh response_url and trigger_id. */
  slashCommandBody(userId: string, channelId: string, command: string, text: string) {
    const responseUrl = this.slack.newResponseUrl({ channel: channelId, user: userId });
    const triggerId = this.slack.newTriggerId(userId);
    const body = new URLSearchParams({
      token: this.verificationToken,
      team_id: this.teamId,
      team_domain: this.slack.teamDomain,
      channel_id: channelId,
      channel_name: this.slack.channelName(channelId),
      user_id: userId,
      user_name: this.slack.userName(userId),
      command,
      text,
      api_app_id: this.apiAppId,
      is_enterprise_install: 'false',
      response_url: responseUrl,
      trigger_id: triggerId,
    }).toString();
    return { body, responseUrl, triggerId };
  }

  /**
   * Types `/command text` in a channel. The bot's immediate answer (the `ack(...)` body) is shown the way
   * Slack shows it: an ephemeral to the user, or a channel message with `response_type: 'in_channel'`.
   */
  async slash(userId: string, channelId: string, command: string, text: string): Promise<SlashResult> {
    const { body, responseUrl, triggerId } = this.slashCommandBody(userId, channelId, command, text);
    const response = await this.send(body);
    const delivery =
      response.status === 200
        ? this.slack.deliverCommandResponse({ channel: channelId, user: userId }, response.body)
        : `http_${response.status}`;
    return { ...response, responseUrl, triggerId, delivery };
  }

  /** Clicks a button on a message as it is now in FakeSlack (found by action_id and optionally value/block). */
  async clickButton(userId: string, where: MessageRef, match: ButtonMatch): Promise<InteractionResult> {
    const { message, block, element } = this.findElement(where, 'button', match);
    const action: JsonObject = {
      type: 'button',
      action_id: element.action_id,
      block_id: block.block_id,
      text: element.text,
      ...(element.value !== undefined ? { value: element.value } : {}),
      ...(element.style !== undefined ? { style: element.style } : {}),
      ...(element.url !== undefined ? { url: element.url } : {}),
      action_ts: actionTs(),
    };
    return this.sendBlockAction(userId, where, message, action);
  }

  /** Picks an option (by value) from an overflow menu on a message. */
  async selectOverflow(
    userId: string,
    where: MessageRef,
    match: { actionId: string; value: string; blockId?: string },
  ): Promise<InteractionResult> {
    const { message, block, element } = this.findElement(where, 'overflow', {
      actionId: match.actionId,
      blockId: match.blockId,
    });
    const options = Array.isArray(element.options) ? element.options.filter(isObject) : [];
    const option = options.find((candidate) => candidate.value === match.value);
    if (!option) {
      const values = options.map((candidate) => String(candidate.value)).join(', ');
      throw new Error(
        `Overflow ${String(element.action_id)} has no option with value "${match.value}" (has: ${values})`,
      );
    }
    const action: JsonObject = {
      type: 'overflow',
      action_id: element.action_id,
      block_id: block.block_id,
      selected_option: { text: option.text, value: option.value },
      action_ts: actionTs(),
    };
    return this.sendBlockAction(userId, where, message, action);
  }

  /**
   * Submits a modal the bot opened, with what the user typed or picked per input (keyed by block_id or
   * action_id). Throws where the Slack client would refuse to submit (a required input left empty, text
   * outside min/max length, an option that is not offered).
   */
  async submitView(userId: string, viewId: string, values: ViewValues = {}): Promise<InteractionResult> {
    const stored = this.slack.view(viewId);
    if (!stored) throw new Error(`No view ${viewId} was opened in FakeSlack`);
    if (stored.state !== 'open') throw new Error(`View ${viewId} is closed; the user cannot submit it`);
    if (stored.user !== userId)
      throw new Error(`View ${viewId} was opened for ${stored.user}, not ${userId}`);
    const stateValues = viewStateValues(stored.view, values);
    const triggerId = this.slack.newTriggerId(userId);
    const payload: JsonObject = {
      type: 'view_submission',
      team: { id: this.teamId, domain: this.slack.teamDomain },
      user: this.user(userId),
      api_app_id: this.apiAppId,
      token: this.verificationToken,
      trigger_id: triggerId,
      view: this.slack.viewJson(stored, stateValues),
      response_urls: [],
      is_enterprise_install: false,
      enterprise: null,
    };
    const response = await this.sendPayload(payload);
    if (response.status === 200) {
      const complaints = this.slack.applyViewSubmissionResult(viewId, response.body);
      if (complaints.length > 0)
        throw new Error(`Slack would reject the response_action update view: ${complaints.join('; ')}`);
    }
    return { ...response, payload, triggerId };
  }

  /**
   * Closes a modal the way a person does (Cancel or ×). Slack tells the app only when the view asked for
   * it (`notify_on_close`), with a `view_closed` payload; otherwise nothing is sent.
   */
  async closeView(userId: string, viewId: string): Promise<DriverResponse | undefined> {
    const stored = this.slack.view(viewId);
    if (stored?.state !== 'open') throw new Error(`View ${viewId} is not open`);
    if (stored.user !== userId)
      throw new Error(`View ${viewId} was opened for ${stored.user}, not ${userId}`);
    this.slack.closeView(viewId);
    if (stored.view.notify_on_close !== true) return undefined;
    return this.sendPayload({
      type: 'view_closed',
      team: { id: this.teamId, domain: this.slack.teamDomain },
      user: this.user(userId),
      api_app_id: this.apiAppId,
      token: this.verificationToken,
      view: this.slack.viewJson(stored),
      is_cleared: false,
      is_enterprise_install: false,
      enterprise: null,
    });
  }

  // -------------------------------------------------------------------------

  private user(userId: string): JsonObject {
    const name = this.slack.userName(userId);
    return { id: userId, username: name, name, team_id: this.teamId };
  }

  private async sendPayload(payload: JsonObject): Promise<DriverResponse> {
    return this.send(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
  }

  private async sendBlockAction(
    userId: string,
    where: MessageRef,
    message: JsonObject,
    action: JsonObject,
  ): Promise<InteractionResult> {
    const threadTs =
      typeof message.thread_ts === 'string' && message.thread_ts !== where.ts ? message.thread_ts : undefined;
    const responseUrl = this.slack.newResponseUrl({
      channel: where.channel,
      user: userId,
      messageTs: where.ts,
      ...(threadTs ? { threadTs } : {}),
    });
    const triggerId = this.slack.newTriggerId(userId);
    const payload: JsonObject = {
      type: 'block_actions',
      user: this.user(userId),
      api_app_id: this.apiAppId,
      token: this.verificationToken,
      container: {
        type: 'message',
        message_ts: where.ts,
        channel_id: where.channel,
        is_ephemeral: false,
        ...(threadTs ? { thread_ts: threadTs } : {}),
      },
      trigger_id: triggerId,
      team: { id: this.teamId, domain: this.slack.teamDomain },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: where.channel, name: this.slack.channelName(where.channel) },
      message,
      state: { values: {} },
      response_url: responseUrl,
      actions: [action],
    };
    const response = await this.sendPayload(payload);
    return { ...response, payload, triggerId, responseUrl };
  }

  private findElement(where: MessageRef, type: string, match: ButtonMatch) {
    const stored = this.slack.message(where.channel, where.ts);
    if (!stored)
      throw new Error(`No message ${where.ts} in ${where.channel} (it was never posted, or was deleted)`);
    const available: string[] = [];
    for (const block of stored.blocks) {
      for (const element of elementsOf(block)) {
        if (element.type !== type) continue;
        available.push(describeElement(block, element));
        const matches =
          element.action_id === match.actionId &&
          (match.value === undefined || element.value === match.value) &&
          (match.blockId === undefined || block.block_id === match.blockId) &&
          (match.where === undefined || match.where(element, block));
        if (matches) return { message: this.slack.messageJson(stored), block, element };
      }
    }
    const wanted = JSON.stringify({ actionId: match.actionId, value: match.value, blockId: match.blockId });
    throw new Error(
      `No ${type} matching ${wanted} on message ${where.ts} in ${where.channel}. ` +
        `Available: ${available.length > 0 ? available.join('; ') : 'none'}`,
    );
  }
}

function describeElement(block: JsonObject, element: JsonObject): string {
  const label = isObject(element.text) ? ` "${String(element.text.text)}"` : '';
  const value = element.value !== undefined ? ` value=${String(element.value)}` : '';
  return `${String(block.block_id)}/${String(element.action_id)}${label}${value}`;
}

function actionTs(): string {
  return (Date.now() / 1000).toFixed(6);
}

/** `state.values` as Slack builds it for a view_submission: every input block, `null` where left empty. */
function viewStateValues(view: JsonObject, values: ViewValues): JsonObject {
  const state: Record<string, JsonObject> = {};
  const used = new Set<string>();
  const blocks = Array.isArray(view.blocks) ? view.blocks.filter(isObject) : [];
  for (const block of blocks) {
    if (block.type !== 'input' || !isObject(block.element)) continue;
    const element = block.element;
    const blockId = String(block.block_id);
    const actionId = String(element.action_id);
    const key = blockId in values ? blockId : actionId in values ? actionId : undefined;
    if (key !== undefined) used.add(key);
    const given = key === undefined ? undefined : values[key];
    const label = isObject(block.label) ? String(block.label.text) : blockId;
    const entry = stateValue(element, given, label);
    const empty = Object.entries(entry).every(
      ([field, v]) => field === 'type' || v === null || (Array.isArray(v) && v.length === 0),
    );
    if (empty && block.optional !== true)
      throw new Error(`Slack would not submit: "${label}" is required and empty`);
    state[blockId] = { [actionId]: entry };
  }
  const unknown = Object.keys(values).filter((key) => !used.has(key));
  if (unknown.length > 0)
    throw new Error(`The view has no input block or action_id named: ${unknown.join(', ')}`);
  return state;
}

function stateValue(element: JsonObject, given: ViewValues[string] | undefined, label: string): JsonObject {
  const type = String(element.type);
  const single = (v: unknown) => (v === undefined || v === null || v === '' ? null : String(v));
  const many = (v: unknown) =>
    Array.isArray(v) ? v.map(String) : v === undefined || v === null ? [] : [String(v)];
  switch (type) {
    case 'plain_text_input':
    case 'email_text_input':
    case 'url_text_input':
    case 'number_input': {
      const value = single(given ?? element.initial_value);
      checkLength(element, value, label);
      return { type, value };
    }
    case 'static_select':
    case 'radio_buttons': {
      const initial = isObject(element.initial_option) ? element.initial_option.value : undefined;
      const value = single(given ?? initial);
      return { type, selected_option: value === null ? null : findOption(element, value, label) };
    }
    case 'multi_static_select':
    case 'checkboxes': {
      const initial = Array.isArray(element.initial_options)
        ? element.initial_options.filter(isObject).map((o) => o.value)
        : undefined;
      return {
        type,
        selected_options: many(given ?? initial).map((value) => findOption(element, value, label)),
      };
    }
    case 'users_select':
      return { type, selected_user: single(given ?? element.initial_user) };
    case 'multi_users_select':
      return { type, selected_users: many(given ?? element.initial_users) };
    case 'conversations_select':
      return { type, selected_conversation: single(given ?? element.initial_conversation) };
    case 'channels_select':
      return { type, selected_channel: single(given ?? element.initial_channel) };
    case 'datepicker':
      return { type, selected_date: single(given ?? element.initial_date) };
    case 'timepicker':
      return { type, selected_time: single(given ?? element.initial_time) };
    case 'datetimepicker': {
      const value = given ?? element.initial_date_time;
      return {
        type,
        selected_date_time: typeof value === 'number' ? value : value == null ? null : Number(value),
      };
    }
    default:
      throw new Error(`SlackDriver cannot fill a ${type} input yet ("${label}")`);
  }
}

function checkLength(element: JsonObject, value: string | null, label: string): void {
  if (value === null) return;
  if (typeof element.max_length === 'number' && value.length > element.max_length)
    throw new Error(`Slack would not submit: "${label}" is longer than ${element.max_length} characters`);
  if (typeof element.min_length === 'number' && value.length < element.min_length)
    throw new Error(`Slack would not submit: "${label}" is shorter than ${element.min_length} characters`);
}

function findOption(element: JsonObject, value: string, label: string): JsonObject {
  const groups = Array.isArray(element.option_groups) ? element.option_groups.filter(isObject) : [];
  const options = [
    ...(Array.isArray(element.options) ? element.options : []),
    ...groups.flatMap((group) => (Array.isArray(group.options) ? group.options : [])),
  ].filter(isObject);
  const option = options.find((candidate) => candidate.value === value);
  if (!option) {
    const offered = options.map((candidate) => String(candidate.value)).join(', ');
    throw new Error(`"${label}" offers no option "${value}" (offers: ${offered})`);
  }
  return structuredClone(option);
}

async function postRaw(
  url: string,
  rawBody: string,
  headers: Record<string, string>,
  agent: Agent | undefined,
): Promise<DriverResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(rawBody)) },
        ...(agent ? { agent } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          if ((res.headers['content-type'] ?? '').includes('application/json') || /^[[{]/.test(text)) {
            try {
              body = JSON.parse(text);
            } catch {
              body = text;
            }
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(rawBody);
  });
}
