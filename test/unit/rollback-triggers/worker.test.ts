import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckSpec, checklistSchema } from '../../../src/checklists/schema.js';
import { checkModules } from '../../../src/checks/index.js';
import type { CheckModules } from '../../../src/checks/runner.js';
import { serviceSchema } from '../../../src/config/schema.js';
import { DeploymentService } from '../../../src/deployments/service.js';
import { DeploymentStore } from '../../../src/deployments/store.js';
import { createLogger } from '../../../src/observability/logger.js';
import { queuePrefix } from '../../../src/redis/job-queue.js';
import { evaluateTrigger } from '../../../src/rollback-triggers/evaluate.js';
import { RollbackTriggerQueue, rollbackTriggerScheduleId } from '../../../src/rollback-triggers/queue.js';
import { RollbackTriggerWorker } from '../../../src/rollback-triggers/worker.js';
import { testConnections, uniquePrefix } from '../../support/redis.js';

/**
 * Rollback triggers on a real Redis, without Slack or Prometheus: the schedule starts when the triggers
 * are armed; each evaluation runs the conditions through the check registry it is given (as checks run),
 * judges them over their window by the worker's clock, and fires or rolls back through the engine.
 * (test/e2e/guards.test.ts does the same against a real Prometheus.)
 */

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

const checklist = checklistSchema.parse({
  id: 'guarded',
  title: 'Guarded release',
  phases: [
    {
      id: 'deploy',
      title: 'Deploy',
      starts_guards: true,
      items: [{ id: 'apply', kind: 'manual', title: 'kubectl apply' }],
    },
  ],
  rollback: {
    evaluate_every: '1s',
    triggers: [
      {
        id: 'latency',
        title: 'p95 > 500 ms',
        condition: { type: 'prometheus', query: 'p95', comparator: '>', threshold: 0.5 },
        for: '3s',
      },
      {
        id: 'errors',
        title: 'Error rate > 5%',
        condition: { type: 'prometheus', query: 'errors', comparator: '>', threshold: 0.05 },
        for: '5s',
        auto: true,
      },
    ],
  },
});

/** Every condition the registry was asked to run. */
const asked: CheckSpec[] = [];
/** The registry as production has it, with Prometheus answering "breached" for every query. */
const modules: CheckModules = {
  ...checkModules,
  prometheus: async (spec) => {
    asked.push(spec);
    return { outcome: 'passed', summary: `${spec.query} breached for all of ${spec.for}ms` };
  },
};

describe('RollbackTriggerQueue and RollbackTriggerWorker', () => {
  const prefix = uniquePrefix('triggers');
  const logger = createLogger({ level: 'silent' });
  const connections = testConnections();
  const connection = connections.open;
  let clock = T0;
  const now = () => clock;
  let store: DeploymentStore;
  let deployments: DeploymentService;
  let queue: RollbackTriggerQueue;
  let worker: RollbackTriggerWorker;

  beforeAll(() => {
    store = new DeploymentStore(connection(), prefix);
    const catalogue = {
      services: {
        web: serviceSchema.parse({
          checklist: 'guarded',
          channel: 'C0T',
          namespace: 'web',
          deployers: ['d'],
        }),
      },
      checklists: new Map([['guarded', checklist]]),
    };
    deployments = new DeploymentService(store, catalogue, now);
    const options = () => ({ connection: connection(), prefix: queuePrefix(prefix), logger, now });
    queue = new RollbackTriggerQueue(options());
    deployments.subscribe(queue);
    worker = new RollbackTriggerWorker({ ...options(), store, deployments, catalogue, queue, modules });
  });

  afterAll(async () => {
    await worker?.close(1_000);
    await queue?.close();
    await connections.closeAll();
  });

  it('fires nothing before a window spent under the new code, then fires one and rolls back for the other', async () => {
    const started = await deployments.start({ service: 'web', version: '1.0.0', actor: 'U0D' });
    if (!started.ok) throw new Error(started.message);
    const id = started.deployment.id;
    expect(started.deployment.guardsArmedAt).toBe(T0);
    // Armed at start (starts_guards): scheduled every evaluate_every.
    await expect
      .poll(async () => (await queue.queue.getJobScheduler(rollbackTriggerScheduleId(id)))?.every)
      .toBe(1_000);

    // Breached from the first evaluation, but the clock has not moved: no window has passed yet.
    await expect.poll(() => asked.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
    // Each condition is judged over its own window (at least two evaluations), through the registry.
    expect(
      asked.slice(0, 2).map((spec) => (spec.type === 'prometheus' ? [spec.query, spec.for] : [])),
    ).toEqual([
      ['p95', 3_000],
      ['errors', 5_000],
    ]);
    let state = (await store.load(id))?.state;
    expect(state?.firedGuards).toBeUndefined();
    expect(state?.rollback).toBeUndefined();

    // A minute later by the worker's clock: both windows were spent under the new code.
    clock = T0 + 60_000;
    await expect
      .poll(async () => (await store.load(id))?.state.rollback?.trigger?.id, { timeout: 5_000 })
      .toBe('errors');
    state = (await store.load(id))?.state;
    expect(state?.firedGuards?.latency).toBe(T0 + 60_000);
    expect(state?.rollback).toMatchObject({ requestedAt: T0 + 60_000, requestedBy: 'flightdeck' });
  });
});

describe('evaluateTrigger', () => {
  const trigger = checklist.rollback?.triggers[1];
  if (!trigger) throw new Error('no trigger');
  const http = {
    ...trigger,
    condition: {
      type: 'http' as const,
      url: 'http://127.0.0.1:9/health',
      method: 'GET' as const,
      expect_status: '2xx' as const,
    },
  };

  it('counts an HTTP condition’s breach from the first failing evaluation, and fires past its window', async () => {
    const failing = async () => ({ outcome: 'failed' as const, summary: 'HTTP 503 in 3 ms' });
    const first = await evaluateTrigger(http, failing, T0);
    expect(first).toMatchObject({ firing: false, breachSince: T0 });
    const later = await evaluateTrigger(http, failing, T0 + 5_000, { breachSince: T0 });
    expect(later).toMatchObject({ firing: true, breachSince: T0 });
    expect(later.measured).toBe('HTTP 503 in 3 ms — failing for 5s (limit 5s)');
    const healthy = await evaluateTrigger(
      http,
      async () => ({ outcome: 'passed', summary: 'HTTP 200' }),
      T0 + 6_000,
      {
        breachSince: T0,
      },
    );
    expect(healthy).toEqual({ firing: false, measured: 'HTTP 200' });
  });

  it('calls a Prometheus condition it could not evaluate unevaluated, not a breach', async () => {
    const verdict = await evaluateTrigger(
      trigger,
      async () => ({ outcome: 'error', summary: 'no data' }),
      T0,
    );
    expect(verdict).toEqual({ firing: false, measured: 'no data', unevaluated: true });
  });
});
