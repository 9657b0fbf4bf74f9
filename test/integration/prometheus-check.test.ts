import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prometheusCheckSchema } from '../../src/checklists/schema.js';
import { prometheusCheck } from '../../src/checks/prometheus.js';
import type { CheckContext } from '../../src/checks/types.js';
import { freePort } from '../../src/sandbox/infra/redis-server.js';
import { type Exporter, startExporter } from '../../src/sandbox/metrics/metrics-exporter.js';
import {
  type PrometheusServer,
  startPrometheus,
  waitForSamples,
} from '../../src/sandbox/metrics/prometheus.js';
import { type Blackhole, startBlackhole } from '../support/blackhole.js';

/**
 * The check against a real Prometheus scraping a test exporter every second. Each service keeps one
 * traffic profile for the whole file so its rates are steady; only `spiky` changes, and late.
 */

let exporter: Exporter;
let prometheus: PrometheusServer;

const errorRatio = (service: string, range = '10s') =>
  `sum(rate(http_requests_total{service="${service}",code=~"5.."}[${range}])) / sum(rate(http_requests_total{service="${service}"}[${range}]))`;
const p95 = (service: string, range = '10s') =>
  `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{service="${service}"}[${range}])))`;
/** How many scrapes of a service Prometheus holds within the range. */
const scrapes = (service: string, range: string) =>
  `count_over_time(http_requests_total{service="${service}",code="200"}[${range}])`;

beforeAll(async () => {
  exporter = await startExporter({
    services: {
      good: { errorRatio: 0.0005, latency: 0.05 },
      bad: { errorRatio: 0.05, latency: 0.4 },
      idle: { paused: true },
      spiky: { errorRatio: 0, latency: 0.05 },
    },
  });
  prometheus = await startPrometheus({ targets: [exporter.target], scrapeIntervalMs: 1_000 });
  // Prometheus picks up its targets a few seconds after start; wait for the first rates.
  await waitForSamples(prometheus.url, errorRatio('bad'), (samples) => samples.length === 1, 20_000);
});

afterAll(async () => {
  await prometheus?.stop();
  await exporter?.stop();
});

function context(overrides: Partial<CheckContext> = {}): CheckContext {
  return {
    signal: AbortSignal.timeout(10_000),
    prometheusUrl: prometheus.url,
    namespace: 'default',
    now: () => Date.now(),
    ...overrides,
  };
}

function run(spec: Record<string, unknown>, overrides?: Partial<CheckContext>) {
  return prometheusCheck(prometheusCheckSchema.parse({ type: 'prometheus', ...spec }), context(overrides));
}

const errorRateSpec = (service: string, extra: Record<string, unknown> = {}) => ({
  query: errorRatio(service),
  comparator: '<',
  threshold: 0.001,
  unit: 'ratio',
  label: 'error rate',
  ...extra,
});
const p95Spec = (service: string, extra: Record<string, unknown> = {}) => ({
  query: p95(service),
  comparator: '<',
  threshold: 0.2,
  unit: 'seconds',
  label: 'p95',
  ...extra,
});

describe('instant queries', () => {
  it('fails an error rate of 5% against < 0.1%', async () => {
    const result = await run(errorRateSpec('bad'));
    expect(result.outcome).toBe('failed');
    expect(result.summary).toBe('error rate 5% > 0.1%');
    expect(result.value).toBeCloseTo(0.05, 3);
    expect(result.unit).toBe('ratio');
  });

  it('fails a p95 of ~400 ms against < 200 ms', async () => {
    const result = await run(p95Spec('bad'));
    expect(result.outcome).toBe('failed');
    expect(result.summary).toMatch(/^p95 (3[5-9]\d|4[0-4]\d) ms > 200 ms$/);
    expect(result.unit).toBe('seconds');
  });

  it('is an error, not a pass, when the query matches nothing', async () => {
    const result = await run(errorRateSpec('no-such-service'));
    expect(result.outcome).toBe('error');
    expect(result.summary).toBe(`no data for ${errorRatio('no-such-service')}`);
  });

  it('is an error when the query gives several series, naming how many', async () => {
    const result = await run({
      query: 'sum by (service) (rate(http_requests_total[10s]))',
      comparator: '>',
      threshold: 0,
    });
    expect(result.outcome).toBe('error');
    expect(result.summary).toBe(
      'the query gives 4 series, not one number: aggregate it, e.g. with sum(…) or max(…)',
    );
    expect(result.detail).toContain('{service="good"}');
  });

  it('is an error when the value is NaN (no traffic: 0/0)', async () => {
    const result = await run(errorRateSpec('idle'));
    expect(result).toMatchObject({ outcome: 'error', summary: 'no data: value is NaN' });
  });

  it("passes on Prometheus's message for bad PromQL", async () => {
    const result = await run({
      query: 'sum(rate(http_requests_total{[10s]))',
      comparator: '<',
      threshold: 1,
    });
    expect(result.outcome).toBe('error');
    expect(result.summary).toMatch(
      /^Prometheus error \(bad_data\): invalid parameter "query": .*parse error/,
    );
  });

  it('evaluates scalar results', async () => {
    const result = await run({
      query: `scalar(sum(rate(http_requests_total{service="bad"}[10s])))`,
      comparator: '>',
      threshold: 0,
      label: 'requests/s',
    });
    // Early rates are low (extrapolation stops at the counter's zero), so only "some traffic" is certain.
    expect(result.outcome).toBe('passed');
    expect(result.summary).toMatch(/^requests\/s \d+(\.\d+)? > 0$/);
    expect(result.value).toBeGreaterThan(0);
  });

  it('passes an error rate of 0.05% against < 0.1% once the rate window is full', async () => {
    await waitForSamples(prometheus.url, scrapes('good', '10s'), (samples) => (samples[0]?.value ?? 0) >= 9);
    const result = await run(errorRateSpec('good'));
    expect(result.outcome).toBe('passed');
    expect(result.summary).toMatch(/^error rate 0\.0\d+% < 0\.1%$/);
    expect(result.value).toBeGreaterThan(0);
    expect(result.value).toBeLessThan(0.00075);
  });

  it('passes a p95 of ~50 ms against < 200 ms', async () => {
    const result = await run(p95Spec('good'));
    expect(result.outcome).toBe('passed');
    expect(result.summary).toMatch(/^p95 4\d(\.\d)? ms < 200 ms$/);
  });
});

describe('windows (for)', () => {
  it('passes when the condition held at every step of the window', async () => {
    // rate[5s] needs two scrapes, so 13 scrapes in the last minute cover a 10 s window.
    await waitForSamples(
      prometheus.url,
      scrapes('good', '1m'),
      (samples) => (samples[0]?.value ?? 0) >= 13,
      30_000,
    );
    const result = await run(p95Spec('good', { query: p95('good', '5s'), for: '10s' }));
    expect(result.outcome).toBe('passed');
    expect(result.summary).toMatch(/^p95 ≤ 4\d(\.\d)? ms < 200 ms for all of 10s$/);
    expect(result.value).toBeLessThan(0.05);
  });

  it('is an error when the window is longer than the data', async () => {
    const result = await run(p95Spec('good', { query: p95('good', '5s'), for: '10m' }));
    expect(result.outcome).toBe('error');
    expect(result.summary).toMatch(/^only \d+s of data for a 10m window$/);
  });

  it('fails for a spike inside the window although the current value is fine', async () => {
    const ratio3s = errorRatio('spiky', '3s');
    await waitForSamples(
      prometheus.url,
      scrapes('spiky', '1m'),
      (samples) => (samples[0]?.value ?? 0) >= 13,
      30_000,
    );
    exporter.setErrorRatio('spiky', 0.5);
    await waitForSamples(prometheus.url, ratio3s, (samples) => (samples[0]?.value ?? 0) > 0.3);
    exporter.setErrorRatio('spiky', 0);
    await waitForSamples(prometheus.url, ratio3s, (samples) => samples[0]?.value === 0);

    const spec = errorRateSpec('spiky', { query: ratio3s, threshold: 0.01 });
    const now = await run(spec);
    expect(now).toMatchObject({ outcome: 'passed', summary: 'error rate 0% < 1%' });

    const windowed = await run({ ...spec, for: '10s' });
    expect(windowed.outcome).toBe('failed');
    expect(windowed.summary).toMatch(
      /^error rate reached \d+(\.\d+)?% > 1% at \d\d:\d\d:\d\d UTC within the 10s window$/,
    );
    expect(windowed.value).toBeGreaterThan(0.3);
  });
});

describe('when Prometheus cannot answer', () => {
  let blackhole: Blackhole;
  let broken: Server;
  let brokenUrl: string;

  beforeAll(async () => {
    blackhole = await startBlackhole();
    // Stands in for an overloaded Prometheus and for a proxy in front of it.
    broken = createServer((request, response) => {
      if (request.url?.startsWith('/overloaded/')) {
        response.writeHead(503, { 'Content-Type': 'application/json' });
        response.end(
          JSON.stringify({
            status: 'error',
            errorType: 'timeout',
            error: 'query timed out in query execution',
          }),
        );
      } else {
        response.writeHead(502, { 'Content-Type': 'text/html' }).end('<html>Bad Gateway</html>');
      }
    });
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    brokenUrl = `http://127.0.0.1:${(broken.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await blackhole?.close();
    await new Promise((resolve) => broken?.close(resolve));
  });

  it('is an error when nothing listens', async () => {
    const port = await freePort();
    const result = await run(errorRateSpec('good'), { prometheusUrl: `http://127.0.0.1:${port}` });
    expect(result).toEqual({
      outcome: 'error',
      summary: `Prometheus at http://127.0.0.1:${port}: connection refused by 127.0.0.1:${port}`,
    });
  });

  it("is an error on a 5xx, with Prometheus's message when it gives one", async () => {
    const overloaded = await run(errorRateSpec('good', { url: `${brokenUrl}/overloaded` }));
    expect(overloaded).toMatchObject({
      outcome: 'error',
      summary: 'Prometheus error (timeout): query timed out in query execution',
    });
    const proxy = await run(errorRateSpec('good', { url: brokenUrl }));
    expect(proxy.outcome).toBe('error');
    expect(proxy.summary).toBe(`Prometheus at ${brokenUrl} answered HTTP 502`);
    expect(proxy.detail).toContain('Bad Gateway');
  });

  it('gives up fast when the signal aborts', async () => {
    const started = Date.now();
    const result = await run(errorRateSpec('good', { for: '10s' }), {
      prometheusUrl: `http://${blackhole.host}:${blackhole.port}`,
      signal: AbortSignal.timeout(300),
    });
    expect(result.outcome).toBe('error');
    expect(result.summary).toMatch(/^timed out/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
