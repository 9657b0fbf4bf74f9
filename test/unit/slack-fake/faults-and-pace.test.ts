import { LogLevel, webApi } from '@slack/bolt';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeSlack } from '../../../src/sandbox/slack/fake-slack.js';
import { type FakeSlackLimits, SLACK_LIMITS } from '../../../src/sandbox/slack/pace.js';

/**
 * The fake's fault and pace options, through the real WebClient: message metadata and the conversation
 * reads that return it, answers lost after the call was carried out, and Slack's per-channel and
 * per-method limits. All of it is off unless asked for, so other tests see the plain fake.
 */

const { WebClient } = webApi;
const BOT_TOKEN = 'xoxb-faults-and-pace';
const CHANNEL = 'C0DEPLOYS';
const OTHER = 'C0OTHER';

const quietLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  setLevel() {},
  getLevel: () => LogLevel.ERROR,
  setName() {},
};

let slack: FakeSlack | undefined;
afterEach(async () => {
  await slack?.stop();
  slack = undefined;
});

async function start(limits?: FakeSlackLimits) {
  slack = await FakeSlack.start({
    botToken: BOT_TOKEN,
    channels: [CHANNEL, OTHER],
    ...(limits ? { limits } : {}),
  });
  // As the presenter calls Slack: no retries of its own, 429s thrown rather than waited out.
  const client = new WebClient(BOT_TOKEN, {
    slackApiUrl: slack.apiUrl,
    logger: quietLogger,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
  });
  return { slack, client };
}

const metadata = (key: string) => ({
  event_type: 'flightdeck_message',
  event_payload: { deployment_id: 'd1', message_key: key },
});

describe('message metadata', () => {
  it('keeps what chat.postMessage attached and returns it from history and replies only when asked', async () => {
    const { slack, client } = await start();
    const card = await client.chat.postMessage({
      channel: CHANNEL,
      text: 'card',
      metadata: metadata('card'),
    });
    await client.chat.postMessage({ channel: CHANNEL, text: 'unrelated' });
    const reply = await client.chat.postMessage({
      channel: CHANNEL,
      thread_ts: card.ts!,
      text: 'phase 1',
      metadata: metadata('phase:one:0'),
    });
    expect(slack.message(CHANNEL, reply.ts!)?.metadata).toEqual(metadata('phase:one:0'));

    const history = await client.conversations.history({ channel: CHANNEL, include_all_metadata: true });
    // Newest first, replies left out (they were not sent to the channel).
    expect(history.messages?.map((message) => message.text)).toEqual(['unrelated', 'card']);
    expect(history.messages?.[1]?.metadata).toEqual(metadata('card'));
    const bare = await client.conversations.history({ channel: CHANNEL });
    expect(bare.messages?.some((message) => 'metadata' in message)).toBe(false);

    // `ts` may name the parent or a reply; the parent comes first.
    const thread = await client.conversations.replies({
      channel: CHANNEL,
      ts: reply.ts!,
      include_all_metadata: true,
    });
    expect(thread.messages?.map((message) => [message.text, message.metadata])).toEqual([
      ['card', metadata('card')],
      ['phase 1', metadata('phase:one:0')],
    ]);
    await expect(client.conversations.replies({ channel: CHANNEL, ts: '1.000001' })).rejects.toMatchObject({
      data: { error: 'thread_not_found' },
    });
    await expect(
      client.chat.postMessage({
        channel: CHANNEL,
        text: 'x',
        metadata: { event_type: 'no spaces allowed', event_payload: {} },
      }),
    ).rejects.toMatchObject({ data: { error: 'invalid_metadata_format' } });
  });

  it('pages through history with oldest and a cursor', async () => {
    const { client } = await start();
    const first = await client.chat.postMessage({ channel: CHANNEL, text: 'before' });
    for (let index = 0; index < 5; index++)
      await client.chat.postMessage({ channel: CHANNEL, text: `m${index}` });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.conversations.history({
        channel: CHANNEL,
        oldest: first.ts!,
        limit: 2,
        ...(cursor ? { cursor } : {}),
      });
      expect(page.messages?.length).toBeLessThanOrEqual(2);
      seen.push(...(page.messages ?? []).map((message) => message.text as string));
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
    expect(seen).toEqual(['m4', 'm3', 'm2', 'm1', 'm0']);
  });
});

describe('lost answers', () => {
  it('stores a post and then answers HTTP 500: the caller cannot tell, the thread can', async () => {
    const { slack, client } = await start();
    slack.loseAnswer('chat.postMessage', 'http-500');
    await expect(
      client.chat.postMessage({ channel: CHANNEL, text: 'card', metadata: metadata('card') }),
    ).rejects.toMatchObject({
      code: 'slack_webapi_http_error',
      statusCode: 500,
    });
    expect(slack.messages(CHANNEL).map((message) => message.text)).toEqual(['card']);
    expect(slack.callsTo('chat.postMessage').map((call) => [call.status, call.ok])).toEqual([[500, false]]);
    // Once only: the next post is answered.
    await expect(client.chat.postMessage({ channel: CHANNEL, text: 'next' })).resolves.toMatchObject({
      ok: true,
    });
  });

  it('stores a post and closes the connection without an answer', async () => {
    const { slack, client } = await start();
    slack.loseAnswer('chat.postMessage', 'connection-closed');
    await expect(client.chat.postMessage({ channel: CHANNEL, text: 'card' })).rejects.toMatchObject({
      code: 'slack_webapi_request_error',
    });
    expect(slack.messages(CHANNEL).map((message) => message.text)).toEqual(['card']);
  });

  it('loses no answer of a call Slack refused (nothing was carried out)', async () => {
    const { slack, client } = await start();
    slack.loseAnswer('chat.postMessage', 'http-500');
    await expect(client.chat.postMessage({ channel: 'C0NOWHERE', text: 'x' })).rejects.toMatchObject({
      data: { error: 'channel_not_found' },
    });
    await expect(client.chat.postMessage({ channel: CHANNEL, text: 'x' })).rejects.toMatchObject({
      statusCode: 500,
    });
  });
});

describe('Slack’s pace (limits)', () => {
  it('allows a short burst of posts per channel, then about one a second, each channel on its own', async () => {
    const { slack, client } = await start(SLACK_LIMITS);
    const burst = SLACK_LIMITS.postsPerChannel!.burst;
    for (let index = 0; index < burst; index++)
      await client.chat.postMessage({ channel: CHANNEL, text: `p${index}` });
    await expect(client.chat.postMessage({ channel: CHANNEL, text: 'one too many' })).rejects.toMatchObject({
      code: 'slack_webapi_rate_limited_error',
      retryAfter: 1,
    });
    // Another channel has its own allowance; a refused post used up none.
    await expect(client.chat.postMessage({ channel: OTHER, text: 'elsewhere' })).resolves.toMatchObject({
      ok: true,
    });
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    await expect(
      client.chat.postMessage({ channel: CHANNEL, text: 'a second later' }),
    ).resolves.toMatchObject({ ok: true });
    await expect(client.chat.postMessage({ channel: CHANNEL, text: 'too soon' })).rejects.toMatchObject({
      code: 'slack_webapi_rate_limited_error',
    });
    expect(slack.messages(CHANNEL)).toHaveLength(burst + 1);
    expect(slack.callsTo('chat.postMessage').filter((call) => call.status === 429)).toHaveLength(2);
  });

  it('holds chat.update to its tier across the workspace, leaving posts alone', async () => {
    const { slack, client } = await start({ perMinute: { 'chat.update': 3 } });
    const posted = await client.chat.postMessage({ channel: CHANNEL, text: 'v0' });
    const other = await client.chat.postMessage({ channel: OTHER, text: 'v0' });
    for (let version = 1; version <= 3; version++)
      await client.chat.update({ channel: CHANNEL, ts: posted.ts!, text: `v${version}` });
    const refused = await client.chat
      .update({ channel: OTHER, ts: other.ts!, text: 'v1' })
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'slack_webapi_rate_limited_error' });
    expect((refused as { retryAfter: number }).retryAfter).toBeGreaterThanOrEqual(59);
    await expect(client.chat.postMessage({ channel: OTHER, text: 'posts still go' })).resolves.toMatchObject({
      ok: true,
    });
    expect(slack.message(OTHER, other.ts!)?.text).toBe('v0');
  });

  it('keeps no pace unless asked', async () => {
    const { slack, client } = await start();
    await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        client.chat.postMessage({ channel: CHANNEL, text: `p${index}` }),
      ),
    );
    expect(slack.messages(CHANNEL)).toHaveLength(20);
  });
});
