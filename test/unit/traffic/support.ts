import { expect } from 'vitest';
import { TrafficError, type TrafficOptions } from '../../../src/traffic/index.js';

/** Real-cluster defaults shrunk so the tests take milliseconds. */
export const FAST: TrafficOptions = {
  backoffMs: 5,
  requestTimeoutMs: 2_000,
  rolloutTimeoutMs: 1_500,
  pollMs: 10,
};

/** The TrafficError a call fails with. */
export async function trafficFailure(call: Promise<unknown>): Promise<TrafficError> {
  try {
    await call;
  } catch (error) {
    expect(error).toBeInstanceOf(TrafficError);
    return error as TrafficError;
  }
  throw new Error('expected the call to fail with a TrafficError');
}

/** Waits until `condition` holds (checked every few ms), failing after `ms`. */
export async function until(condition: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
