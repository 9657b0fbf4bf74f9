import type { Trigger } from '../checklists/schema.js';
import { httpCheck } from '../checks/http.js';
import { prometheusCheck } from '../checks/prometheus.js';
import type { CheckContext } from '../checks/types.js';
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
 */

export interface TriggerVerdict {
  firing: boolean;
  /** What was measured, for the thread: "error rate 7.1% > 5% for all of 5m". */
  measured: string;
  /** HTTP conditions: since when it has been failing (undefined when healthy). */
  breachSince?: number;
  /** The condition could not be evaluated (no data, Prometheus down): not a breach, but worth logging. */
  unevaluated?: boolean;
}

export async function evaluateTrigger(
  trigger: Trigger,
  context: CheckContext,
  previous: { breachSince?: number } = {},
): Promise<TriggerVerdict> {
  const condition = trigger.condition;
  if (condition.type === 'prometheus') {
    const result = await prometheusCheck({ ...condition, for: trigger.for }, context);
    return {
      firing: result.outcome === 'passed',
      measured: result.summary,
      ...(result.outcome === 'error' ? { unevaluated: true } : {}),
    };
  }
  const now = context.now();
  const result = await httpCheck(condition, context);
  if (result.outcome === 'passed') return { firing: false, measured: result.summary };
  const breachSince = previous.breachSince ?? now;
  const failingFor = now - breachSince;
  return {
    firing: failingFor >= trigger.for,
    measured: `${result.summary} — failing for ${formatDuration(failingFor)} (limit ${formatDuration(trigger.for)})`,
    breachSince,
  };
}
