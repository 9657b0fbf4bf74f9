/**
 * bench:checks's baseline: raw BullMQ on the same Redis, in one process like Flightdeck's default set-up.
 * Jobs are enqueued through our CheckQueue (same queue, job ids and job options; under its own key prefix)
 * and taken by a bare BullMQ Worker with a no-op processor and the check worker's settings (concurrency
 * and lock as Flightdeck reads them from the environment), so the gap to ours is what a check costs beyond
 * the queue: loading the deployment, the TCP connect, the engine, the store, the thread.
 *
 * Driven over IPC by run.ts: `burst` (groups × perGroup adds at once, like that many phases opening) and
 * `open` (adds at a fixed rate). Latency: job.timestamp (enqueued) to job.finishedOn (completed).
 */
import { performance } from 'node:perf_hooks';
import { type Job, Worker } from 'bullmq';
import { CHECKS_QUEUE, type CheckJob, CheckQueue } from '../../src/checks/queue.js';
import { envSchema, pickEnv } from '../../src/config/env.js';
import { createLogger } from '../../src/observability/logger.js';
import { bullConnection, queuePrefix } from '../../src/redis/job-queue.js';
import { newHistogram } from '../support/histogram.js';
import { installProbe } from '../support/probe.js';
import type { ReadyMessage } from '../support/protocol.js';
import type { RawCommand, RawReply } from './protocol.js';

const RUN_TIMEOUT_MS = 120_000;

const env = envSchema.parse(pickEnv(process.env));
const prefix = queuePrefix(`${env.REDIS_PREFIX}-raw`);
const logger = createLogger({ level: env.LOG_LEVEL });
const queue = new CheckQueue({
  connection: bullConnection({ url: env.REDIS_URL }, 'raw-queue'),
  prefix,
  logger,
});
const lockDuration = env.CHECK_LOCK_MS;
const worker = new Worker<CheckJob>(CHECKS_QUEUE, async () => undefined, {
  connection: bullConnection({ url: env.REDIS_URL }, 'raw-worker'),
  prefix,
  // As src/checks/worker.ts sets them.
  concurrency: env.CHECK_CONCURRENCY,
  lockDuration,
  stalledInterval: Math.max(500, Math.floor(lockDuration / 2)),
  maxStalledCount: 2,
});

/** The run being measured: its job ids carry `run`, so jobs of other runs are not counted. */
let current: { run: number; expected: number; done: () => void } | undefined;
let round = 0;
let completed: Array<{ enqueuedAt: number; finishedAt: number }> = [];
let failed = 0;

worker.on('completed', (job: Job<CheckJob>) => {
  if (!current || job.data.run !== current.run) return;
  completed.push({ enqueuedAt: job.timestamp, finishedAt: job.finishedOn ?? Date.now() });
  if (completed.length >= current.expected) current.done();
});
worker.on('failed', (job) => {
  if (current && job?.data.run === current.run) failed++;
});
worker.on('error', (error) => logger.error({ err: error.message }, 'raw worker error'));

function request(run: number, index: number, perGroup: number): Promise<void> {
  return queue.request({
    deploymentId: `raw${Math.floor(index / perGroup)}`,
    itemId: `port-${index % perGroup}`,
    run,
  });
}

async function measure(expected: number, enqueue: (run: number) => Promise<number>): Promise<RawReply> {
  round++;
  completed = [];
  failed = 0;
  const run = round;
  const finished = new Promise<void>((done, fail) => {
    current = { run, expected, done };
    setTimeout(
      () => fail(new Error(`raw BullMQ: ${completed.length} of ${expected} jobs done after 120 s`)),
      RUN_TIMEOUT_MS,
    ).unref();
  });
  const maxLagMs = await enqueue(run);
  await finished;
  current = undefined;
  const latency = newHistogram();
  for (const job of completed) latency.recordValue(Math.max(1, (job.finishedAt - job.enqueuedAt) * 1_000));
  return {
    type: 'raw',
    jobs: completed.length,
    failed,
    firstEnqueuedAt: Math.min(...completed.map((job) => job.enqueuedAt)),
    lastEnqueuedAt: Math.max(...completed.map((job) => job.enqueuedAt)),
    lastFinishedAt: Math.max(...completed.map((job) => job.finishedAt)),
    latencyP50Ms: latency.getValueAtPercentile(50) / 1_000,
    latencyP99Ms: latency.getValueAtPercentile(99) / 1_000,
    latencyMaxMs: latency.maxValue / 1_000,
    maxLagMs,
  };
}

async function handle(command: RawCommand): Promise<RawReply> {
  if (command.action === 'burst') {
    const total = command.groups * command.perGroup;
    return measure(total, async (run) => {
      await Promise.all(Array.from({ length: total }, (_, index) => request(run, index, command.perGroup)));
      return 0;
    });
  }
  const total = Math.round((command.ratePerSecond * command.durationMs) / 1_000);
  const intervalMs = 1_000 / command.ratePerSecond;
  return measure(total, async (run) => {
    let sent = 0;
    let maxLagMs = 0;
    const start = performance.now();
    await new Promise<void>((done) => {
      const tick = () => {
        const elapsed = performance.now() - start;
        while (sent < total && sent * intervalMs <= elapsed) {
          maxLagMs = Math.max(maxLagMs, elapsed - sent * intervalMs);
          void request(run, sent, 20);
          sent++;
        }
        if (sent >= total) done();
        else setTimeout(tick, Math.max(0, sent * intervalMs - (performance.now() - start)));
      };
      tick();
    });
    return maxLagMs;
  });
}

process.on('message', (command: RawCommand) => {
  if (command?.type !== 'raw') return;
  handle(command).then(
    (reply) => process.send?.(reply),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
});

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(1), 5_000).unref();
  await worker.close().catch(() => undefined);
  await queue.close().catch(() => undefined);
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('disconnect', () => void stop());
installProbe();
await worker.waitUntilReady();
process.send?.({ type: 'ready', port: 0 } satisfies ReadyMessage);
