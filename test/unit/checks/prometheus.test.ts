import { describe, expect, it } from 'vitest';
import { prometheusCheckSchema } from '../../../src/checklists/schema.js';
import {
  type Condition,
  compare,
  describeComparison,
  evaluateWindow,
  parseValue,
  prometheusCheck,
  relation,
  type Sample,
  stepFor,
  type Window,
} from '../../../src/checks/prometheus.js';
import type { CheckContext } from '../../../src/checks/types.js';

const p95: Condition = { comparator: '<', threshold: 0.2, unit: 'seconds', label: 'p95' };
const errorRate: Condition = { comparator: '<', threshold: 0.001, unit: 'ratio', label: 'error rate' };

// A 5-minute window ending 14:05:00 UTC, one point every 5 s (61 points).
const END = Date.UTC(2024, 4, 1, 14, 5, 0);
const FIVE_MINUTES: Window = { start: END - 300_000, end: END, step: 5_000 };

/** Points at every step of the window, valued by `valueAt(time)`. */
function points(window: Window, valueAt: (time: number) => number, from = window.start): Sample[] {
  const samples: Sample[] = [];
  for (let time = from; time <= window.end; time += window.step) samples.push([time, valueAt(time)]);
  return samples;
}

const at = (hh: number, mm: number, ss: number) => Date.UTC(2024, 4, 1, hh, mm, ss);

describe('compare', () => {
  it.each([
    [1, '<', 2, true],
    [2, '<', 2, false],
    [2, '<=', 2, true],
    [3, '<=', 2, false],
    [3, '>', 2, true],
    [2, '>', 2, false],
    [2, '>=', 2, true],
    [1, '>=', 2, false],
    [1, '==', 1, true],
    [0.5, '==', 1, false],
    [0.5, '!=', 1, true],
    [1, '!=', 1, false],
  ] as const)('%d %s %d is %s', (value, comparator, threshold, expected) => {
    expect(compare(value, comparator, threshold)).toBe(expected);
  });

  it('never lets NaN pass, whatever the comparator', () => {
    for (const comparator of ['<', '<=', '>', '>=', '==', '!='] as const) {
      expect(compare(Number.NaN, comparator, 1)).toBe(false);
    }
  });

  it('compares infinities as numbers (a quantile in the +Inf bucket is too slow)', () => {
    expect(compare(Number.POSITIVE_INFINITY, '<', 0.2)).toBe(false);
    expect(compare(Number.POSITIVE_INFINITY, '>', 0.2)).toBe(true);
  });
});

describe('describeComparison', () => {
  it('shows the spec relation when it holds, in the spec unit', () => {
    expect(describeComparison(0.0004, errorRate)).toBe('error rate 0.04% < 0.1%');
    expect(describeComparison(0.18, { ...p95, comparator: '<=' })).toBe('p95 180 ms ≤ 200 ms');
  });

  it('shows the relation that actually holds when the condition fails', () => {
    expect(describeComparison(0.412, p95)).toBe('p95 412 ms > 200 ms');
    expect(describeComparison(0.05, { ...errorRate, threshold: 0.05 })).toBe('error rate 5% ≥ 5%');
    expect(describeComparison(0.25, { ...p95, comparator: '<=' })).toBe('p95 250 ms > 200 ms');
    expect(
      describeComparison(0, { comparator: '>', threshold: 0, unit: 'number', label: 'requests/s' }),
    ).toBe('requests/s 0 ≤ 0');
    expect(
      describeComparison(3, { comparator: '>=', threshold: 10, unit: 'number', label: 'requests/s' }),
    ).toBe('requests/s 3 < 10');
    expect(
      describeComparison(0.5, { comparator: '==', threshold: 1, unit: 'number', label: 'scrape targets up' }),
    ).toBe('scrape targets up 0.5 ≠ 1');
  });

  it('adds digits when rounding would make different numbers look equal', () => {
    expect(describeComparison(0.0500004, { ...errorRate, threshold: 0.05 })).toBe('error rate 5.00004% > 5%');
    expect(describeComparison(0.0499996, { ...errorRate, threshold: 0.05 })).toBe('error rate 4.99996% < 5%');
  });

  it('says "value" without a label and shows infinities as Prometheus does', () => {
    expect(describeComparison(2, { comparator: '<', threshold: 1, unit: 'number' })).toBe('value 2 > 1');
    expect(describeComparison(Number.POSITIVE_INFINITY, p95)).toBe('p95 +Inf > 200 ms');
  });

  it('relation() gives the symbol alone', () => {
    expect(relation(0.3, p95)).toBe('>');
    expect(relation(0.1, p95)).toBe('<');
  });
});

describe('stepFor', () => {
  it('aims at ~60 points per window in whole seconds, at least one second', () => {
    expect(stepFor(500)).toBe(1_000);
    expect(stepFor(10_000)).toBe(1_000);
    expect(stepFor(90_000)).toBe(2_000);
    expect(stepFor(300_000)).toBe(5_000);
    expect(stepFor(1_800_000)).toBe(30_000);
  });
});

describe('parseValue', () => {
  it('reads the special values Prometheus sends as strings', () => {
    expect(parseValue('0.25')).toBe(0.25);
    expect(parseValue('+Inf')).toBe(Number.POSITIVE_INFINITY);
    expect(parseValue('-Inf')).toBe(Number.NEGATIVE_INFINITY);
    expect(parseValue('NaN')).toBeNaN();
    expect(parseValue('')).toBeNaN();
    expect(parseValue(undefined)).toBeNaN();
  });
});

describe('evaluateWindow', () => {
  it('passes when every point holds, showing the worst value', () => {
    const samples = points(FIVE_MINUTES, (time) => (time === at(14, 3, 0) ? 0.18 : 0.05));
    const result = evaluateWindow(samples, p95, FIVE_MINUTES);
    expect(result).toEqual({
      outcome: 'passed',
      summary: 'p95 ≤ 180 ms < 200 ms for all of 5m',
      value: 0.18,
      unit: 'seconds',
    });
  });

  it('fails on one bad point inside the window, saying when and how bad', () => {
    const samples = points(FIVE_MINUTES, (time) =>
      time === at(14, 2, 10) ? 0.412 : time === at(14, 2, 15) ? 0.3 : 0.05,
    );
    const result = evaluateWindow(samples, p95, FIVE_MINUTES);
    expect(result.outcome).toBe('failed');
    expect(result.summary).toBe('p95 reached 412 ms > 200 ms at 14:02:10 UTC within the 5m window');
    expect(result.value).toBe(0.412);
    expect(result.unit).toBe('seconds');
    expect(result.detail).toContain('2 of 61 points');
    expect(result.detail).toContain('the first at 14:02:10 UTC');
  });

  it('reports the lowest point for lower bounds', () => {
    const requests: Condition = { comparator: '>', threshold: 0, unit: 'number', label: 'requests/s' };
    const samples = points(FIVE_MINUTES, (time) => (time >= at(14, 4, 0) ? 0 : 12));
    expect(evaluateWindow(samples, requests, FIVE_MINUTES).summary).toBe(
      'requests/s fell to 0 ≤ 0 at 14:04:00 UTC within the 5m window',
    );
    const healthy = evaluateWindow(
      points(FIVE_MINUTES, (time) => (time === at(14, 1, 0) ? 7 : 12)),
      requests,
      FIVE_MINUTES,
    );
    expect(healthy.summary).toBe('requests/s ≥ 7 > 0 for all of 5m');
    expect(healthy.value).toBe(7);
  });

  it('states equality conditions without a worst value when they hold', () => {
    const up: Condition = { comparator: '==', threshold: 1, unit: 'number', label: 'scrape targets up' };
    expect(
      evaluateWindow(
        points(FIVE_MINUTES, () => 1),
        up,
        FIVE_MINUTES,
      ).summary,
    ).toBe('scrape targets up = 1 for all of 5m');
    expect(
      evaluateWindow(
        points(FIVE_MINUTES, (time) => (time === at(14, 1, 0) ? 0 : time === at(14, 2, 0) ? 0.5 : 1)),
        up,
        FIVE_MINUTES,
      ).summary,
    ).toBe('scrape targets up was 0 ≠ 1 at 14:01:00 UTC within the 5m window');
  });

  it('is an error when the data starts too late for the window', () => {
    const samples = points(FIVE_MINUTES, () => 0.05, END - 40_000);
    expect(evaluateWindow(samples, p95, FIVE_MINUTES)).toEqual({
      outcome: 'error',
      summary: 'only 40s of data for a 5m window',
    });
  });

  it('allows the data to start one step plus the tolerance late, and no later', () => {
    const { start, step } = FIVE_MINUTES;
    const lateBy = (ms: number): Sample[] => [
      [start + ms, 0.05],
      ...points(FIVE_MINUTES, () => 0.05, start + 2 * step),
    ];
    expect(evaluateWindow(lateBy(step + 1_000), p95, FIVE_MINUTES).outcome).toBe('passed');
    expect(evaluateWindow(lateBy(step + 1_001), p95, FIVE_MINUTES).outcome).toBe('error');
  });

  it('is an error when a gap of more than three steps lies inside the window', () => {
    const gapOf = (steps: number) =>
      points(FIVE_MINUTES, () => 0.05).filter(
        ([time]) => time <= at(14, 2, 0) || time >= at(14, 2, 0) + steps * FIVE_MINUTES.step,
      );
    expect(evaluateWindow(gapOf(3), p95, FIVE_MINUTES).outcome).toBe('passed');
    expect(evaluateWindow(gapOf(4), p95, FIVE_MINUTES)).toEqual({
      outcome: 'error',
      summary: 'no data for 20s (14:02:00 UTC to 14:02:20 UTC) within the 5m window',
    });
  });

  it('is an error when the data stops before the end of the window', () => {
    const samples = points(FIVE_MINUTES, () => 0.05).filter(([time]) => time <= at(14, 4, 0));
    expect(evaluateWindow(samples, p95, FIVE_MINUTES).summary).toBe(
      'no data since 14:04:00 UTC, the last 1m of the 5m window',
    );
  });

  it('treats NaN points as missing data, never as passing', () => {
    const allNaN = points(FIVE_MINUTES, () => Number.NaN);
    expect(evaluateWindow(allNaN, errorRate, FIVE_MINUTES)).toEqual({
      outcome: 'error',
      summary: 'no data in the 5m window',
    });
    const lateTraffic = points(FIVE_MINUTES, (time) => (time < at(14, 4, 0) ? Number.NaN : 0));
    expect(evaluateWindow(lateTraffic, errorRate, FIVE_MINUTES).summary).toBe(
      'only 1m of data for a 5m window',
    );
    const oneNaN = points(FIVE_MINUTES, (time) => (time === at(14, 2, 0) ? Number.NaN : 0));
    expect(evaluateWindow(oneNaN, errorRate, FIVE_MINUTES).outcome).toBe('passed');
  });

  it('fails on a violation even when coverage is incomplete (the breach is a fact)', () => {
    const samples = points(FIVE_MINUTES, () => 0.5, END - 40_000);
    const result = evaluateWindow(samples, p95, FIVE_MINUTES);
    expect(result.outcome).toBe('failed');
    expect(result.detail).toContain('only 40s of data for a 5m window');
  });

  it('is an error without any points, and accepts unsorted samples', () => {
    expect(evaluateWindow([], p95, FIVE_MINUTES).outcome).toBe('error');
    const shuffled = points(FIVE_MINUTES, () => 0.05).reverse();
    expect(evaluateWindow(shuffled, p95, FIVE_MINUTES).outcome).toBe('passed');
  });

  it('names the date for windows of a day or more', () => {
    const day: Window = { start: END - 86_400_000, end: END, step: 1_440_000 };
    const samples = points(day, (time) => (time === END - 10 * 1_440_000 ? 0.5 : 0.05));
    expect(evaluateWindow(samples, p95, day).summary).toMatch(
      /at 2024-05-01 \d\d:\d\d:\d\d UTC within the 1d window$/,
    );
  });
});

describe('prometheusCheck without a server', () => {
  const spec = prometheusCheckSchema.parse({
    type: 'prometheus',
    query: 'up',
    comparator: '==',
    threshold: 1,
  });
  const context = (overrides: Partial<CheckContext> = {}): CheckContext => ({
    signal: AbortSignal.timeout(5_000),
    namespace: 'default',
    now: () => Date.now(),
    ...overrides,
  });

  it('is an error when neither the spec nor the service names a Prometheus', async () => {
    expect(await prometheusCheck(spec, context())).toEqual({
      outcome: 'error',
      summary: 'no Prometheus URL configured for this service',
    });
  });

  it('is an error for a malformed URL', async () => {
    const result = await prometheusCheck({ ...spec, url: 'not a url' }, context());
    expect(result).toMatchObject({ outcome: 'error', summary: 'invalid Prometheus URL not a url' });
  });

  it('does not start a request once the signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await prometheusCheck(
      spec,
      context({ signal: controller.signal, prometheusUrl: 'http://127.0.0.1:9' }),
    );
    expect(result.outcome).toBe('error');
    expect(result.summary).toBe('cancelled');
  });
});
