/**
 * The baseline: a bare Bolt app on the same HTTP receiver, signing secret and fake Slack as the bot, with one
 * listener for the same button that does one Redis write keyed by the click's value and then acks. It is
 * what "acknowledge a click after doing a little real work" costs with nothing of Flightdeck in the way.
 */
import type { Server } from 'node:http';
import { App, type BlockAction, type ButtonAction, LogLevel } from '@slack/bolt';
import { Redis } from 'ioredis';
import { installProbe } from '../support/probe.js';
import { BOT_TOKEN, type ReadyMessage, SIGNING_SECRET } from '../support/protocol.js';
import { CLICK_ACTION_ID } from './protocol.js';

const { SLACK_API_URL, REDIS_URL } = process.env;
if (!SLACK_API_URL || !REDIS_URL) {
  console.error('baseline needs SLACK_API_URL and REDIS_URL');
  process.exit(2);
}

const redis = new Redis(REDIS_URL, { connectionName: 'bench-baseline' });
const app = new App({
  token: BOT_TOKEN,
  signingSecret: SIGNING_SECRET,
  clientOptions: { slackApiUrl: SLACK_API_URL },
  logLevel: LogLevel.WARN,
});
app.action<BlockAction<ButtonAction>>(CLICK_ACTION_ID, async ({ ack, action, body }) => {
  await redis.set(`bench-baseline:click:${action.value}`, `${body.user.id}|${Date.now()}`);
  await ack();
});

const server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
const address = server.address();
const port = typeof address === 'object' && address ? address.port : 0;

const stop = async () => {
  setTimeout(() => process.exit(1), 5_000).unref();
  await app.stop().catch(() => undefined);
  redis.disconnect();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.on('disconnect', () => void stop());
installProbe();
process.send?.({ type: 'ready', port } satisfies ReadyMessage);
