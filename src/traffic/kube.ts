import { setTimeout as sleepFor } from 'node:timers/promises';
import {
  ApiException,
  type ConfigurationOptions,
  Observable,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { formatDuration } from '../shared/duration.js';
import { TrafficError, type TrafficOptions, type TrafficState } from './types.js';

/**
 * The API plumbing the strategies share: one request with the caller's signal and a per-request
 * timeout, failures sorted into what a strategy needs to decide (409 retry, 403, 404…), and their wording.
 */

/** Why one request failed. */
export type Failure =
  | { kind: 'status'; code: number; message: string; named: boolean }
  | { kind: 'aborted'; reason: unknown }
  | { kind: 'timeout'; ms: number }
  | { kind: 'network'; message: string };

export class RequestFailed extends Error {
  constructor(readonly failure: Failure) {
    super(failure.kind === 'status' ? failure.message : failure.kind);
  }
}

/** Per-call options that also send a PATCH as a JSON merge patch (the client's default is JSON Patch). */
export function asMergePatch(options: ConfigurationOptions): ConfigurationOptions {
  return setHeaderOptions('Content-Type', PatchStrategy.MergePatch, options);
}

export class Requests {
  constructor(readonly options: Required<TrafficOptions>) {}

  /** Runs one API call; `run` must pass the options it is given on to the client method. */
  async send<T>(
    signal: AbortSignal | undefined,
    run: (options: ConfigurationOptions) => Promise<T>,
  ): Promise<T> {
    if (signal?.aborted) throw new RequestFailed({ kind: 'aborted', reason: signal.reason });
    const ms = this.options.requestTimeoutMs;
    const timeout = AbortSignal.timeout(ms);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      return await run(withSignal(combined));
    } catch (error) {
      if (signal?.aborted) throw new RequestFailed({ kind: 'aborted', reason: signal.reason });
      if (timeout.aborted) throw new RequestFailed({ kind: 'timeout', ms });
      throw new RequestFailed(classify(error));
    }
  }

  /** Waits, unless the signal fires first. */
  async pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
    try {
      await sleepFor(ms, undefined, signal ? { signal } : undefined);
    } catch {
      throw new RequestFailed({ kind: 'aborted', reason: signal?.reason });
    }
  }

  /** Pause before write number `attempt + 1`: backoff, doubling, with a little jitter. */
  backoff(attempt: number): number {
    const base = this.options.backoffMs * 2 ** (attempt - 1);
    return Math.round(base * (0.75 + Math.random() * 0.5));
  }
}

function withSignal(signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (request) => {
          request.setSignal(signal);
          return new Observable(Promise.resolve(request));
        },
        post: (response) => new Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

function classify(error: unknown): Failure {
  if (error instanceof RequestFailed) return error.failure;
  if (error instanceof ApiException) {
    const status = statusOf(error.body);
    return {
      kind: 'status',
      code: error.code,
      message: status.message ?? `HTTP ${error.code}`,
      named: status.named,
    };
  }
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return { kind: 'network', message: typeof code === 'string' ? `${code}: ${message}` : message };
}

/** The Status object an ApiException carries (its body is the JSON text, or already parsed). */
function statusOf(body: unknown): { message?: string; named: boolean } {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      const line = body.trim().split('\n')[0];
      return line ? { message: line, named: false } : { named: false };
    }
  }
  if (typeof parsed !== 'object' || parsed === null) return { named: false };
  const status = parsed as { message?: unknown; details?: { name?: unknown } };
  return {
    ...(typeof status.message === 'string' ? { message: status.message } : {}),
    named: typeof status.details?.name === 'string',
  };
}

/** kube-apiserver's Status message when a JSON Patch cannot be applied to the stored object. */
const JSON_PATCH_NOT_APPLICABLE = 'the server rejected our request due to an error in our request';

export function isConflict(error: unknown): boolean {
  if (!(error instanceof RequestFailed) || error.failure.kind !== 'status') return false;
  const { code, message } = error.failure;
  // A JSON Patch whose `test` op (or path) no longer holds: the object changed since we read it, the same
  // as a stale resourceVersion. kube-apiserver answers it 422 with a generic message (patch.go wraps the
  // json-patch error in NewGenericServerResponse, which drops it); other servers keep "testing value … failed".
  return (
    code === 409 ||
    (code === 422 && (message === JSON_PATCH_NOT_APPLICABLE || /^testing value .* failed/.test(message)))
  );
}

/**
 * A failed request as the TrafficError a caller can act on. `subject` names the object
 * ("Service production/api-gateway"), `doing` the request ("patch", "read").
 */
export function trafficError(
  error: unknown,
  subject: string,
  doing: string,
  state?: TrafficState,
): TrafficError {
  if (error instanceof TrafficError) return error;
  if (!(error instanceof RequestFailed)) {
    const message = error instanceof Error ? error.message : String(error);
    return new TrafficError('unavailable', `could not ${doing} ${subject}: ${message}`, {
      state,
      cause: error,
    });
  }
  const failure = error.failure;
  const options = { ...(state ? { state } : {}), cause: error };
  switch (failure.kind) {
    case 'aborted': {
      const why = failure.reason instanceof Error ? `: ${failure.reason.message}` : '';
      const timedOut = failure.reason instanceof Error && failure.reason.name === 'TimeoutError';
      return new TrafficError(
        timedOut ? 'timeout' : 'aborted',
        `stopped before we could ${doing} ${subject}${why}`,
        options,
      );
    }
    case 'timeout':
      return new TrafficError(
        'timeout',
        `the Kubernetes API did not answer within ${formatDuration(failure.ms)} (${doing} ${subject})`,
        options,
      );
    case 'network':
      return new TrafficError(
        'unavailable',
        `cannot reach the Kubernetes API (${doing} ${subject}): ${failure.message}`,
        options,
      );
    case 'status':
      break;
  }
  const { code, message } = failure;
  if (code === 401)
    return new TrafficError('forbidden', `unauthorized (401) to ${doing} ${subject}: ${message}`, options);
  if (code === 403)
    return new TrafficError('forbidden', `no permission to ${doing} ${subject}: ${message}`, options);
  if (code === 404) {
    // Without a name in the Status, the API itself (e.g. a CRD's group) is not served.
    const served = failure.named ? '' : ` (the API answered: ${message})`;
    return new TrafficError('not_found', `${subject} not found${served}`, options);
  }
  if (code === 409)
    return new TrafficError('conflict', `${subject} was changed by someone else: ${message}`, options);
  if (code === 422 || code === 400)
    return new TrafficError('invalid', `the API refused to ${doing} ${subject}: ${message}`, options);
  if (code === 429 || code >= 500)
    return new TrafficError(
      code === 504 ? 'timeout' : 'unavailable',
      `the Kubernetes API answered ${code} (${doing} ${subject}): ${message}`,
      options,
    );
  return new TrafficError('invalid', `the API answered ${code} to ${doing} ${subject}: ${message}`, options);
}

/** Whether a write that failed this way may nevertheless have been stored. */
export function mayHaveApplied(error: unknown): boolean {
  if (!(error instanceof RequestFailed)) return true;
  const failure = error.failure;
  return failure.kind !== 'status' || failure.code >= 500;
}

/**
 * A write that may have been stored, with no read since to tell: after a failed patch the look after it
 * failed too (`doing` 'patch'), or the patch was answered and the read-back failed ('read back').
 */
export function outcomeUnknown(error: unknown, subject: string, doing: 'patch' | 'read back'): TrafficError {
  const cause = trafficError(error, subject, doing);
  const why = doing === 'patch' ? `${cause.message}, and reading it back failed too` : cause.message;
  return new TrafficError('unknown', `outcome unknown: ${why}`, { cause: error });
}

/**
 * A short, best-effort read after a failed write, to tell the caller what the cluster shows now;
 * undefined when the caller has stopped us or the read fails too.
 */
export async function lookAfterFailure<T>(
  signal: AbortSignal | undefined,
  read: (signal: AbortSignal) => Promise<T>,
): Promise<T | undefined> {
  if (signal?.aborted) return undefined;
  const limit = AbortSignal.timeout(LOOK_AFTER_FAILURE_MS);
  try {
    return await read(signal ? AbortSignal.any([signal, limit]) : limit);
  } catch {
    return undefined;
  }
}

const LOOK_AFTER_FAILURE_MS = 2_000;
