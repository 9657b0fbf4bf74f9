import { build, type Histogram } from 'hdr-histogram-js';

/** Latencies in microseconds, 1 µs to 60 s, three significant digits. */
export function newHistogram(): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
}
