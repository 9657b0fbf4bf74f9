import { App, LogLevel } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/sandbox/infra/redis-server.js';
import { FakeSlack } from '../../../src/sandbox/slack/fake-slack.js';
import { SlackDriver } from '../../../src/sandbox/slack/slack-driver.js';
import type { FakeSlackChange } from '../../../src/sandbox/slack/types.js';

/**
 * What the Slack emulator does for the sandbox page beyond the tests' needs: it reports every change as
 * it happens (the page's live updates), shows a person's own messages, and lets a person close a modal —
 * telling the app with `view_closed` only when the view asked for it, as Slack does.
 */

const BOT_TOKEN = 'xoxb-sandbox-additions';
const SIGNING_SECRET = 'sandbox-additions-secret';
const CHANNEL = 'C0DEMO';
const DANA = 'U0DEPLOYER';

let slack: FakeSlack;
let app: App;
let driver: SlackDriver;
const closed: Array<{ callbackId: string; user: string }> = [];
/** Each change as it was when reported (the objects themselves change later). */
const changes: string[] = [];

function describeChange(change: FakeSlackChange): string {
  if (change.type === 'message') return `message:${change.message.text}:${change.message.updates}`;
  if (change.type === 'ephemeral') return `ephemeral:${change.ephemeral.text}`;
  return `view:${change.view.view.callback_id}:${change.view.state}`;
}

function modal(callbackId: string, notify: boolean) {
  return {
    type: 'modal' as const,
    callback_id: callbackId,
    notify_on_close: notify,
    title: { type: 'plain_text' as const, text: 'Why?' },
    submit: { type: 'plain_text' as const, text: 'Send' },
    blocks: [
      {
        type: 'input' as const,
        block_id: 'reason',
        label: { type: 'plain_text' as const, text: 'Reason' },
        element: { type: 'plain_text_input' as const, action_id: 'reason.input' },
      },
    ],
  };
}

beforeAll(async () => {
  slack = await FakeSlack.start({
    botToken: BOT_TOKEN,
    channels: [{ id: CHANNEL, name: 'demo' }],
    users: { [DANA]: { name: 'dana', realName: 'Dana Deployer' } },
  });
  slack.watch((change) => changes.push(describeChange(change)));
  const port = await freePort();
  app = new App({
    token: BOT_TOKEN,
    signingSecret: SIGNING_SECRET,
    clientOptions: { slackApiUrl: slack.apiUrl },
    logLevel: LogLevel.ERROR,
  });
  app.command('/deploy', async ({ ack, command, client }) => {
    await ack();
    if (command.text === 'ask')
      await client.views.open({ trigger_id: command.trigger_id, view: modal('ask', true) });
    else if (command.text === 'ask-quietly')
      await client.views.open({ trigger_id: command.trigger_id, view: modal('quiet', false) });
    else {
      const posted = await client.chat.postMessage({ channel: command.channel_id, text: 'Deploying' });
      await client.chat.update({ channel: command.channel_id, ts: posted.ts as string, text: 'Deployed' });
      await client.chat.postEphemeral({
        channel: command.channel_id,
        user: command.user_id,
        text: 'Only you',
      });
    }
  });
  app.view({ type: 'view_closed', callback_id: /.*/ }, async ({ ack, body }) => {
    closed.push({ callbackId: body.view.callback_id, user: body.user.id });
    await ack();
  });
  await app.start({ port, host: '127.0.0.1' });
  driver = new SlackDriver({
    eventsUrl: `http://127.0.0.1:${port}/slack/events`,
    signingSecret: SIGNING_SECRET,
    slack,
  });
});

afterAll(async () => {
  await app.stop();
  await slack.stop();
});

describe('the Slack emulator for the sandbox page', () => {
  it('reports each post, update and ephemeral as it happens, in order', async () => {
    changes.length = 0;
    await driver.slash(DANA, CHANNEL, '/deploy', 'go');
    await slack.waitFor(() => changes.includes('ephemeral:Only you'));
    expect(changes).toEqual(['message:Deploying:0', 'message:Deployed:1', 'ephemeral:Only you']);
  });

  it("shows a person's own message, as theirs (no bot_id), in the channel or a thread", async () => {
    const parent = slack.messages(CHANNEL).find((message) => message.text === 'Deployed')!;
    const mine = slack.postAsUser(DANA, CHANNEL, 'looks good to me');
    const reply = slack.postAsUser(DANA, CHANNEL, 'ship it', parent.ts);
    expect(mine).toMatchObject({ user: DANA, text: 'looks good to me' });
    expect(mine.bot_id).toBeUndefined();
    expect(slack.messageJson(mine)).not.toHaveProperty('subtype');
    expect(slack.thread(CHANNEL, parent.ts).map((message) => message.text)).toEqual(['ship it']);
    expect(reply.thread_ts).toBe(parent.ts);
    expect(() => slack.postAsUser('U0NOBODY', CHANNEL, 'hi')).toThrow('user_not_found');
    expect(() => slack.postAsUser(DANA, 'C0NOWHERE', 'hi')).toThrow('channel_not_found');
    expect(() => slack.postAsUser(DANA, CHANNEL, 'hi', reply.ts)).toThrow('thread_not_found');
  });

  it('closes a modal: view_closed reaches the app only when the view asked for it', async () => {
    await driver.slash(DANA, CHANNEL, '/deploy', 'ask');
    await driver.slash(DANA, CHANNEL, '/deploy', 'ask-quietly');
    const asked = await slack.waitFor(() => slack.views.find((view) => view.view.callback_id === 'ask'));
    const quiet = await slack.waitFor(() => slack.views.find((view) => view.view.callback_id === 'quiet'));
    await expect(driver.closeView('U0SOMEONE', asked.id)).rejects.toThrow(`opened for ${DANA}`);

    const answer = await driver.closeView(DANA, asked.id);
    expect(answer?.status).toBe(200);
    expect(slack.view(asked.id)?.state).toBe('closed');
    expect(closed).toEqual([{ callbackId: 'ask', user: DANA }]);

    expect(await driver.closeView(DANA, quiet.id)).toBeUndefined();
    expect(slack.view(quiet.id)?.state).toBe('closed');
    expect(closed).toHaveLength(1);
    await expect(driver.closeView(DANA, quiet.id)).rejects.toThrow('is not open');
    expect(changes.filter((change) => change.startsWith('view:')).sort()).toEqual([
      'view:ask:closed',
      'view:ask:open',
      'view:quiet:closed',
      'view:quiet:open',
    ]);
  });

  it('lists its channels and people for the page', () => {
    expect(slack.channels).toEqual([{ id: CHANNEL, name: 'demo', isPrivate: false }]);
    expect(slack.users).toEqual([{ id: DANA, name: 'dana', realName: 'Dana Deployer' }]);
    expect(slack.allMessages().map((message) => message.text)).toEqual([
      'Deployed',
      'looks good to me',
      'ship it',
    ]);
  });
});
