import {
  isConflict,
  lookAfterFailure,
  mayHaveApplied,
  outcomeUnknown,
  type Requests,
  trafficError,
} from './kube.js';
import {
  type RollbackOptions,
  type TrafficChange,
  TrafficError,
  type TrafficState,
  type TrafficTarget,
} from './types.js';

/**
 * Read, write, read back, verify — the loop every traffic switch runs. A strategy supplies how to read
 * its object, what state it shows, whether it shows the target, and one write that carries the
 * resourceVersion it read, so a concurrent change fails the write (409) instead of being overwritten;
 * then we re-read and try again, a few times with a small backoff.
 */

export interface Switch<O, T> {
  /** "Service production/api-gateway": used in every message. */
  subject: string;
  read(signal: AbortSignal | undefined): Promise<O>;
  state(object: O): TrafficState;
  /** Why this object cannot take the target, or undefined when it can. */
  problem(object: O, target: T): string | undefined;
  /** Whether the object already shows exactly the target. */
  reached(object: O, target: T): boolean;
  /** One write, with the read resourceVersion as precondition. */
  write(object: O, target: T, signal: AbortSignal | undefined): Promise<void>;
  /** The target in words, for mismatch messages: "canary 50%". */
  wanted(target: T): string;
}

/** What the strategy's object shows now (a strategy's `current()`). */
export async function currentTraffic<O, T>(
  change: Switch<O, T>,
  signal: AbortSignal | undefined,
): Promise<TrafficState> {
  try {
    return change.state(await change.read(signal));
  } catch (error) {
    throw trafficError(error, change.subject, 'read');
  }
}

/** A weighted canary's `shift()`: to a weight; a slot is not something it has. */
export function shiftWeight<O>(
  requests: Requests,
  change: Switch<O, number>,
  target: TrafficTarget,
  signal: AbortSignal | undefined,
): Promise<TrafficChange> {
  if (!('weight' in target))
    return Promise.reject(
      new TrafficError('invalid', `a canary shifts a weight (0–100); it has no ${target.slot} slot`),
    );
  return switchTraffic(requests, change, target.weight, signal);
}

/** A weighted canary's `rollback()`: to the weight that was live when the deployment started. */
export function rollbackWeight<O>(
  requests: Requests,
  change: Switch<O, number>,
  options: RollbackOptions,
  signal: AbortSignal | undefined,
): Promise<TrafficChange> {
  const weight = options.to.weight;
  if (weight === undefined)
    return Promise.reject(
      new TrafficError('invalid', 'no record of the canary weight that was live when the deployment started'),
    );
  return switchTraffic(requests, change, weight, signal);
}

export async function switchTraffic<O, T>(
  requests: Requests,
  change: Switch<O, T>,
  target: T,
  signal: AbortSignal | undefined,
): Promise<TrafficChange> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const look = async () => {
    const object = await lookAfterFailure(signal, change.read);
    return object && change.state(object);
  };
  let attempts = 0;
  for (;;) {
    const object = await readOrFail(change, signal, 'read');
    const before = change.state(object);
    const problem = change.problem(object, target);
    if (problem) throw new TrafficError('invalid', problem, { state: before });
    if (change.reached(object, target)) return { before, after: before, attempts, durationMs: elapsed() };

    attempts++;
    try {
      await change.write(object, target, signal);
    } catch (error) {
      if (isConflict(error)) {
        if (attempts < requests.options.maxAttempts) {
          await requests.pause(requests.backoff(attempts), signal).catch((stopped: unknown) => {
            throw trafficError(stopped, change.subject, 'patch', before);
          });
          continue;
        }
        throw new TrafficError(
          'conflict',
          `${change.subject} kept changing while we wrote it: ${attempts} writes answered 409 Conflict`,
          { state: (await look()) ?? before, cause: error },
        );
      }
      // A refusal (403, 404, 422) stored nothing: what we read before writing is still live.
      if (!mayHaveApplied(error)) throw trafficError(error, change.subject, 'patch', before);
      // A timeout, a 5xx or a dropped connection may have stored it: only a read can tell.
      const looked = await lookAfterFailure(signal, change.read);
      if (!looked) throw outcomeUnknown(error, change.subject, 'patch');
      if (!change.reached(looked, target))
        throw trafficError(error, change.subject, 'patch', change.state(looked));
      // Stored although its answer was lost: that read was the read-back, and it shows the target.
      return { before, after: change.state(looked), attempts, durationMs: elapsed() };
    }

    let readBack: O;
    try {
      readBack = await change.read(signal);
    } catch (error) {
      // The write was accepted, so "refused" would be false; what it left is unknown until a read works.
      throw outcomeUnknown(error, change.subject, 'read back');
    }
    const after = change.state(readBack);
    if (!change.reached(readBack, target))
      throw new TrafficError(
        'mismatch',
        `asked for ${change.wanted(target)}, but ${change.subject} reads back ${after.description}`,
        { state: after },
      );
    return { before, after, attempts, durationMs: elapsed() };
  }
}

async function readOrFail<O, T>(
  change: Switch<O, T>,
  signal: AbortSignal | undefined,
  doing: string,
): Promise<O> {
  try {
    return await change.read(signal);
  } catch (error) {
    throw trafficError(error, change.subject, doing);
  }
}
