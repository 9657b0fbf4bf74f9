/**
 * `npm run bench:ack`: how fast Flightdeck acknowledges button clicks, against a bare Bolt app.
 *
 * Signed `block_actions` clicks on pending items of real deployments (each one a real state change) go
 * into the bot's HTTP receiver with real Redis, sent from a separate load process over keep-alive HTTP:
 * open loop at 200 clicks/s for 10 s (ack latency) and closed loop at concurrency 50 for 10 s (clicks/s).
 * The baseline is measured the same way with the same bodies: a bare Bolt app that acks each click after
 * one Redis write. Afterwards every click sent to the bot must be a resolved item in Redis.
 *
 * Processes: this orchestrator (fake Slack + bookkeeping), the bot (bench/ack/bot.ts) or the baseline
 * (bench/ack/baseline.ts), the load (bench/ack/load.ts) and a private redis-server.
 *
 * Environment: BENCH_ACK_CPU_PROF=<dir> writes V8 CPU profiles of the bot process during its measured runs
 * there (open it in Chrome DevTools or speedscope);
 * BENCH_ACK_ORDER=grouped clicks one deployment's items back to back instead of spreading the clicks
 * round-robin over all deployments of a run (the default).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { isResolved } from '../../src/deployments/model.js';
import { DeploymentStore, type LoadedDeployment } from '../../src/deployments/store.js';
import type { FakeSlack } from '../../src/sandbox/slack/fake-slack.js';
import { SlackDriver } from '../../src/sandbox/slack/slack-driver.js';
import { partitionPhase, phaseMessageKey } from '../../src/slack/render/phase-message.js';
import { CARD_KEY } from '../../src/slack/render/status-card.js';
import { ask, type Child, spawnChild } from '../support/children.js';
import { busyWarning, cpuColumn, cpuMeter, idleMachine } from '../support/cpu.js';
import { startDeployments } from '../support/deployments.js';
import { onCleanup, progress, runBenchmark, shutdown, sleep, waitFor } from '../support/lifecycle.js';
import { probe } from '../support/probe.js';
import { type ProbeReply, SIGNING_SECRET } from '../support/protocol.js';
import { startPrivateRedis } from '../support/redis.js';
import { flightdeckEnv, startFakeSlack } from '../support/slack.js';
import { fixed, out, table } from '../support/table.js';
import { channelId, DEPLOYER } from '../support/workspace.js';
import { ClickBuilder, type ClickTarget } from './clicks.js';
import type { ClickFile, LoadCommand, LoadResult } from './protocol.js';
import { CLICK_PHASE_ID, CLICKERS, ITEMS_PER_DEPLOYMENT, writeWorkspace } from './workspace.js';

const OPEN = { ratePerSecond: 200, durationMs: 10_000 };
const CLOSED = { concurrency: 50, durationMs: 10_000 };
/** Same for both targets; long enough for V8 to optimise the hot paths before anything is measured. */
const WARMUP = { ratePerSecond: 100, durationMs: 2_000 };
/** Services in the generated flightdeck.yaml: the most deployments one run can use. */
const MAX_SERVICES = 1_200;
/** Ours gets clicks for this many times the baseline's closed-loop rate; if it is faster still, the run
 * ends when they run out and the rate is taken over the shorter window. */
const CLOSED_HEADROOM = 1.5;
const PREFIX = 'fdbench';
const DRAIN_TIMEOUT_MS = 120_000;
/** Longer than the presenter's default 1 s update interval, so trailing chat.updates have gone out. */
const QUIET_MS = 1_500;
const QUIET_TIMEOUT_MS = 30_000;
const TARGETS = { p99Ms: 25, throughputRatio: 0.6 };

const ORDER = process.env.BENCH_ACK_ORDER === 'grouped' ? 'grouped' : 'spread';
const CPU_PROFILE_DIR = process.env.BENCH_ACK_CPU_PROF;

/** One command to the load process, and its result. */
function runLoad(load: Child, command: LoadCommand): Promise<LoadResult> {
  return ask<LoadResult>(load, command, (message) => (message as LoadResult)?.type === 'result');
}

// ---------------------------------------------------------------------------------------------------------
// Deployments and the clicks on them
// ---------------------------------------------------------------------------------------------------------

interface BenchDeployment {
  id: string;
  channel: string;
  cardTs: string;
  /** The thread message (ts) that shows each item of the click phase. */
  itemMessages: Array<{ itemId: string; ts: string }>;
}

/** Starts deployments of services [from, to) and notes which thread message shows each click-phase item. */
function startClickDeployments(
  driver: SlackDriver,
  store: DeploymentStore,
  from: number,
  to: number,
): Promise<BenchDeployment[]> {
  return startDeployments(driver, store, from, to, async (id, index) => {
    const loaded = (await waitFor(() => store.load(id), `${id} in Redis`)) as LoadedDeployment;
    const phase = loaded.checklist.phases.find((candidate) => candidate.id === CLICK_PHASE_ID);
    if (!phase) throw new Error(`checklist has no phase ${CLICK_PHASE_ID}`);
    const cardTs = await waitFor(() => store.message(id, CARD_KEY), `the status card of ${id}`);
    const itemMessages: BenchDeployment['itemMessages'] = [];
    for (const [part, items] of partitionPhase(phase).entries()) {
      const ts = await waitFor(
        () => store.message(id, phaseMessageKey(phase.id, part)),
        `part ${part} of ${id}'s first phase to be posted`,
      );
      for (const item of items) itemMessages.push({ itemId: item.id, ts });
    }
    return { id, channel: channelId(index), cardTs, itemMessages };
  });
}

/**
 * Every pending item of `deployments` once, in click order. `spread`: round-robin over the deployments
 * (item 1 of each, then item 2 of each…), like many teams clicking at once; `grouped`: one deployment's
 * items back to back.
 */
function clickTargets(deployments: BenchDeployment[]): ClickTarget[] {
  const targets: ClickTarget[] = [];
  const target = (deployment: BenchDeployment, item: number, serial: number): ClickTarget => {
    const message = deployment.itemMessages[item] as { itemId: string; ts: string };
    return {
      channel: deployment.channel,
      messageTs: message.ts,
      threadTs: deployment.cardTs,
      deploymentId: deployment.id,
      itemId: message.itemId,
      user: CLICKERS[serial % CLICKERS.length] as string,
    };
  };
  if (ORDER === 'grouped') {
    for (const deployment of deployments)
      for (let item = 0; item < ITEMS_PER_DEPLOYMENT; item++)
        targets.push(target(deployment, item, targets.length));
  } else {
    for (let item = 0; item < ITEMS_PER_DEPLOYMENT; item++)
      for (const deployment of deployments) targets.push(target(deployment, item, targets.length));
  }
  return targets;
}

/** How many of `clicked` (deployment id -> item ids) Redis shows resolved: one pipelined read. */
async function countResolved(redis: Redis, clicked: Map<string, Set<string>>): Promise<number> {
  const pipeline = redis.pipeline();
  const ids = [...clicked.keys()];
  for (const id of ids) pipeline.hget(`${PREFIX}:dep:${id}`, 'state');
  const replies = (await pipeline.exec()) ?? [];
  let resolved = 0;
  replies.forEach(([error, raw], index) => {
    if (error || typeof raw !== 'string') return;
    const items = (JSON.parse(raw) as { items: Record<string, { status: string }> }).items;
    for (const itemId of clicked.get(ids[index] as string) ?? [])
      if (isResolved(items[itemId] as Parameters<typeof isResolved>[0])) resolved++;
  });
  return resolved;
}

function clickedSet(targets: ClickTarget[], into = new Map<string, Set<string>>()): Map<string, Set<string>> {
  for (const target of targets) {
    const items = into.get(target.deploymentId) ?? new Set<string>();
    items.add(target.itemId);
    into.set(target.deploymentId, items);
  }
  return into;
}

/** Waits until the bot has applied every click in `clicked`; ms after `since`, or undefined on timeout. */
async function drain(
  redis: Redis,
  clicked: Map<string, Set<string>>,
  expected: number,
  since: number,
): Promise<number | undefined> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    if ((await countResolved(redis, clicked)) >= expected) return Math.max(0, Date.now() - since);
    if (Date.now() > deadline) return undefined;
    await sleep(20);
  }
}

/** Waits until the bot has stopped talking to Slack for QUIET_MS (trailing coalesced updates done). */
async function quiet(slack: FakeSlack): Promise<void> {
  let count = slack.calls.length;
  let since = Date.now();
  const deadline = Date.now() + QUIET_TIMEOUT_MS;
  while (Date.now() - since < QUIET_MS) {
    if (Date.now() > deadline) {
      progress(`  the bot is still updating Slack after ${QUIET_TIMEOUT_MS / 1000} s; going on`);
      return;
    }
    await sleep(100);
    if (slack.calls.length !== count) {
      count = slack.calls.length;
      since = Date.now();
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------------------

interface Row {
  target: 'ours' | 'baseline';
  load: string;
  result: LoadResult;
  drainMs?: number | undefined;
  cpu: Record<string, number>;
  chatUpdates?: number;
  server?: ProbeReply;
}

/** Clicks per second from the start of a run until the bot had applied all of them (acks may run ahead). */
function appliedPerSecond(row: Row): number {
  const ms = row.result.finishedAt + (row.drainMs ?? Number.NaN) - row.result.startedAt;
  return (row.result.sent * 1000) / ms;
}

function resultsTable(rows: Row[]): string {
  const header = ['target', 'load', 'sent', 'errors', 'over 3 s', 'p50 ms', 'p99 ms', 'max ms', 'clicks/s'];
  header.push('drain ms', 'applied/s');
  return table(
    header,
    rows.map((row) => [
      row.target,
      row.load,
      String(row.result.sent),
      String(row.result.errors),
      String(row.result.late),
      fixed(row.result.p50),
      fixed(row.result.p99),
      fixed(row.result.max),
      row.result.mode === 'closed'
        ? `${fixed(row.result.perSecond, 0)}${row.result.ranOut ? ` (ran out after ${fixed(row.result.windowMs / 1000, 1)} s)` : ''}`
        : '-',
      row.drainMs === undefined ? '-' : String(row.drainMs),
      row.drainMs === undefined ? '-' : fixed(appliedPerSecond(row), 0),
    ]),
  );
}

function diagnosticsTable(rows: Row[]): string {
  const header = ['target', 'load', 'cpu s: server/load/redis/fake/other/steal', 'server loop p99/max ms'];
  header.push('server gc ms', 'load lag/loop ms', 'chat.update');
  return table(
    header,
    rows.map((row) => [
      row.target,
      row.load,
      cpuColumn(row.cpu, ['server', 'load', 'redis', 'fake', 'other', 'steal']),
      `${fixed(row.server?.loopDelayP99Ms ?? Number.NaN, 1)}/${fixed(row.server?.loopDelayMaxMs ?? Number.NaN, 1)}`,
      fixed(row.server?.gcMs ?? Number.NaN, 0),
      `${row.result.mode === 'open' ? fixed(row.result.maxSendLagMs, 1) : '-'}/${fixed(row.result.loopDelayMaxMs, 1)}`,
      row.chatUpdates === undefined ? '-' : String(row.chatUpdates),
    ]),
  );
}

const RESULTS_LEGEND = [
  'p50/p99/max: ack latency; open loop from the scheduled send time, closed loop from the actual send.',
  'over 3 s: answers later than Slack waits. drain: last answer -> every click resolved in Redis.',
  'applied/s: clicks per second from the start of the run until the bot had applied all of them.',
];
const DIAGNOSTICS_LEGEND = [
  'cpu: CPU seconds per process during the run (fake = the orchestrator, which hosts the fake Slack;',
  'other = everything else on the machine; steal = CPU the VM host took). server loop: event-loop delay',
  'of the bot or baseline process; server gc: its garbage-collection pauses in total. load lag/loop: how',
  'late the load process sent (open loop, worst) / its own longest event-loop stall. chat.update: calls',
  'the bot made to the fake Slack.',
];

// ---------------------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------------------

async function writeClickFile(dir: string, name: string, file: ClickFile): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(file));
  return path;
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'flightdeck-bench-ack-'));
  onCleanup(() => rm(dir, { recursive: true, force: true }));

  const { url: redisUrl, pid: redisPid, client: redis } = await startPrivateRedis('bench-orchestrator');
  const configPath = await writeWorkspace(dir, MAX_SERVICES);
  const slack = await startFakeSlack(
    Array.from({ length: MAX_SERVICES }, (_, index) => channelId(index)),
    [DEPLOYER, ...CLICKERS],
  );

  const botLog = join(dir, 'bot.log');
  progress('starting the bot');
  const bot = await spawnChild('bench/support/bot.ts', {
    env: flightdeckEnv({ configPath, slack, redisUrl, prefix: PREFIX }),
    logFile: botLog,
  });
  const botUrl = `http://127.0.0.1:${bot.port}/slack/events`;
  const store = new DeploymentStore(redis, PREFIX);
  const driver = new SlackDriver({ eventsUrl: botUrl, signingSecret: SIGNING_SECRET, slack });

  // Deployments for the warm-up and the open loop; their clicks also serve the baseline.
  const warmupClicks = Math.round((WARMUP.ratePerSecond * WARMUP.durationMs) / 1000);
  const openClicks = Math.round((OPEN.ratePerSecond * OPEN.durationMs) / 1000);
  const firstPoolSize = Math.ceil((warmupClicks + openClicks) / ITEMS_PER_DEPLOYMENT);
  progress(`starting ${firstPoolSize} deployments for the warm-up and the open loop`);
  let setupStarted = Date.now();
  const firstPool = await startClickDeployments(driver, store, 0, firstPoolSize);
  const firstTargets = clickTargets(firstPool);
  const builder = new ClickBuilder(slack);
  for (const target of firstTargets) builder.add(target);
  progress(`  ${firstPool.length} deployments in ${Date.now() - setupStarted} ms`);
  await quiet(slack);

  const rows: Row[] = [];
  const measure = async (
    target: Row['target'],
    load: Child,
    server: Child,
    label: string,
    command: LoadCommand,
  ): Promise<Row> => {
    const pids = { server: server.pid, load: load.pid, redis: redisPid, fake: process.pid };
    await idleMachine(pids);
    const profile =
      CPU_PROFILE_DIR && target === 'ours'
        ? join(
            resolve(CPU_PROFILE_DIR),
            `ours-${label.replace(/[^a-z0-9]+/gi, '-')}-${Date.now()}.cpuprofile`,
          )
        : undefined;
    await probe(server, { type: 'probe', action: 'start', ...(profile ? { profile } : {}) });
    const cpu = cpuMeter(pids);
    const callsBefore = slack.calls.length;
    const result = await runLoad(load, command);
    const row: Row = { target, load: label, result, cpu: cpu() };
    row.server = await probe(server, { type: 'probe', action: 'stop', ...(profile ? { profile } : {}) });
    if (target === 'ours')
      row.chatUpdates = slack.calls.slice(callsBefore).filter((call) => call.method === 'chat.update').length;
    if (profile) progress(`  CPU profile: ${profile}`);
    return row;
  };
  const openLabel = `open ${OPEN.ratePerSecond}/s × ${OPEN.durationMs / 1000} s`;
  const closedLabel = `closed c=${CLOSED.concurrency} × ${CLOSED.durationMs / 1000} s`;
  const warmupLabel = `warm-up ${WARMUP.ratePerSecond}/s × ${WARMUP.durationMs / 1000} s`;

  // --- Baseline ---------------------------------------------------------------------------------------
  progress('baseline: bare Bolt app, one Redis write per click');
  const baselineFile = await writeClickFile(dir, 'baseline-clicks.json', builder.file());
  const baseline = await spawnChild('bench/ack/baseline.ts', {
    env: { ...process.env, NODE_ENV: 'production', SLACK_API_URL: slack.apiUrl, REDIS_URL: redisUrl },
  });
  const baselineUrl = `http://127.0.0.1:${baseline.port}/slack/events`;
  let load = await spawnChild('bench/ack/load.ts', { args: [baselineUrl, baselineFile] });
  const baselineWarmup = await measure('baseline', load, baseline, warmupLabel, {
    type: 'open',
    from: 0,
    ...WARMUP,
  });
  await sleep(500);
  const baselineOpen = await measure('baseline', load, baseline, openLabel, {
    type: 'open',
    from: warmupClicks,
    ...OPEN,
  });
  await sleep(500);
  const baselineClosed = await measure('baseline', load, baseline, closedLabel, {
    type: 'closed',
    from: 0,
    available: firstTargets.length,
    cycle: true,
    ...CLOSED,
  });
  rows.push(baselineWarmup, baselineOpen, baselineClosed);
  await load.stop();
  await baseline.stop();

  // --- Ours -------------------------------------------------------------------------------------------
  const closedWanted = Math.ceil(
    baselineClosed.result.perSecond * (CLOSED.durationMs / 1000) * CLOSED_HEADROOM,
  );
  const closedPoolSize = Math.min(
    MAX_SERVICES - firstPoolSize,
    Math.max(20, Math.ceil(closedWanted / ITEMS_PER_DEPLOYMENT)),
  );
  progress(
    `starting ${closedPoolSize} more deployments for the closed loop (${closedPoolSize * ITEMS_PER_DEPLOYMENT} clicks)`,
  );
  setupStarted = Date.now();
  const closedPool = await startClickDeployments(
    driver,
    store,
    firstPoolSize,
    firstPoolSize + closedPoolSize,
  );
  const closedTargets = clickTargets(closedPool);
  for (const target of closedTargets) builder.add(target);
  progress(`  ${closedPool.length} deployments in ${Date.now() - setupStarted} ms; letting the bot settle`);
  await quiet(slack);
  const allTargets = [...firstTargets, ...closedTargets];
  const oursFile = await writeClickFile(dir, 'clicks.json', builder.file());
  const ephemeralsBefore = slack.ephemerals.length;

  progress('ours: Flightdeck');
  load = await spawnChild('bench/ack/load.ts', { args: [botUrl, oursFile] });
  const clicked = new Map<string, Set<string>>();
  let expected = 0;
  const settle = async (row: Row, targets: ClickTarget[]) => {
    clickedSet(targets, clicked);
    expected += targets.length;
    row.drainMs = await drain(redis, clicked, expected, row.result.finishedAt);
    await quiet(slack);
  };

  const oursWarmup = await measure('ours', load, bot, warmupLabel, { type: 'open', from: 0, ...WARMUP });
  await settle(oursWarmup, allTargets.slice(0, oursWarmup.result.sent));
  const oursOpen = await measure('ours', load, bot, openLabel, { type: 'open', from: warmupClicks, ...OPEN });
  await settle(oursOpen, allTargets.slice(warmupClicks, warmupClicks + oursOpen.result.sent));
  const closedFrom = firstTargets.length;
  const oursClosed = await measure('ours', load, bot, closedLabel, {
    type: 'closed',
    from: closedFrom,
    available: closedTargets.length,
    cycle: false,
    ...CLOSED,
  });
  await settle(oursClosed, allTargets.slice(closedFrom, closedFrom + oursClosed.result.sent));
  rows.push(oursWarmup, oursOpen, oursClosed);
  await load.stop();

  // --- Verification: every click a state change, item by item, through the store ---------------------
  let resolvedClicked = 0;
  let resolvedOther = 0;
  const wrongActor: string[] = [];
  for (const deployment of [...firstPool, ...closedPool]) {
    const loaded = await store.load(deployment.id);
    const mine = clicked.get(deployment.id) ?? new Set<string>();
    for (const [itemId, state] of Object.entries(loaded?.state.items ?? {})) {
      if (!isResolved(state)) continue;
      if (!mine.has(itemId)) resolvedOther++;
      else if (state.status === 'done' && CLICKERS.includes(state.by ?? '')) resolvedClicked++;
      else wrongActor.push(`${deployment.id}/${itemId}: ${state.status} by ${state.by}`);
    }
  }
  const refused = slack.ephemerals.slice(ephemeralsBefore);
  const oursRows = [oursWarmup, oursOpen, oursClosed];
  const sentToOurs = oursRows.reduce((sum, row) => sum + row.result.sent, 0);
  const errors = rows.reduce((sum, row) => sum + row.result.errors, 0);
  const lost = sentToOurs - resolvedClicked;
  const slackFailures = slack.calls.filter((call) => !call.ok);
  const botLogLines = readFileSync(botLog, 'utf8').split('\n').filter(Boolean);

  // --- Report -----------------------------------------------------------------------------------------
  const p99 = oursOpen.result.p99;
  const baselineP99 = baselineOpen.result.p99;
  const ratio = oursClosed.result.perSecond / baselineClosed.result.perSecond;
  out();
  const messagesPerPhase = new Set(firstPool[0]?.itemMessages.map((entry) => entry.ts)).size;
  const order = ORDER === 'spread' ? 'spread round-robin over the deployments' : 'grouped per deployment';
  out(
    `bench:ack — ${cpus().length} cores, node ${process.version}; ${firstPool.length + closedPool.length} deployments ` +
      `of a checklist with ${ITEMS_PER_DEPLOYMENT} manual items in one phase (${messagesPerPhase} thread messages); ` +
      `clicks ${order}`,
  );
  out();
  out(resultsTable(rows));
  for (const line of RESULTS_LEGEND) out(line);
  out();
  out(diagnosticsTable(rows));
  for (const line of DIAGNOSTICS_LEGEND) out(line);
  out();
  for (const row of rows.filter((candidate) => candidate.result.mode === 'closed'))
    out(
      `closed-loop ramp-up, ${row.target}: all ${CLOSED.concurrency} connections had answered after ` +
        `${fixed(row.result.rampMs, 0)} ms (slowest answer meanwhile ${fixed(row.result.rampMaxMs, 0)} ms); ` +
        'the 10 s window starts then, its clicks count as sent but not in the latency figures.',
    );
  for (const row of rows.filter((candidate) => candidate.result.max > 1_000))
    out(
      `slowest answers, ${row.target} ${row.load}: ` +
        row.result.slowest.map((slow) => `${slow.latencyMs} ms (sent at ${slow.atMs} ms)`).join(', ') +
        `; ${row.result.connections} connections opened, slowest connect ${fixed(row.result.maxConnectMs)} ms`,
    );
  out(
    `verification: ${sentToOurs} clicks sent to ours, ${resolvedClicked} items resolved "done" by the clicker in Redis, ` +
      `${lost} lost, ${refused.length} refused (ephemeral replies), ${errors} non-200 answers (both targets), ` +
      `${resolvedOther} items resolved that were not clicked, ${slackFailures.length} Slack calls refused.`,
  );
  if (botLogLines.length > 0) {
    out(`bot log: ${botLogLines.length} warn/error lines, first: ${botLogLines.slice(0, 3).join(' | ')}`);
  }
  const problems: string[] = [];
  if (lost !== 0) problems.push(`${lost} clicks were acknowledged but never became a state change`);
  if (refused.length > 0)
    problems.push(
      `${refused.length} clicks were refused: ${refused
        .slice(0, 3)
        .map((e) => e.text)
        .join(' | ')}`,
    );
  if (errors > 0)
    problems.push(
      `${errors} requests failed: ${rows
        .flatMap((row) => row.result.errorSamples)
        .slice(0, 5)
        .join(' | ')}`,
    );
  if (resolvedOther > 0) problems.push(`${resolvedOther} items were resolved without a click`);
  if (wrongActor.length > 0) problems.push(`items resolved wrongly: ${wrongActor.slice(0, 3).join(' | ')}`);
  if (slackFailures.length > 0)
    problems.push(
      `Slack refused ${slackFailures.length} calls: ${slackFailures
        .slice(0, 3)
        .map((call) => `${call.method}: ${call.error}`)
        .join(' | ')}`,
    );
  if (oursRows.some((row) => row.drainMs === undefined))
    problems.push(`the bot did not apply every click within ${DRAIN_TIMEOUT_MS / 1000} s of the load ending`);
  for (const problem of problems) out(`!!! ${problem}`);
  const late = rows.filter((row) => row.result.late > 0);
  if (late.length > 0)
    out(
      `!!! answers later than 3 s (Slack would show the person an error): ` +
        late.map((row) => `${row.result.late} in ${row.target} ${row.load}`).join(', '),
    );
  const busy = busyWarning(
    rows
      .filter((row) => !row.load.startsWith('warm-up'))
      .map((row) => ({ label: `${row.target} ${row.load}`, cpu: row.cpu })),
  );
  if (busy) out(busy);
  const verdict = [
    `p99 at ${OPEN.ratePerSecond}/s ${fixed(p99)} ms ${p99 <= TARGETS.p99Ms ? '<=' : '>'} ${TARGETS.p99Ms} ms`,
    `throughput ratio ${fixed(ratio)} ${ratio >= TARGETS.throughputRatio ? '>=' : '<'} ${TARGETS.throughputRatio}`,
  ];
  const met = p99 <= TARGETS.p99Ms && ratio >= TARGETS.throughputRatio;
  out(
    `targets ${met ? 'met' : 'MISSED'}: ${verdict.join('; ')}. Run took ${fixed((Date.now() - startedAt) / 1000, 0)} s.`,
  );
  out(
    `bench:ack p99_ms=${fixed(p99)} baseline_p99_ms=${fixed(baselineP99)} throughput_ratio=${fixed(ratio)}`,
  );
  await shutdown(problems.length > 0 ? 1 : 0);
}

runBenchmark('bench:ack', main);
