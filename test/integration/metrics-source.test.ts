import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadChecklists } from '../../src/checklists/loader.js';
import { allPhases } from '../../src/checklists/phases.js';
import type { Checklist } from '../../src/checklists/schema.js';
import { fillTemplates } from '../../src/checklists/templating.js';
import { prometheusCheck } from '../../src/checks/prometheus.js';
import { fileConfigSchema } from '../../src/config/schema.js';
import { templateValues } from '../../src/deployments/service.js';
import { type SimulatedInfra, startSimulatedInfra } from '../../src/sandbox/infra/simulated-infra.js';
import { DEMO_SERVICES } from '../../src/sandbox/sandbox.js';

/**
 * The sandbox's built-in metrics source against a real Prometheus: two simulations of the demo service
 * (one scraped by Debian's Prometheus, one by the built-in source), driven to the same traffic, must give
 * the numbers the exporter was told to produce for every query of the demo checklist, and agree with each
 * other on every Prometheus query of every committed checklist too.
 */

const DEMO_DIR = fileURLToPath(new URL('../../src/sandbox/demo/', import.meta.url));
const CHECKLISTS_DIR = fileURLToPath(new URL('../../checklists/', import.meta.url));
/** 2 of every 20 requests per tick fail; latencies spread over [0.18, 0.2] s, all in the (0.15, 0.2] bucket. */
const ERROR_RATIO = 0.1;
const LATENCY = 0.2;
const EXPECTED_P95 = 0.15 + 0.05 * 0.95;

let real: SimulatedInfra;
let builtin: SimulatedInfra;
let demo: Checklist;
const queries: Array<{ where: string; query: string }> = [];

function prometheusQueries(checklist: Checklist, label: string) {
  const found: Array<{ where: string; query: string; spec: Record<string, unknown> }> = [];
  for (const { phase } of allPhases(checklist))
    for (const item of phase.items)
      if (item.kind === 'check' && item.check.type === 'prometheus')
        found.push({ where: `${label} ${item.id}`, query: item.check.query, spec: item.check });
  for (const trigger of checklist.rollback?.triggers ?? [])
    if (trigger.condition.type === 'prometheus')
      found.push({
        where: `${label} trigger ${trigger.id}`,
        query: trigger.condition.query,
        spec: { ...trigger.condition, for: trigger.for },
      });
  return found;
}

async function instant(url: string, query: string, at: number): Promise<number | undefined> {
  const response = await fetch(
    `${url}/api/v1/query?${new URLSearchParams({ query, time: String(at / 1000) })}`,
  );
  const body = (await response.json()) as {
    status: string;
    error?: string;
    data: { resultType: string; result: Array<{ value: [number, string] }> | [number, string] };
  };
  if (body.status !== 'success') throw new Error(`${url}: ${query}: ${body.error}`);
  if (body.data.resultType === 'scalar') return Number((body.data.result as [number, string])[1]);
  const result = body.data.result as Array<{ value: [number, string] }>;
  if (result.length > 1) throw new Error(`${query} gave ${result.length} series`);
  return result[0] ? Number(result[0].value[1]) : undefined;
}

beforeAll(async () => {
  const file = fileConfigSchema.parse({ checklists_dir: DEMO_DIR, services: { demo: DEMO_SERVICES.demo } });
  [real, builtin] = await Promise.all([
    startSimulatedInfra({ file, configDir: DEMO_DIR, prometheus: 'auto' }),
    startSimulatedInfra({ file, configDir: DEMO_DIR, prometheus: 'builtin' }),
  ]);
  for (const infra of [real, builtin]) {
    infra.exporter.setErrorRatio('demo', ERROR_RATIO);
    infra.exporter.setLatency('demo', LATENCY);
  }
  const values = templateValues('demo', '1.2.3', builtin.file.services.demo!);
  const loaded = await loadChecklists({ dir: DEMO_DIR });
  demo = fillTemplates(loaded.checklists.get('demo-canary')!, values);
  const seeds = await loadChecklists({ dir: CHECKLISTS_DIR });
  // Only {{service}} and {{namespace}} appear in queries; other placeholders belong to the seeds' services.
  for (const checklist of [demo, ...seeds.checklists.values()])
    for (const { where, query } of prometheusQueries(checklist, checklist.id))
      queries.push({ where, query: fillTemplates(query, values) });
  // The demo's rate windows are 15 s and its longest trigger window 10 s: after both, every point the
  // triggers look at is at the new traffic.
  await new Promise((resolve) => setTimeout(resolve, 27_000));
}, 90_000);

afterAll(async () => {
  await Promise.all([real?.stop(), builtin?.stop()]);
});

describe('the built-in metrics source', () => {
  it('runs without Prometheus and says so', () => {
    expect(builtin.prometheusUrl).toBeDefined();
    expect(builtin.notes.join(' ')).toContain('built-in metrics source');
    expect(real.notes.join(' ')).not.toContain('built-in');
  });

  it("answers the demo checklist's queries with the exporter's numbers, as Prometheus does", async () => {
    const at = Date.now() - 1_000;
    const expected: Record<string, number> = {
      'error rate': ERROR_RATIO,
      p95: EXPECTED_P95,
      up: 1,
      memory: 0.4, // the simulation's memory working set / limit
    };
    // Queries over 15 s (or no window) see only the new traffic by now; the [1m] ones still mix in the
    // old, so they are compared with Prometheus in the test below instead.
    const specs = prometheusQueries(demo, 'demo').filter(({ query }) => !/\[(?!15s\])/.test(query));
    expect(specs.length).toBeGreaterThanOrEqual(5);
    for (const { where, query, spec } of specs) {
      const want = expected[String(spec.label)];
      expect(want, `no expectation for ${where}`).toBeDefined();
      const [fromPrometheus, fromBuiltin] = await Promise.all([
        instant(real.prometheusUrl!, query, at),
        instant(builtin.prometheusUrl!, query, at),
      ]);
      expect(fromPrometheus, `${where} from Prometheus`).toBeCloseTo(want!, 3);
      expect(fromBuiltin, `${where} from the built-in source`).toBeCloseTo(want!, 3);
    }
  });

  it('gives the same check and trigger verdicts, windows included', async () => {
    const now = Date.now() - 1_000;
    const specs = prometheusQueries(demo, 'demo');
    for (const { where, spec } of specs) {
      const run = (url: string) =>
        prometheusCheck(spec as Parameters<typeof prometheusCheck>[0], {
          signal: AbortSignal.timeout(10_000),
          prometheusUrl: url,
          namespace: 'demo',
          now: () => now,
        });
      const [fromPrometheus, fromBuiltin] = await Promise.all([
        run(real.prometheusUrl!),
        run(builtin.prometheusUrl!),
      ]);
      expect(fromBuiltin.outcome, `${where}: ${fromBuiltin.summary} vs ${fromPrometheus.summary}`).toBe(
        fromPrometheus.outcome,
      );
      expect(fromBuiltin.outcome).not.toBe('error');
    }
    // At 10% errors the error-rate trigger holds (a `>` condition passing means it fires) and the
    // error-rate check fails; the latency trigger does not hold.
    const verdict = (id: string) => specs.find((spec) => spec.where.endsWith(id))!;
    const check = (id: string) =>
      prometheusCheck(verdict(id).spec as Parameters<typeof prometheusCheck>[0], {
        signal: AbortSignal.timeout(10_000),
        prometheusUrl: builtin.prometheusUrl!,
        namespace: 'demo',
        now: () => now,
      });
    expect((await check('trigger error-rate')).outcome).toBe('passed');
    expect((await check('error-rate-baseline')).outcome).toBe('failed');
    expect((await check('trigger latency')).outcome).toBe('failed');
  });

  it('agrees with Prometheus on every Prometheus query of the committed checklists', async () => {
    const at = Date.now() - 1_000;
    expect(queries.length).toBeGreaterThan(20);
    for (const { where, query } of queries) {
      const [fromPrometheus, fromBuiltin] = await Promise.all([
        instant(real.prometheusUrl!, query, at),
        instant(builtin.prometheusUrl!, query, at),
      ]);
      if (fromPrometheus === undefined) {
        expect(fromBuiltin, where).toBeUndefined();
        continue;
      }
      // Scrape phases differ by up to a second between the two, and 5-minute windows mix the healthy
      // history with the last 27 s at 10% errors: a second is ~4% of that part.
      const tolerance = Math.max(1e-6, Math.abs(fromPrometheus) * 0.1);
      expect(
        Math.abs((fromBuiltin ?? Number.NaN) - fromPrometheus),
        `${where}: ${query}`,
      ).toBeLessThanOrEqual(tolerance);
    }
  });

  it('answers what it cannot evaluate with a Prometheus-style bad_data error', async () => {
    const response = await fetch(
      `${builtin.prometheusUrl}/api/v1/query?${new URLSearchParams({ query: 'quantile_over_time(0.9, up[5m])' })}`,
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ status: 'error', errorType: 'bad_data' });
  });
});
