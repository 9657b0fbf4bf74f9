/**
 * `npm run bench:checks`: how fast Flightdeck runs automated checks and records their results, against
 * raw BullMQ on the same Redis.
 *
 * 500 deployments, one per service, each running a checklist whose second phase holds 20 `tcp` checks of
 * a local listener (./workspace.ts). Flightdeck runs with its default worker set-up: the bot process also
 * runs the check worker (src/checks/worker.ts), CHECK_CONCURRENCY at its default. Checks are set off
 * the way production sets them off, through the engine's effects, with commands applied by the process's
 * own DeploymentService (what the Slack handlers call after ack(); see ./flightdeck.ts):
 *   - burst: the gate item of all 500 deployments is resolved at once; each resolution opens the probe
 *     phase, whose 20 checks the engine requests together and the CheckQueue enqueues: 10,000 checks.
 *     checks/s = 10,000 / (first check.requested -> last check.completed in the audit streams). This is
 *     how a burst arises in production (a phase opening starts all its checks); Re-runs come one at a time.
 *     Three bursts, each with 500 deployments of its own (started just before it); the final line takes
 *     the median burst of each side, since one burst of a few seconds moves with whatever else runs.
 *   - open loop: Re-run at 500 checks/s for 10 s (5,000 re-runs spread round-robin over the deployments,
 *     each check once), whatever the process's state; latency per check from its check.requested audit
 *     entry (committed just before its job is added) to its check.completed entry (the result recorded
 *     by the engine in the store). Both are Redis-clock stream ids, in ms.
 * Every result goes worker -> DeploymentService.execute (engine decide, compare-and-set in Redis, audit
 * stream) -> presenter (the thread's messages, coalesced, to a fake Slack), as in production.
 *
 * Baseline: raw BullMQ in one process (./raw-bullmq.ts): the same queue, job ids and job options through
 * our CheckQueue, a no-op Worker with the check worker's concurrency and lock, the same loads (three bursts,
 * one open loop).
 *
 * Redis memory per active deployment: MEMORY USAGE (SAMPLES 0, exact) summed over every Flightdeck key
 * outside the queues (each deployment's hash, audit stream, Slack message and started-check hashes, its
 * lock and history, plus the shared active set and checklist), divided by 500, at the end of the run (every
 * check run once, half of them twice; the final line's figure) and after the burst; INFO used_memory's
 * growth from before the first deployment is printed beside it.
 *
 * Processes: this orchestrator (fake Slack, the TCP listener, bookkeeping), Flightdeck (./flightdeck.ts),
 * the baseline (./raw-bullmq.ts) and a private redis-server.
 *
 * Environment: BENCH_CHECKS_CPU_PROF=<dir> writes V8 CPU profiles of the Flightdeck process during its
 * measured runs there, and of the raw BullMQ process during its runs (open them in Chrome DevTools or speedscope).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { CHECKS_QUEUE } from '../../src/checks/queue.js';
import { envSchema, pickEnv } from '../../src/config/env.js';
import { decodeAuditEvent } from '../../src/deployments/audit-codec.js';
import { DeploymentStore } from '../../src/deployments/store.js';
import { bullConnection, queuePrefix } from '../../src/redis/job-queue.js';
import type { FakeSlack } from '../../src/sandbox/slack/fake-slack.js';
import { SlackDriver } from '../../src/sandbox/slack/slack-driver.js';
import { phaseMessageKey } from '../../src/slack/render/phase-message.js';
import { CARD_KEY } from '../../src/slack/render/status-card.js';
import { ask, type Child, spawnChild } from '../support/children.js';
import { busyWarning, cpuColumn, cpuMeter, idleMachine } from '../support/cpu.js';
import { startDeployments } from '../support/deployments.js';
import { newHistogram } from '../support/histogram.js';
import { onCleanup, progress, runBenchmark, shutdown, sleep, waitFor } from '../support/lifecycle.js';
import { probe } from '../support/probe.js';
import { type ProbeReply, SIGNING_SECRET } from '../support/protocol.js';
import { redisCommandMeter, startPrivateRedis } from '../support/redis.js';
import { flightdeckEnv, startFakeSlack } from '../support/slack.js';
import { fixed, out, table } from '../support/table.js';
import { channelId, DEPLOYER } from '../support/workspace.js';
import type { CheckTarget, DriveCommand, DriveReply, RawCommand, RawReply } from './protocol.js';
import {
  CHECK_ITEM_IDS,
  CHECKS_PER_PHASE,
  GATE_ITEM_ID,
  GATE_PHASE_ID,
  writeWorkspace,
} from './workspace.js';

const DEPLOYMENTS = 500;
const BURST = DEPLOYMENTS * CHECKS_PER_PHASE;
/** Bursts per target; the final line takes the median of each side (a 10,000-check burst lasts 1–5 s, so
 * a single one moves a lot with whatever else the machine does). Each of ours has its own 500 deployments. */
const BURST_ROUNDS = 3;
const OPEN = { ratePerSecond: 500, durationMs: 10_000 };
const OPEN_CHECKS = (OPEN.ratePerSecond * OPEN.durationMs) / 1_000;
const PREFIX = 'fdbench';
const DRAIN_TIMEOUT_MS = 120_000;
const POLL_MS = 250;
const QUIET_MS = 1_500;
const QUIET_TIMEOUT_MS = 30_000;
const TARGETS = { ratio: 0.5, p99Ms: 100, kbPerDeployment: 20 };

const CPU_PROFILE_DIR = process.env.BENCH_CHECKS_CPU_PROF;

// ---------------------------------------------------------------------------------------------------------
// Reading results from the audit streams
// ---------------------------------------------------------------------------------------------------------

const runKey = (deploymentId: string, itemId: string, run: number) => `${deploymentId}|${itemId}|${run}`;

/** Follows every deployment's audit stream (incremental XRANGE) and notes when check runs were requested
 * and completed, by the Redis time in the entry id. */
class AuditFollower {
  private readonly lastIds = new Map<string, string>();
  readonly requested = new Map<string, number>();
  readonly completed = new Map<string, number>();
  readonly outcomes = new Map<string, number>();
  /** Runs recorded more than once (must stay 0: a run's result lands once). */
  duplicates = 0;
  private readonly completedByRun = new Map<number, number>();

  constructor(
    private readonly redis: Redis,
    private readonly ids: string[],
  ) {}

  completedRuns(run: number): number {
    return this.completedByRun.get(run) ?? 0;
  }

  async poll(): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const id of this.ids)
      pipeline.xrange(`${PREFIX}:dep:${id}:audit`, `(${this.lastIds.get(id) ?? '0-0'}`, '+');
    const replies = (await pipeline.exec()) ?? [];
    replies.forEach(([error, entries], index) => {
      if (error) throw new Error(`reading the audit stream of ${this.ids[index]}: ${error.message}`);
      const id = this.ids[index] as string;
      for (const [entryId, fields] of entries as Array<[string, string[]]>) {
        this.lastIds.set(id, entryId);
        const at = Number(entryId.slice(0, entryId.indexOf('-')));
        const event = decodeAuditEvent(fields);
        if (event.type === 'check.requested') this.requested.set(runKey(id, event.itemId, event.run), at);
        if (event.type === 'check.completed') {
          const key = runKey(id, event.itemId, event.run);
          if (this.completed.has(key)) this.duplicates++;
          this.completed.set(key, at);
          this.completedByRun.set(event.run, this.completedRuns(event.run) + 1);
          this.outcomes.set(event.outcome, (this.outcomes.get(event.outcome) ?? 0) + 1);
        }
      }
    });
  }

  /** Polls until `count` results of `run` are recorded; false on timeout. */
  async waitForRuns(run: number, count: number, deadline = Date.now() + DRAIN_TIMEOUT_MS): Promise<boolean> {
    for (;;) {
      await this.poll();
      if (this.completedRuns(run) >= count) return true;
      if (Date.now() > deadline) return false;
      await sleep(POLL_MS);
    }
  }
}

/**
 * Waits, while a run is measured, until the checks queue holds no job that is not finished: by then every
 * result has been committed (a job completes after its result's commit). One cheap script per poll, so
 * the orchestrator does not compete with the measured process for the machine's two cores by reading 500
 * audit streams; they are read once the run is over (their entry ids carry the times, so nothing is lost).
 */
async function waitForEmptyQueue(queue: Queue, deadline: number): Promise<boolean> {
  for (;;) {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    if (sum(Object.values(counts)) === 0) return true;
    if (Date.now() > deadline) return false;
    await sleep(POLL_MS);
  }
}

interface Figures {
  checks: number;
  /** First enqueue to last recorded result (ms), and checks per second over it. */
  windowMs: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
}

function figures(samples: Array<{ from: number; to: number }>): Figures {
  const histogram = newHistogram();
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const { from, to } of samples) {
    // Stream ids are whole ms; a result recorded within the same ms counts as 0.5 ms.
    histogram.recordValue(Math.max(500, (to - from) * 1_000));
    first = Math.min(first, from);
    last = Math.max(last, to);
  }
  const windowMs = Math.max(1, last - first);
  return {
    checks: samples.length,
    windowMs,
    perSecond: (samples.length * 1_000) / windowMs,
    p50: histogram.getValueAtPercentile(50) / 1_000,
    p99: histogram.getValueAtPercentile(99) / 1_000,
    max: histogram.maxValue / 1_000,
  };
}

function rawFigures(reply: RawReply): Figures {
  const windowMs = Math.max(1, reply.lastFinishedAt - reply.firstEnqueuedAt);
  return {
    checks: reply.jobs,
    windowMs,
    perSecond: (reply.jobs * 1_000) / windowMs,
    p50: reply.latencyP50Ms,
    p99: reply.latencyP99Ms,
    max: reply.latencyMaxMs,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Redis memory
// ---------------------------------------------------------------------------------------------------------

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
}

/** Bytes per kind of key, for every key under our prefix except BullMQ's queues. */
async function flightdeckKeyBytes(redis: Redis): Promise<Map<string, number>> {
  const bytes = new Map<string, number>();
  const queues = `${queuePrefix(PREFIX)}:`;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}:*`, 'COUNT', 1_000);
    cursor = next;
    const own = keys.filter((key) => !key.startsWith(queues));
    const pipeline = redis.pipeline();
    for (const key of own) pipeline.memory('USAGE', key, 'SAMPLES', '0');
    const replies = (await pipeline.exec()) ?? [];
    own.forEach((key, index) => {
      const kind = keyKind(key);
      bytes.set(kind, (bytes.get(kind) ?? 0) + Number(replies[index]?.[1] ?? 0));
    });
  } while (cursor !== '0');
  return bytes;
}

/** `dep:<id>:audit` -> `dep:*:audit`, `lock:<service>:<env>` -> `lock`, and so on. */
function keyKind(key: string): string {
  const parts = key.slice(PREFIX.length + 1).split(':');
  if (parts[0] === 'dep') return ['dep', '*', ...parts.slice(2)].join(':');
  return parts[0] ?? key;
}

const sum = (values: Iterable<number>) => [...values].reduce((total, value) => total + value, 0);

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

/** Waits until the process has stopped talking to Slack for QUIET_MS (posts after setup done). */
async function quiet(slack: FakeSlack): Promise<void> {
  let count = slack.calls.length;
  let since = Date.now();
  const deadline = Date.now() + QUIET_TIMEOUT_MS;
  while (Date.now() - since < QUIET_MS && Date.now() < deadline) {
    await sleep(100);
    if (slack.calls.length !== count) {
      count = slack.calls.length;
      since = Date.now();
    }
  }
}

/** A TCP listener that accepts and closes every connection, counting them. */
async function startListener(): Promise<{ port: number; accepted: () => number }> {
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    socket.on('error', () => undefined);
    socket.end();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  onCleanup(() => new Promise((done) => server.close(done)));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the TCP listener has no port');
  return { port: address.port, accepted: () => accepted };
}

const drive = (child: Child, command: DriveCommand) =>
  ask<DriveReply>(child, command, (message) => (message as DriveReply)?.type === 'drive');
const rawRun = (child: Child, command: RawCommand) =>
  ask<RawReply>(child, command, (message) => (message as RawReply)?.type === 'raw');

// ---------------------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------------------

interface Row {
  target: 'ours' | 'raw BullMQ';
  load: string;
  figures: Figures;
  cpu: Record<string, number>;
  server?: ProbeReply;
  /** Open loop: the driver's worst lateness issuing a command (ms). */
  lagMs?: number;
  /** Open loop, ours: latency from the command's scheduled time (not just from the enqueue). */
  fromScheduled?: Figures;
  /** Commands Redis ran during the run, by command (every client: the orchestrator's polling too). */
  redisCalls: Map<string, number>;
}

/** `evalsha 2.1, hset 1.0, …`: Redis commands per check, the most frequent first. */
function callsPerCheck(row: Row): string {
  const perCheck = [...row.redisCalls.entries()]
    .map(([command, calls]) => [command, calls / row.figures.checks] as const)
    .filter(([, calls]) => calls >= 0.01)
    .sort((a, b) => b[1] - a[1]);
  const total = perCheck.reduce((all, [, calls]) => all + calls, 0);
  return `${fixed(total, 1)} (${perCheck.map(([command, calls]) => `${command} ${fixed(calls, 2)}`).join(', ')})`;
}

function resultsTable(rows: Row[]): string {
  const header = ['target', 'load', 'checks', 'window s', 'checks/s', 'p50 ms', 'p99 ms', 'max ms'];
  return table(
    header,
    rows.map((row) => [
      row.target,
      row.load,
      String(row.figures.checks),
      fixed(row.figures.windowMs / 1_000, 2),
      fixed(row.figures.perSecond, 0),
      fixed(row.figures.p50, 1),
      fixed(row.figures.p99, 1),
      fixed(row.figures.max, 0),
    ]),
  );
}

function diagnosticsTable(rows: Row[]): string {
  const header = ['target', 'load', 'cpu s: server/redis/orch/other/steal', 'server loop p99/max ms'];
  header.push('server gc ms', 'driver lag ms');
  return table(
    header,
    rows.map((row) => [
      row.target,
      row.load,
      cpuColumn(row.cpu, ['server', 'redis', 'orch', 'other', 'steal']),
      `${fixed(row.server?.loopDelayP99Ms ?? Number.NaN, 1)}/${fixed(row.server?.loopDelayMaxMs ?? Number.NaN, 1)}`,
      fixed(row.server?.gcMs ?? Number.NaN, 0),
      row.lagMs === undefined ? '-' : fixed(row.lagMs, 1),
    ]),
  );
}

const RESULTS_LEGEND = [
  'window: first enqueue -> last result recorded. checks/s: checks / window. p50/p99/max: per check, enqueue',
  '-> result recorded (ours: check.requested -> check.completed audit entries, whole ms; raw: job.timestamp',
  '-> job.finishedOn).',
];
const DIAGNOSTICS_LEGEND = [
  'cpu: CPU seconds per process during the run (server = Flightdeck or the raw BullMQ process; orch = this',
  'orchestrator: fake Slack, TCP listener, audit polling; other = the rest of the machine; steal = CPU the',
  'VM host took). server loop: its event-loop delay; gc: its garbage-collection pauses in total. driver lag:',
  'open loop, how late the worst command or add was issued (the loop in the measured process itself).',
];

// ---------------------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const startedAt = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'flightdeck-bench-checks-'));
  onCleanup(() => rm(dir, { recursive: true, force: true }));

  const { url: redisUrl, pid: redisPid, client: redis } = await startPrivateRedis('bench-orchestrator');
  const listener = await startListener();
  const configPath = await writeWorkspace(dir, DEPLOYMENTS * BURST_ROUNDS, listener.port);
  const slack = await startFakeSlack(
    Array.from({ length: DEPLOYMENTS * BURST_ROUNDS }, (_, index) => channelId(index)),
    [DEPLOYER],
  );
  const env = flightdeckEnv({ configPath, slack, redisUrl, prefix: PREFIX });
  const concurrency = envSchema.parse(pickEnv(env)).CHECK_CONCURRENCY;
  const rows: Row[] = [];

  const measure = async <T>(
    target: Row['target'],
    server: Child,
    label: string,
    run: () => Promise<T>,
  ): Promise<{
    value: T;
    cpu: Record<string, number>;
    server: ProbeReply;
    redisCalls: Map<string, number>;
  }> => {
    const pids = { server: server.pid, redis: redisPid, orch: process.pid };
    await idleMachine(pids);
    const profile = CPU_PROFILE_DIR
      ? join(
          resolve(CPU_PROFILE_DIR),
          `${target.replace(' ', '-')}-${label.replace(/[^a-z0-9]+/gi, '-')}-${Date.now()}.cpuprofile`,
        )
      : undefined;
    await probe(server, { type: 'probe', action: 'start', ...(profile ? { profile } : {}) });
    const commands = await redisCommandMeter(redis);
    const cpu = cpuMeter(pids);
    const value = await run();
    const used = cpu();
    const redisCalls = await commands();
    const reply = await probe(server, { type: 'probe', action: 'stop', ...(profile ? { profile } : {}) });
    if (profile) progress(`  CPU profile: ${profile}`);
    return { value, cpu: used, server: reply, redisCalls };
  };
  const burstLabel = `burst ${BURST}`;
  const roundLabel = (round: number) => `${burstLabel} #${round + 1}`;
  const openLabel = `open ${OPEN.ratePerSecond}/s × ${OPEN.durationMs / 1_000} s`;

  // --- Baseline: raw BullMQ ----------------------------------------------------------------------------
  progress('baseline: raw BullMQ, no-op processor');
  const raw = await spawnChild('bench/checks/raw-bullmq.ts', { env, logFile: join(dir, 'raw.log') });
  let rawFailed = 0;
  for (let round = 0; round < BURST_ROUNDS; round++) {
    const rawBurst = await measure('raw BullMQ', raw, roundLabel(round), () =>
      rawRun(raw, { type: 'raw', action: 'burst', groups: DEPLOYMENTS, perGroup: CHECKS_PER_PHASE }),
    );
    rows.push({
      target: 'raw BullMQ',
      load: roundLabel(round),
      figures: rawFigures(rawBurst.value),
      ...rawBurst,
    });
    rawFailed += rawBurst.value.failed;
  }
  const rawOpen = await measure('raw BullMQ', raw, openLabel, () =>
    rawRun(raw, { type: 'raw', action: 'open', ...OPEN }),
  );
  rows.push({
    target: 'raw BullMQ',
    load: openLabel,
    figures: rawFigures(rawOpen.value),
    lagMs: rawOpen.value.maxLagMs,
    ...rawOpen,
  });
  rawFailed += rawOpen.value.failed;
  await raw.stop();
  // Its keys go, so they count in nobody's memory figures.
  for (let cursor = '0'; ; ) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}-raw:*`, 'COUNT', 1_000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
    if (cursor === '0') break;
  }

  // --- Ours: Flightdeck ---------------------------------------------------------------------------------
  const memoryBefore = await usedMemory(redis);
  progress('starting Flightdeck (bot process with its check worker, as `npm start` runs it)');
  const flightdeckLog = join(dir, 'flightdeck.log');
  const flightdeck = await spawnChild('bench/checks/flightdeck.ts', { env, logFile: flightdeckLog });
  const store = new DeploymentStore(redis, PREFIX);
  const driver = new SlackDriver({
    eventsUrl: `http://127.0.0.1:${flightdeck.port}/slack/events`,
    signingSecret: SIGNING_SECRET,
    slack,
  });
  const checksQueue = new Queue(CHECKS_QUEUE, {
    connection: bullConnection({ url: redisUrl }, 'bench-inspect'),
    prefix: queuePrefix(PREFIX),
  });
  const allIds: string[] = [];
  const bursts: Array<{
    ids: string[];
    audit: AuditFollower;
    drained: boolean;
    gateMs: number;
    requestedMs: number;
  }> = [];
  /** A round: its own 500 deployments started (then a quiet spell), and the burst of their checks. */
  const burstRound = async (round: number) => {
    progress(`starting ${DEPLOYMENTS} deployments`);
    const setupStarted = Date.now();
    const ids = await startDeployments(
      driver,
      store,
      round * DEPLOYMENTS,
      (round + 1) * DEPLOYMENTS,
      async (id) => {
        await waitFor(() => store.message(id, CARD_KEY), `the status card of ${id}`);
        await waitFor(() => store.message(id, phaseMessageKey(GATE_PHASE_ID, 0)), `the first phase of ${id}`);
        return id;
      },
    );
    allIds.push(...ids);
    progress(`  ${ids.length} deployments in ${Date.now() - setupStarted} ms`);
    await quiet(slack);
    const audit = new AuditFollower(redis, ids);
    await audit.poll();
    progress(
      `ours: ${roundLabel(round)} (every deployment opens its ${CHECKS_PER_PHASE}-check phase at once)`,
    );
    const oursBurst = await measure('ours', flightdeck, roundLabel(round), async () => {
      const reply = await drive(flightdeck, {
        type: 'drive',
        action: 'open-phases',
        deploymentIds: ids,
        itemId: GATE_ITEM_ID,
        actor: DEPLOYER,
      });
      const deadline = Date.now() + DRAIN_TIMEOUT_MS;
      await waitForEmptyQueue(checksQueue, deadline);
      return { reply, deadline };
    });
    const drained = await audit.waitForRuns(1, BURST, oursBurst.value.deadline);
    const samples: Array<{ from: number; to: number }> = [];
    for (const id of ids)
      for (const itemId of CHECK_ITEM_IDS) {
        const from = audit.requested.get(runKey(id, itemId, 1));
        const to = audit.completed.get(runKey(id, itemId, 1));
        if (from !== undefined && to !== undefined) samples.push({ from, to });
      }
    rows.push({ target: 'ours', load: roundLabel(round), figures: figures(samples), ...oursBurst });
    progress(`  drained at ${fixed(figures(samples).perSecond, 0)} checks/s`);
    const requested = samples.map((sample) => sample.from);
    bursts.push({
      ids,
      audit,
      drained,
      gateMs: oursBurst.value.reply.durationMs,
      requestedMs: Math.max(...requested) - Math.min(...requested),
    });
    if (oursBurst.value.reply.refused > 0)
      problems.push(
        `${oursBurst.value.reply.refused} commands refused in ${roundLabel(round)}: ${oursBurst.value.reply.refusals.join(' | ')}`,
      );
  };
  const problems: string[] = [];
  await burstRound(0);
  const [{ ids, audit }] = bursts as [(typeof bursts)[number]];
  const memoryAfterBurst = { used: await usedMemory(redis), keys: await flightdeckKeyBytes(redis) };

  // Re-runs spread round-robin: check 1 of every deployment, then check 2 of every deployment, …
  const targets: CheckTarget[] = [];
  for (const itemId of CHECK_ITEM_IDS)
    for (const deploymentId of ids) if (targets.length < OPEN_CHECKS) targets.push({ deploymentId, itemId });
  progress(`ours: ${openLabel} (Re-run of ${targets.length} checks)`);
  const oursOpen = await measure('ours', flightdeck, openLabel, async () => {
    const reply = await drive(flightdeck, {
      type: 'drive',
      action: 'rerun',
      targets,
      ratePerSecond: OPEN.ratePerSecond,
      actor: DEPLOYER,
    });
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    await waitForEmptyQueue(checksQueue, deadline);
    return { reply, deadline };
  });
  const openDrained = await audit.waitForRuns(2, targets.length, oursOpen.value.deadline);
  const openSamples: Array<{ from: number; to: number }> = [];
  const scheduledSamples: Array<{ from: number; to: number }> = [];
  targets.forEach((target, index) => {
    const from = audit.requested.get(runKey(target.deploymentId, target.itemId, 2));
    const to = audit.completed.get(runKey(target.deploymentId, target.itemId, 2));
    if (from === undefined || to === undefined) return;
    openSamples.push({ from, to });
    const scheduled = oursOpen.value.reply.startedAt + (index * 1_000) / OPEN.ratePerSecond;
    scheduledSamples.push({ from: scheduled, to });
  });
  rows.push({
    target: 'ours',
    load: openLabel,
    figures: figures(openSamples),
    fromScheduled: figures(scheduledSamples),
    lagMs: oursOpen.value.reply.maxLagMs,
    ...oursOpen,
  });
  const memoryAfterOpen = { used: await usedMemory(redis), keys: await flightdeckKeyBytes(redis) };
  // The other rounds, after the memory figures (which are about the first round's 500 deployments).
  for (let round = 1; round < BURST_ROUNDS; round++) await burstRound(round);

  // --- Verification: every check ran and its result landed once, through the store ----------------------
  const counts = await checksQueue.getJobCounts('failed', 'waiting', 'active', 'delayed', 'prioritized');
  const jobCounts = { failed: counts.failed ?? 0, queued: sum(Object.values(counts)) - (counts.failed ?? 0) };
  await checksQueue.close();
  await checksQueue.disconnect();
  let wrongState = 0;
  const wrongSamples: string[] = [];
  const rerun = new Set(targets.map((target) => `${target.deploymentId}|${target.itemId}`));
  for (const id of allIds) {
    const loaded = await store.load(id);
    for (const itemId of CHECK_ITEM_IDS) {
      const state = loaded?.state.items[itemId];
      const run = rerun.has(`${id}|${itemId}`) ? 2 : 1;
      if (state?.status !== 'passed' || state.run !== run) {
        wrongState++;
        if (wrongSamples.length < 3) wrongSamples.push(`${id}/${itemId}: ${state?.status} run ${state?.run}`);
      }
    }
  }
  const expectedChecks = BURST * BURST_ROUNDS + targets.length;
  const recorded = sum(bursts.map((burst) => burst.audit.completed.size));
  const duplicates = sum(bursts.map((burst) => burst.audit.duplicates));
  const outcomes = new Map<string, number>();
  for (const burst of bursts)
    for (const [outcome, count] of burst.audit.outcomes)
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + count);
  const logLines = readFileSync(flightdeckLog, 'utf8').split('\n').filter(Boolean);
  const slackFailures = slack.calls.filter((call) => !call.ok);

  // --- Report -------------------------------------------------------------------------------------------
  // The median burst of each side (by checks/s) stands for it in the final line and the per-check figures.
  const medianBurst = (target: Row['target']) => {
    const sorted = rows
      .filter((row) => row.target === target && row.load.startsWith(burstLabel))
      .sort((a, b) => a.figures.perSecond - b.figures.perSecond);
    return sorted[Math.floor(sorted.length / 2)] as Row;
  };
  const oursBurstRow = medianBurst('ours');
  const oursOpenRow = rows.find((row) => row.target === 'ours' && row.load === openLabel) as Row;
  const rawBurstRow = medianBurst('raw BullMQ');
  const checksPerSecond = oursBurstRow.figures.perSecond;
  const rawPerSecond = rawBurstRow.figures.perSecond;
  const ratio = checksPerSecond / rawPerSecond;
  const p99 = oursOpenRow.figures.p99;
  const kb = (bytes: number) => bytes / 1_024 / DEPLOYMENTS;
  const kbPerDeployment = kb(sum(memoryAfterOpen.keys.values()));

  out();
  out(
    `bench:checks — ${cpus().length} cores, node ${process.version}; ${BURST_ROUNDS} bursts, each of ${DEPLOYMENTS} ` +
      `deployments × ${CHECKS_PER_PHASE} tcp checks of a local listener; Flightdeck's default set-up (one process, bot + ` +
      `check worker, CHECK_CONCURRENCY ${concurrency}); raw BullMQ: one process, no-op processor, same concurrency`,
  );
  out();
  out(resultsTable(rows));
  for (const line of RESULTS_LEGEND) out(line);
  out();
  out(diagnosticsTable(rows));
  for (const line of DIAGNOSTICS_LEGEND) out(line);
  out();
  if (oursOpenRow.fromScheduled)
    out(
      `open loop, ours, from each Re-run's scheduled time (includes the command itself and any lateness of ` +
        `the process): p50 ${fixed(oursOpenRow.fromScheduled.p50, 1)} ms, p99 ${fixed(oursOpenRow.fromScheduled.p99, 1)} ms, ` +
        `max ${fixed(oursOpenRow.fromScheduled.max, 0)} ms.`,
    );
  const cpuPerCheck = (row: Row) => fixed(((row.cpu.server ?? Number.NaN) * 1_000) / row.figures.checks, 2);
  out(
    `The final line's checks/s are each side's median burst (${oursBurstRow.load} and ${rawBurstRow.load}); for those: ` +
      `CPU per check in the server process: ours ${cpuPerCheck(oursBurstRow)} ms, raw BullMQ ` +
      `${cpuPerCheck(rawBurstRow)} ms (one core is the ceiling for either: one Node.js process).`,
  );
  out(
    `Redis commands per check during the median burst (scripts count once; xrange is this orchestrator reading the ` +
      `audit streams): ours ${callsPerCheck(oursBurstRow)}; raw BullMQ ${callsPerCheck(rawBurstRow)}.`,
  );
  out(
    `bursts, ours: the ${DEPLOYMENTS} gate resolutions (each opens the check phase, whose ${CHECKS_PER_PHASE} ` +
      `checks are requested and enqueued) took ${bursts.map((burst) => burst.gateMs).join(' / ')} ms to apply; ` +
      `the checks were requested over ${bursts.map((burst) => burst.requestedMs).join(' / ')} ms.`,
  );
  const breakdown = [...memoryAfterOpen.keys.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([kind, bytes]) => `${kind} ${fixed(kb(bytes), 2)}`)
    .join(', ');
  out(
    `Redis memory per active deployment: ${fixed(kbPerDeployment, 1)} KB after the open loop ` +
      `(${fixed(kb(sum(memoryAfterBurst.keys.values())), 1)} KB after the burst): MEMORY USAGE summed over ` +
      `Flightdeck's keys outside the queues, / ${DEPLOYMENTS}. By key, KB per deployment: ${breakdown}. ` +
      `INFO used_memory grew by ${fixed(kb(memoryAfterOpen.used - memoryBefore), 1)} KB per deployment from ` +
      'before the first start (includes the BullMQ jobs kept for inspection and the allocator).',
  );
  out(
    `verification: ${recorded} check results recorded of ${expectedChecks} requested ` +
      `(${[...outcomes.entries()].map(([outcome, count]) => `${count} ${outcome}`).join(', ')}), ` +
      `${duplicates} recorded twice, ${wrongState} items not "passed" at their latest run, ` +
      `${listener.accepted()} TCP connections accepted; checks queue: ${jobCounts.failed} failed, ` +
      `${jobCounts.queued} still queued; ` +
      `${slack.calls.length} Slack calls (${slack.calls.filter((call) => call.method === 'chat.update').length} chat.update); ` +
      `raw BullMQ: ${rawFailed} failed jobs.`,
  );
  if (logLines.length > 0)
    out(`Flightdeck log: ${logLines.length} warn/error lines, first: ${logLines.slice(0, 3).join(' | ')}`);

  for (const [round, burst] of bursts.entries())
    if (!burst.drained)
      problems.push(`${roundLabel(round)} did not drain within ${DRAIN_TIMEOUT_MS / 1_000} s`);
  if (!openDrained) problems.push(`the open loop did not drain within ${DRAIN_TIMEOUT_MS / 1_000} s`);
  if (oursOpen.value.reply.refused > 0)
    problems.push(
      `${oursOpen.value.reply.refused} commands refused in ${openLabel}: ${oursOpen.value.reply.refusals.join(' | ')}`,
    );
  if (recorded !== expectedChecks)
    problems.push(`${expectedChecks - recorded} requested checks have no recorded result`);
  if (duplicates > 0) problems.push(`${duplicates} check runs were recorded more than once`);
  if (wrongState > 0) problems.push(`items in the wrong state: ${wrongSamples.join(' | ')}`);
  if (jobCounts.failed > 0) problems.push(`${jobCounts.failed} check jobs failed`);
  if (rawFailed > 0) problems.push(`${rawFailed} raw BullMQ jobs failed`);
  if (slackFailures.length > 0)
    problems.push(
      `Slack refused ${slackFailures.length} calls: ${slackFailures
        .slice(0, 3)
        .map((call) => `${call.method}: ${call.error}`)
        .join(' | ')}`,
    );
  for (const problem of problems) out(`!!! ${problem}`);
  const busy = busyWarning(rows.map((row) => ({ label: `${row.target} ${row.load}`, cpu: row.cpu })));
  if (busy) out(busy);

  const verdict = [
    `ratio ${fixed(ratio)} ${ratio >= TARGETS.ratio ? '>=' : '<'} ${TARGETS.ratio}`,
    `p99 at ${OPEN.ratePerSecond}/s ${fixed(p99, 1)} ms ${p99 < TARGETS.p99Ms ? '<' : '>='} ${TARGETS.p99Ms} ms`,
    `${fixed(kbPerDeployment, 1)} KB per deployment ${kbPerDeployment <= TARGETS.kbPerDeployment ? '<=' : '>'} ${TARGETS.kbPerDeployment} KB`,
  ];
  const met = ratio >= TARGETS.ratio && p99 < TARGETS.p99Ms && kbPerDeployment <= TARGETS.kbPerDeployment;
  out(
    `targets ${met ? 'met' : 'MISSED'}: ${verdict.join('; ')}. Run took ${fixed((Date.now() - startedAt) / 1_000, 0)} s.`,
  );
  out(
    `bench:checks checks_per_s=${fixed(checksPerSecond, 0)} raw_bullmq_per_s=${fixed(rawPerSecond, 0)} ` +
      `ratio=${fixed(ratio)} p99_ms_at_500=${fixed(p99, 1)} redis_kb_per_deployment=${fixed(kbPerDeployment, 1)}`,
  );
  await shutdown(problems.length > 0 ? 1 : 0);
}

runBenchmark('bench:checks', main);
