import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Exporter } from './metrics-exporter.js';
import {
  evaluate,
  type Labels,
  type Node,
  PromQLError,
  parsePromQL,
  type SeriesSource,
  type Value,
} from './promql.js';

/**
 * The sandbox's stand-in for Prometheus when the binary is missing: it scrapes the simulated exporter
 * in-process every `scrapeIntervalMs` (one job per service, labelled as the real set-up labels them:
 * `job`, `instance`, `namespace`, `service`, the series' own labels winning, plus `up`), starts from the
 * exporter's backfill history, and answers `GET|POST /api/v1/query` and `/api/v1/query_range` in
 * Prometheus' JSON for the PromQL subset promql.ts documents — enough for the demo and seed checklists'
 * queries (rates of `http_requests_total`, `histogram_quantile` over `http_request_duration_seconds`,
 * `up`, container memory and CPU ratios, `... or vector(0)`).
 */

export interface MetricsSourceOptions {
  exporter: Exporter;
  /** Service -> namespace: the jobs to scrape and their target labels. */
  services: Record<string, string>;
  scrapeIntervalMs?: number;
  /** Load the exporter's history (it must have been started with `upForMs`). Default true. */
  backfill?: boolean;
  /** Samples older than this are dropped. Default 3 h. */
  retentionMs?: number;
}

export interface MetricsSource {
  url: string;
  /** Scrapes every job now (tests call it to avoid waiting for the next tick). */
  scrape(at?: number): void;
  /** Evaluates a query at `at` as the HTTP API would. */
  query(query: string, at: number): Value;
  stop(): Promise<void>;
}

interface StoredSeries {
  labels: Labels;
  times: number[];
  values: number[];
}

class SampleStore implements SeriesSource {
  private readonly byKey = new Map<string, StoredSeries>();

  add(labels: Labels, at: number, value: number): void {
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
    let series = this.byKey.get(key);
    if (!series) {
      series = { labels, times: [], values: [] };
      this.byKey.set(key, series);
    }
    const last = series.times[series.times.length - 1];
    if (last !== undefined && at <= last) return; // out of order: Prometheus drops it too
    series.times.push(at);
    series.values.push(value);
  }

  trim(before: number): void {
    for (const series of this.byKey.values()) {
      const keep = series.times.findIndex((time) => time >= before);
      if (keep > 0) {
        series.times.splice(0, keep);
        series.values.splice(0, keep);
      }
    }
  }

  series(): Iterable<StoredSeries> {
    return this.byKey.values();
  }
}

/** One line of the text exposition format: `name{a="b"} 1.5 [timestamp]`. */
const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+(\S+))?$/;

export function parseExposition(text: string): Array<{ labels: Labels; value: number; at?: number }> {
  const samples: Array<{ labels: Labels; value: number; at?: number }> = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line);
    if (!match) throw new Error(`cannot read exposition line: ${line}`);
    const labels: Labels = { __name__: match[1] as string };
    for (const [, name, raw] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[name as string] = (raw as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = parseNumber(match[3] as string);
    // OpenMetrics timestamps are seconds (the backfill history); the text format's are ms.
    samples.push({ labels, value, ...(match[4] ? { at: Math.round(Number(match[4]) * 1_000) } : {}) });
  }
  return samples;
}

function parseNumber(raw: string): number {
  if (raw === '+Inf' || raw === 'Inf') return Infinity;
  if (raw === '-Inf') return -Infinity;
  return Number(raw);
}

export async function startMetricsSource(options: MetricsSourceOptions): Promise<MetricsSource> {
  const { exporter } = options;
  const store = new SampleStore();
  const retention = options.retentionMs ?? 3 * 60 * 60_000;
  const targetLabels = (service: string): Labels => ({
    job: service,
    instance: exporter.target,
    namespace: options.services[service] ?? 'default',
    service,
  });

  if (options.backfill !== false) {
    // The same history, at the same step, as simulated-infra.ts backfills Prometheus with.
    const history = exporter.history({ stepMs: 30_000, targetLabels });
    for (const sample of parseExposition(history))
      if (sample.at !== undefined) store.add(sample.labels, sample.at, sample.value);
  }

  const scrape = (at = Date.now()) => {
    for (const service of Object.keys(options.services)) {
      const target = targetLabels(service);
      for (const sample of parseExposition(exporter.metrics(service)))
        store.add({ ...target, ...sample.labels }, at, sample.value);
      store.add({ __name__: 'up', ...target }, at, 1);
    }
    store.trim(at - retention);
  };
  scrape();
  const timer = setInterval(() => scrape(), options.scrapeIntervalMs ?? 1_000);

  const query = (text: string, at: number) => evaluate(parsePromQL(text), store, at);

  const server: Server = createServer((request, response) => {
    void answer(request, store)
      .then(({ status, body }) => {
        response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
      })
      .catch((error: Error) => {
        response
          .writeHead(500, { 'Content-Type': 'application/json' })
          .end(JSON.stringify({ status: 'error', errorType: 'internal', error: error.message }));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    scrape,
    query,
    async stop() {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function readParams(request: IncomingMessage): Promise<URLSearchParams> {
  const url = new URL(request.url ?? '/', 'http://metrics');
  const params = new URLSearchParams(url.searchParams);
  if (request.method === 'POST') {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    for (const [key, value] of new URLSearchParams(Buffer.concat(chunks).toString('utf8')))
      params.set(key, value);
  }
  return params;
}

/** `1712345678.123` or RFC 3339, as Prometheus accepts them. */
function parseTime(raw: string | null, fallback: number): number {
  if (raw === null || raw === '') return fallback;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.round(seconds * 1_000);
  const parsed = Date.parse(raw);
  if (Number.isNaN(parsed)) throw new PromQLError(`cannot parse "${raw}" to a valid timestamp`);
  return parsed;
}

function formatSample(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function badData(message: string) {
  return { status: 400, body: { status: 'error', errorType: 'bad_data', error: message } };
}

async function answer(
  request: IncomingMessage,
  store: SeriesSource,
): Promise<{ status: number; body: unknown }> {
  const path = new URL(request.url ?? '/', 'http://metrics').pathname;
  if (path === '/-/ready' || path === '/-/healthy') return { status: 200, body: 'ready' };
  if (path !== '/api/v1/query' && path !== '/api/v1/query_range')
    return { status: 404, body: { status: 'error', errorType: 'not_found', error: `no ${path} here` } };
  const params = await readParams(request);
  const text = params.get('query');
  if (!text) return badData('missing query');
  let node: Node;
  try {
    node = parsePromQL(text);
  } catch (error) {
    return badData(`invalid parameter "query": ${(error as Error).message}`);
  }
  try {
    if (path === '/api/v1/query') {
      const at = parseTime(params.get('time'), Date.now());
      const value = evaluate(node, store, at);
      const seconds = at / 1_000;
      if (value.kind === 'scalar')
        return {
          status: 200,
          body: {
            status: 'success',
            data: { resultType: 'scalar', result: [seconds, formatSample(value.value)] },
          },
        };
      return {
        status: 200,
        body: {
          status: 'success',
          data: {
            resultType: 'vector',
            result: value.elements.map((e) => ({
              metric: e.labels,
              value: [seconds, formatSample(e.value)],
            })),
          },
        },
      };
    }
    const start = parseTime(params.get('start'), NaN);
    const end = parseTime(params.get('end'), NaN);
    const step = Number(params.get('step')) * 1_000;
    if (!Number.isFinite(start) || !Number.isFinite(end)) return badData('start and end are required');
    if (!(step > 0)) return badData('step must be a positive number of seconds');
    if (end < start) return badData('end timestamp must not be before start time');
    if ((end - start) / step > 11_000)
      return badData('exceeded maximum resolution of 11,000 points per timeseries');
    const series = new Map<string, { metric: Labels; values: Array<[number, string]> }>();
    for (let at = start; at <= end; at += step) {
      const value = evaluate(node, store, at);
      const elements = value.kind === 'scalar' ? [{ labels: {}, value: value.value }] : value.elements;
      for (const element of elements) {
        const key = JSON.stringify(Object.entries(element.labels).sort(([a], [b]) => (a < b ? -1 : 1)));
        const entry = series.get(key) ?? { metric: element.labels, values: [] };
        entry.values.push([at / 1_000, formatSample(element.value)]);
        series.set(key, entry);
      }
    }
    return {
      status: 200,
      body: { status: 'success', data: { resultType: 'matrix', result: [...series.values()] } },
    };
  } catch (error) {
    if (error instanceof PromQLError) return badData(error.message);
    throw error;
  }
}
