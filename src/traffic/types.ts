import { CodedError } from '../shared/errors.js';

/**
 * How Flightdeck moves traffic and rolls back, whatever the mechanism: the shapes every strategy shares.
 * These mirror the engine's `TrafficTarget`/`TrafficState` structurally, so a strategy's answers can be
 * handed to the engine as they are without this folder knowing the engine.
 */

/** Where traffic should go: a canary share (0–100), or the live slot of a blue-green pair. */
export type TrafficTarget = { weight: number } | { slot: 'blue' | 'green' };

/** What the cluster shows now, as read back from the API. */
export interface TrafficState {
  /** The canary's share of traffic, 0–100. */
  weight?: number;
  slot?: 'blue' | 'green';
  /** A Deployment's `deployment.kubernetes.io/revision`. */
  revision?: number;
  /** A Deployment's container image(s), comma-separated when there are several. */
  image?: string;
  /** Rolling: the Deployment's pod template (only in `live()`), so a rollback can restore it as it was. */
  template?: Record<string, unknown>;
  /** One line for Slack, e.g. "canary 5% (stable 95%) via HTTPRoute checkout". */
  description: string;
}

export interface TrafficChange {
  /** The state the successful write replaced (equal to `after` when nothing had to change). */
  before: TrafficState;
  /** Read back after the change and verified. */
  after: TrafficState;
  /** Writes sent: 0 when the cluster already showed the target, more than 1 after 409 Conflicts. */
  attempts: number;
  durationMs: number;
}

/** Where a rollback returns to, and how to recognise a retry of the same rollback. */
export interface RollbackOptions {
  /**
   * What was live when the deployment started (`live()` then): the slot, the weight, or the revision and
   * pod template. A rollback goes here and nowhere else; when the cluster already shows it, nothing moves.
   */
  to: Omit<TrafficState, 'description'>;
  /**
   * Names this rollback (the deployment's id), the same on every retry. A rolling undo marks the Deployment
   * with it, so a retry after a rollout that did not complete waits for that undo instead of undoing it
   * (which would bring back the revision being rolled back from).
   */
  key?: string;
}

export interface TrafficStrategy {
  /** e.g. "blue-green on Service production/api-gateway (label slot)". */
  describe(): string;
  current(signal?: AbortSignal): Promise<TrafficState>;
  /** What a rollback would have to restore: `current()`, plus a rolling Deployment's pod template. */
  live(signal?: AbortSignal): Promise<TrafficState>;
  /** Patches, reads back and verifies. */
  shift(target: TrafficTarget, signal?: AbortSignal): Promise<TrafficChange>;
  /**
   * Back to what was live when the deployment started (`options.to`), verified by read-back; a no-op
   * (`attempts: 0`) when the cluster already shows it. Never anywhere else: no "other slot", no "previous
   * revision".
   */
  rollback(signal: AbortSignal | undefined, options: RollbackOptions): Promise<TrafficChange>;
}

export type TrafficErrorCode =
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'invalid'
  | 'mismatch'
  | 'timeout'
  | 'unavailable'
  /** The caller's AbortSignal fired while no write was in flight (one it interrupted is `unknown`). */
  | 'aborted'
  /**
   * A write may have been stored (a timeout, a 5xx, a dropped connection, a stop after sending) and the
   * cluster could not be read since: what serves users is unknown until a read succeeds.
   */
  | 'unknown';

const RETRYABLE: Record<TrafficErrorCode, boolean> = {
  forbidden: false,
  not_found: false,
  conflict: true,
  invalid: false,
  mismatch: false,
  timeout: true,
  unavailable: true,
  aborted: true,
  // Sending the write again is not the answer: reading is.
  unknown: false,
};

/** A traffic change that failed, coded (src/shared/errors.ts) so logs group by why. */
export class TrafficError extends CodedError<TrafficErrorCode> {
  override readonly name = 'TrafficError';
  /** What the cluster looks like now, when it could be read. */
  readonly state?: TrafficState;
  /** Whether the same request later may succeed (the API was busy or slow), as opposed to a refusal. */
  readonly retryable: boolean;

  constructor(
    code: TrafficErrorCode,
    message: string,
    options: { state?: TrafficState; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    if (options.state) this.state = options.state;
    this.retryable = options.retryable ?? RETRYABLE[code];
  }
}

/** Tuning for the API calls; the defaults suit a real cluster, tests shrink them. */
export interface TrafficOptions {
  /** Writes answered 409 Conflict are re-read and retried: this many writes in all. */
  maxAttempts?: number;
  /** Pause before the first retry; doubles each time. */
  backoffMs?: number;
  /** Each API request gives up after this long. */
  requestTimeoutMs?: number;
  /** Rolling undo: how long to wait for the rollout to complete. */
  rolloutTimeoutMs?: number;
  /** Rolling undo: how often to look at the rollout. */
  pollMs?: number;
  /** After a write whose outcome is unknown: the pause before reading again; doubles each time. */
  rereadMs?: number;
  /** The longest pause between two such reads. */
  rereadMaxMs?: number;
}

export const DEFAULT_TRAFFIC_OPTIONS: Required<TrafficOptions> = {
  maxAttempts: 4,
  backoffMs: 100,
  requestTimeoutMs: 10_000,
  rolloutTimeoutMs: 10 * 60_000,
  pollMs: 2_000,
  rereadMs: 1_000,
  rereadMaxMs: 30_000,
};
