import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';

/**
 * A throw-away Prometheus (Debian's binary) on a free loopback port, scraping the given targets often
 * enough that short rate windows work. Storage lives in a temp dir removed by `stop()`. Optionally the
 * storage is backfilled first (`promtool tsdb create-blocks-from openmetrics`), so queries over the past
 * hours have data from the start.
 */

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
export const PROMTOOL_BIN = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';

export function prometheusInstalled(): boolean {
  return existsSync(PROMETHEUS_BIN);
}

export function promtoolInstalled(): boolean {
  return existsSync(PROMTOOL_BIN);
}

export interface PrometheusServer {
  url: string;
  stop(): Promise<void>;
}

/** One `scrape_configs` entry. */
export interface ScrapeJob {
  name: string;
  /** host:port of each target. */
  targets: string[];
  /** Static labels on every series of the job's targets (`static_configs[].labels`). */
  labels?: Record<string, string>;
  /** Default `/metrics`. */
  metricsPath?: string;
  /** Query parameters of the scrape request. */
  params?: Record<string, string[]>;
  /** Keep the scraped series' own labels where they clash with target labels (instead of `exported_*`). */
  honorLabels?: boolean;
}

export interface StartPrometheusOptions {
  /** host:port of each target to scrape (`/metrics`), as one job named `test`. */
  targets?: string[];
  /** Further scrape jobs. */
  jobs?: ScrapeJob[];
  /** Default 1000 ms; Prometheus accepts whole milliseconds. */
  scrapeIntervalMs?: number;
  /** OpenMetrics text (ending in `# EOF`, timestamps in the past) written to storage before the start. */
  backfill?: string;
}

export async function startPrometheus(options: StartPrometheusOptions): Promise<PrometheusServer> {
  if (!prometheusInstalled()) {
    throw new Error(
      `Prometheus is not installed (${PROMETHEUS_BIN} is missing). ` +
        'Install it with: apt-get install -y --no-install-recommends prometheus',
    );
  }
  const interval = `${Math.round(options.scrapeIntervalMs ?? 1_000)}ms`;
  const jobs: ScrapeJob[] = [
    ...(options.targets ? [{ name: 'test', targets: options.targets }] : []),
    ...(options.jobs ?? []),
  ];
  const dir = await mkdtemp(join(tmpdir(), 'flightdeck-prometheus-'));
  const data = join(dir, 'data');
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    stringify({
      // scrape_timeout may not exceed scrape_interval; Prometheus refuses the config otherwise.
      global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
      scrape_configs: jobs.map((job) => ({
        job_name: job.name,
        ...(job.metricsPath ? { metrics_path: job.metricsPath } : {}),
        ...(job.params ? { params: job.params } : {}),
        ...(job.honorLabels ? { honor_labels: true } : {}),
        static_configs: [{ targets: job.targets, ...(job.labels ? { labels: job.labels } : {}) }],
      })),
    }),
  );
  try {
    if (options.backfill !== undefined) await backfill(options.backfill, dir, data);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${data}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4_000);
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`prometheus exited early (${signal ?? `code ${code}`}):\n${stderr}`)),
    ),
  );
  exited.catch(() => {});

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([waitForReady(url), exited]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}

async function backfill(text: string, dir: string, data: string): Promise<void> {
  if (!promtoolInstalled())
    throw new Error(
      `cannot backfill Prometheus: ${PROMTOOL_BIN} is missing (it comes with the prometheus package)`,
    );
  const input = join(dir, 'backfill.om');
  await writeFile(input, text);
  try {
    await promisify(execFile)(PROMTOOL_BIN, ['tsdb', 'create-blocks-from', 'openmetrics', input, data], {
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new Error(`promtool could not backfill: ${(stderr || message).trim().slice(-2_000)}`);
  } finally {
    await rm(input, { force: true });
  }
}

/** A port nobody listens on right now (the OS picks it; we release it for the caller). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitForReady(url: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = (error as Error).message; // refused while it boots
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`prometheus at ${url} not ready after 20s (${last})`);
}

/** One series of an instant query (a scalar comes back as one sample with no labels). */
export interface InstantSample {
  metric: Record<string, string>;
  value: number;
}

/**
 * Polls an instant query until `predicate` accepts its samples, and returns them — so tests wait for
 * the data they need instead of sleeping. Throws with the last result when the time runs out.
 */
export async function waitForSamples(
  url: string,
  query: string,
  predicate: (samples: InstantSample[]) => boolean,
  timeoutMs = 20_000,
): Promise<InstantSample[]> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = 'no answer';
  for (;;) {
    try {
      const samples = await instantQuery(url, query);
      if (predicate(samples)) return samples;
      last = samples;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(`waited ${timeoutMs} ms for ${query}; last result: ${JSON.stringify(last)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function instantQuery(url: string, query: string): Promise<InstantSample[]> {
  const response = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query })}`, {
    signal: AbortSignal.timeout(5_000),
  });
  const body = (await response.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: unknown };
  };
  if (body.status !== 'success' || !body.data)
    throw new Error(`query failed: ${body.error ?? response.status}`);
  const { resultType, result } = body.data;
  if (resultType === 'scalar') return [{ metric: {}, value: toNumber((result as [number, string])[1]) }];
  if (resultType !== 'vector') throw new Error(`expected a vector or scalar, got ${resultType}`);
  return (result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((sample) => ({
    metric: sample.metric,
    value: toNumber(sample.value[1]),
  }));
}

function toNumber(raw: string): number {
  if (raw === '+Inf') return Number.POSITIVE_INFINITY;
  if (raw === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(raw);
}
