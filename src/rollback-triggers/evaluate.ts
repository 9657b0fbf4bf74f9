import type { Checklist, CheckSpec, Item, Trigger } from '../checklists/schema.js';
import type { CheckResult } from '../checks/types.js';
import { formatDuration } from '../shared/duration.js';

/**
 * Does a rollback trigger hold? A trigger fires only when its condition held for its whole `for` window,
 * so one bad sample never fires it and a recovered metric resets it.
 *
 * - Prometheus conditions describe the bad state ("error rate > 5%"). The window is read back from
 *   Prometheus itself (query_range over the last `for`): the prometheus check with that `for` passes
 *   exactly when every point breached. Not enough data is not a breach.
 * - HTTP conditions describe the healthy state ("GET /health answers 2xx"). Nothing stores their history,
 *   so the caller keeps `breachSince`: the first evaluation that saw it unhealthy, cleared by a healthy one.
 *
 * A condition is a check spec, run the way checks are (see RunCondition).
 */

/**
 * Runs a trigger's condition through the check registry and runner (checks/index.ts, checks/runner.ts),
 * as the checks run: with their timeouts, retries, and what they do with a module that throws.
 */
export type RunCondition = (spec: CheckSpec) => Promise<CheckResult>;

export interface TriggerVerdict {
  firing: boolean;
  /** What was measured, for the thread: "error rate 7.1% > 5% for all of 5m". */
  measured: string;
  /** HTTP conditions: since when it has been failing (undefined when healthy). */
  breachSince?: number;
  /** The condition could not be evaluated (no data, Prometheus down): not a breach, but worth logging. */
  unevaluated?: boolean;
}

/** `now`: the evaluation's time (the HTTP breach is counted from it). */
export async function evaluateTrigger(
  trigger: Trigger,
  run: RunCondition,
  now: number,
  previous: { breachSince?: number } = {},
): Promise<TriggerVerdict> {
  const condition = trigger.condition;
  if (condition.type === 'prometheus') {
    const result = await run({ ...condition, for: trigger.for });
    return {
      firing: result.outcome === 'passed',
      measured: result.summary,
      ...(result.outcome === 'error' ? { unevaluated: true } : {}),
    };
  }
  const result = await run(condition);
  if (result.outcome === 'passed') return { firing: false, measured: result.summary };
  const breachSince = previous.breachSince ?? now;
  const failingFor = now - breachSince;
  return {
    firing: failingFor >= trigger.for,
    measured: `${result.summary} — failing for ${formatDuration(failingFor)} (limit ${formatDuration(trigger.for)})`,
    breachSince,
  };
}

/** The shortest window a trigger can be judged over: two evaluations (one sample is never enough). */
const MIN_EVALUATIONS = 2;

/** How often a deployment's triggers are evaluated: `evaluate_every`, scaled like its watch windows (≥ 1 s). */
export function evaluationInterval(checklist: Checklist, timeScale = 1): number {
  return Math.max(1_000, Math.round((checklist.rollback?.evaluate_every ?? 30_000) * timeScale));
}

/**
 * The window a trigger must hold for, scaled with the watch windows it covers (`time_scale`), but never
 * shorter than two evaluations: in a demo where "watch for 5 minutes" takes 6 s, "error rate > 5% for
 * 5 minutes" is judged over 6 s too, not over 5 real minutes that the wait never lasts.
 */
export function triggerWindow(trigger: Trigger, checklist: Checklist, timeScale = 1): number {
  return Math.max(
    Math.round(trigger.for * timeScale),
    MIN_EVALUATIONS * evaluationInterval(checklist, timeScale),
  );
}

/**
 * What a watch window that ran out can honestly say about the triggers it watched: which fired, and
 * which it was too short to judge (their window is longer than the watch).
 */
export function watchVerdict(
  item: Extract<Item, { kind: 'wait' }>,
  checklist: Checklist,
  timeScale: number,
  fired: Readonly<Record<string, number>> | undefined,
): { fired: Trigger[]; tooShortFor: Trigger[] } {
  const watched = (checklist.rollback?.triggers ?? []).filter(
    (trigger) => !item.wait.guards || item.wait.guards.includes(trigger.id),
  );
  const watchedFor = Math.round(item.wait.duration * timeScale);
  return {
    fired: watched.filter((trigger) => fired?.[trigger.id] !== undefined),
    tooShortFor: watched.filter((trigger) => triggerWindow(trigger, checklist, timeScale) > watchedFor),
  };
}
