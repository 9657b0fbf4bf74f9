import type { CheckSpec } from '../checklists/schema.js';
import { formatDuration } from '../shared/duration.js';
import type { CheckContext, CheckModule, CheckResult, CheckRun, CheckType } from './types.js';

/**
 * Runs one check with what every kind needs and no module should re-implement: a per-attempt timeout
 * (even for a module that ignores its signal), retries with backoff for `error` outcomes (a timeout or a
 * 5xx is often transient; a `failed` verdict is not retried), and turning a thrown exception into `error`.
 */

export type CheckModules = { [T in CheckType]: CheckModule<T> };

export interface RunOptions {
  /** Per attempt, when the spec sets no `timeout`. */
  defaultTimeoutMs?: number;
  /** Extra attempts after an `error`, when the spec sets no `retries`. */
  defaultRetries?: number;
  /** First backoff; doubles each retry, at most 5 s. */
  backoffMs?: number;
  /** Aborts everything (worker shutdown). */
  signal?: AbortSignal;
  now?: () => number;
}

export async function runCheck(
  modules: CheckModules,
  spec: CheckSpec,
  context: Omit<CheckContext, 'signal'>,
  options: RunOptions = {},
): Promise<CheckRun> {
  const now = options.now ?? Date.now;
  const timeoutMs = spec.timeout ?? options.defaultTimeoutMs ?? 10_000;
  const attempts = 1 + (spec.retries ?? options.defaultRetries ?? 2);
  const started = now();
  let result: CheckResult = { outcome: 'error', summary: 'not run' };
  let attempt = 0;
  while (attempt < attempts) {
    attempt++;
    result = await attemptOnce(modules, spec, context, timeoutMs, options.signal);
    if (result.outcome !== 'error' || attempt >= attempts || options.signal?.aborted) break;
    await sleep(Math.min(5_000, (options.backoffMs ?? 250) * 2 ** (attempt - 1)), options.signal);
  }
  return { ...result, attempts: attempt, durationMs: now() - started, at: now() };
}

async function attemptOnce(
  modules: CheckModules,
  spec: CheckSpec,
  context: Omit<CheckContext, 'signal'>,
  timeoutMs: number,
  shutdown: AbortSignal | undefined,
): Promise<CheckResult> {
  const controller = new AbortController();
  const timedOut = { value: false };
  const timer = setTimeout(() => {
    timedOut.value = true;
    controller.abort(new Error(`timed out after ${formatDuration(timeoutMs)}`));
  }, timeoutMs);
  const onShutdown = () => controller.abort(new Error('worker shutting down'));
  shutdown?.addEventListener('abort', onShutdown, { once: true });
  const aborted = new Promise<CheckResult>((resolve) => {
    controller.signal.addEventListener(
      'abort',
      () =>
        resolve({
          outcome: 'error',
          summary: timedOut.value
            ? `timed out after ${formatDuration(timeoutMs)}`
            : 'cancelled: worker shutting down',
        }),
      { once: true },
    );
  });
  try {
    const module = modules[spec.type] as CheckModule<CheckType>;
    const running = module(spec as never, { ...context, signal: controller.signal }).catch(
      (error: unknown): CheckResult => ({
        outcome: 'error',
        summary: `check crashed: ${(error as Error).message ?? String(error)}`.slice(0, 300),
      }),
    );
    // A module that ignores its signal still cannot hold the run past its timeout.
    const result = await Promise.race([running, aborted]);
    // However the module phrased its error, a timeout is reported as one.
    if (timedOut.value && result.outcome === 'error')
      return { ...result, summary: `timed out after ${formatDuration(timeoutMs)}` };
    return result;
  } finally {
    clearTimeout(timer);
    shutdown?.removeEventListener('abort', onShutdown);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
