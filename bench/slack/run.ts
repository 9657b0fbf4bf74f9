/**
 * `npm run bench:slack`: what Flightdeck sends to Slack when many deployments share one channel, against a
 * fake Slack that keeps Slack's limits (SLACK_LIMITS: about one post a second per channel with a burst of
 * three, chat.update 50 in any minute for the workspace, 429 + Retry-After beyond them).
 *
 * One run per size (BENCH_SLACK_RUNS, default `20,100`), each with a fresh bot process (production wiring
 * and presenter settings, ../support/bot.ts), fake Slack and key prefix on one private Redis. A release
 * day in one channel: the teams type `/deploy start` (signed, through Bolt's receiver) within the first
 * BENCH_SLACK_START_SPREAD_MS (default 60000), all at once with `0`, then walk their three phases by
 * clicking Done on the buttons their thread shows (signed block_actions: in the phase's message, or in the
 * card when the deployment started while the channel was busy and its phases fold there), each click after a think time
 * drawn evenly from BENCH_SLACK_THINK_MS (`min-max` in ms, default 5000-30000: reading, checking a
 * dashboard; `0` clicks as soon as the button shows). The draws are seeded: every run draws the same.
 * Once all have completed and the presenter has nothing left to send, the figures come from the fake's call
 * log and messages:
 *
 * - posts_per_channel_s_max: the most posts Slack took (429s not counted) in one channel in any 1 s;
 * - updates_per_min_max: the most chat.update calls Slack took in any 60 s;
 * - http_429: calls answered 429, any method;
 * - stale_thread_p99_s: per deployment, from its last change (its last audit entry, Redis time) until
 *   every message of its thread (card, phases unless folded, report) showed its final content (the fake's post and
 *   update times); the 99th percentile over the deployments (nearest rank). Target: 10 s.
 * Every thread is also checked: one card, each message once, every item shown done, the report there.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeploymentStore, type ThreadLayout } from '../../src/deployments/store.js';
import type { FakeSlack } from '../../src/sandbox/slack/fake-slack.js';
import { SLACK_LIMITS } from '../../src/sandbox/slack/pace.js';
import { SlackDriver } from '../../src/sandbox/slack/slack-driver.js';
import type { FakeMessage } from '../../src/sandbox/slack/types.js';
import { ACTION } from '../../src/slack/action-ids.js';
import { phaseMessageKey } from '../../src/slack/render/phase-message.js';
import { REPORT_KEY } from '../../src/slack/render/report.js';
import { CARD_KEY } from '../../src/slack/render/status-card.js';
import { ask, spawnChild } from '../support/children.js';
import { busyWarning, cpuColumn, cpuMeter } from '../support/cpu.js';
import { onCleanup, progress, runBenchmark, shutdown, sleep, waitFor } from '../support/lifecycle.js';
import { SIGNING_SECRET } from '../support/protocol.js';
import { type PrivateRedis, startPrivateRedis } from '../support/redis.js';
import { flightdeckEnv, startFakeSlack } from '../support/slack.js';
import { fixed, out, table } from '../support/table.js';
import { DEPLOYER, ENVIRONMENT, serviceName } from '../support/workspace.js';
import type { IdleReply } from './protocol.js';
import { CHANNEL, itemId, PHASES, writeWorkspace } from './workspace.js';

const RUNS = (process.env.BENCH_SLACK_RUNS ?? '20,100').split(',').map(Number);
const START_SPREAD_MS = Number(process.env.BENCH_SLACK_START_SPREAD_MS ?? 60_000);
const [THINK_MIN_MS = 0, THINK_MAX_MS = THINK_MIN_MS] = (process.env.BENCH_SLACK_THINK_MS ?? '5000-30000')
  .split('-')
  .map(Number);
const TARGET_STALE_S = 10;
/** A hundred deployments post 500 messages into one channel: at one a second, minutes. */
const WAIT_MS = 30 * 60_000;
const POLL_MS = 50;

interface Row {
  deployments: number;
  /** Deployments whose phases showed in their card (the channel was busy when they started). */
  folded: number;
  durationS: number;
  posts: number;
  updates: number;
  postsPerChannelSecondMax: number;
  updatesPerMinuteMax: number;
  http429: number;
  /** Start command to the card in the channel, per deployment (s). */
  cardWaitMaxS: number;
  stale: { p50: number; p99: number; max: number };
  /** How long the presenter still had things to send once the last deployment had completed. */
  drainS: number;
  /** chat.update calls per deployment, by kind of message. */
  updatesPerDeployment: Record<string, number>;
  cpu: Record<string, number>;
  problems: string[];
}

/** Evenly drawn numbers in [0, 1) for one team: a small seeded generator (mulberry32), the same every run. */
function draws(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

// ---------------------------------------------------------------------------------------------------------
// What the fake Slack shows
// ---------------------------------------------------------------------------------------------------------

/** The bot's messages by deployment and key (their metadata), as Slack stores them. */
function messageIndex(slack: FakeSlack): Map<string, FakeMessage[]> {
  const index = new Map<string, FakeMessage[]>();
  slack.watch((change) => {
    if (change.type !== 'message') return;
    const payload = change.message.metadata?.event_payload;
    if (!payload) return;
    const key = `${payload.deployment_id}|${payload.message_key}`;
    const copies = index.get(key) ?? [];
    if (!copies.includes(change.message)) index.set(key, [...copies, change.message]);
  });
  return index;
}

function hasButton(node: unknown, actionId: string, value: string): boolean {
  if (Array.isArray(node)) return node.some((child) => hasButton(child, actionId, value));
  if (!node || typeof node !== 'object') return false;
  const element = node as { type?: unknown; action_id?: unknown; value?: unknown };
  if (element.type === 'button' && element.action_id === actionId && element.value === value) return true;
  return Object.values(node).some((child) => hasButton(child, actionId, value));
}

/** When the message's present content first showed (its post, or the update that put it there). */
function currentSince(message: FakeMessage): number {
  const shown = (version: { text: string; blocks: unknown }) =>
    JSON.stringify([version.text, version.blocks]);
  const now = shown(message);
  let since = message.history.at(-1)?.at ?? message.postedAt;
  // history[i] was replaced at history[i].at; it had been shown since the update before it (or the post).
  for (let index = message.history.length - 1; index >= 0; index--) {
    if (shown(message.history[index] as FakeMessage['history'][number]) !== now) break;
    since = index === 0 ? message.postedAt : (message.history[index - 1]?.at ?? message.postedAt);
  }
  return since;
}

/** The most `times` in any window of `windowMs`. */
function mostInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let first = 0;
  for (let last = 0; last < sorted.length; last++) {
    while ((sorted[last] as number) - (sorted[first] as number) >= windowMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

function nearestRank(sorted: number[], percentile: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((percentile / 100) * sorted.length) - 1)] as number;
}

// ---------------------------------------------------------------------------------------------------------
// One run
// ---------------------------------------------------------------------------------------------------------

interface Context {
  slack: FakeSlack;
  driver: SlackDriver;
  store: DeploymentStore;
  messages: Map<string, FakeMessage[]>;
}

/** Starts one deployment from Slack and clicks its items Done as they show; resolves when it completed. */
async function startAndWalk(context: Context, index: number): Promise<{ id: string; startedAt: number }> {
  const { driver, store, messages } = context;
  const service = serviceName(index);
  const draw = draws(index + 1);
  await sleep(draw() * START_SPREAD_MS);
  const startedAt = Date.now();
  const answer = await driver.slash(DEPLOYER, CHANNEL, '/deploy', `start ${service} 1.0.0`);
  if (answer.status !== 200) throw new Error(`/deploy start ${service} answered HTTP ${answer.status}`);
  const id = await waitFor(() => store.activeFor(service, ENVIRONMENT), `${service} to start`, WAIT_MS, 250);
  // A threaded deployment shows a phase's buttons in the phase's message, a folded one in its card.
  const shownIn = (phaseId: string) => [`${id}|${phaseMessageKey(phaseId, 0)}`, `${id}|${CARD_KEY}`];
  for (const [phase, { id: phaseId, items }] of PHASES.entries()) {
    for (let item = 0; item < items.length; item++) {
      const value = `${id}|${itemId(phase, item)}`;
      const message = await waitFor(
        async () =>
          shownIn(phaseId)
            .map((key) => messages.get(key)?.[0])
            .find((candidate) => candidate && hasButton(candidate.blocks, ACTION.itemDone, value)),
        `the Done button of ${value}`,
        WAIT_MS,
        POLL_MS,
      );
      const think = THINK_MIN_MS + draw() * (THINK_MAX_MS - THINK_MIN_MS);
      if (think > 0) await sleep(think);
      const click = await driver.clickButton(
        `U0P${String(index).padStart(3, '0')}${phase}${item}`,
        { channel: CHANNEL, ts: message.ts },
        { actionId: ACTION.itemDone, value },
      );
      if (click.status !== 200) throw new Error(`a click on ${value} answered HTTP ${click.status}`);
    }
  }
  await waitFor(
    async () => ((await store.load(id))?.state.status === 'completed' ? true : undefined),
    `${service} to complete`,
    WAIT_MS,
    250,
  );
  return { id, startedAt };
}

/**
 * What is wrong with a deployment's thread at the end, if anything. Threaded: a message per phase, each
 * showing its items done. Folded (a busy channel): no phase messages, the card counting every item done.
 */
function threadProblems(context: Context, id: string, layout: ThreadLayout): string[] {
  const { slack, messages } = context;
  const problems: string[] = [];
  const copies = (key: string) => messages.get(`${id}|${key}`) ?? [];
  const phaseKeys = PHASES.map((phase) => phaseMessageKey(phase.id, 0));
  for (const key of [CARD_KEY, ...phaseKeys, REPORT_KEY]) {
    const wanted = layout === 'folded' && phaseKeys.includes(key) ? 0 : 1;
    if (copies(key).length !== wanted) problems.push(`${id}: ${copies(key).length} copies of ${key}`);
  }
  const card = copies(CARD_KEY)[0];
  if (card && !JSON.stringify(card.blocks).includes('*Completed*'))
    problems.push(`${id}: the card does not say completed`);
  const items = PHASES.reduce((sum, phase) => sum + phase.items.length, 0);
  if (layout === 'folded' && card && !JSON.stringify(card.blocks).includes(`${items}/${items} items`))
    problems.push(`${id}: the folded card does not count ${items} of ${items} items done`);
  if (layout === 'folded') return problems;
  for (const phase of PHASES) {
    const shown = JSON.stringify(copies(phaseMessageKey(phase.id, 0))[0]?.blocks ?? []);
    const done = shown.match(/done by <@/g)?.length ?? 0;
    if (done !== phase.items.length)
      problems.push(`${id}: ${phase.id} shows ${done} of ${phase.items.length} done`);
  }
  const strays = slack.allMessages().filter((message) => message.channel === CHANNEL && !message.metadata);
  if (strays.length > 0) problems.push(`${strays.length} bot messages without metadata`);
  return problems;
}

async function measure(redis: PrivateRedis, deployments: number): Promise<Row> {
  const dir = await mkdtemp(join(tmpdir(), 'flightdeck-bench-slack-'));
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  const configPath = await writeWorkspace(dir, deployments);
  const slack = await startFakeSlack([CHANNEL], [DEPLOYER], SLACK_LIMITS);
  const prefix = `fdslack${deployments}`;
  const bot = await spawnChild('bench/slack/flightdeck.ts', {
    env: flightdeckEnv({ configPath, slack, redisUrl: redis.url, prefix }),
    logFile: join(dir, 'flightdeck.log'),
  });
  const context: Context = {
    slack,
    driver: new SlackDriver({
      eventsUrl: `http://127.0.0.1:${bot.port}/slack/events`,
      signingSecret: SIGNING_SECRET,
      slack,
    }),
    store: new DeploymentStore(redis.client, prefix),
    messages: messageIndex(slack),
  };

  progress(`${deployments} deployments in one channel: starting them all and clicking through`);
  const meter = cpuMeter({ bot: bot.pid, redis: redis.pid, bench: process.pid });
  const startedAt = Date.now();
  const walked = await Promise.all(
    Array.from({ length: deployments }, (_, index) => startAndWalk(context, index)),
  );
  const lastCompletedAt = Date.now();
  progress(
    `  all completed after ${fixed((lastCompletedAt - startedAt) / 1_000, 0)} s; waiting for the presenter`,
  );
  const idle = await ask<IdleReply>(
    bot,
    { type: 'idle' },
    (message) => (message as IdleReply)?.type === 'idle',
  );
  const cpu = meter();
  await bot.stop();

  const calls = slack.calls;
  const taken = (method: string) => calls.filter((call) => call.method === method && call.status !== 429);
  const posts = taken('chat.postMessage');
  const byChannel = new Map<string, number[]>();
  for (const call of posts)
    byChannel.set(String(call.args.channel), [...(byChannel.get(String(call.args.channel)) ?? []), call.at]);
  const updates = taken('chat.update');

  const kindOf = new Map<string, string>();
  for (const [key, copies] of context.messages)
    for (const copy of copies) kindOf.set(copy.ts, key.slice(key.indexOf('|') + 1).split(':')[0] as string);
  const updatesPerDeployment: Record<string, number> = {};
  for (const call of updates) {
    const kind = kindOf.get(String(call.args.ts)) ?? 'other';
    updatesPerDeployment[kind] = (updatesPerDeployment[kind] ?? 0) + 1 / deployments;
  }

  const stale: number[] = [];
  const cardWaits: number[] = [];
  const problems: string[] = [];
  let folded = 0;
  for (const { id, startedAt: askedAt } of walked) {
    const layout = (await context.store.threadLayout(id)) ?? 'threaded';
    if (layout === 'folded') folded++;
    problems.push(...threadProblems(context, id, layout));
    const thread = [...context.messages.entries()]
      .filter(([key]) => key.startsWith(`${id}|`))
      .flatMap(([, copies]) => copies);
    const card = context.messages.get(`${id}|${CARD_KEY}`)?.[0];
    if (card) cardWaits.push(card.postedAt - askedAt);
    const lastEntry = (await context.store.audit(id)).at(-1)?.id ?? '0-0';
    const lastChange = Number(lastEntry.slice(0, lastEntry.indexOf('-')));
    stale.push(Math.max(0, Math.max(...thread.map(currentSince)) - lastChange));
  }
  stale.sort((a, b) => a - b);
  return {
    deployments,
    folded,
    durationS: (lastCompletedAt - startedAt) / 1_000,
    posts: posts.length,
    updates: updates.length,
    postsPerChannelSecondMax: Math.max(
      0,
      ...[...byChannel.values()].map((times) => mostInWindow(times, 1_000)),
    ),
    updatesPerMinuteMax: mostInWindow(
      updates.map((call) => call.at),
      60_000,
    ),
    http429: calls.filter((call) => call.status === 429).length,
    cardWaitMaxS: Math.max(...cardWaits) / 1_000,
    stale: {
      p50: nearestRank(stale, 50) / 1_000,
      p99: nearestRank(stale, 99) / 1_000,
      max: (stale.at(-1) ?? Number.NaN) / 1_000,
    },
    drainS: idle.waitedMs / 1_000,
    updatesPerDeployment,
    cpu,
    problems,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------------------

function resultsTable(rows: Row[]): string {
  const header = [
    'deployments',
    'folded',
    'run s',
    'posts',
    'updates',
    'posts/s/ch max',
    'updates/min max',
    '429s',
  ];
  header.push('card wait max s', 'stale p50 s', 'stale p99 s', 'stale max s', 'drain s', 'cpu s');
  return table(
    header,
    rows.map((row) => [
      String(row.deployments),
      String(row.folded),
      fixed(row.durationS, 0),
      String(row.posts),
      String(row.updates),
      String(row.postsPerChannelSecondMax),
      String(row.updatesPerMinuteMax),
      String(row.http429),
      fixed(row.cardWaitMaxS, 1),
      fixed(row.stale.p50, 1),
      fixed(row.stale.p99, 1),
      fixed(row.stale.max, 1),
      fixed(row.drainS, 1),
      cpuColumn(row.cpu, ['bot', 'redis', 'bench', 'other']),
    ]),
    1,
  );
}

const LEGEND = [
  'folded: deployments whose phases showed in their card (started while the channel had posts in line). run s: first /deploy start -> last deployment completed. posts / updates: calls Slack took (429s not',
  "counted). card wait: /deploy start -> the card in the channel. stale: a thread's last change -> every",
  'message of it showing its final content. drain: last completion -> the presenter idle. cpu: CPU seconds',
  'of bot/redis/bench (this process: the fake Slack and the clicking)/everything else.',
];

async function main(): Promise<void> {
  const startedAt = Date.now();
  const redis = await startPrivateRedis('bench-slack');
  const rows: Row[] = [];
  for (const deployments of RUNS) {
    const row = await measure(redis, deployments);
    rows.push(row);
    progress(
      `  ${deployments}: ${row.http429} × 429, stale p99 ${fixed(row.stale.p99, 1)} s, ${row.problems.length} problems`,
    );
  }

  out();
  out(
    `bench:slack — ${cpus().length} cores, node ${process.version}; deployments of a three-phase manual ` +
      `checklist in one channel, started within ${START_SPREAD_MS / 1_000} s and clicked through Slack ` +
      `(${THINK_MIN_MS / 1_000}-${THINK_MAX_MS / 1_000} s before each click), ` +
      'against a fake Slack keeping its limits (1 post/s per channel, burst 3; chat.update 50/min)',
  );
  out();
  out(resultsTable(rows));
  for (const line of LEGEND) out(line);
  for (const row of rows)
    out(
      `${row.deployments} deployments: updates per deployment ${Object.entries(row.updatesPerDeployment)
        .map(([kind, count]) => `${kind} ${fixed(count, 1)}`)
        .join(', ')}`,
    );
  out();
  const problems = rows.flatMap((row) => row.problems);
  for (const problem of problems.slice(0, 20)) out(`!!! ${problem}`);
  if (problems.length > 20) out(`!!! … and ${problems.length - 20} more`);
  const busy = busyWarning(rows.map((row) => ({ label: `${row.deployments} deployments`, cpu: row.cpu })));
  if (busy) out(busy);
  const met =
    rows.every((row) => row.http429 === 0 && row.stale.p99 <= TARGET_STALE_S) && problems.length === 0;
  out(
    `target ${met ? 'met' : 'MISSED'}: 0 × 429 and every thread current within ${TARGET_STALE_S} s of its last ` +
      `change (p99)${problems.length > 0 ? `, ${problems.length} problems` : ''}. Took ${fixed((Date.now() - startedAt) / 1_000, 0)} s.`,
  );
  for (const row of rows)
    out(
      `bench:slack deployments=${row.deployments} posts_per_channel_s_max=${row.postsPerChannelSecondMax} ` +
        `updates_per_min_max=${row.updatesPerMinuteMax} http_429=${row.http429} stale_thread_p99_s=${fixed(row.stale.p99, 1)}`,
    );
  await shutdown(problems.length > 0 ? 1 : 0);
}

runBenchmark('bench:slack', main);
