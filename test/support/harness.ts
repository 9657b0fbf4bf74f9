import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/load.js';
import type { FileConfig } from '../../src/config/schema.js';
import { type Flightdeck, type StartOptions, startFlightdeck } from '../../src/flightdeck.js';
import { createLogger } from '../../src/observability/logger.js';
import { FakeSlack } from '../../src/sandbox/slack/fake-slack.js';
import type { FakeSlackLimits } from '../../src/sandbox/slack/pace.js';
import { SlackDriver } from '../../src/sandbox/slack/slack-driver.js';
import { formatProblem } from '../../src/shared/problems.js';
import { testRedisUrl, uniquePrefix } from './redis.js';

/**
 * A whole Flightdeck process for end-to-end tests: the real wiring (`startFlightdeck`) on a free port,
 * the committed flightdeck.yaml and checklists, real Redis under a fresh key prefix, and the fake Slack
 * Web API. Requests go in through `driver`, signed as Slack signs them.
 */

export const BOT_TOKEN = 'xoxb-test-0000-flightdeck';
export const SIGNING_SECRET = 'test-signing-secret-8c1f';

export interface Harness {
  slack: FakeSlack;
  bot: Flightdeck;
  driver: SlackDriver;
  file: FileConfig;
  prefix: string;
  /** Captured log lines (JSON), for asserting that secrets stay out. */
  logs: string[];
  /** The environment the bot runs with, for starting extra processes (e.g. `npm run worker`) beside it. */
  env: Record<string, string>;
  /** Stops the bot and starts a new process on the same Redis keys (a restart). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  configPath?: string;
  presenter?: StartOptions['presenter'];
  prefix?: string;
  /** `bot` leaves checks to separate worker processes (the crash test starts its own). */
  role?: StartOptions['role'];
  worker?: StartOptions['worker'];
  kube?: StartOptions['kube'];
  traffic?: StartOptions['traffic'];
  checkModules?: StartOptions['checkModules'];
  sweepIntervalMs?: StartOptions['sweepIntervalMs'];
  inbox?: StartOptions['inbox'];
  inboxRecoveryMs?: StartOptions['inboxRecoveryMs'];
  staleClaimMs?: StartOptions['staleClaimMs'];
  redisHealth?: StartOptions['redisHealth'];
  /** Another Redis than the run's (a test that stops and starts its own server). */
  redisUrl?: string;
  /** Find the master through these sentinels (REDIS_SENTINELS, REDIS_MASTER_NAME) instead. */
  sentinels?: { list: string; masterName: string };
  /** The fake Slack keeps these limits (429 + Retry-After); none by default. */
  slackLimits?: FakeSlackLimits;
  /** The presenter paces Slack as in production instead of the tests' unthrottled pace. */
  productionPace?: boolean;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const prefix = options.prefix ?? uniquePrefix('e2e');
  const env = (apiUrl: string) => ({
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: apiUrl,
    REDIS_URL: options.redisUrl ?? testRedisUrl(),
    REDIS_PREFIX: prefix,
    FLIGHTDECK_CONFIG: options.configPath ?? 'flightdeck.yaml',
    LOG_LEVEL: 'info',
    ...(options.sentinels
      ? { REDIS_SENTINELS: options.sentinels.list, REDIS_MASTER_NAME: options.sentinels.masterName }
      : {}),
  });
  // Load once to learn the channels and people the fake workspace must have.
  const probe = await loadConfig(env('http://127.0.0.1:1/api/'));
  if (!probe.ok)
    throw new Error(`test configuration is invalid:\n${probe.problems.map(formatProblem).join('\n')}`);
  const file = probe.config.file;
  const users = new Set(Object.values(file.roles).flatMap((role) => role.users));
  const groups = Object.fromEntries(
    Object.values(file.roles)
      .flatMap((role) => role.groups)
      .map((group) => [group, [`U0${group.slice(1)}M1`, `U0${group.slice(1)}M2`]]),
  );
  for (const members of Object.values(groups)) for (const member of members) users.add(member);
  users.add('U0OUTSIDER');

  const slack = await FakeSlack.start({
    botToken: BOT_TOKEN,
    channels: Object.values(file.services).map((service) => service.channel),
    users: Object.fromEntries([...users].map((id) => [id, { name: id.toLowerCase() }])),
    usergroups: groups,
    ...(options.slackLimits ? { limits: options.slackLimits } : {}),
  });
  const loaded = await loadConfig(env(slack.apiUrl));
  if (!loaded.ok) throw new Error(loaded.problems.map(formatProblem).join('\n'));
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const start = () =>
    startFlightdeck(loaded.config, {
      listen: { port: 0, host: '127.0.0.1' },
      logger: createLogger({ level: 'info', destination }),
      // Tests are not throttled by the workspace-wide budget unless they ask for it.
      presenter: options.productionPace
        ? options.presenter
        : {
            minUpdateIntervalMs: 50,
            updatesPerMinute: 60_000,
            updateBurst: 1_000,
            postsPerSecond: 1_000,
            postBurst: 1_000,
            ...options.presenter,
          },
      role: options.role ?? 'all',
      worker: options.worker ?? { run: { backoffMs: 20 } },
      ...(options.kube ? { kube: options.kube } : {}),
      ...(options.traffic ? { traffic: options.traffic } : {}),
      ...(options.sweepIntervalMs ? { sweepIntervalMs: options.sweepIntervalMs } : {}),
      ...(options.checkModules ? { checkModules: options.checkModules } : {}),
      ...(options.inbox ? { inbox: options.inbox } : {}),
      ...(options.inboxRecoveryMs ? { inboxRecoveryMs: options.inboxRecoveryMs } : {}),
      ...(options.staleClaimMs ? { staleClaimMs: options.staleClaimMs } : {}),
      ...(options.redisHealth ? { redisHealth: options.redisHealth } : {}),
    });
  let bot = await start();
  const driver = () =>
    new SlackDriver({
      eventsUrl: `http://127.0.0.1:${bot.port}/slack/events`,
      signingSecret: SIGNING_SECRET,
      slack,
    });

  const harness: Harness = {
    slack,
    bot,
    driver: driver(),
    file,
    prefix,
    logs,
    env: env(slack.apiUrl),
    async restart() {
      await bot.stop();
      bot = await start();
      harness.bot = bot;
      harness.driver = driver();
    },
    async stop() {
      await bot.stop();
      await slack.stop();
    },
  };
  return harness;
}

/** Someone who holds `role` in the committed flightdeck.yaml (a direct member, else a group member). */
export function memberOf(file: FileConfig, role: string): string {
  const config = file.roles[role];
  if (!config) throw new Error(`no role ${role}`);
  const direct = config.users[0];
  if (direct) return direct;
  const group = config.groups[0] as string;
  return `U0${group.slice(1)}M1`;
}
