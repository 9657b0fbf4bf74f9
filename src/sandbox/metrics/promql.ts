/**
 * A small PromQL evaluator over in-memory samples: the sandbox's built-in metrics source uses it when
 * the `prometheus` binary is missing. It supports exactly this subset (anything else is a parse error,
 * answered the way Prometheus answers a query it cannot run, so a check says "error", never a guess):
 *
 * - number literals (`0.95`, `NaN`, `Inf`), `vector(<number>)`, parentheses, unary minus
 * - instant vector selectors: `name`, `name{l="v", l!="v", l=~"re", l!~"re"}`, `{__name__="x"}`,
 *   looking back 5 minutes for the latest sample, as Prometheus does
 * - range vector selectors `selector[<duration>]` (durations like `30s`, `5m`, `1h30m`), only as the
 *   argument of `rate()` or `increase()`, which extrapolate as Prometheus does
 * - `histogram_quantile(φ, <vector with le>)` with Prometheus' interpolation inside the bucket
 * - aggregations `sum`, `min`, `max`, `avg`, `count`, with `by (…)` or `without (…)` before or after
 *   the argument
 * - binary `+ - * /` and the filters `== != > < >= <=` between a vector and a number or between two
 *   vectors (one-to-one on identical label sets, metric name dropped); `or`
 *
 * Not supported: offsets, `@`, subqueries, `on`/`ignoring`/`group_left`, `bool`, other functions.
 */

export type Labels = Record<string, string>;

/** The samples a query reads: every series, oldest sample first. */
export interface SeriesSource {
  series(): Iterable<{ labels: Labels; times: number[]; values: number[] }>;
}

export interface VectorElement {
  labels: Labels;
  value: number;
}

export type Value = { kind: 'scalar'; value: number } | { kind: 'vector'; elements: VectorElement[] };

export class PromQLError extends Error {}

/** How far back an instant selector looks for a sample (Prometheus' default lookback delta). */
export const LOOKBACK_MS = 5 * 60_000;

type Matcher = { name: string; op: '=' | '!=' | '=~' | '!~'; value: string; re?: RegExp };

export type Node =
  | { type: 'number'; value: number }
  | { type: 'selector'; matchers: Matcher[]; rangeMs?: number }
  | { type: 'call'; name: string; args: Node[] }
  | { type: 'aggregate'; op: string; grouping?: { without: boolean; labels: string[] }; arg: Node }
  | { type: 'binary'; op: string; left: Node; right: Node }
  | { type: 'negate'; arg: Node };

const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'count']);
const FUNCTIONS = new Set(['rate', 'increase', 'histogram_quantile', 'vector']);
const COMPARISONS = new Set(['==', '!=', '>', '<', '>=', '<=']);
const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

// ---------------------------------------------------------------------------------------------------
// Parsing

type Token = { kind: 'ident' | 'number' | 'string' | 'duration' | 'op'; text: string; at: number };

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < query.length) {
    const rest = query.slice(index);
    const space = /^\s+/.exec(rest);
    if (space) {
      index += space[0].length;
      continue;
    }
    const at = index;
    const string = /^"((?:[^"\\]|\\.)*)"|^'((?:[^'\\]|\\.)*)'/.exec(rest);
    if (string) {
      const raw = string[1] ?? string[2] ?? '';
      tokens.push({
        kind: 'string',
        text: raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c)),
        at,
      });
      index += string[0].length;
      continue;
    }
    // A duration only follows `[`; everything else starting with a digit is a number.
    const previous = tokens[tokens.length - 1];
    if (previous?.text === '[') {
      const duration = /^(?:\d+(?:ms|s|m|h|d|w))+/.exec(rest);
      if (!duration) throw new PromQLError(`bad duration at character ${at}`);
      tokens.push({ kind: 'duration', text: duration[0], at });
      index += duration[0].length;
      continue;
    }
    const number = /^(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)/.exec(rest);
    if (number) {
      tokens.push({ kind: 'number', text: number[0], at });
      index += number[0].length;
      continue;
    }
    const ident = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(rest);
    if (ident) {
      tokens.push({ kind: 'ident', text: ident[0], at });
      index += ident[0].length;
      continue;
    }
    const op = /^(?:==|!=|>=|<=|=~|!~|[-+*/(){}[\],=<>])/.exec(rest);
    if (op) {
      tokens.push({ kind: 'op', text: op[0], at });
      index += op[0].length;
      continue;
    }
    throw new PromQLError(`unexpected character "${rest[0]}" at ${at}`);
  }
  return tokens;
}

function parseDurationMs(text: string): number {
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)(ms|s|m|h|d|w)/g))
    total += Number(amount) * (DURATION_UNITS[unit as string] ?? 0);
  return total;
}

class Parser {
  private index = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): Node {
    const node = this.or();
    const extra = this.peek();
    if (extra) throw new PromQLError(`unexpected "${extra.text}" at character ${extra.at}`);
    return node;
  }

  private peek(): Token | undefined {
    return this.tokens[this.index];
  }

  private next(): Token {
    const token = this.tokens[this.index++];
    if (!token) throw new PromQLError('unexpected end of query');
    return token;
  }

  private accept(text: string): boolean {
    if (this.peek()?.text !== text || this.peek()?.kind === 'string') return false;
    this.index++;
    return true;
  }

  private expect(text: string): void {
    const token = this.next();
    if (token.text !== text || token.kind === 'string')
      throw new PromQLError(`expected "${text}" but found "${token.text}" at character ${token.at}`);
  }

  private or(): Node {
    let left = this.comparison();
    while (this.peek()?.kind === 'ident' && this.peek()?.text === 'or') {
      this.next();
      left = { type: 'binary', op: 'or', left, right: this.comparison() };
    }
    return left;
  }

  private comparison(): Node {
    let left = this.additive();
    for (;;) {
      const token = this.peek();
      if (token?.kind !== 'op' || !COMPARISONS.has(token.text)) return left;
      this.next();
      left = { type: 'binary', op: token.text, left, right: this.additive() };
    }
  }

  private additive(): Node {
    let left = this.multiplicative();
    for (;;) {
      const token = this.peek();
      if (token?.kind !== 'op' || (token.text !== '+' && token.text !== '-')) return left;
      this.next();
      left = { type: 'binary', op: token.text, left, right: this.multiplicative() };
    }
  }

  private multiplicative(): Node {
    let left = this.unary();
    for (;;) {
      const token = this.peek();
      if (token?.kind !== 'op' || (token.text !== '*' && token.text !== '/')) return left;
      this.next();
      left = { type: 'binary', op: token.text, left, right: this.unary() };
    }
  }

  private unary(): Node {
    if (this.accept('-')) return { type: 'negate', arg: this.unary() };
    if (this.accept('+')) return this.unary();
    return this.primary();
  }

  private primary(): Node {
    const token = this.next();
    if (token.kind === 'number') return { type: 'number', value: Number(token.text) };
    if (token.kind === 'op' && token.text === '(') {
      const inner = this.or();
      this.expect(')');
      return inner;
    }
    if (token.kind === 'op' && token.text === '{') return this.selector(undefined);
    if (token.kind !== 'ident') throw new PromQLError(`unexpected "${token.text}" at character ${token.at}`);
    const name = token.text;
    if (name === 'NaN' || name === 'Inf') return { type: 'number', value: name === 'NaN' ? NaN : Infinity };
    if (AGGREGATIONS.has(name) && (this.peek()?.text === '(' || this.isGrouping()))
      return this.aggregate(name);
    if (this.peek()?.text === '(' && this.peek()?.kind === 'op') {
      if (!FUNCTIONS.has(name)) throw new PromQLError(`function "${name}" is not supported by the sandbox`);
      this.next();
      const args: Node[] = [];
      if (!this.accept(')')) {
        do args.push(this.or());
        while (this.accept(','));
        this.expect(')');
      }
      return { type: 'call', name, args };
    }
    if (this.accept('{')) return this.selector(name);
    return this.range({ type: 'selector', matchers: [nameMatcher(name)] });
  }

  private isGrouping(): boolean {
    const token = this.peek();
    return token?.kind === 'ident' && (token.text === 'by' || token.text === 'without');
  }

  private grouping(): { without: boolean; labels: string[] } {
    const without = this.next().text === 'without';
    this.expect('(');
    const labels: string[] = [];
    if (!this.accept(')')) {
      do {
        const label = this.next();
        if (label.kind !== 'ident') throw new PromQLError(`expected a label name at character ${label.at}`);
        labels.push(label.text);
      } while (this.accept(','));
      this.expect(')');
    }
    return { without, labels };
  }

  private aggregate(op: string): Node {
    let grouping = this.isGrouping() ? this.grouping() : undefined;
    this.expect('(');
    const arg = this.or();
    this.expect(')');
    if (!grouping && this.isGrouping()) grouping = this.grouping();
    return { type: 'aggregate', op, arg, ...(grouping ? { grouping } : {}) };
  }

  /** After `{`: matchers up to `}`, then an optional range. */
  private selector(name: string | undefined): Node {
    const matchers: Matcher[] = name ? [nameMatcher(name)] : [];
    while (!this.accept('}')) {
      const label = this.next();
      if (label.kind !== 'ident') throw new PromQLError(`expected a label name at character ${label.at}`);
      const op = this.next();
      if (!['=', '!=', '=~', '!~'].includes(op.text) || op.kind !== 'op')
        throw new PromQLError(`expected a label matcher operator at character ${op.at}`);
      const value = this.next();
      if (value.kind !== 'string')
        throw new PromQLError(`expected a quoted label value at character ${value.at}`);
      const matcher: Matcher = { name: label.text, op: op.text as Matcher['op'], value: value.text };
      if (matcher.op === '=~' || matcher.op === '!~') {
        try {
          matcher.re = new RegExp(`^(?:${value.text})$`);
        } catch (error) {
          throw new PromQLError(`invalid regular expression "${value.text}": ${(error as Error).message}`);
        }
      }
      matchers.push(matcher);
      if (!this.accept(',')) {
        this.expect('}');
        break;
      }
    }
    if (matchers.length === 0) throw new PromQLError('a selector needs at least one label matcher');
    return this.range({ type: 'selector', matchers });
  }

  private range(node: Extract<Node, { type: 'selector' }>): Node {
    if (!this.accept('[')) return node;
    const duration = this.next();
    if (duration.kind !== 'duration')
      throw new PromQLError(`expected a duration at character ${duration.at}`);
    this.expect(']');
    return { ...node, rangeMs: parseDurationMs(duration.text) };
  }
}

function nameMatcher(name: string): Matcher {
  return { name: '__name__', op: '=', value: name };
}

export function parsePromQL(query: string): Node {
  return new Parser(tokenize(query)).parse();
}

// ---------------------------------------------------------------------------------------------------
// Evaluation

function matches(labels: Labels, matchers: Matcher[]): boolean {
  return matchers.every((matcher) => {
    const value = labels[matcher.name] ?? '';
    switch (matcher.op) {
      case '=':
        return value === matcher.value;
      case '!=':
        return value !== matcher.value;
      case '=~':
        return matcher.re!.test(value);
      default:
        return !matcher.re!.test(value);
    }
  });
}

function withoutName(labels: Labels): Labels {
  const { __name__: _, ...rest } = labels;
  return rest;
}

function signature(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Index of the last time <= t (binary search); -1 when none. */
function lastAtOrBefore(times: number[], t: number): number {
  let low = 0;
  let high = times.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if ((times[middle] as number) <= t) {
      found = middle;
      low = middle + 1;
    } else high = middle - 1;
  }
  return found;
}

/** Evaluates a parsed query at time `at` (ms since the epoch). */
export function evaluate(node: Node, source: SeriesSource, at: number): Value {
  switch (node.type) {
    case 'number':
      return { kind: 'scalar', value: node.value };
    case 'negate': {
      const value = evaluate(node.arg, source, at);
      return value.kind === 'scalar'
        ? { kind: 'scalar', value: -value.value }
        : {
            kind: 'vector',
            elements: value.elements.map((e) => ({ labels: withoutName(e.labels), value: -e.value })),
          };
    }
    case 'selector': {
      if (node.rangeMs !== undefined)
        throw new PromQLError('a range vector is only supported inside rate() or increase()');
      const elements: VectorElement[] = [];
      for (const series of source.series()) {
        if (!matches(series.labels, node.matchers)) continue;
        const index = lastAtOrBefore(series.times, at);
        if (index < 0 || (series.times[index] as number) <= at - LOOKBACK_MS) continue;
        elements.push({ labels: { ...series.labels }, value: series.values[index] as number });
      }
      return { kind: 'vector', elements };
    }
    case 'call':
      return call(node, source, at);
    case 'aggregate':
      return aggregate(node, source, at);
    case 'binary':
      return binary(node.op, evaluate(node.left, source, at), evaluate(node.right, source, at));
  }
}

function call(node: Extract<Node, { type: 'call' }>, source: SeriesSource, at: number): Value {
  const [first, second] = node.args;
  switch (node.name) {
    case 'vector': {
      if (node.args.length !== 1 || !first) throw new PromQLError('vector() takes one number');
      const value = evaluate(first, source, at);
      if (value.kind !== 'scalar') throw new PromQLError('vector() takes a number');
      return { kind: 'vector', elements: [{ labels: {}, value: value.value }] };
    }
    case 'rate':
    case 'increase': {
      if (node.args.length !== 1 || first?.type !== 'selector' || first.rangeMs === undefined)
        throw new PromQLError(`${node.name}() takes a range vector such as metric[5m]`);
      const elements: VectorElement[] = [];
      for (const series of source.series()) {
        if (!matches(series.labels, first.matchers)) continue;
        const value = extrapolatedRate(series, at, first.rangeMs, node.name === 'rate');
        if (value !== undefined) elements.push({ labels: withoutName(series.labels), value });
      }
      return { kind: 'vector', elements };
    }
    case 'histogram_quantile': {
      if (node.args.length !== 2 || !first || !second)
        throw new PromQLError('histogram_quantile() takes a quantile and a vector');
      const q = evaluate(first, source, at);
      const buckets = evaluate(second, source, at);
      if (q.kind !== 'scalar' || buckets.kind !== 'vector')
        throw new PromQLError('histogram_quantile() takes a number and a vector');
      return { kind: 'vector', elements: histogramQuantile(q.value, buckets.elements) };
    }
    default:
      throw new PromQLError(`function "${node.name}" is not supported by the sandbox`);
  }
}

/** Prometheus' extrapolatedRate (promql/functions.go) for counters, over (at - range, at]. */
function extrapolatedRate(
  series: { times: number[]; values: number[] },
  at: number,
  rangeMs: number,
  isRate: boolean,
): number | undefined {
  const start = at - rangeMs;
  const last = lastAtOrBefore(series.times, at);
  let first = lastAtOrBefore(series.times, start) + 1;
  if (last < 0 || last - first < 1) return undefined;
  if (first < 0) first = 0;
  const firstTime = series.times[first] as number;
  const lastTime = series.times[last] as number;
  let delta = (series.values[last] as number) - (series.values[first] as number);
  // Counter resets: a drop means the counter started again from zero.
  for (let index = first + 1; index <= last; index++) {
    const previous = series.values[index - 1] as number;
    if ((series.values[index] as number) < previous) delta += previous;
  }
  const sampled = (lastTime - firstTime) / 1_000;
  let toStart = (firstTime - start) / 1_000;
  const toEnd = (at - lastTime) / 1_000;
  const average = sampled / (last - first);
  const firstValue = series.values[first] as number;
  if (delta > 0 && firstValue >= 0) {
    const toZero = sampled * (firstValue / delta);
    if (toZero < toStart) toStart = toZero;
  }
  const threshold = average * 1.1;
  let interval = sampled;
  interval += toStart < threshold ? toStart : average / 2;
  interval += toEnd < threshold ? toEnd : average / 2;
  const result = delta * (interval / sampled);
  return isRate ? result / (rangeMs / 1_000) : result;
}

/** Prometheus' bucketQuantile (promql/quantile.go), per label set without `le`. */
function histogramQuantile(q: number, elements: VectorElement[]): VectorElement[] {
  const groups = new Map<string, { labels: Labels; buckets: Array<{ le: number; count: number }> }>();
  for (const element of elements) {
    const le = element.labels.le;
    if (le === undefined) continue;
    const { le: _, ...rest } = withoutName(element.labels);
    const key = signature(rest);
    const group = groups.get(key) ?? { labels: rest, buckets: [] };
    group.buckets.push({ le: le === '+Inf' ? Infinity : Number(le), count: element.value });
    groups.set(key, group);
  }
  return [...groups.values()].map(({ labels, buckets }) => ({ labels, value: bucketQuantile(q, buckets) }));
}

export function bucketQuantile(q: number, unsorted: Array<{ le: number; count: number }>): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const buckets = [...unsorted].sort((a, b) => a.le - b.le);
  if (buckets.length < 2 || buckets[buckets.length - 1]!.le !== Infinity) return NaN;
  // Monotonic counts, as Prometheus forces them (scrapes of different buckets can disagree).
  for (let index = 1; index < buckets.length; index++)
    if (buckets[index]!.count < buckets[index - 1]!.count) buckets[index]!.count = buckets[index - 1]!.count;
  const observations = buckets[buckets.length - 1]!.count;
  if (observations === 0) return NaN;
  let rank = q * observations;
  let b = buckets.findIndex((bucket) => bucket.count >= rank);
  if (b < 0) b = buckets.length - 1;
  if (b === buckets.length - 1) return buckets[buckets.length - 2]!.le;
  if (b === 0 && buckets[0]!.le <= 0) return buckets[0]!.le;
  let start = 0;
  const end = buckets[b]!.le;
  let count = buckets[b]!.count;
  if (b > 0) {
    start = buckets[b - 1]!.le;
    count -= buckets[b - 1]!.count;
    rank -= buckets[b - 1]!.count;
  }
  return start + (end - start) * (rank / count);
}

function aggregate(node: Extract<Node, { type: 'aggregate' }>, source: SeriesSource, at: number): Value {
  const value = evaluate(node.arg, source, at);
  if (value.kind !== 'vector') throw new PromQLError(`${node.op}() takes a vector`);
  const groups = new Map<string, { labels: Labels; values: number[] }>();
  for (const element of value.elements) {
    const labels = withoutName(element.labels);
    let kept: Labels = {};
    if (node.grouping?.without)
      kept = Object.fromEntries(
        Object.entries(labels).filter(([name]) => !node.grouping!.labels.includes(name)),
      );
    else if (node.grouping)
      kept = Object.fromEntries(
        Object.entries(labels).filter(([name]) => node.grouping!.labels.includes(name)),
      );
    const key = signature(kept);
    const group = groups.get(key) ?? { labels: kept, values: [] };
    group.values.push(element.value);
    groups.set(key, group);
  }
  const reduce = (values: number[]): number => {
    switch (node.op) {
      case 'sum':
        return values.reduce((total, v) => total + v, 0);
      case 'avg':
        return values.reduce((total, v) => total + v, 0) / values.length;
      case 'count':
        return values.length;
      case 'min':
        return values.reduce((low, v) => (Number.isNaN(low) || v < low ? v : low), NaN);
      default:
        return values.reduce((high, v) => (Number.isNaN(high) || v > high ? v : high), NaN);
    }
  };
  return {
    kind: 'vector',
    elements: [...groups.values()].map((group) => ({ labels: group.labels, value: reduce(group.values) })),
  };
}

function arithmetic(op: string, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    default:
      return a / b;
  }
}

function compares(op: string, a: number, b: number): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '<':
      return a < b;
    case '>=':
      return a >= b;
    default:
      return a <= b;
  }
}

function binary(op: string, left: Value, right: Value): Value {
  if (op === 'or') {
    if (left.kind !== 'vector' || right.kind !== 'vector') throw new PromQLError('"or" takes two vectors');
    const seen = new Set(left.elements.map((e) => signature(withoutName(e.labels))));
    return {
      kind: 'vector',
      elements: [
        ...left.elements,
        ...right.elements.filter((e) => !seen.has(signature(withoutName(e.labels)))),
      ],
    };
  }
  const comparison = COMPARISONS.has(op);
  if (left.kind === 'scalar' && right.kind === 'scalar') {
    if (comparison)
      throw new PromQLError('comparisons between two numbers need "bool", which is not supported');
    return { kind: 'scalar', value: arithmetic(op, left.value, right.value) };
  }
  if (left.kind === 'vector' && right.kind === 'vector') {
    const byLabels = new Map(right.elements.map((e) => [signature(withoutName(e.labels)), e]));
    const elements: VectorElement[] = [];
    for (const element of left.elements) {
      const other = byLabels.get(signature(withoutName(element.labels)));
      if (!other) continue;
      if (comparison) {
        if (compares(op, element.value, other.value)) elements.push(element);
      } else
        elements.push({
          labels: withoutName(element.labels),
          value: arithmetic(op, element.value, other.value),
        });
    }
    return { kind: 'vector', elements };
  }
  const vector = (left.kind === 'vector' ? left : right) as Extract<Value, { kind: 'vector' }>;
  const scalar = (left.kind === 'scalar' ? left : right) as Extract<Value, { kind: 'scalar' }>;
  const pair = (v: number): [number, number] =>
    left.kind === 'vector' ? [v, scalar.value] : [scalar.value, v];
  if (comparison)
    return { kind: 'vector', elements: vector.elements.filter((e) => compares(op, ...pair(e.value))) };
  return {
    kind: 'vector',
    elements: vector.elements.map((e) => ({
      labels: withoutName(e.labels),
      value: arithmetic(op, ...pair(e.value)),
    })),
  };
}
