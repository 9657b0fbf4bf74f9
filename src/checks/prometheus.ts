import axios from 'axios';
import { formatValue } from '../checklists/describe.js';
import type { Comparator, Unit } from '../checklists/schema.js';
import { formatDuration } from '../shared/duration.js';
import { abortedResult, describeConnectError } from './net.js';
import type { CheckModule, CheckResult, SpecOf } from './types.js';

/**
 * Prometheus check: one PromQL query that must give exactly one number, compared with a threshold.
 *
 * Without `for` it is an instant query at `now`. With `for` it is a range query over [now - for, now]
 * and the condition must hold at every step of the window. Anything that keeps us from a definite
 * answer — no data, NaN, several series, too little data for the window, a Prometheus error — is
 * `error`, never a pass: an empty result usually means a typo in a label, not a healthy service.
 */

type PrometheusSpec = SpecOf<'prometheus'>;

/** What "good" means for a measured number; rollback triggers evaluate the same thing over a window. */
export interface Condition {
  comparator: Comparator;
  threshold: number;
  unit: Unit;
  /** A short name for the value in messages; defaults to "value". */
  label?: string;
}

/** A sample of a range query: [time in ms since the epoch, value]. */
export type Sample = [time: number, value: number];

/** A range query's window, all in ms. Points sit at start, start + step, … up to end. */
export interface Window {
  start: number;
  end: number;
  step: number;
}

/** Data may begin this much later than start + one step (and end this much earlier than end - one step). */
export const COVERAGE_TOLERANCE_MS = 1_000;
/** Consecutive points further apart than this many steps are a gap in the data. */
export const MAX_GAP_STEPS = 3;

const SUMMARY_MAX = 300;
const DETAIL_MAX = 1_000;

const SYMBOL: Record<Comparator, string> = { '<': '<', '<=': '≤', '>': '>', '>=': '≥', '==': '=', '!=': '≠' };
const NEGATION: Record<Comparator, Comparator> = {
  '<': '>=',
  '<=': '>',
  '>': '<=',
  '>=': '<',
  '==': '!=',
  '!=': '==',
};

export const prometheusCheck: CheckModule<'prometheus'> = async (spec, context) => {
  const { signal } = context;
  const base = spec.url ?? context.prometheusUrl;
  if (!base) return { outcome: 'error', summary: 'no Prometheus URL configured for this service' };
  if (signal.aborted) return abortedResult(signal, spec.timeout);
  let baseUrl: URL;
  try {
    baseUrl = new URL(base);
  } catch {
    return { outcome: 'error', summary: truncate(`invalid Prometheus URL ${base}`, SUMMARY_MAX) };
  }

  const now = context.now();
  try {
    if (spec.for === undefined) {
      const data = await query(baseUrl, 'query', { query: spec.query, time: seconds(now) }, signal);
      return withWarnings(instantResult(spec, data), data.warnings);
    }
    const step = stepFor(spec.for);
    const window: Window = { start: now - spec.for, end: now, step };
    const data = await query(
      baseUrl,
      'query_range',
      {
        query: spec.query,
        start: seconds(window.start),
        end: seconds(window.end),
        step: String(step / 1_000),
      },
      signal,
    );
    return withWarnings(rangeResult(spec, data, window), data.warnings);
  } catch (error) {
    if (signal.aborted) return abortedResult(signal, spec.timeout);
    if (error instanceof PrometheusError)
      return { outcome: 'error', summary: error.message, detail: error.detail };
    return connectionError(error, baseUrl);
  }
};

/** Range query resolution: about 60 points per window, at least one per second, in whole seconds. */
export function stepFor(forMs: number): number {
  return Math.max(1, Math.round(forMs / 60 / 1_000)) * 1_000;
}

/** The comparison itself. NaN satisfies nothing, so "no data" can never read as a pass. */
export function compare(value: number, comparator: Comparator, threshold: number): boolean {
  if (Number.isNaN(value) || Number.isNaN(threshold)) return false;
  switch (comparator) {
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}

/**
 * One number against the threshold, e.g. `error rate 0.04% < 0.1%`. When the condition does not hold
 * it shows the relation that does (`p95 412 ms > 200 ms` for a spec `< 0.2`), never the spec's.
 */
export function describeComparison(value: number, condition: Condition): string {
  const [shownValue, shownThreshold] = formatPair(value, condition.threshold, condition.unit);
  return `${labelOf(condition)} ${shownValue} ${relation(value, condition)} ${shownThreshold}`;
}

/** The symbol of the relation between value and threshold that actually holds, as it will read. */
export function relation(value: number, condition: Condition): string {
  const { comparator, threshold, unit } = condition;
  if (compare(value, comparator, threshold)) return SYMBOL[comparator];
  const negation = NEGATION[comparator];
  // `5% ≥ 5%` stays as it is; 412 ms against 200 ms reads better as a plain `>`.
  const [shownValue, shownThreshold] = formatPair(value, threshold, unit);
  if (shownValue !== shownThreshold) {
    if (negation === '>=' && value > threshold) return '>';
    if (negation === '<=' && value < threshold) return '<';
  }
  return SYMBOL[negation];
}

/**
 * The condition over a window: `failed` as soon as any point breaks it (that is a fact whatever else is
 * missing), `error` when the points do not cover the window, `passed` otherwise. NaN points count as
 * missing. Pure, so rollback triggers can evaluate samples they already hold.
 */
export function evaluateWindow(samples: Sample[], condition: Condition, window: Window): CheckResult {
  const label = labelOf(condition);
  const length = formatDuration(window.end - window.start);
  const longWindow = window.end - window.start >= 86_400_000;
  const at = (time: number) => formatTime(time, longWindow);
  const points = samples
    .filter(([time, value]) => !Number.isNaN(value) && Number.isFinite(time))
    .sort((a, b) => a[0] - b[0]);

  const violations = points.filter(([, value]) => !compare(value, condition.comparator, condition.threshold));
  if (violations.length > 0) {
    const [time, value] = worstSample(violations, condition);
    const [first] = violations[0]!;
    const [shownValue, shownThreshold] = formatPair(value, condition.threshold, condition.unit);
    const verb = isUpperBound(condition.comparator)
      ? 'reached'
      : isLowerBound(condition.comparator)
        ? 'fell to'
        : 'was';
    const gap = coverageProblem(points, window, length, at);
    return {
      outcome: 'failed',
      summary: truncate(
        `${label} ${verb} ${shownValue} ${relation(value, condition)} ${shownThreshold} at ${at(time)} within the ${length} window`,
        SUMMARY_MAX,
      ),
      value,
      unit: condition.unit,
      detail: truncate(
        `${violations.length} of ${points.length} points (every ${formatDuration(window.step)}) broke ` +
          `${label} ${SYMBOL[condition.comparator]} ${formatValue(condition.threshold, condition.unit)}, ` +
          `the first at ${at(first)}.${gap ? ` Also: ${gap}.` : ''}`,
        DETAIL_MAX,
      ),
    };
  }

  if (points.length === 0) return { outcome: 'error', summary: `no data in the ${length} window` };
  const problem = coverageProblem(points, window, length, at);
  if (problem) return { outcome: 'error', summary: truncate(problem, SUMMARY_MAX) };

  const [, value] = worstSample(points, condition);
  const threshold = formatValue(condition.threshold, condition.unit);
  let summary: string;
  if (condition.comparator === '==' || condition.comparator === '!=') {
    summary = `${label} ${SYMBOL[condition.comparator]} ${threshold} for all of ${length}`;
  } else {
    const [shownValue, shownThreshold] = formatPair(value, condition.threshold, condition.unit);
    const bound = isUpperBound(condition.comparator) ? '≤' : '≥';
    summary = `${label} ${bound} ${shownValue} ${SYMBOL[condition.comparator]} ${shownThreshold} for all of ${length}`;
  }
  return { outcome: 'passed', summary: truncate(summary, SUMMARY_MAX), value, unit: condition.unit };
}

/** Why the points do not cover the window, or undefined when they do. `points` must be sorted. */
function coverageProblem(
  points: Sample[],
  window: Window,
  length: string,
  at: (time: number) => string,
): string | undefined {
  const first = points[0];
  const last = points[points.length - 1];
  if (!first || !last) return `no data in the ${length} window`;
  const lead = window.step + COVERAGE_TOLERANCE_MS;
  if (first[0] > window.start + lead) {
    return `only ${formatDuration(window.end - first[0])} of data for a ${length} window`;
  }
  for (let index = 1; index < points.length; index++) {
    const from = points[index - 1]![0];
    const to = points[index]![0];
    if (to - from > MAX_GAP_STEPS * window.step) {
      return `no data for ${formatDuration(to - from)} (${at(from)} to ${at(to)}) within the ${length} window`;
    }
  }
  if (last[0] < window.end - lead) {
    return `no data since ${at(last[0])}, the last ${formatDuration(window.end - last[0])} of the ${length} window`;
  }
  return undefined;
}

/** The sample furthest on the wrong side: the highest for upper bounds, the lowest for lower bounds. */
function worstSample(samples: Sample[], condition: Condition): Sample {
  const { comparator, threshold } = condition;
  const badness = (value: number): number => {
    if (isUpperBound(comparator)) return value;
    if (isLowerBound(comparator)) return -value;
    const distance = Math.abs(value - threshold);
    return comparator === '==' ? distance : -distance;
  };
  let worst = samples[0]!;
  for (const sample of samples) if (badness(sample[1]) > badness(worst[1])) worst = sample;
  return worst;
}

function isUpperBound(comparator: Comparator): boolean {
  return comparator === '<' || comparator === '<=';
}

function isLowerBound(comparator: Comparator): boolean {
  return comparator === '>' || comparator === '>=';
}

function labelOf(condition: Condition): string {
  return condition.label ?? 'value';
}

/**
 * Value and threshold as people read them. When rounding would make two different numbers look the
 * same (`5% < 5%`), both get more digits.
 */
function formatPair(value: number, threshold: number, unit: Unit): [string, string] {
  const shownValue = formatNumber(value, unit);
  const shownThreshold = formatNumber(threshold, unit);
  if (shownValue !== shownThreshold || value === threshold || !Number.isFinite(value)) {
    return [shownValue, shownThreshold];
  }
  return [formatPrecise(value, unit), formatPrecise(threshold, unit)];
}

function formatNumber(value: number, unit: Unit): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  return formatValue(value, unit);
}

function formatPrecise(value: number, unit: Unit): string {
  const digits = (n: number) => String(Number(n.toPrecision(6)));
  switch (unit) {
    case 'ratio':
      return `${digits(value * 100)}%`;
    case 'percent':
      return `${digits(value)}%`;
    case 'seconds':
      return Math.abs(value) < 1 ? `${digits(value * 1000)} ms` : `${digits(value)} s`;
    case 'milliseconds':
      return `${digits(value)} ms`;
    case 'bytes':
      return `${digits(value)} B`;
    case 'number':
      return digits(value);
  }
}

/** 14:02:10 UTC; with the date for windows of a day or more. */
function formatTime(ms: number, withDate: boolean): string {
  const iso = new Date(ms).toISOString();
  return withDate ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : `${iso.slice(11, 19)} UTC`;
}

// ---------------------------------------------------------------------------------------------------
// The HTTP API

interface QueryData {
  resultType: 'vector' | 'scalar' | 'matrix' | 'string';
  result: unknown;
  warnings: string[];
}

interface Series {
  metric: Record<string, string>;
}

/** A definite answer from Prometheus that is not a number we can judge; its message is the summary. */
class PrometheusError extends Error {
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super(truncate(message, SUMMARY_MAX));
  }
}

async function query(
  base: URL,
  endpoint: 'query' | 'query_range',
  params: Record<string, string>,
  signal: AbortSignal,
): Promise<QueryData> {
  // Relative to the base so a path prefix (http://host/prometheus) is kept.
  const url = new URL(`api/v1/${endpoint}`, base.href.endsWith('/') ? base.href : `${base.href}/`);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  const response = await axios.get<unknown>(url.href, {
    signal,
    headers: { Accept: 'application/json', 'User-Agent': 'Flightdeck-check' },
    responseType: 'json',
    // Prometheus explains its 4xx/5xx in the body; we read it rather than let axios throw.
    validateStatus: () => true,
    maxRedirects: 0,
  });
  const body = response.data as
    | { status?: unknown; data?: unknown; errorType?: unknown; error?: unknown; warnings?: unknown }
    | string
    | null;
  if (body && typeof body === 'object' && body.status === 'error') {
    const type = typeof body.errorType === 'string' ? body.errorType : `HTTP ${response.status}`;
    throw new PrometheusError(`Prometheus error (${type}): ${String(body.error ?? 'no message')}`);
  }
  if (response.status !== 200 || !body || typeof body !== 'object' || body.status !== 'success') {
    const snippet = typeof body === 'string' ? body : JSON.stringify(body);
    throw new PrometheusError(
      `Prometheus at ${redact(base)} answered HTTP ${response.status}${response.status === 200 ? ' without a query result' : ''}`,
      truncate(snippet ?? '', DETAIL_MAX),
    );
  }
  const data = body.data as { resultType?: unknown; result?: unknown } | undefined;
  if (!data || typeof data.resultType !== 'string' || !Array.isArray(data.result)) {
    throw new PrometheusError(
      'Prometheus answered without a query result',
      truncate(JSON.stringify(body), DETAIL_MAX),
    );
  }
  const warnings = Array.isArray(body.warnings) ? body.warnings.map(String) : [];
  return { resultType: data.resultType as QueryData['resultType'], result: data.result, warnings };
}

function instantResult(spec: PrometheusSpec, data: QueryData): CheckResult {
  let raw: unknown;
  switch (data.resultType) {
    case 'scalar':
      raw = (data.result as unknown[])[1];
      break;
    case 'vector': {
      const series = data.result as Array<Series & { value: [number, string] }>;
      if (series.length === 0) return noData(spec.query);
      if (series.length > 1) return severalSeries(series);
      raw = series[0]!.value[1];
      break;
    }
    case 'matrix':
      return {
        outcome: 'error',
        summary:
          'the query gives a range vector, not a number: wrap the [range] in a function such as rate() or avg_over_time()',
      };
    default:
      return { outcome: 'error', summary: `the query gives a ${data.resultType}, not a number` };
  }
  const value = parseValue(raw);
  if (Number.isNaN(value)) {
    return {
      outcome: 'error',
      summary: 'no data: value is NaN',
      detail:
        'NaN usually means 0/0, e.g. no traffic in the rate window, or a quantile of an empty histogram.',
    };
  }
  const passed = compare(value, spec.comparator, spec.threshold);
  return {
    outcome: passed ? 'passed' : 'failed',
    summary: truncate(describeComparison(value, spec), SUMMARY_MAX),
    value,
    unit: spec.unit,
    ...(value === Number.POSITIVE_INFINITY
      ? { detail: 'The value is +Inf; for histogram_quantile that means above the highest bucket.' }
      : {}),
  };
}

function rangeResult(spec: PrometheusSpec, data: QueryData, window: Window): CheckResult {
  if (data.resultType !== 'matrix') {
    return { outcome: 'error', summary: `Prometheus answered a range query with a ${data.resultType}` };
  }
  const series = data.result as Array<Series & { values: Array<[number, string]> }>;
  if (series.length === 0)
    return noData(spec.query, ` in the ${formatDuration(window.end - window.start)} window`);
  if (series.length > 1) return severalSeries(series);
  const samples: Sample[] = series[0]!.values.map(([time, value]) => [
    Math.round(time * 1_000),
    parseValue(value),
  ]);
  return evaluateWindow(samples, spec, window);
}

function noData(promql: string, where = ''): CheckResult {
  return {
    outcome: 'error',
    summary: truncate(`no data for ${truncate(promql, 200)}${where}`, SUMMARY_MAX),
    detail:
      'The query matched no series: check the metric name and label values (a typo looks the same as no data).',
  };
}

function severalSeries(series: Series[]): CheckResult {
  const shown = series.slice(0, 5).map((one) => formatLabels(one.metric));
  const more = series.length > shown.length ? `\n… and ${series.length - shown.length} more` : '';
  return {
    outcome: 'error',
    summary: `the query gives ${series.length} series, not one number: aggregate it, e.g. with sum(…) or max(…)`,
    detail: truncate(`${shown.join('\n')}${more}`, DETAIL_MAX),
  };
}

function formatLabels(metric: Record<string, string>): string {
  const { __name__: name = '', ...labels } = metric;
  const pairs = Object.entries(labels).map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  return `${name}{${pairs.join(', ')}}`;
}

/** Prometheus sends sample values as strings, with "NaN", "+Inf" and "-Inf" for the special ones. */
export function parseValue(raw: unknown): number {
  if (raw === '+Inf' || raw === 'Inf') return Number.POSITIVE_INFINITY;
  if (raw === '-Inf') return Number.NEGATIVE_INFINITY;
  if (typeof raw !== 'string' && typeof raw !== 'number') return Number.NaN;
  if (typeof raw === 'string' && raw.trim() === '') return Number.NaN;
  return Number(raw);
}

function connectionError(error: unknown, base: URL): CheckResult {
  const port = Number(base.port) || (base.protocol === 'https:' ? 443 : 80);
  const why = describeConnectError(error, base.hostname, port);
  return { outcome: 'error', summary: truncate(`Prometheus at ${redact(base)}: ${why}`, SUMMARY_MAX) };
}

function withWarnings(result: CheckResult, warnings: string[]): CheckResult {
  if (warnings.length === 0) return result;
  const note = `Prometheus warnings: ${warnings.join('; ')}`;
  return { ...result, detail: truncate(result.detail ? `${result.detail}\n${note}` : note, DETAIL_MAX) };
}

/** The URL without credentials, for messages. */
function redact(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href.replace(/\/$/, '');
}

/** Unix seconds with millisecond precision, as the API takes them. */
function seconds(ms: number): string {
  return (ms / 1_000).toFixed(3);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
