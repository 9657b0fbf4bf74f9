import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A metrics exporter for simulated services: synthetic traffic, served on `/metrics` for a real
 * Prometheus to scrape. Every tick (100 ms) each running service handles `requestsPerTick` requests.
 * Errors are spread by carrying the fractional remainder from tick to tick, and latencies are spread
 * evenly over [0.9 × latency, latency], so rates and quantiles are steady (no randomness): thresholds
 * only need a modest margin.
 *
 * histogram_quantile interpolates inside a bucket, so p95 lands in the bucket that holds `latency`:
 * pick latencies at bucket boundaries (0.05, 0.1, 0.2, 0.4…) and p95 comes out just under them.
 *
 * A service given a `namespace` and `pods` also gets cAdvisor's container series (memory working set and
 * limit, CPU usage, quota and period) labelled `{namespace, container=<service>, pod}`.
 *
 * `/metrics` serves every service; `/metrics?service=<name>` only that one's series, so Prometheus can
 * scrape each service as its own job (and `up` means something per service). With `upForMs`, services
 * start as if they had been running that long: counters begin at what that time would have added up to,
 * and `history()` writes the matching past samples, for backfilling Prometheus so `rate()` and `for:`
 * windows have data from the first query. (The series are written by hand rather than with prom-client:
 * a prom-client histogram cannot start from a past total.)
 */

export const LATENCY_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 10,
];

/** The limits every simulated container has, as cAdvisor reports them: 512 MiB and half a core. */
export const MEMORY_LIMIT_BYTES = 512 * 1024 * 1024;
export const CPU_QUOTA = 50_000;
export const CPU_PERIOD = 100_000;
const CORES = CPU_QUOTA / CPU_PERIOD;

export interface ServiceTraffic {
  /** Share of requests answered 500, 0–1. Default 0. */
  errorRatio?: number;
  /** Seconds. Default 0.05. */
  latency?: number;
  /** Starts without traffic (its series exist, at zero). */
  paused?: boolean;
  /** With `pods`: the namespace of the service's container series. Fixed when the service is added. */
  namespace?: string;
  /** Pod names, one set of container series each (the container is named after the service). */
  pods?: string[];
  /** Memory working set / limit, 0–1. Default 0.4. */
  memoryRatio?: number;
  /** CPU used / CPU limit, 0–1. Default 0.25. */
  cpuRatio?: number;
}

export interface HistoryOptions {
  /** One sample every this often. Default 15 s. */
  stepMs?: number;
  /** Labels Prometheus adds when it scrapes the service (job, instance, static labels); the series' own
   * labels win, as with `honor_labels: true`. (No `up`: that only real scrapes should say.) */
  targetLabels?: (service: string) => Record<string, string>;
}

export interface Exporter {
  /** host:port to scrape. */
  target: string;
  /** Adds a service (or changes its traffic). */
  setService(service: string, traffic?: ServiceTraffic): void;
  setErrorRatio(service: string, ratio: number): void;
  setLatency(service: string, seconds: number): void;
  setMemoryRatio(service: string, ratio: number): void;
  setCpuRatio(service: string, ratio: number): void;
  pause(service: string): void;
  resume(service: string): void;
  /** The exposition text of every service, or of one (empty for a service it does not know). */
  metrics(service?: string): string;
  /**
   * OpenMetrics text, ending in `# EOF`, of the samples each service's series would have had during the
   * `upForMs` before it was added (ending with the values it started from), for
   * `promtool tsdb create-blocks-from openmetrics`. Empty of samples when `upForMs` is 0.
   */
  history(options?: HistoryOptions): string;
  stop(): Promise<void>;
}

export interface ExporterOptions {
  services?: Record<string, ServiceTraffic>;
  requestsPerTick?: number;
  tickMs?: number;
  /** Services start as if they had been up this long (see `history`). Default 0. */
  upForMs?: number;
}

interface State {
  errorRatio: number;
  latency: number;
  paused: boolean;
  namespace?: string;
  pods: string[];
  memoryRatio: number;
  cpuRatio: number;
  /** Errors owed from earlier ticks (fractions of a request). */
  errorDebt: number;
  ok: number;
  errors: number;
  /** Cumulative, one per LATENCY_BUCKETS entry; `count` is the +Inf bucket. */
  buckets: number[];
  count: number;
  sum: number;
  cpuSeconds: Map<string, number>;
  addedAt: number;
  /** The series as the service started: what `history` scales back in time. */
  initial: Sample[];
}

interface Sample {
  family: string;
  name: string;
  labels: Record<string, string>;
  value: number;
}

type FamilyType = 'counter' | 'gauge' | 'histogram';

const FAMILIES: Array<{ name: string; type: FamilyType; help: string }> = [
  { name: 'http_requests_total', type: 'counter', help: 'Requests handled, by service and status code.' },
  { name: 'http_request_duration_seconds', type: 'histogram', help: 'Request latency.' },
  {
    name: 'container_memory_working_set_bytes',
    type: 'gauge',
    help: 'Current working set of the container in bytes.',
  },
  { name: 'container_spec_memory_limit_bytes', type: 'gauge', help: 'Memory limit for the container.' },
  {
    name: 'container_cpu_usage_seconds_total',
    type: 'counter',
    help: 'Cumulative cpu time consumed in seconds.',
  },
  { name: 'container_spec_cpu_quota', type: 'gauge', help: 'CPU quota of the container.' },
  { name: 'container_spec_cpu_period', type: 'gauge', help: 'CPU period of the container.' },
];
const FAMILY_TYPE = new Map(FAMILIES.map((family) => [family.name, family.type]));

/** The latencies of one tick's requests: evenly over [0.9 × latency, latency]. */
function latencies(latency: number, perTick: number): number[] {
  return Array.from({ length: perTick }, (_, index) => latency * (0.9 + (0.1 * (index + 1)) / perTick));
}

/** How many of one tick's requests fall into each (cumulative) bucket, and their sum. */
function tickHistogram(latency: number, perTick: number): { buckets: number[]; sum: number } {
  const observed = latencies(latency, perTick);
  return {
    buckets: LATENCY_BUCKETS.map((le) => observed.filter((value) => value <= le).length),
    sum: observed.reduce((total, value) => total + value, 0),
  };
}

export async function startExporter(options: ExporterOptions = {}): Promise<Exporter> {
  const perTick = options.requestsPerTick ?? 100;
  const tickMs = options.tickMs ?? 100;
  const upForMs = options.upForMs ?? 0;
  const services = new Map<string, State>();

  const stateOf = (service: string): State => {
    const state = services.get(service);
    if (!state) throw new Error(`unknown service ${service}: add it with setService first`);
    return state;
  };

  /** Adds `ticks` ticks of traffic at the service's current profile (fractional errors: an average). */
  const addAverageTicks = (state: State, ticks: number) => {
    if (!state.paused) {
      const { buckets, sum } = tickHistogram(state.latency, perTick);
      state.ok += perTick * (1 - state.errorRatio) * ticks;
      state.errors += perTick * state.errorRatio * ticks;
      buckets.forEach((count, index) => {
        state.buckets[index] = (state.buckets[index] ?? 0) + count * ticks;
      });
      state.count += perTick * ticks;
      state.sum += sum * ticks;
    }
    for (const pod of state.pods)
      state.cpuSeconds.set(
        pod,
        (state.cpuSeconds.get(pod) ?? 0) + (state.cpuRatio * CORES * ticks * tickMs) / 1_000,
      );
  };

  const setService = (service: string, traffic: ServiceTraffic = {}) => {
    const existing = services.get(service);
    const state: State = existing ?? {
      errorRatio: 0,
      latency: 0.05,
      paused: false,
      pods: [],
      memoryRatio: 0.4,
      cpuRatio: 0.25,
      errorDebt: 0,
      ok: 0,
      errors: 0,
      buckets: LATENCY_BUCKETS.map(() => 0),
      count: 0,
      sum: 0,
      cpuSeconds: new Map(),
      addedAt: Date.now(),
      initial: [],
    };
    if (traffic.errorRatio !== undefined) state.errorRatio = traffic.errorRatio;
    if (traffic.latency !== undefined) state.latency = traffic.latency;
    if (traffic.paused !== undefined) state.paused = traffic.paused;
    if (traffic.memoryRatio !== undefined) state.memoryRatio = traffic.memoryRatio;
    if (traffic.cpuRatio !== undefined) state.cpuRatio = traffic.cpuRatio;
    if (existing) return;
    state.namespace = traffic.namespace;
    state.pods = state.namespace ? [...(traffic.pods ?? [])] : [];
    // Series exist from the first scrape, so a rate never starts from a missing counter; with `upForMs`
    // they start where that much time up would have brought them.
    addAverageTicks(state, upForMs / tickMs);
    state.initial = samplesOf(service, state);
    services.set(service, state);
  };
  for (const [service, traffic] of Object.entries(options.services ?? {})) setService(service, traffic);

  const tick = () => {
    for (const state of services.values()) {
      for (const pod of state.pods)
        state.cpuSeconds.set(
          pod,
          (state.cpuSeconds.get(pod) ?? 0) + (state.cpuRatio * CORES * tickMs) / 1_000,
        );
      if (state.paused) continue;
      state.errorDebt += perTick * state.errorRatio;
      const errors = Math.min(perTick, Math.floor(state.errorDebt + 1e-9));
      state.errorDebt -= errors;
      state.errors += errors;
      state.ok += perTick - errors;
      const { buckets, sum } = tickHistogram(state.latency, perTick);
      buckets.forEach((count, index) => {
        state.buckets[index] = (state.buckets[index] ?? 0) + count;
      });
      state.count += perTick;
      state.sum += sum;
    }
  };
  const timer = setInterval(tick, tickMs);

  const metrics = (service?: string): string => {
    const chosen =
      service === undefined
        ? [...services]
        : services.has(service)
          ? [[service, stateOf(service)] as const]
          : [];
    const samples = chosen.flatMap(([name, state]) => samplesOf(name, state));
    const lines: string[] = [];
    for (const family of FAMILIES) {
      const mine = samples.filter((sample) => sample.family === family.name);
      if (mine.length === 0) continue;
      lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
      for (const sample of mine)
        lines.push(`${sample.name}${formatLabels(sample.labels)} ${formatNumber(sample.value)}`);
    }
    return `${lines.join('\n')}\n`;
  };

  const history = (historyOptions: HistoryOptions = {}): string => {
    const step = historyOptions.stepMs ?? 15_000;
    const lines: string[] = [];
    const all = [...services].flatMap(([service, state]) => {
      const target = historyOptions.targetLabels?.(service) ?? {};
      return state.initial.map((sample) => ({ sample, labels: { ...target, ...sample.labels }, state }));
    });
    // OpenMetrics wants each family's samples together; each series goes oldest first.
    const order = FAMILIES.map((family) => family.name);
    all.sort((a, b) => order.indexOf(a.sample.family) - order.indexOf(b.sample.family));
    if (upForMs > 0) {
      for (const { sample, labels, state } of all) {
        const counter = FAMILY_TYPE.get(sample.family) !== 'gauge';
        const start = state.addedAt - upForMs;
        for (let at = start; ; at = Math.min(at + step, state.addedAt)) {
          // Counters grew evenly from zero to the value the service started with.
          const value = counter ? (sample.value * (at - start)) / upForMs : sample.value;
          lines.push(
            `${sample.name}${formatLabels(labels)} ${formatNumber(value)} ${(at / 1_000).toFixed(3)}`,
          );
          if (at >= state.addedAt) break;
        }
      }
    }
    lines.push('# EOF');
    return `${lines.join('\n')}\n`;
  };

  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://exporter');
    if (url.pathname !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    response
      .writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' })
      .end(metrics(url.searchParams.get('service') ?? undefined));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    target: `127.0.0.1:${port}`,
    setService,
    setErrorRatio: (service, ratio) => {
      stateOf(service).errorRatio = ratio;
    },
    setLatency: (service, seconds) => {
      stateOf(service).latency = seconds;
    },
    setMemoryRatio: (service, ratio) => {
      stateOf(service).memoryRatio = ratio;
    },
    setCpuRatio: (service, ratio) => {
      stateOf(service).cpuRatio = ratio;
    },
    pause: (service) => {
      stateOf(service).paused = true;
    },
    resume: (service) => {
      stateOf(service).paused = false;
    },
    metrics,
    history,
    async stop() {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Every series of one service, as it stands. */
function samplesOf(service: string, state: State): Sample[] {
  const samples: Sample[] = [];
  const add = (family: string, name: string, labels: Record<string, string>, value: number) =>
    samples.push({ family, name, labels, value });
  add('http_requests_total', 'http_requests_total', { service, code: '200' }, state.ok);
  add('http_requests_total', 'http_requests_total', { service, code: '500' }, state.errors);
  const histogram = 'http_request_duration_seconds';
  LATENCY_BUCKETS.forEach((le, index) => {
    add(histogram, `${histogram}_bucket`, { service, le: String(le) }, state.buckets[index] ?? 0);
  });
  add(histogram, `${histogram}_bucket`, { service, le: '+Inf' }, state.count);
  add(histogram, `${histogram}_sum`, { service }, state.sum);
  add(histogram, `${histogram}_count`, { service }, state.count);
  for (const pod of state.pods) {
    const labels = { namespace: state.namespace as string, container: service, pod };
    const container = (name: string, value: number) => add(name, name, labels, value);
    container('container_memory_working_set_bytes', Math.round(state.memoryRatio * MEMORY_LIMIT_BYTES));
    container('container_spec_memory_limit_bytes', MEMORY_LIMIT_BYTES);
    container('container_cpu_usage_seconds_total', state.cpuSeconds.get(pod) ?? 0);
    container('container_spec_cpu_quota', CPU_QUOTA);
    container('container_spec_cpu_period', CPU_PERIOD);
  }
  return samples;
}

function formatLabels(labels: Record<string, string>): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabel(value)}"`);
  return pairs.length > 0 ? `{${pairs.join(',')}}` : '';
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}
