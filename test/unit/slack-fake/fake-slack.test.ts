import { App, type BlockButtonAction, LogLevel, webApi } from '@slack/bolt';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../../src/sandbox/infra/redis-server.js';
import type { JsonObject } from '../../../src/sandbox/slack/block-kit-rules.js';
import { FakeSlack } from '../../../src/sandbox/slack/fake-slack.js';
import { SLACK_CONTENT_TYPE, SlackDriver, signRequest } from '../../../src/sandbox/slack/slack-driver.js';

const { WebClient, WebClientEvent } = webApi;

const BOT_TOKEN = 'xoxb-flightdeck-test';
const SIGNING_SECRET = 'flightdeck-signing-secret';
const CHANNEL = 'C0APIGW';
const ALICE = 'U0ALICE';

function startFake(): Promise<FakeSlack> {
  return FakeSlack.start({
    botToken: BOT_TOKEN,
    channels: [CHANNEL, { id: 'C0OPS', name: 'ops' }],
    users: { [ALICE]: { name: 'alice' }, U0BOB: { name: 'bob' } },
    usergroups: { S0APPROVERS: [ALICE, 'U0BOB'] },
  });
}

/** WebClient logs Slack's `[ERROR]` response messages itself; the tests assert on them instead. */
const quietLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  setLevel() {},
  getLevel: () => LogLevel.ERROR,
  setName() {},
};

function clientFor(
  slack: FakeSlack,
  options: ConstructorParameters<typeof WebClient>[1] = {},
  token = BOT_TOKEN,
) {
  return new WebClient(token, { slackApiUrl: slack.apiUrl, logger: quietLogger, ...options });
}

/** The `{ok: false}` answer behind a WebClient platform error. */
async function slackError(call: Promise<unknown>): Promise<{ error: string; messages: string[] }> {
  try {
    await call;
  } catch (thrown) {
    const data = (thrown as { data?: { error?: string; response_metadata?: { messages?: string[] } } }).data;
    if (data?.error) return { error: data.error, messages: data.response_metadata?.messages ?? [] };
    throw thrown;
  }
  throw new Error('expected Slack to refuse the call');
}

const plain = (text: string) => ({ type: 'plain_text', text });
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });
const section = (text: string, extra: JsonObject = {}) => ({ type: 'section', text: mrkdwn(text), ...extra });
const button = (extra: JsonObject = {}) => ({
  type: 'button',
  text: plain('Approve'),
  action_id: 'approve',
  ...extra,
});
const actions = (...elements: JsonObject[]) => ({ type: 'actions', elements });
const confirm = (extra: JsonObject = {}) => ({
  title: plain('Sure?'),
  text: mrkdwn('This shifts traffic.'),
  confirm: plain('Yes'),
  deny: plain('No'),
  ...extra,
});
const option = (value: string, text = value) => ({ text: plain(text), value });
const overflow = (options: JsonObject[]) => ({ type: 'overflow', action_id: 'more', options });
const select = (options: JsonObject[]) => ({
  type: 'static_select',
  action_id: 'pick',
  placeholder: plain('Pick'),
  options,
});
const x = (count: number) => 'x'.repeat(count);
const times = <T>(count: number, make: (index: number) => T): T[] =>
  Array.from({ length: count }, (_, i) => make(i));

describe('FakeSlack through the real @slack/web-api WebClient', () => {
  let slack: FakeSlack;
  let client: InstanceType<typeof WebClient>;

  beforeEach(async () => {
    slack = await startFake();
    client = clientFor(slack);
  });
  afterEach(async () => {
    vi.useRealTimers();
    await slack.stop();
  });

  it('answers auth.test with the bot identity Bolt needs', async () => {
    const identity = await client.auth.test();
    expect(identity).toMatchObject({
      ok: true,
      user_id: slack.botUserId,
      bot_id: slack.botId,
      team_id: 'T0FLIGHT',
    });
  });

  it('keeps top-level messages, thread replies and updates apart', async () => {
    const first = await client.chat.postMessage({ channel: CHANNEL, text: 'Deploy checkout 1.4.2' });
    const second = await client.chat.postMessage({ channel: CHANNEL, text: 'Deploy cart 2.0.0' });
    const reply1 = await client.chat.postMessage({ channel: CHANNEL, thread_ts: first.ts!, text: 'phase 1' });
    const reply2 = await client.chat.postMessage({ channel: CHANNEL, thread_ts: first.ts!, text: 'phase 2' });
    await client.chat.update({ channel: CHANNEL, ts: first.ts!, text: 'Deploy checkout 1.4.2: running' });

    const tss = [first.ts!, second.ts!, reply1.ts!, reply2.ts!];
    expect([...tss].sort()).toEqual(tss);
    expect(new Set(tss).size).toBe(4);
    expect(first.message).toMatchObject({
      text: 'Deploy checkout 1.4.2',
      user: slack.botUserId,
      ts: first.ts,
    });
    expect(slack.messages(CHANNEL).map((m) => m.text)).toEqual([
      'Deploy checkout 1.4.2: running',
      'Deploy cart 2.0.0',
    ]);
    expect(slack.thread(CHANNEL, first.ts!).map((m) => m.text)).toEqual(['phase 1', 'phase 2']);
    expect(slack.message(CHANNEL, first.ts!)).toMatchObject({
      updates: 1,
      history: [{ text: 'Deploy checkout 1.4.2' }],
    });
    expect(slack.message(CHANNEL, second.ts!)?.updates).toBe(0);
  });

  it('fills in block_ids and action_ids Slack would generate, and drops blocks on a text-only update', async () => {
    const posted = await client.chat.postMessage({
      channel: CHANNEL,
      text: 'gate',
      blocks: [section('Gate'), actions({ type: 'button', text: plain('Go') })],
    });
    const [first, second] = slack.message(CHANNEL, posted.ts!)!.blocks;
    expect(first?.block_id).toMatch(/^\w{5}$/);
    expect(second?.elements).toEqual([
      expect.objectContaining({ action_id: expect.stringMatching(/^\w{5}$/) }),
    ]);

    await client.chat.update({ channel: CHANNEL, ts: posted.ts!, text: 'gate passed' });
    expect(slack.message(CHANNEL, posted.ts!)).toMatchObject({ text: 'gate passed', blocks: [] });
  });

  it.each([
    ['an unknown channel', { channel: 'C0NOPE', text: 'hi' }, 'channel_not_found'],
    ['no channel', { text: 'hi' }, 'channel_not_found'],
    ['neither text nor blocks', { channel: CHANNEL }, 'no_text'],
    ['text over 40,000 characters', { channel: CHANNEL, text: x(40_001) }, 'msg_too_long'],
    [
      'a thread_ts that names no message',
      { channel: CHANNEL, text: 'hi', thread_ts: '1.000001' },
      'thread_not_found',
    ],
  ])('refuses chat.postMessage with %s', async (_, args, code) => {
    const { error } = await slackError(client.apiCall('chat.postMessage', args));
    expect(error).toBe(code);
    expect(slack.messages(CHANNEL)).toHaveLength(0);
  });

  it('refuses a thread_ts that names a reply rather than the parent', async () => {
    const parent = await client.chat.postMessage({ channel: CHANNEL, text: 'parent' });
    const reply = await client.chat.postMessage({ channel: CHANNEL, text: 'reply', thread_ts: parent.ts! });
    const { error } = await slackError(
      client.chat.postMessage({ channel: CHANNEL, text: 'x', thread_ts: reply.ts! }),
    );
    expect(error).toBe('thread_not_found');
  });

  it('refuses chat.update of a message that does not exist or is ephemeral', async () => {
    const ephemeral = await client.chat.postEphemeral({ channel: CHANNEL, user: ALICE, text: 'only you' });
    expect(slack.ephemerals).toEqual([
      expect.objectContaining({ channel: CHANNEL, user: ALICE, text: 'only you' }),
    ]);

    for (const ts of ['1700000000.000001', ephemeral.message_ts!]) {
      const { error } = await slackError(client.chat.update({ channel: CHANNEL, ts, text: 'changed' }));
      expect(error).toBe('message_not_found');
    }
  });

  it('accepts what a valid, busy deployment message looks like', async () => {
    const blocks = [
      { type: 'header', text: plain('Deploy checkout 1.4.2') },
      section('*Phase 2 of 5*', { fields: [mrkdwn('*Cluster*\nprod-eu'), mrkdwn('*Version*\n1.4.2')] }),
      section('Smoke tests', { accessory: overflow([option('skip'), option('rerun')]) }),
      { type: 'context', elements: [mrkdwn('Started by <@U0ALICE>'), plain('2 min ago')] },
      { type: 'divider' },
      actions(
        button({ style: 'primary', value: 'item-3', confirm: confirm() }),
        button({
          action_id: 'rollback',
          text: plain('Roll back'),
          style: 'danger',
          confirm: confirm({ style: 'danger' }),
        }),
        {
          type: 'static_select',
          action_id: 'weight',
          placeholder: plain('Traffic'),
          options: [option('10'), option('50')],
        },
      ),
    ];
    const posted = await client.chat.postMessage({ channel: CHANNEL, text: 'Deploy checkout 1.4.2', blocks });
    expect(slack.message(CHANNEL, posted.ts!)?.blocks).toHaveLength(6);
  });

  // One case per Block Kit limit: [what, blocks, json-pointer Slack names, what Slack says].
  // biome-ignore format: a table reads best one row per line
  const blockKitCases: [string, unknown[], string, string][] = [
    ['more than 50 blocks', times(51, (i) => section(`s${i}`)), '/blocks', 'no more than 50 items allowed'],
    ['a repeated block_id', [section('a', { block_id: 'b1' }), section('b', { block_id: 'b1' })], '/blocks/1/block_id', 'duplicate block_id'],
    ['an empty block_id', [section('a', { block_id: '' })], '/blocks/0/block_id', 'must be at least 1 characters'],
    ['a block_id over 255', [section('a', { block_id: x(256) })], '/blocks/0/block_id', 'must be less than 256 characters'],
    ['section text over 3000', [section(x(3001))], '/blocks/0/text/text', 'must be less than 3001 characters'],
    ['more than 10 section fields', [{ type: 'section', fields: times(11, () => mrkdwn('f')) }], '/blocks/0/fields', 'no more than 10 items allowed'],
    ['a section field over 2000', [{ type: 'section', fields: [mrkdwn(x(2001))] }], '/blocks/0/fields/0/text', 'must be less than 2001 characters'],
    ['a section with neither text nor fields', [{ type: 'section' }], '/blocks/0', 'must define either `text` or `fields`'],
    ['header text over 150', [{ type: 'header', text: plain(x(151)) }], '/blocks/0/text/text', 'must be less than 151 characters'],
    ['a mrkdwn header', [{ type: 'header', text: mrkdwn('*h*') }], '/blocks/0/text/type', 'must be plain_text'],
    ['more than 25 elements in actions', [actions(...times(26, (i) => button({ action_id: `a${i}` })))], '/blocks/0/elements', 'no more than 25 items allowed'],
    ['more than 10 context elements', [{ type: 'context', elements: times(11, () => mrkdwn('c')) }], '/blocks/0/elements', 'no more than 10 items allowed'],
    ['button text over 75', [actions(button({ text: plain(x(76)) }))], '/blocks/0/elements/0/text/text', 'must be less than 76 characters'],
    ['mrkdwn button text', [actions(button({ text: mrkdwn('*Go*') }))], '/blocks/0/elements/0/text/type', 'must be plain_text'],
    ['a button value over 2000', [actions(button({ value: x(2001) }))], '/blocks/0/elements/0/value', 'must be less than 2001 characters'],
    ['an action_id over 255', [actions(button({ action_id: x(256) }))], '/blocks/0/elements/0/action_id', 'must be less than 256 characters'],
    ['a repeated action_id in one block', [actions(button(), button())], '/blocks/0', 'duplicate action_id'],
    ['a button url over 3000', [actions(button({ url: `https://x.test/${x(3000)}` }))], '/blocks/0/elements/0/url', 'must be less than 3001 characters'],
    ['a button style other than primary/danger', [actions(button({ style: 'secondary' }))], '/blocks/0/elements/0/style', 'must be one of: primary, danger'],
    ['a confirm title over 100', [actions(button({ confirm: confirm({ title: plain(x(101)) }) }))], '/blocks/0/elements/0/confirm/title/text', 'must be less than 101 characters'],
    ['confirm text over 300', [actions(button({ confirm: confirm({ text: mrkdwn(x(301)) }) }))], '/blocks/0/elements/0/confirm/text/text', 'must be less than 301 characters'],
    ['a confirm button over 30', [actions(button({ confirm: confirm({ confirm: plain(x(31)) }) }))], '/blocks/0/elements/0/confirm/confirm/text', 'must be less than 31 characters'],
    ['a deny button over 30', [actions(button({ confirm: confirm({ deny: plain(x(31)) }) }))], '/blocks/0/elements/0/confirm/deny/text', 'must be less than 31 characters'],
    ['more than 5 overflow options', [actions(overflow(times(6, (i) => option(`o${i}`))))], '/blocks/0/elements/0/options', 'no more than 5 items allowed'],
    ['overflow option text over 75', [actions(overflow([option('a', x(76))]))], '/blocks/0/elements/0/options/0/text/text', 'must be less than 76 characters'],
    ['overflow option value over 150', [actions(overflow([option(x(151), 'a')]))], '/blocks/0/elements/0/options/0/value', 'must be less than 151 characters'],
    ['more than 100 select options', [actions(select(times(101, (i) => option(`o${i}`))))], '/blocks/0/elements/0/options', 'no more than 100 items allowed'],
    ['an unknown block type', [{ type: 'fancy_block', text: plain('x') }], '/blocks/0/type', 'unsupported type: fancy_block'],
    ['a text object of an unknown type', [{ type: 'section', text: { type: 'markdown', text: 'x' } }], '/blocks/0/text/type', 'must be plain_text or mrkdwn'],
    ['an unknown block property', [section('a', { style: 'bold' })], '/blocks/0', 'invalid additional property: style'],
    ['an input element in an actions block', [actions({ type: 'plain_text_input', action_id: 'note' })], '/blocks/0/elements/0/type', 'unsupported type: plain_text_input'],
  ];

  it.each(blockKitCases)('refuses blocks with %s (invalid_blocks)', async (_, blocks, pointer, message) => {
    const { error, messages } = await slackError(
      client.chat.postMessage({ channel: CHANNEL, text: 'x', blocks: blocks as never }),
    );
    expect(error).toBe('invalid_blocks');
    expect(messages).toContainEqual(expect.stringContaining(message));
    expect(messages).toContainEqual(expect.stringContaining(`[json-pointer:${pointer}]`));
    expect(slack.messages(CHANNEL)).toHaveLength(0);
  });

  it('applies the same Block Kit rules to chat.update and keeps the old content', async () => {
    const posted = await client.chat.postMessage({ channel: CHANNEL, text: 'ok', blocks: [section('fine')] });
    const { error } = await slackError(
      client.chat.update({ channel: CHANNEL, ts: posted.ts!, blocks: [section(x(3001))] }),
    );
    expect(error).toBe('invalid_blocks');
    expect(slack.message(CHANNEL, posted.ts!)).toMatchObject({ updates: 0, text: 'ok' });
  });

  it('answers msg_blocks_too_long past ~13k characters of block text, and invalid_blocks_format for non-JSON blocks', async () => {
    const fits = times(4, () => section(x(2900)));
    await client.chat.postMessage({ channel: CHANNEL, text: 'fits', blocks: fits });
    const tooMuch = times(5, () => section(x(2900)));
    expect(
      (await slackError(client.chat.postMessage({ channel: CHANNEL, text: 'x', blocks: tooMuch }))).error,
    ).toBe('msg_blocks_too_long');
    const notJson = client.apiCall('chat.postMessage', { channel: CHANNEL, text: 'x', blocks: '[{"type":' });
    expect((await slackError(notJson)).error).toBe('invalid_blocks_format');
  });

  it('answers an unknown method the way Slack does: HTTP 200, unknown_method, even without a token', async () => {
    expect((await slackError(client.apiCall('chat.postMesage', { channel: CHANNEL, text: 'x' }))).error).toBe(
      'unknown_method',
    );
    const raw = await fetch(`${slack.apiUrl}deploys.start`, { method: 'POST' });
    expect(raw.status).toBe(200);
    expect(await raw.json()).toEqual({ ok: false, error: 'unknown_method', req_method: 'deploys.start' });
  });

  it('refuses a wrong token (invalid_auth) and a missing one (not_authed)', async () => {
    const wrong = clientFor(slack, {}, 'xoxb-wrong');
    expect((await slackError(wrong.auth.test())).error).toBe('invalid_auth');
    const none = new WebClient(undefined, { slackApiUrl: slack.apiUrl, logger: quietLogger });
    expect((await slackError(none.auth.test())).error).toBe('not_authed');
    expect(slack.calls.map((c) => c.error)).toEqual(['invalid_auth', 'not_authed']);
  });

  it('accepts JSON bodies with a Bearer token and records parsed blocks', async () => {
    const response = await fetch(`${slack.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json; charset=utf-8', Authorization: `Bearer ${BOT_TOKEN}` },
      body: JSON.stringify({ channel: CHANNEL, text: 'json', blocks: [section('hello')] }),
    });
    expect(await response.json()).toMatchObject({ ok: true, channel: CHANNEL });
    const tokenInJsonBody = await fetch(`${slack.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: BOT_TOKEN, channel: CHANNEL, text: 'json' }),
    });
    expect(await tokenInJsonBody.json()).toEqual({ ok: false, error: 'not_authed' });
    await client.chat.postMessage({ channel: CHANNEL, text: 'form', blocks: [section('form-encoded')] });
    const posted = slack.callsTo('chat.postMessage').filter((call) => call.ok);
    expect(posted.map((call) => call.args.blocks)).toEqual([[section('hello')], [section('form-encoded')]]);
  });

  it('fails a method once when told to, then behaves again', async () => {
    slack.failNext('chat.postMessage', 'internal_error');
    expect((await slackError(client.chat.postMessage({ channel: CHANNEL, text: 'x' }))).error).toBe(
      'internal_error',
    );
    await expect(client.chat.postMessage({ channel: CHANNEL, text: 'x' })).resolves.toMatchObject({
      ok: true,
    });
  });

  it('answers the lookups the bot makes: usergroup members, users, channels, permalinks', async () => {
    expect((await client.usergroups.users.list({ usergroup: 'S0APPROVERS' })).users).toEqual([
      ALICE,
      'U0BOB',
    ]);
    expect((await slackError(client.usergroups.users.list({ usergroup: 'S0NOPE' }))).error).toBe(
      'no_such_subteam',
    );
    expect((await client.users.info({ user: ALICE })).user).toMatchObject({ id: ALICE, name: 'alice' });
    expect((await slackError(client.users.info({ user: 'U0NOPE' }))).error).toBe('user_not_found');
    expect((await client.conversations.info({ channel: 'C0OPS' })).channel).toMatchObject({
      id: 'C0OPS',
      name: 'ops',
    });
    const parent = await client.chat.postMessage({ channel: CHANNEL, text: 'parent' });
    const reply = await client.chat.postMessage({ channel: CHANNEL, text: 'reply', thread_ts: parent.ts! });
    const link = await client.chat.getPermalink({ channel: CHANNEL, message_ts: reply.ts! });
    expect(link.permalink).toBe(
      `https://flightdeck.slack.com/archives/${CHANNEL}/p${reply.ts!.replace('.', '')}?thread_ts=${parent.ts}&cid=${CHANNEL}`,
    );
  });

  describe('modals', () => {
    const modal = (extra: JsonObject = {}) => ({
      type: 'modal',
      callback_id: 'start_deploy',
      title: plain('Start a deploy'),
      submit: plain('Start'),
      blocks: [
        {
          type: 'input',
          block_id: 'version',
          label: plain('Version'),
          element: { type: 'plain_text_input', action_id: 'v' },
        },
      ],
      ...extra,
    });

    it('opens a view once per trigger id, and not after 3 seconds', async () => {
      const trigger = slack.newTriggerId(ALICE);
      const opened = await client.views.open({ trigger_id: trigger, view: modal() as never });
      expect(opened.view).toMatchObject({
        id: expect.stringMatching(/^V\w{10}$/),
        callback_id: 'start_deploy',
      });
      expect(slack.views).toEqual([
        expect.objectContaining({ id: opened.view!.id, user: ALICE, trigger_id: trigger, state: 'open' }),
      ]);

      expect(
        (await slackError(client.views.open({ trigger_id: trigger, view: modal() as never }))).error,
      ).toBe('exchanged_trigger_id');
      expect(
        (await slackError(client.views.open({ trigger_id: '1.2.abc', view: modal() as never }))).error,
      ).toBe('invalid_trigger_id');

      vi.useFakeTimers({ toFake: ['Date'] });
      const late = slack.newTriggerId(ALICE);
      vi.setSystemTime(Date.now() + 3001);
      expect((await slackError(client.views.open({ trigger_id: late, view: modal() as never }))).error).toBe(
        'expired_trigger_id',
      );
      expect(slack.views).toHaveLength(1);
    });

    // biome-ignore format: a table reads best one row per line
    const viewCases: [string, JsonObject, string, string][] = [
      ['a title over 24 characters', modal({ title: plain(x(25)) }), '/view/title/text', 'must be less than 25 characters'],
      ['a submit label over 24', modal({ submit: plain(x(25)) }), '/view/submit/text', 'must be less than 25 characters'],
      ['a close label over 24', modal({ close: plain(x(25)) }), '/view/close/text', 'must be less than 25 characters'],
      ['more than 100 blocks', modal({ blocks: times(101, (i) => section(`s${i}`)) }), '/view/blocks', 'no more than 100 items allowed'],
      ['a callback_id over 255', modal({ callback_id: x(256) }), '/view/callback_id', 'must be less than 256 characters'],
      ['private_metadata over 3000', modal({ private_metadata: x(3001) }), '/view/private_metadata', 'must be less than 3001 characters'],
      ['a type other than modal', modal({ type: 'home' }), '/view/type', 'must be one of: modal'],
      ['an input block without submit', modal({ submit: undefined }), '/view/blocks/0/input', 'must define `submit`'],
    ];

    it.each(viewCases)(
      'refuses views.open with %s (invalid_arguments) and keeps the trigger usable',
      async (_, view, pointer, message) => {
        const trigger = slack.newTriggerId(ALICE);
        const { error, messages } = await slackError(
          client.views.open({ trigger_id: trigger, view: JSON.parse(JSON.stringify(view)) }),
        );
        expect(error).toBe('invalid_arguments');
        expect(messages).toContainEqual(expect.stringContaining(message));
        expect(messages).toContainEqual(expect.stringContaining(`[json-pointer:${pointer}]`));
        await expect(
          client.views.open({ trigger_id: trigger, view: modal() as never }),
        ).resolves.toMatchObject({ ok: true });
      },
    );

    it('updates an open view, refusing a stale hash', async () => {
      const opened = await client.views.open({
        trigger_id: slack.newTriggerId(ALICE),
        view: modal() as never,
      });
      const { id, hash } = opened.view!;
      const updated = await client.views.update({
        view_id: id!,
        hash: hash!,
        view: modal({ title: plain('Confirm') }) as never,
      });
      expect(updated.view?.title).toEqual(plain('Confirm'));
      expect(
        (await slackError(client.views.update({ view_id: id!, hash: hash!, view: modal() as never }))).error,
      ).toBe('hash_conflict');
      expect(
        (await slackError(client.views.update({ view_id: 'V0NOPE', view: modal() as never }))).error,
      ).toBe('not_found');
      expect(slack.view(id!)?.updates).toBe(1);
    });
  });

  it('accepts 5 posts per response_url, then answers 404 used_url', async () => {
    const url = slack.newResponseUrl({ channel: CHANNEL, user: ALICE });
    const statuses: number[] = [];
    for (let i = 1; i <= 6; i++) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ text: `update ${i}` }),
      });
      statuses.push(response.status);
      if (i === 6) expect(await response.text()).toBe('used_url');
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 404]);
    expect(slack.ephemerals.map((e) => e.text)).toEqual([
      'update 1',
      'update 2',
      'update 3',
      'update 4',
      'update 5',
    ]);
    expect(slack.responses.map((r) => r.result)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'used_url']);
  });

  it('replaces the original message through a response_url when asked', async () => {
    const posted = await client.chat.postMessage({
      channel: CHANNEL,
      text: 'Approve?',
      blocks: [actions(button())],
    });
    const url = slack.newResponseUrl({ channel: CHANNEL, user: ALICE, messageTs: posted.ts! });
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        replace_original: true,
        text: 'Approved',
        blocks: [section('Approved by alice')],
      }),
    });
    expect(response.status).toBe(200);
    expect(slack.message(CHANNEL, posted.ts!)).toMatchObject({ text: 'Approved', updates: 1 });
  });

  it('answers 429 with Retry-After; the WebClient waits, retries, and the update lands once', async () => {
    const posted = await client.chat.postMessage({ channel: CHANNEL, text: 'v1' });
    const pauses: number[] = [];
    client.on(WebClientEvent.RATE_LIMITED, (seconds: number) => pauses.push(seconds));
    slack.rateLimit('chat.update', { times: 1, retryAfterSeconds: 1 });

    const started = Date.now();
    await client.chat.update({ channel: CHANNEL, ts: posted.ts!, text: 'v2' });

    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(pauses).toEqual([1]);
    expect(slack.callsTo('chat.update').map((c) => c.status)).toEqual([429, 200]);
    expect(slack.message(CHANNEL, posted.ts!)).toMatchObject({ text: 'v2', updates: 1 });
  });

  it('enforces an always-on per-minute tier limit', async () => {
    slack.limitRate('chat.postMessage', 2);
    const impatient = clientFor(slack, { rejectRateLimitedCalls: true });
    await impatient.chat.postMessage({ channel: CHANNEL, text: '1' });
    await impatient.chat.postMessage({ channel: CHANNEL, text: '2' });
    await expect(impatient.chat.postMessage({ channel: CHANNEL, text: '3' })).rejects.toMatchObject({
      code: 'slack_webapi_rate_limited_error',
      retryAfter: expect.any(Number),
    });
    expect(slack.messages(CHANNEL)).toHaveLength(2);
  });
});

describe('SlackDriver against a real Bolt App (HTTP receiver)', () => {
  let slack: FakeSlack;
  let app: App;
  let driver: SlackDriver;
  const clicks: BlockButtonAction[] = [];

  beforeAll(async () => {
    slack = await startFake();
    const port = await freePort();
    app = new App({
      token: BOT_TOKEN,
      signingSecret: SIGNING_SECRET,
      clientOptions: { slackApiUrl: slack.apiUrl },
      logLevel: LogLevel.ERROR,
    });
    app.command('/deploy', async ({ ack, command, client }) => {
      const [verb] = command.text.split(' ');
      if (verb === 'help') return ack('Usage: /deploy start <service> <version>');
      await ack();
      if (verb === 'form') {
        await client.views.open({
          trigger_id: command.trigger_id,
          view: {
            type: 'modal',
            callback_id: 'start_deploy',
            title: { type: 'plain_text', text: 'Start a deploy' },
            submit: { type: 'plain_text', text: 'Start' },
            blocks: [
              {
                type: 'input',
                block_id: 'version',
                label: { type: 'plain_text', text: 'Version' },
                element: { type: 'plain_text_input', action_id: 'version_input' },
              },
            ],
          },
        });
        return;
      }
      await client.chat.postMessage({
        channel: command.channel_id,
        text: `Deploy ${command.text}`,
        blocks: [
          section(`Deploy *${command.text}*`),
          actions(
            button({ value: 'gate-1', confirm: confirm() }),
            button({ action_id: 'reject', text: plain('Reject') }),
          ),
        ],
      });
    });
    app.action<BlockButtonAction>('approve', async ({ ack, body, client, respond }) => {
      await ack();
      clicks.push(body);
      await client.chat.update({
        channel: body.channel!.id,
        ts: body.message!.ts,
        text: `Approved by <@${body.user.id}>`,
      });
      await respond({ response_type: 'ephemeral', text: 'Thanks for approving' });
    });
    app.view('start_deploy', async ({ ack, view }) => {
      const version = view.state.values.version?.version_input?.value ?? '';
      if (!/^\d+\.\d+\.\d+$/.test(version))
        return ack({ response_action: 'errors', errors: { version: 'Use a version like 1.4.2' } });
      await ack();
    });
    await app.start({ port, host: '127.0.0.1' });
    driver = new SlackDriver({
      eventsUrl: `http://127.0.0.1:${port}/slack/events`,
      signingSecret: SIGNING_SECRET,
      slack,
      teamId: 'T0FLIGHT',
    });
  });

  afterAll(async () => {
    await app.stop();
    await slack.stop();
  });

  it('delivers a signed slash command and a click from the rendered message, both acknowledged', async () => {
    const command = await driver.slash(ALICE, CHANNEL, '/deploy', 'start checkout 1.4.2');
    expect(command.status).toBe(200);
    const message = await slack.waitFor(
      () => slack.messages(CHANNEL).find((m) => m.text.includes('checkout')),
      {
        what: 'the deploy message',
      },
    );

    const click = await driver.clickButton(
      ALICE,
      { channel: CHANNEL, ts: message.ts },
      { actionId: 'approve' },
    );
    expect(click.status).toBe(200);
    await slack.waitFor(() => slack.message(CHANNEL, message.ts)?.updates === 1, {
      what: 'the approval update',
    });
    expect(slack.message(CHANNEL, message.ts)?.text).toBe(`Approved by <@${ALICE}>`);
    await slack.waitFor(() =>
      slack.ephemerals.find((e) => e.text === 'Thanks for approving' && e.user === ALICE),
    );

    expect(clicks[0]).toMatchObject({
      type: 'block_actions',
      user: { id: ALICE, username: 'alice', team_id: 'T0FLIGHT' },
      container: { type: 'message', message_ts: message.ts, channel_id: CHANNEL, is_ephemeral: false },
      channel: { id: CHANNEL, name: 'c0apigw' },
      message: { ts: message.ts, text: 'Deploy start checkout 1.4.2' },
      actions: [{ type: 'button', action_id: 'approve', value: 'gate-1', text: plain('Approve') }],
    });
  });

  it('shows an ack(text) answer to the user as an ephemeral', async () => {
    const result = await driver.slash(ALICE, CHANNEL, '/deploy', 'help');
    expect(result).toMatchObject({
      status: 200,
      body: 'Usage: /deploy start <service> <version>',
      delivery: 'ok',
    });
    expect(slack.ephemerals).toContainEqual(
      expect.objectContaining({
        user: ALICE,
        text: 'Usage: /deploy start <service> <version>',
        via: 'command_response',
      }),
    );
  });

  it('names the available buttons when asked to click one that is not there', async () => {
    await driver.slash(ALICE, CHANNEL, '/deploy', 'start cart 2.0.0');
    const message = await slack.waitFor(() => slack.messages(CHANNEL).find((m) => m.text.includes('cart')));
    const clickingAMissingButton = driver.clickButton(
      ALICE,
      { channel: CHANNEL, ts: message.ts },
      { actionId: 'promote' },
    );
    await expect(clickingAMissingButton).rejects.toThrow(
      /\w{5}\/approve "Approve" value=gate-1; \w{5}\/reject "Reject"/,
    );
  });

  it('submits a modal the bot opened: field errors keep it open, a valid submission closes it', async () => {
    await driver.slash(ALICE, CHANNEL, '/deploy', 'form');
    const opened = await slack.waitFor(() => slack.views.find((v) => v.state === 'open'), {
      what: 'the modal',
    });

    const rejected = await driver.submitView(ALICE, opened.id, { version: 'latest' });
    expect(rejected).toMatchObject({
      status: 200,
      body: { response_action: 'errors', errors: { version: expect.any(String) } },
    });
    expect(slack.view(opened.id)?.state).toBe('open');
    expect(rejected.payload.view).toMatchObject({
      callback_id: 'start_deploy',
      state: { values: { version: { version_input: { type: 'plain_text_input', value: 'latest' } } } },
    });

    await expect(driver.submitView(ALICE, opened.id, {})).rejects.toThrow(/"Version" is required/);
    const accepted = await driver.submitView(ALICE, opened.id, { version: '1.4.2' });
    expect(accepted.status).toBe(200);
    expect(slack.view(opened.id)?.state).toBe('closed');
  });

  it('is refused by the real receiver when unsigned (401), wrongly signed (401), stale (401) or with a charset (400)', async () => {
    const before = slack.messages(CHANNEL).length;
    const { body } = driver.slashCommandBody(ALICE, CHANNEL, '/deploy', 'start checkout 1.4.3');
    const fiveMinutesAndASecondAgo = Math.floor(Date.now() / 1000) - 301;

    const unsigned = await driver.send(body, { 'Content-Type': SLACK_CONTENT_TYPE });
    const wronglySigned = await driver.send(body, signRequest(body, 'not-the-signing-secret'));
    const stale = await driver.send(body, signRequest(body, SIGNING_SECRET, fiveMinutesAndASecondAgo));
    const withCharset = await driver.send(body, {
      ...signRequest(body, SIGNING_SECRET),
      'Content-Type': `${SLACK_CONTENT_TYPE}; charset=utf-8`,
    });

    expect([unsigned.status, wronglySigned.status, stale.status, withCharset.status]).toEqual([
      401, 401, 401, 400,
    ]);
    const accepted = await driver.send(body);
    expect(accepted.status).toBe(200);
    await slack.waitFor(() => slack.messages(CHANNEL).length === before + 1);
  });
});
