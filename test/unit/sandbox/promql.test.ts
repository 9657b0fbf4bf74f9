import { describe, expect, it } from 'vitest';
import {
  bucketQuantile,
  evaluate,
  type Labels,
  PromQLError,
  parsePromQL,
  type SeriesSource,
  type Value,
} from '../../../src/sandbox/metrics/promql.js';

/**
 * The built-in metrics source's PromQL subset, on hand-made series whose answers are worked out by
 * hand (and agree with Prometheus' own rules: rate extrapolation, bucket interpolation, label matching).
 * That it agrees with a real Prometheus on the exporter's series is test/integration/metrics-source.test.ts.
 */

const T0 = 1_700_000_000_000;

function source(series: Array<{ labels: Labels; points: Array<[number, number]> }>): SeriesSource {
  return {
    series: () =>
      series.map(({ labels, points }) => ({
        labels,
        times: points.map(([t]) => T0 + t * 1_000),
        values: points.map(([, v]) => v),
      })),
  };
}

/** A counter rising `perSecond` every second from 0 at t=0 to t=`seconds`. */
function counter(
  labels: Labels,
  perSecond: number,
  seconds = 120,
): { labels: Labels; points: Array<[number, number]> } {
  return {
    labels,
    points: Array.from({ length: seconds + 1 }, (_, t) => [t, t * perSecond] as [number, number]),
  };
}

function run(query: string, series: SeriesSource, atSeconds = 120): Value {
  return evaluate(parsePromQL(query), series, T0 + atSeconds * 1_000);
}

function vector(value: Value): Array<{ labels: Labels; value: number }> {
  if (value.kind !== 'vector') throw new Error(`expected a vector, got ${value.kind}`);
  return value.elements;
}

function single(value: Value): number {
  const elements = vector(value);
  expect(elements).toHaveLength(1);
  return elements[0]!.value;
}

const requests = source([
  counter({ __name__: 'http_requests_total', service: 'demo', code: '200' }, 95),
  counter({ __name__: 'http_requests_total', service: 'demo', code: '500' }, 5),
  counter({ __name__: 'http_requests_total', service: 'other', code: '200' }, 10),
]);

describe('selectors and rate()', () => {
  it('a steady counter rates at its slope (samples on every second, no extrapolation surprises)', () => {
    expect(single(run('rate(http_requests_total{service="demo",code="500"}[15s])', requests))).toBeCloseTo(
      5,
      9,
    );
    expect(
      single(run('increase(http_requests_total{service="demo",code="500"}[30s])', requests)),
    ).toBeCloseTo(150, 9);
  });

  it('matches labels with =, !=, =~ and !~, anchored like Prometheus', () => {
    expect(vector(run('http_requests_total{service="demo"}', requests))).toHaveLength(2);
    expect(vector(run('http_requests_total{service!="demo"}', requests))).toHaveLength(1);
    expect(vector(run('http_requests_total{code=~"5.."}', requests))).toHaveLength(1);
    expect(vector(run('http_requests_total{code=~"5"}', requests))).toHaveLength(0); // anchored
    expect(vector(run('http_requests_total{code!~"5..",service="demo"}', requests))).toHaveLength(1);
    expect(vector(run('{__name__="http_requests_total",service="other"}', requests))).toHaveLength(1);
  });

  it('the error ratio the demo checklist asks for', () => {
    const ratio = run(
      'sum(rate(http_requests_total{service="demo",code=~"5.."}[15s])) / sum(rate(http_requests_total{service="demo"}[15s]))',
      requests,
    );
    expect(single(ratio)).toBeCloseTo(0.05, 9);
  });

  it('extrapolates to the window edges as Prometheus does when samples do not reach them', () => {
    // Samples every 10 s; a 60 s window at t=115 holds t=60..110 (5 intervals, 50 s of data).
    const sparse = source([
      {
        labels: { __name__: 'c' },
        points: Array.from({ length: 13 }, (_, i) => [i * 10, i * 100] as [number, number]),
      },
    ]);
    // increase 500 over 50 s; 5 s to each edge (< 1.1 × 10 s average): extrapolated over 60 s -> 600.
    expect(single(run('increase(c[60s])', sparse, 115))).toBeCloseTo(600, 9);
    expect(single(run('rate(c[60s])', sparse, 115))).toBeCloseTo(10, 9);
    // Fewer than two samples in the window: no value at all.
    expect(vector(run('rate(c[5s])', sparse, 115))).toEqual([]);
  });

  it('counts a counter reset as a restart from zero', () => {
    const reset = source([
      {
        labels: { __name__: 'c' },
        points: [
          [0, 10],
          [1, 20],
          [2, 5],
          [3, 15],
        ],
      },
    ]);
    // The window (0 s, 3 s] holds 20, 5, 15: 20 -> 5 is a restart, so the increase is 5 + 10 = 15 over
    // 2 s of samples, extrapolated by the 1 s to the window's start: 15 × 3/2.
    expect(single(run('increase(c[3s])', reset, 3))).toBeCloseTo(22.5, 9);
  });

  it('an instant selector looks back 5 minutes for the latest sample, and no further', () => {
    const old = source([{ labels: { __name__: 'g' }, points: [[0, 7]] }]);
    expect(single(run('g', old, 299))).toBe(7);
    expect(vector(run('g', old, 301))).toEqual([]);
  });
});

describe('aggregations, arithmetic and or', () => {
  it('sum, min, max, avg and count, with by (…) and without (…), before or after the argument', () => {
    const values = run('sum by (service) (rate(http_requests_total[15s]))', requests);
    expect(
      vector(values)
        .map((e) => [e.labels.service, Math.round(e.value)])
        .sort(),
    ).toEqual([
      ['demo', 100],
      ['other', 10],
    ]);
    expect(vector(run('sum(rate(http_requests_total[15s])) by (service)', requests))).toHaveLength(2);
    expect(vector(run('sum without (code) (rate(http_requests_total[15s]))', requests))).toHaveLength(2);
    expect(single(run('max(rate(http_requests_total[15s]))', requests))).toBeCloseTo(95, 9);
    expect(single(run('min(rate(http_requests_total[15s]))', requests))).toBeCloseTo(5, 9);
    expect(single(run('avg(rate(http_requests_total{service="demo"}[15s]))', requests))).toBeCloseTo(50, 9);
    expect(single(run('count(http_requests_total)', requests))).toBe(3);
  });

  it('matches vectors one-to-one on their labels (without the metric name), as the memory ratio needs', () => {
    const memory = source([
      { labels: { __name__: 'used', pod: 'a' }, points: [[0, 200]] },
      { labels: { __name__: 'used', pod: 'b' }, points: [[0, 300]] },
      { labels: { __name__: 'limit', pod: 'a' }, points: [[0, 1000]] },
      { labels: { __name__: 'limit', pod: 'b' }, points: [[0, 500]] },
      { labels: { __name__: 'limit', pod: 'c' }, points: [[0, 500]] },
    ]);
    const ratios = vector(run('used / limit', memory, 10));
    expect(ratios.map((e) => [e.labels, e.value])).toEqual([
      [{ pod: 'a' }, 0.2],
      [{ pod: 'b' }, 0.6],
    ]);
    expect(single(run('max(used / limit)', memory, 10))).toBe(0.6);
    expect(single(run('max(used / limit) * 100 - 10', memory, 10))).toBeCloseTo(50, 9);
    expect(vector(run('used > 250', memory, 10)).map((e) => e.labels.pod)).toEqual(['b']);
  });

  it('"or vector(0)" answers 0 when the left side has no series (the seeds’ ALERTS query)', () => {
    expect(single(run('count(ALERTS{alertstate="firing",severity="critical"}) or vector(0)', requests))).toBe(
      0,
    );
    expect(single(run('count(http_requests_total{service="demo"}) or vector(0)', requests))).toBe(2);
  });

  it('numbers and unary minus', () => {
    expect(run('2 * -3 + 1', requests)).toEqual({ kind: 'scalar', value: -5 });
    expect(run('(1 + 2) / 4', requests)).toEqual({ kind: 'scalar', value: 0.75 });
  });
});

describe('histogram_quantile', () => {
  it('interpolates inside the bucket that holds the rank, as Prometheus does', () => {
    // 100 observations: 10 ≤ 0.1, 60 ≤ 0.2, 95 ≤ 0.4, all ≤ +Inf. p95 = 0.2 + 0.2 × (95 - 60)/(95 - 60) = 0.4;
    // p50 = 0.1 + 0.1 × (50 - 10)/(60 - 10) = 0.18.
    const buckets = [
      { le: 0.1, count: 10 },
      { le: 0.2, count: 60 },
      { le: 0.4, count: 95 },
      { le: Infinity, count: 100 },
    ];
    expect(bucketQuantile(0.95, buckets)).toBeCloseTo(0.4, 9);
    expect(bucketQuantile(0.5, buckets)).toBeCloseTo(0.18, 9);
    // In the +Inf bucket: the highest finite bound.
    expect(bucketQuantile(0.99, buckets)).toBe(0.4);
    expect(
      bucketQuantile(0.5, [
        { le: 0.1, count: 0 },
        { le: Infinity, count: 0 },
      ]),
    ).toBeNaN();
    expect(bucketQuantile(1.5, buckets)).toBe(Infinity);
  });

  it('groups buckets by their labels without le', () => {
    const histogram = source(
      ['0.05', '0.1', '+Inf'].flatMap((le, index) =>
        ['a', 'b'].map((service) =>
          counter(
            { __name__: 'd_bucket', service, le },
            service === 'a' ? [2, 10, 10][index]! : [0, 9, 10][index]!,
          ),
        ),
      ),
    );
    const p95 = vector(
      run('histogram_quantile(0.95, sum by (service, le) (rate(d_bucket[15s])))', histogram),
    );
    const byService = Object.fromEntries(p95.map((e) => [e.labels.service, e.value]));
    // a: rank 9.5 of 10 in (0.05, 0.1] holding 8 -> 0.05 + 0.05 × 7.5/8; b: rank 9.5 > 9 -> in +Inf -> 0.1.
    expect(byService.a).toBeCloseTo(0.05 + 0.05 * (7.5 / 8), 9);
    expect(byService.b).toBe(0.1);
  });
});

describe('what it does not support is an error, never a guess', () => {
  it.each([
    ['avg_over_time(x[5m])', /not supported/],
    ['rate(x)', /range vector/],
    ['x[5m]', /only supported inside rate/],
    ['sum(x) by', /unexpected end/],
    ['x{a="b"', /unexpected end|expected/],
    ['x{a=~"("}', /invalid regular expression/],
    ['x offset 5m', /unexpected/],
    ['1 > 2', /bool/],
  ])('%s', (query, message) => {
    expect(() => run(query, requests)).toThrow(PromQLError);
    expect(() => run(query, requests)).toThrow(message);
  });
});
