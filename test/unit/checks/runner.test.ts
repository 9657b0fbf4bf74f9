import { describe, expect, it } from 'vitest';
import type { CheckSpec } from '../../../src/checklists/schema.js';
import { type CheckModules, runCheck } from '../../../src/checks/runner.js';
import type { CheckResult } from '../../../src/checks/types.js';

/**
 * The runner's own rules, with check modules the test scripts (the real modules have their own tests):
 * retries only `error`, backs off, cuts off a module that ignores its timeout, turns a crash into `error`.
 */

function scripted(results: Array<CheckResult | 'hang' | 'throw'>): {
  modules: CheckModules;
  calls: number[];
} {
  const calls: number[] = [];
  let index = 0;
  const module = async (_spec: unknown, context: { signal: AbortSignal }): Promise<CheckResult> => {
    calls.push(Date.now());
    const next = results[Math.min(index++, results.length - 1)];
    if (next === 'throw') throw new Error('socket hang up');
    if (next === 'hang') return new Promise(() => {}); // ignores its signal on purpose
    if (!next) throw new Error('no scripted result');
    void context;
    return next;
  };
  const modules = {
    http: module,
    prometheus: module,
    kubernetes: module,
    tls: module,
    dns: module,
    tcp: module,
  } as unknown as CheckModules;
  return { modules, calls };
}

const spec: CheckSpec = { type: 'tcp', host: 'db', port: 5432, retries: 2 };
const context = { namespace: 'default', now: Date.now };

describe('runCheck', () => {
  it('returns a first-try verdict without retrying, even a failure', async () => {
    const { modules, calls } = scripted([{ outcome: 'failed', summary: 'connection refused' }]);
    const run = await runCheck(modules, spec, context, { backoffMs: 1 });
    expect(run).toMatchObject({ outcome: 'failed', summary: 'connection refused', attempts: 1 });
    expect(calls).toHaveLength(1);
  });

  it('retries errors with growing backoff until a verdict', async () => {
    const { modules, calls } = scripted([
      { outcome: 'error', summary: 'HTTP 503' },
      { outcome: 'error', summary: 'HTTP 503' },
      { outcome: 'passed', summary: 'HTTP 200 in 3 ms' },
    ]);
    const run = await runCheck(modules, spec, context, { backoffMs: 20 });
    expect(run).toMatchObject({ outcome: 'passed', attempts: 3 });
    const gaps = [calls[1]! - calls[0]!, calls[2]! - calls[1]!];
    expect(gaps[0]).toBeGreaterThanOrEqual(18);
    expect(gaps[1]).toBeGreaterThanOrEqual(38); // doubled
  });

  it('reports the last error after the allowed attempts', async () => {
    const { modules, calls } = scripted([{ outcome: 'error', summary: 'no data' }]);
    const run = await runCheck(modules, { ...spec, retries: 1 }, context, { backoffMs: 1 });
    expect(run).toMatchObject({ outcome: 'error', summary: 'no data', attempts: 2 });
    expect(calls).toHaveLength(2);
  });

  it('cuts off a module that ignores its timeout and says it timed out', async () => {
    const { modules } = scripted(['hang']);
    const started = Date.now();
    const run = await runCheck(modules, { ...spec, timeout: 50, retries: 0 }, context);
    expect(run).toMatchObject({ outcome: 'error', summary: 'timed out after 50ms', attempts: 1 });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('turns a crashing module into an error naming the cause', async () => {
    const { modules } = scripted(['throw']);
    const run = await runCheck(modules, { ...spec, retries: 0 }, context);
    expect(run).toMatchObject({ outcome: 'error', summary: 'check crashed: socket hang up' });
  });

  it('stops retrying when the worker shuts down', async () => {
    const { modules, calls } = scripted(['hang']);
    const shutdown = new AbortController();
    setTimeout(() => shutdown.abort(), 30);
    const run = await runCheck(modules, { ...spec, timeout: 10_000, retries: 5 }, context, {
      signal: shutdown.signal,
    });
    expect(run).toMatchObject({ outcome: 'error', summary: 'cancelled: worker shutting down', attempts: 1 });
    expect(calls).toHaveLength(1);
  });
});
