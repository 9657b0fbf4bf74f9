/**
 * The fake Slack a benchmark's bot talks to (test/support's fake Web API, in the orchestrator), and the
 * environment a Flightdeck process needs to run against it and the private Redis.
 */
import { FakeSlack } from '../../src/sandbox/slack/fake-slack.js';
import type { FakeSlackLimits } from '../../src/sandbox/slack/pace.js';
import { onCleanup } from './lifecycle.js';
import { BOT_TOKEN, SIGNING_SECRET } from './protocol.js';

/** `limits`: the fake keeps Slack's pace (429 + Retry-After), e.g. SLACK_LIMITS; none by default. */
export async function startFakeSlack(
  channels: string[],
  users: string[],
  limits?: FakeSlackLimits,
): Promise<FakeSlack> {
  const slack = await FakeSlack.start({
    botToken: BOT_TOKEN,
    channels,
    users: Object.fromEntries(users.map((id) => [id, { name: id.toLowerCase().replace('u0', '') }])),
    ...(limits ? { limits } : {}),
  });
  onCleanup(() => slack.stop());
  return slack;
}

/** What `npm start` / `npm run worker` would read from the environment, pointed at the benchmark's fakes. */
export function flightdeckEnv(options: {
  configPath: string;
  slack: FakeSlack;
  redisUrl: string;
  prefix: string;
  logLevel?: string;
  extra?: Record<string, string>;
}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'production',
    FLIGHTDECK_CONFIG: options.configPath,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: options.slack.apiUrl,
    SLACK_APP_TOKEN: '',
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: options.prefix,
    LOG_LEVEL: options.logLevel ?? 'warn',
    PORT: '0',
    ...options.extra,
  };
}
