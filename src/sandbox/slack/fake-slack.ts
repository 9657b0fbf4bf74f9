/**
 * A fake Slack Web API on loopback that answers the way Slack does: same methods, same argument checks,
 * same error codes, Block Kit limits, 429 + Retry-After, single-use trigger ids and five-use response URLs.
 * Off by default, it also keeps Slack's pace (`limits`: posts per channel, calls per method) and loses
 * answers on request (`loseAnswer`: the call is carried out, then answered 500 or the connection closes).
 * The bot talks to it through the real `@slack/web-api` client (`clientOptions.slackApiUrl = slack.apiUrl`);
 * tests read what the bot did through `messages()`, `thread()`, `ephemerals`, `views`, `responses`, `calls`,
 * and the sandbox (`npm start` without credentials) shows the same to a person in its web page.
 *
 * Beside it: types.ts (what it records), api-call.ts (reading a call's arguments and token; the `{ok: false}`
 * error), pace.ts (429s: throttles, per-minute tiers, posts per channel), block-kit-rules.ts (Slack's limits).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { flagArg, invalid, readApiCall, readBody, SlackApiError, stringArg } from './api-call.js';
import {
  blockTextLength,
  describeProblems,
  isObject,
  type JsonObject,
  MESSAGE_LIMITS,
  messageBlockProblems,
  modalViewProblems,
  withGeneratedIds,
} from './block-kit-rules.js';
import { SlackPace } from './pace.js';
import type {
  FakeCall,
  FakeEphemeral,
  FakeMessage,
  FakeResponse,
  FakeSlackChange,
  FakeSlackOptions,
  FakeView,
  LostAnswer,
  MessageMetadata,
  ResponseContext,
} from './types.js';

interface TriggerRecord {
  user: string;
  issuedAt: number;
  used: boolean;
}

interface ResponseUrlRecord extends ResponseContext {
  createdAt: number;
  uses: number;
}

type Handler = (args: JsonObject) => JsonObject;

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomId(length: number, alphabet = ALPHANUMERIC): string {
  const bytes = randomBytes(length);
  return Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join('');
}

export class FakeSlack {
  readonly teamId: string;
  readonly teamDomain: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly appId: string;

  private readonly server: Server;
  private readonly port: number;
  private readonly options: Required<
    Pick<FakeSlackOptions, 'maxBlockTextChars' | 'triggerTtlMs' | 'responseUrlTtlMs' | 'responseUrlMaxUses'>
  >;
  private readonly botToken: string;
  private readonly channelsById = new Map<string, { id: string; name: string; isPrivate: boolean }>();
  private readonly usersById: Map<string, { name: string; realName?: string; isBot?: boolean; tz?: string }>;
  private readonly usergroups: Map<string, string[]>;

  private readonly messageStore = new Map<string, FakeMessage[]>();
  private readonly ephemeralStore: FakeEphemeral[] = [];
  private readonly viewStore = new Map<string, FakeView>();
  private readonly triggers = new Map<string, TriggerRecord>();
  private readonly responseUrls = new Map<string, ResponseUrlRecord>();
  private readonly responseLog: FakeResponse[] = [];
  private readonly callLog: FakeCall[] = [];
  private readonly failures = new Map<string, SlackApiError[]>();
  private readonly pace: SlackPace;
  private readonly lostAnswers = new Map<string, LostAnswer[]>();
  private lastTsMicros = 0;
  private readonly watchers = new Set<(change: FakeSlackChange) => void>();

  private readonly handlers: Record<string, Handler> = {
    'api.test': (args) => ({ args }),
    'auth.test': () => this.authTest(),
    'chat.postMessage': (args) => this.postMessage(args),
    'chat.update': (args) => this.updateMessage(args),
    'chat.delete': (args) => this.deleteMessage(args),
    'chat.postEphemeral': (args) => this.postEphemeral(args),
    'chat.getPermalink': (args) => this.getPermalink(args),
    'views.open': (args) => this.openView(args),
    'views.update': (args) => this.updateView(args),
    'usergroups.users.list': (args) => this.usergroupUsers(args),
    'users.info': (args) => this.userInfo(args),
    'conversations.info': (args) => this.conversationInfo(args),
    'conversations.history': (args) => this.conversationHistory(args),
    'conversations.replies': (args) => this.conversationReplies(args),
  };

  /** Methods Slack answers without a token. */
  private readonly unauthenticated = new Set(['api.test']);

  private constructor(server: Server, options: FakeSlackOptions) {
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    this.botToken = options.botToken;
    this.teamId = options.teamId ?? 'T0FLIGHT';
    this.teamDomain = options.teamDomain ?? 'flightdeck';
    this.botUserId = options.botUserId ?? 'U0FLIGHTBOT';
    this.botId = options.botId ?? 'B0FLIGHTBOT';
    this.appId = options.appId ?? 'A0FLIGHTAPP';
    this.options = {
      maxBlockTextChars: options.maxBlockTextChars ?? MESSAGE_LIMITS.blockText,
      triggerTtlMs: options.triggerTtlMs ?? 3000,
      responseUrlTtlMs: options.responseUrlTtlMs ?? 30 * 60 * 1000,
      responseUrlMaxUses: options.responseUrlMaxUses ?? 5,
    };
    for (const channel of options.channels ?? []) {
      const entry = typeof channel === 'string' ? { id: channel } : channel;
      this.channelsById.set(entry.id, {
        id: entry.id,
        name: entry.name ?? entry.id.toLowerCase(),
        isPrivate: entry.isPrivate ?? false,
      });
    }
    this.usersById = new Map(Object.entries(options.users ?? {}));
    this.usergroups = new Map(Object.entries(options.usergroups ?? {}));
    this.pace = new SlackPace(options.limits?.postsPerChannel);
    for (const [method, perMinute] of Object.entries(options.limits?.perMinute ?? {}))
      this.limitRate(method, perMinute);
  }

  /** Starts the fake on a free loopback port. */
  static async start(options: FakeSlackOptions): Promise<FakeSlack> {
    let instance: FakeSlack | undefined;
    const server = createServer((req, res) => {
      if (!instance) {
        res.writeHead(503).end();
        return;
      }
      instance.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    instance = new FakeSlack(server, options);
    return instance;
  }

  /** Base URL for `clientOptions.slackApiUrl` (ends in `/`, as Bolt and WebClient require). */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // -------------------------------------------------------------------------
  // Test controls
  // -------------------------------------------------------------------------

  /** The next call to `method` answers `{ok: false, error}` (queued: call again for more failures). */
  failNext(method: string, error: string, extra: JsonObject = {}): void {
    const queue = this.failures.get(method) ?? [];
    queue.push(new SlackApiError(error, extra));
    this.failures.set(method, queue);
  }

  /** The next `times` calls to `method` answer HTTP 429 with `Retry-After: retryAfterSeconds`. */
  rateLimit(method: string, throttle: { times?: number; retryAfterSeconds?: number } = {}): void {
    this.pace.throttle(method, throttle);
  }

  /** An always-on Tier limit: more than `perMinute` calls in a sliding minute answer 429. */
  limitRate(method: string, perMinute: number): void {
    this.pace.limitRate(method, perMinute);
  }

  /**
   * The next call to `method` is carried out (a post is stored), but its answer is lost: replaced by an
   * HTTP 500, or the connection closes without one. Queued: call again for more.
   */
  loseAnswer(method: string, how: LostAnswer): void {
    const queue = this.lostAnswers.get(method) ?? [];
    queue.push(how);
    this.lostAnswers.set(method, queue);
  }

  /** A trigger id as Slack puts in a slash command or interaction: one `views.open`, within 3 s. */
  newTriggerId(userId: string): string {
    const id = `${Date.now()}.${randomId(9, '0123456789')}.${randomBytes(16).toString('hex')}`;
    this.triggers.set(id, { user: userId, issuedAt: Date.now(), used: false });
    return id;
  }

  /** A response_url: 5 uses within 30 minutes; POSTs to it are recorded in `responses`. */
  newResponseUrl(context: ResponseContext = {}): string {
    const id = `${this.teamId}/${randomId(12, '0123456789')}/${randomId(24)}`;
    this.responseUrls.set(id, { ...context, createdAt: Date.now(), uses: 0 });
    return `http://127.0.0.1:${this.port}/response/${id}`;
  }

  // -------------------------------------------------------------------------
  // Inspection
  // -------------------------------------------------------------------------

  get calls(): readonly FakeCall[] {
    return this.callLog;
  }

  callsTo(method: string): FakeCall[] {
    return this.callLog.filter((call) => call.method === method);
  }

  /** Top-level messages of a channel, oldest first (deleted ones left out). */
  messages(channel: string): FakeMessage[] {
    return (this.messageStore.get(channel) ?? []).filter((m) => !m.deleted && m.thread_ts === undefined);
  }

  /** Replies in a thread, oldest first, without the parent. */
  thread(channel: string, threadTs: string): FakeMessage[] {
    return (this.messageStore.get(channel) ?? []).filter((m) => !m.deleted && m.thread_ts === threadTs);
  }

  /** A message as it is now, with its update count and earlier versions. */
  message(channel: string, ts: string): FakeMessage | undefined {
    return this.messageStore.get(channel)?.find((m) => m.ts === ts && !m.deleted);
  }

  get ephemerals(): readonly FakeEphemeral[] {
    return this.ephemeralStore;
  }

  get views(): FakeView[] {
    return [...this.viewStore.values()];
  }

  view(viewId: string): FakeView | undefined {
    return this.viewStore.get(viewId);
  }

  get responses(): readonly FakeResponse[] {
    return this.responseLog;
  }

  channelName(channelId: string): string {
    return this.channelsById.get(channelId)?.name ?? channelId.toLowerCase();
  }

  userName(userId: string): string {
    return this.usersById.get(userId)?.name ?? userId.toLowerCase();
  }

  /** The workspace's channels and people, as configured. */
  get channels(): Array<{ id: string; name: string; isPrivate: boolean }> {
    return [...this.channelsById.values()].map((channel) => ({ ...channel }));
  }

  get users(): Array<{ id: string; name: string; realName?: string; isBot?: boolean }> {
    return [...this.usersById].map(([id, user]) => ({ id, ...user }));
  }

  /** Every message of every channel (thread replies and deleted ones included), oldest first. */
  allMessages(): FakeMessage[] {
    return [...this.messageStore.values()].flat();
  }

  /** Calls `watcher` after every change to messages, ephemerals and views; returns the unsubscribe. */
  watch(watcher: (change: FakeSlackChange) => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  private changed(change: FakeSlackChange): void {
    for (const watcher of this.watchers) watcher(change);
  }

  // -------------------------------------------------------------------------
  // What people do in the client (the sandbox page)
  // -------------------------------------------------------------------------

  /** A person's own message in a channel or thread (the bot does not listen to messages; it is shown only). */
  postAsUser(userId: string, channel: string, text: string, threadTs?: string): FakeMessage {
    if (!this.usersById.has(userId)) throw new SlackApiError('user_not_found');
    if (!this.channelsById.has(channel)) throw new SlackApiError('channel_not_found');
    if (threadTs !== undefined) {
      const parent = this.message(channel, threadTs);
      if (!parent || parent.thread_ts !== undefined) throw new SlackApiError('thread_not_found');
    }
    return this.storeMessage(channel, { text }, threadTs, false, { user: userId });
  }

  /** The person closed a modal without submitting it (Slack sends view_closed only with notify_on_close). */
  closeView(viewId: string): FakeView | undefined {
    const stored = this.viewStore.get(viewId);
    if (!stored || stored.state === 'closed') return undefined;
    stored.state = 'closed';
    this.changed({ type: 'view', view: stored });
    return stored;
  }

  /** Polls until `predicate` returns something truthy, and returns it. */
  async waitFor<T>(
    predicate: () => T | undefined | null | false,
    options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
  ): Promise<T> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = predicate();
      if (value) return value;
      if (Date.now() > deadline) {
        const recent = this.callLog.slice(-5).map((c) => `${c.method}:${c.ok ? 'ok' : c.error}`);
        throw new Error(
          `FakeSlack.waitFor timed out after ${timeoutMs} ms${options.what ? ` waiting for ${options.what}` : ''}` +
            ` (last calls: ${recent.join(', ') || 'none'})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 20));
    }
  }

  // -------------------------------------------------------------------------
  // Used by SlackDriver: what Slack does with the bot's HTTP answers
  // -------------------------------------------------------------------------

  /** A slash command's immediate answer (the body of `ack(...)`), shown to the user like a response_url post. */
  deliverCommandResponse(context: ResponseContext, body: unknown): string {
    // `ack('text')` answers plain text, `ack({...})` JSON, a bare `ack()` nothing (nothing is shown).
    if (typeof body === 'string')
      return body === '' ? 'ok' : this.applyResponse(context, { text: body }, 'command_response');
    if (!isObject(body)) return 'ok';
    return this.applyResponse(context, body, 'command_response');
  }

  /**
   * A view_submission answer: `errors` keeps the modal open, `update` replaces it (after the same checks as
   * views.update), anything else closes it. Returns Slack's complaints about an invalid `update` view.
   */
  applyViewSubmissionResult(viewId: string, body: unknown): string[] {
    const stored = this.viewStore.get(viewId);
    if (!stored) return [];
    const action = isObject(body) ? body.response_action : undefined;
    if (action === 'errors' || action === 'push') return [];
    if (action === 'update' && isObject(body)) {
      const problems = modalViewProblems(body.view);
      if (problems.length > 0 || !isObject(body.view)) return describeProblems(problems).errors;
      this.replaceView(stored, this.withViewIds(body.view));
      return [];
    }
    stored.state = 'closed';
    this.changed({ type: 'view', view: stored });
    return [];
  }

  // -------------------------------------------------------------------------
  // HTTP
  // -------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const raw = await readBody(req);
    if (url.pathname.startsWith('/api/')) {
      this.handleApi(url, req, raw, res);
    } else if (url.pathname.startsWith('/response/')) {
      this.handleResponseUrl(url.pathname.slice('/response/'.length), req, raw, res);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  }

  private handleApi(url: URL, req: IncomingMessage, raw: string, res: ServerResponse): void {
    const method = url.pathname.slice('/api/'.length);
    const { args, token, parseError } = readApiCall(url, req, raw);
    const { status, body, headers } = this.answerApi(method, args, token, parseError);
    const ok = body.ok === true;
    // Only a call that was carried out loses its answer (a refused one changed nothing).
    const lost = ok ? this.lostAnswers.get(method)?.shift() : undefined;
    this.callLog.push({
      method,
      args,
      at: Date.now(),
      status: lost === 'http-500' ? 500 : lost === 'connection-closed' ? 0 : status,
      ok: ok && lost === undefined,
      ...(lost ? { error: lost } : ok ? {} : { error: String(body.error) }),
    });
    if (lost === 'connection-closed') {
      req.socket.destroy();
      return;
    }
    if (lost === 'http-500') {
      res
        .writeHead(500, { 'content-type': 'text/html' })
        .end('<html><body>Internal Server Error</body></html>');
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  }

  private answerApi(
    method: string,
    args: JsonObject,
    token: string | undefined,
    parseError: SlackApiError | undefined,
  ): { status: number; body: JsonObject; headers?: Record<string, string> } {
    // Slack checks the method name before the token: `foo.bar` without a token is still unknown_method.
    const handler = this.handlers[method];
    if (!handler) return { status: 200, body: { ok: false, error: 'unknown_method', req_method: method } };

    if (!this.unauthenticated.has(method)) {
      if (!token) return { status: 200, body: { ok: false, error: 'not_authed' } };
      if (token !== this.botToken) return { status: 200, body: { ok: false, error: 'invalid_auth' } };
    }

    const retryAfter = this.pace.retryAfter(method, args);
    if (retryAfter !== undefined)
      return {
        status: 429,
        body: { ok: false, error: 'ratelimited' },
        headers: { 'retry-after': String(retryAfter) },
      };

    const injected = this.failures.get(method)?.shift();
    try {
      if (injected) throw injected;
      if (parseError) throw parseError;
      return { status: 200, body: { ok: true, ...handler(args) } };
    } catch (error) {
      if (!(error instanceof SlackApiError)) throw error;
      return { status: 200, body: { ok: false, error: error.code, ...error.extra } };
    }
  }

  private handleResponseUrl(id: string, req: IncomingMessage, raw: string, res: ServerResponse): void {
    let body: unknown = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      // Slack wants JSON here; a non-JSON body is answered as invalid_payload.
    }
    const { status, result } = this.answerResponseUrl(id, req.method, body);
    const url = `http://127.0.0.1:${this.port}/response/${id}`;
    this.responseLog.push({ url, body, status, result, at: Date.now() });
    res.writeHead(status, { 'content-type': 'text/plain' }).end(result);
  }

  private answerResponseUrl(id: string, httpMethod: string | undefined, body: unknown) {
    const record = this.responseUrls.get(id);
    if (httpMethod !== 'POST' || !record) return { status: 404, result: 'invalid_url' };
    if (Date.now() - record.createdAt > this.options.responseUrlTtlMs)
      return { status: 404, result: 'expired_url' };
    if (record.uses >= this.options.responseUrlMaxUses) return { status: 404, result: 'used_url' };
    record.uses += 1;
    if (!isObject(body)) return { status: 400, result: 'invalid_payload' };
    const result = this.applyResponse(record, body, 'response_url');
    return { status: result === 'ok' ? 200 : 400, result };
  }

  /**
   * What Slack does with a response_url post or a slash command's immediate answer: replace or delete the
   * original message, post in the channel (`response_type: in_channel`), or show the user an ephemeral.
   */
  private applyResponse(context: ResponseContext, body: JsonObject, via: FakeEphemeral['via']): string {
    const content = this.readContent(body, { requireContent: body.delete_original !== true });
    if (typeof content === 'string') return content;
    const channel = context.channel;
    if (!channel) return 'channel_not_found';
    const original = context.messageTs ? this.message(channel, context.messageTs) : undefined;
    if (flagArg(body, 'delete_original')) {
      if (!original) return 'message_not_found';
      original.deleted = true;
      this.changed({ type: 'message', message: original });
      return 'ok';
    }
    if (flagArg(body, 'replace_original') && original) {
      this.applyUpdate(original, content.text, content.blocks ?? [], content.attachments);
      return 'ok';
    }
    const threadTs = stringArg(body, 'thread_ts') ?? context.threadTs;
    if (body.response_type === 'in_channel') {
      this.storeMessage(channel, content, threadTs, false);
      return 'ok';
    }
    this.addEphemeral({
      channel,
      user: context.user ?? '',
      text: content.text,
      blocks: content.blocks ?? [],
      ...(threadTs ? { thread_ts: threadTs } : {}),
      message_ts: this.nextTs(),
      via,
    });
    return 'ok';
  }

  // -------------------------------------------------------------------------
  // Web API methods
  // -------------------------------------------------------------------------

  private authTest(): JsonObject {
    return {
      url: `https://${this.teamDomain}.slack.com/`,
      team: this.teamDomain,
      user: 'flightdeck',
      team_id: this.teamId,
      user_id: this.botUserId,
      bot_id: this.botId,
      is_enterprise_install: false,
    };
  }

  private postMessage(args: JsonObject): JsonObject {
    const channel = this.requireChannel(args);
    const content = this.readContent(args, { requireContent: true });
    if (typeof content === 'string') throw this.contentError(content, args);
    const threadTs = stringArg(args, 'thread_ts');
    if (threadTs !== undefined) {
      // Slack documents no error here; the fake is strict so a wrong thread_ts fails loudly instead of
      // producing an orphan reply nobody sees.
      const parent = this.message(channel, threadTs);
      if (!parent || parent.thread_ts !== undefined) throw new SlackApiError('thread_not_found');
    }
    const metadata = readMetadata(args);
    const stored = this.storeMessage(
      channel,
      { ...content, ...(metadata ? { metadata } : {}) },
      threadTs,
      flagArg(args, 'reply_broadcast'),
    );
    return { channel, ts: stored.ts, message: this.messageJson(stored) };
  }

  private updateMessage(args: JsonObject): JsonObject {
    const channel = this.requireChannel(args);
    const ts = stringArg(args, 'ts');
    const stored = ts ? this.message(channel, ts) : undefined;
    if (!stored) throw new SlackApiError('message_not_found');
    const content = this.readContent(args, { requireContent: true });
    if (typeof content === 'string') throw this.contentError(content, args);
    // chat.update keeps the old blocks only when neither text nor blocks are given (docs.slack.dev, chat.update).
    const blocks = content.blocks ?? (args.text === undefined ? stored.blocks : []);
    const text = args.text === undefined ? stored.text : content.text;
    const metadata = readMetadata(args);
    if (metadata) stored.metadata = metadata;
    this.applyUpdate(stored, text, blocks, content.attachments ?? stored.attachments);
    return { channel, ts: stored.ts, text: stored.text, message: this.messageJson(stored) };
  }

  private deleteMessage(args: JsonObject): JsonObject {
    const channel = this.requireChannel(args);
    const ts = stringArg(args, 'ts');
    const stored = ts ? this.message(channel, ts) : undefined;
    if (!stored) throw new SlackApiError('message_not_found');
    stored.deleted = true;
    this.changed({ type: 'message', message: stored });
    return { channel, ts: stored.ts };
  }

  private postEphemeral(args: JsonObject): JsonObject {
    const channel = this.requireChannel(args);
    const user = stringArg(args, 'user');
    if (!user)
      throw invalid('invalid_arguments', [{ pointer: '/user', message: 'missing required field: user' }]);
    if (!this.usersById.has(user)) throw new SlackApiError('user_not_found');
    const content = this.readContent(args, { requireContent: true });
    if (typeof content === 'string') throw this.contentError(content, args);
    const threadTs = stringArg(args, 'thread_ts');
    const messageTs = this.nextTs();
    this.addEphemeral({
      channel,
      user,
      text: content.text,
      blocks: content.blocks ?? [],
      ...(threadTs ? { thread_ts: threadTs } : {}),
      message_ts: messageTs,
      via: 'chat.postEphemeral',
    });
    return { message_ts: messageTs };
  }

  private getPermalink(args: JsonObject): JsonObject {
    const channel = this.requireChannel(args);
    const ts = stringArg(args, 'message_ts');
    const stored = ts ? this.message(channel, ts) : undefined;
    if (!stored) throw new SlackApiError('message_not_found');
    let permalink = `https://${this.teamDomain}.slack.com/archives/${channel}/p${stored.ts.replace('.', '')}`;
    if (stored.thread_ts) permalink += `?thread_ts=${stored.thread_ts}&cid=${channel}`;
    return { channel, permalink };
  }

  private openView(args: JsonObject): JsonObject {
    const view = this.requireView(args);
    const triggerId = stringArg(args, 'trigger_id');
    if (!triggerId)
      throw invalid('invalid_arguments', [
        { pointer: '/trigger_id', message: 'missing required field: trigger_id' },
      ]);
    const trigger = this.triggers.get(triggerId);
    if (!trigger) throw new SlackApiError('invalid_trigger_id');
    if (trigger.used) throw new SlackApiError('exchanged_trigger_id');
    if (Date.now() - trigger.issuedAt > this.options.triggerTtlMs)
      throw new SlackApiError('expired_trigger_id');
    trigger.used = true;
    const stored: FakeView = {
      id: `V${randomId(10, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789')}`,
      trigger_id: triggerId,
      user: trigger.user,
      view,
      hash: this.newHash(),
      state: 'open',
      updates: 0,
    };
    this.viewStore.set(stored.id, stored);
    this.changed({ type: 'view', view: stored });
    return { view: this.viewJson(stored) };
  }

  private updateView(args: JsonObject): JsonObject {
    const view = this.requireView(args);
    const viewId = stringArg(args, 'view_id');
    const externalId = stringArg(args, 'external_id');
    if (!viewId && !externalId)
      throw invalid('invalid_arguments', [
        { pointer: '/view_id', message: 'missing required field: view_id' },
      ]);
    const stored = viewId
      ? this.viewStore.get(viewId)
      : this.views.find((candidate) => candidate.view.external_id === externalId);
    if (!stored || stored.state === 'closed') throw new SlackApiError('not_found');
    const hash = stringArg(args, 'hash');
    if (hash !== undefined && hash !== stored.hash) throw new SlackApiError('hash_conflict');
    this.replaceView(stored, view);
    return { view: this.viewJson(stored) };
  }

  private usergroupUsers(args: JsonObject): JsonObject {
    const usergroup = stringArg(args, 'usergroup');
    const members = usergroup ? this.usergroups.get(usergroup) : undefined;
    if (!members) throw new SlackApiError('no_such_subteam');
    return { users: [...members] };
  }

  private userInfo(args: JsonObject): JsonObject {
    const userId = stringArg(args, 'user');
    const user = userId ? this.usersById.get(userId) : undefined;
    if (!userId || !user) throw new SlackApiError('user_not_found');
    const realName = user.realName ?? user.name;
    return {
      user: {
        id: userId,
        team_id: this.teamId,
        name: user.name,
        real_name: realName,
        deleted: false,
        is_bot: user.isBot ?? false,
        tz: user.tz ?? 'Europe/Berlin',
        profile: { real_name: realName, display_name: user.name },
      },
    };
  }

  private conversationInfo(args: JsonObject): JsonObject {
    const id = stringArg(args, 'channel');
    const channel = id ? this.channelsById.get(id) : undefined;
    if (!channel) throw new SlackApiError('channel_not_found');
    return {
      channel: {
        id: channel.id,
        name: channel.name,
        is_channel: !channel.isPrivate,
        is_group: false,
        is_im: false,
        is_private: channel.isPrivate,
        is_archived: false,
        is_member: true,
        context_team_id: this.teamId,
      },
    };
  }

  /** A channel's messages, newest first: top-level ones and replies also sent to the channel. */
  private conversationHistory(args: JsonObject): JsonObject {
    const channel = this.requireChannel(args);
    const messages = (this.messageStore.get(channel) ?? [])
      .filter((m) => !m.deleted && (m.thread_ts === undefined || m.reply_broadcast))
      .filter(inTimeline(args))
      .reverse();
    return this.page(messages, args, { limit: 100, max: 999 });
  }

  /** A thread, oldest first: the parent, then its replies (`ts` may name either). */
  private conversationReplies(args: JsonObject): JsonObject {
    const channel = this.requireChannel(args);
    const ts = stringArg(args, 'ts');
    if (!ts) throw invalid('invalid_arguments', [{ pointer: '/ts', message: 'missing required field: ts' }]);
    const named = this.message(channel, ts);
    const parent = named?.thread_ts ? this.message(channel, named.thread_ts) : named;
    if (!parent) throw new SlackApiError('thread_not_found');
    const messages = [parent, ...this.thread(channel, parent.ts)].filter(inTimeline(args));
    return this.page(messages, args, { limit: 1_000, max: 1_000 });
  }

  /** One page of messages as Slack returns them, with a cursor for the next; metadata only when asked. */
  private page(
    messages: FakeMessage[],
    args: JsonObject,
    limits: { limit: number; max: number },
  ): JsonObject {
    const offset =
      Number(
        Buffer.from(stringArg(args, 'cursor') ?? '', 'base64')
          .toString()
          .slice('offset:'.length),
      ) || 0;
    const limit = Math.min(limits.max, Number(stringArg(args, 'limit')) || limits.limit);
    const page = messages.slice(offset, offset + limit);
    const hasMore = offset + limit < messages.length;
    const withMetadata = flagArg(args, 'include_all_metadata');
    return {
      messages: page.map((message) => this.messageJson(message, { withMetadata })),
      has_more: hasMore,
      response_metadata: {
        next_cursor: hasMore ? Buffer.from(`offset:${offset + limit}`).toString('base64') : '',
      },
    };
  }

  // -------------------------------------------------------------------------
  // Shared rules
  // -------------------------------------------------------------------------

  /** A known channel id, or a known user id (a DM with the app). */
  private requireChannel(args: JsonObject): string {
    const channel = stringArg(args, 'channel');
    if (!channel || !(this.channelsById.has(channel) || this.usersById.has(channel)))
      throw new SlackApiError('channel_not_found');
    return channel;
  }

  /**
   * text / blocks / attachments with Slack's checks, or the error code for what is wrong with them:
   * nothing to show (`no_text`), text over 40k (`msg_too_long`), invalid Block Kit (`invalid_blocks`),
   * too much block text (`msg_blocks_too_long`).
   */
  private readContent(
    args: JsonObject,
    options: { requireContent: boolean },
  ): { text: string; blocks?: JsonObject[]; attachments?: unknown[] } | string {
    const text = typeof args.text === 'string' ? args.text : '';
    const hasBlocks = args.blocks !== undefined && args.blocks !== '';
    const attachments = Array.isArray(args.attachments) ? args.attachments : undefined;
    if (options.requireContent && text === '' && !hasBlocks && !attachments) return 'no_text';
    if (text.length > MESSAGE_LIMITS.text) return 'msg_too_long';
    if (!hasBlocks) return { text, ...(attachments ? { attachments } : {}) };
    if (!Array.isArray(args.blocks)) return 'invalid_blocks_format';
    if (messageBlockProblems(args.blocks).length > 0) return 'invalid_blocks';
    if (blockTextLength(args.blocks) > this.options.maxBlockTextChars) return 'msg_blocks_too_long';
    const blocks = withGeneratedIds(args.blocks, () => randomId(5));
    return { text, blocks, ...(attachments ? { attachments } : {}) };
  }

  private contentError(code: string, args: JsonObject): SlackApiError {
    if (code === 'invalid_blocks') return invalid(code, messageBlockProblems(args.blocks));
    return new SlackApiError(code);
  }

  private requireView(args: JsonObject): JsonObject {
    const view = args.view;
    if (view === undefined)
      throw invalid('invalid_arguments', [{ pointer: '/view', message: 'missing required field: view' }]);
    const problems = modalViewProblems(view);
    if (problems.length > 0 || !isObject(view)) throw invalid('invalid_arguments', problems);
    return this.withViewIds(view);
  }

  /** A copy of a (valid) view with the block and action ids Slack fills in. */
  private withViewIds(view: JsonObject): JsonObject {
    const blocks = Array.isArray(view.blocks) ? view.blocks : [];
    return { ...structuredClone(view), blocks: withGeneratedIds(blocks, () => randomId(5)) };
  }

  private replaceView(stored: FakeView, view: JsonObject): void {
    stored.view = view;
    stored.hash = this.newHash();
    stored.updates += 1;
    this.changed({ type: 'view', view: stored });
  }

  private addEphemeral(ephemeral: FakeEphemeral): void {
    this.ephemeralStore.push(ephemeral);
    this.changed({ type: 'ephemeral', ephemeral });
  }

  private storeMessage(
    channel: string,
    content: { text: string; blocks?: JsonObject[]; attachments?: unknown[]; metadata?: MessageMetadata },
    threadTs: string | undefined,
    replyBroadcast: boolean,
    author: { user: string } = { user: this.botUserId },
  ): FakeMessage {
    const bot = author.user === this.botUserId;
    const stored: FakeMessage = {
      channel,
      ts: this.nextTs(),
      ...(threadTs ? { thread_ts: threadTs } : {}),
      text: content.text,
      blocks: content.blocks ?? [],
      ...(content.attachments ? { attachments: content.attachments } : {}),
      user: author.user,
      ...(bot ? { bot_id: this.botId } : {}),
      ...(content.metadata ? { metadata: content.metadata } : {}),
      reply_broadcast: replyBroadcast,
      updates: 0,
      history: [],
      deleted: false,
      postedAt: Date.now(),
    };
    const list = this.messageStore.get(channel) ?? [];
    list.push(stored);
    this.messageStore.set(channel, list);
    this.changed({ type: 'message', message: stored });
    return stored;
  }

  private applyUpdate(
    stored: FakeMessage,
    text: string,
    blocks: JsonObject[],
    attachments?: unknown[],
  ): void {
    stored.history.push({
      text: stored.text,
      blocks: stored.blocks,
      ...(stored.attachments ? { attachments: stored.attachments } : {}),
      at: Date.now(),
    });
    stored.text = text;
    stored.blocks = blocks;
    if (attachments) stored.attachments = attachments;
    else delete stored.attachments;
    stored.updates += 1;
    this.changed({ type: 'message', message: stored });
  }

  /** The message as Slack returns it (chat.postMessage `message`, block_actions `message`, history). */
  messageJson(stored: FakeMessage, options: { withMetadata?: boolean } = {}): JsonObject {
    const replies = stored.thread_ts === undefined ? this.thread(stored.channel, stored.ts) : [];
    return {
      type: 'message',
      ...(stored.bot_id ? { subtype: 'bot_message', bot_id: stored.bot_id, app_id: this.appId } : {}),
      text: stored.text,
      user: stored.user,
      team: this.teamId,
      ts: stored.ts,
      ...(stored.blocks.length > 0 ? { blocks: structuredClone(stored.blocks) } : {}),
      ...(stored.attachments ? { attachments: structuredClone(stored.attachments) } : {}),
      ...(stored.thread_ts ? { thread_ts: stored.thread_ts } : {}),
      ...(replies.length > 0
        ? { thread_ts: stored.ts, reply_count: replies.length, latest_reply: replies[replies.length - 1]!.ts }
        : {}),
      ...(stored.updates > 0 ? { edited: { user: stored.user, ts: this.lastEditTs(stored) } } : {}),
      ...(options.withMetadata && stored.metadata ? { metadata: structuredClone(stored.metadata) } : {}),
    };
  }

  /** The view as Slack returns it from views.open / views.update and sends in view_submission. */
  viewJson(stored: FakeView, stateValues: JsonObject = {}): JsonObject {
    const view = stored.view;
    return {
      id: stored.id,
      team_id: this.teamId,
      type: 'modal',
      title: view.title,
      close: view.close ?? null,
      submit: view.submit ?? null,
      blocks: structuredClone(view.blocks),
      private_metadata: typeof view.private_metadata === 'string' ? view.private_metadata : '',
      callback_id: typeof view.callback_id === 'string' ? view.callback_id : '',
      external_id: typeof view.external_id === 'string' ? view.external_id : '',
      state: { values: stateValues },
      hash: stored.hash,
      clear_on_close: view.clear_on_close === true,
      notify_on_close: view.notify_on_close === true,
      submit_disabled: view.submit_disabled === true,
      root_view_id: stored.id,
      previous_view_id: null,
      app_id: this.appId,
      app_installed_team_id: this.teamId,
      bot_id: this.botId,
    };
  }

  private lastEditTs(stored: FakeMessage): string {
    const at = stored.history[stored.history.length - 1]?.at ?? stored.postedAt;
    return `${Math.floor(at / 1000)}.000000`;
  }

  /** Slack ts values: `seconds.micros`, unique and increasing. */
  private nextTs(): string {
    this.lastTsMicros = Math.max(Date.now() * 1000, this.lastTsMicros + 1);
    const seconds = Math.floor(this.lastTsMicros / 1_000_000);
    const micros = this.lastTsMicros % 1_000_000;
    return `${seconds}.${String(micros).padStart(6, '0')}`;
  }

  private newHash(): string {
    return `${Math.floor(Date.now() / 1000)}.${randomId(8)}`;
  }
}

/** `metadata` as chat.postMessage and chat.update take it: an event type and a payload object. */
function readMetadata(args: JsonObject): MessageMetadata | undefined {
  const metadata = args.metadata;
  if (metadata === undefined || metadata === '') return undefined;
  if (
    !isObject(metadata) ||
    typeof metadata.event_type !== 'string' ||
    !/^[A-Za-z0-9_.-]+$/.test(metadata.event_type) ||
    !isObject(metadata.event_payload)
  )
    throw new SlackApiError('invalid_metadata_format');
  return { event_type: metadata.event_type, event_payload: structuredClone(metadata.event_payload) };
}

/** Slack timestamps compared as numbers without losing microseconds: whole seconds, then the fraction. */
function compareTs(a: string, b: string): number {
  const [aSeconds = '0', aFraction = ''] = a.split('.');
  const [bSeconds = '0', bFraction = ''] = b.split('.');
  return (
    Number(aSeconds) - Number(bSeconds) || Number(aFraction.padEnd(6, '0')) - Number(bFraction.padEnd(6, '0'))
  );
}

/** `oldest` / `latest` / `inclusive` of conversations.history and .replies. */
function inTimeline(args: JsonObject): (message: FakeMessage) => boolean {
  const oldest = stringArg(args, 'oldest');
  const latest = stringArg(args, 'latest');
  const inclusive = flagArg(args, 'inclusive');
  return (message) => {
    if (oldest !== undefined) {
      const order = compareTs(message.ts, oldest);
      if (order < 0 || (order === 0 && !inclusive)) return false;
    }
    if (latest !== undefined) {
      const order = compareTs(message.ts, latest);
      if (order > 0 || (order === 0 && !inclusive)) return false;
    }
    return true;
  };
}
