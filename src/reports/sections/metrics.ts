import type { DeploymentEvent } from '../../deployments/engine.js';
import type { Deployment } from '../../deployments/model.js';
import type {
  ChecksReport,
  EscalationReport,
  ReportMetrics,
  RetrospectiveReport,
  RollbackReport,
  TriggerReport,
} from '../types.js';
import { questionRole } from './retrospective.js';

// Deployment metrics, computed from the other sections and the audit stream.

/** Start to end, or to `now` while it runs. */
export function deploymentDuration(deployment: Deployment, now: number): number {
  return Math.max(0, (deployment.endedAt ?? now) - deployment.createdAt);
}

/** The headline figures: time, time paused and degraded, rollback and exposure, issues found. */
export function buildMetrics(
  deployment: Deployment,
  audit: readonly DeploymentEvent[],
  end: number,
  now: number,
  sections: {
    checks: ChecksReport;
    triggers: TriggerReport[];
    escalations: EscalationReport[];
    rollback: RollbackReport | undefined;
    retrospective: RetrospectiveReport | undefined;
  },
): ReportMetrics {
  const { checks, triggers, escalations, rollback, retrospective } = sections;
  const pausedMs = pausedTime(deployment, audit, end);
  const degradedMs = unionLength(triggers.map((trigger) => [trigger.heldSince, trigger.heldUntil] as const));
  const firedTriggers = triggers.length;
  const escalated = escalations.filter((escalation) => escalation.levels.length > 0).length;
  const metrics: ReportMetrics = {
    durationMs: deploymentDuration(deployment, now),
    pausedMs,
    degradedMs,
    ...(rollback?.durationMs !== undefined ? { rollbackMs: rollback.durationMs } : {}),
    ...(rollback && deployment.guardsArmedAt !== undefined
      ? { exposureMs: Math.max(0, rollback.requestedAt - deployment.guardsArmedAt) }
      : {}),
    issuesFound: {
      total: checks.failedAtLeastOnce + firedTriggers + escalated,
      failedChecks: checks.failedAtLeastOnce,
      firedTriggers,
      escalations: escalated,
    },
  };
  if (retrospective) {
    metrics.postDeploymentIssues = retrospective.issues;
    if (retrospective.userImpact) metrics.userImpact = retrospective.userImpact;
    for (const answer of retrospective.answers) {
      const role = questionRole(answer.id);
      if (role === 'downtime') metrics.reportedDowntime = answer.answer;
      if (role === 'performance') metrics.performanceImpact = answer.answer;
    }
  }

  return metrics;
}

export function pausedTime(deployment: Deployment, audit: readonly DeploymentEvent[], end: number): number {
  let total = 0;
  let since: number | undefined;
  for (const event of audit) {
    if (event.type === 'deployment.paused') since = event.at;
    if (event.type === 'deployment.resumed' && since !== undefined) {
      total += event.at - since;
      since = undefined;
    }
  }
  const stillPaused = since ?? (audit.length === 0 ? deployment.pausedAt : undefined);
  if (stillPaused !== undefined) total += Math.max(0, end - stillPaused);
  return total;
}

/** Total length covered by intervals that may overlap (two triggers holding at once count once). */
export function unionLength(intervals: ReadonlyArray<readonly [number, number]>): number {
  const sorted = intervals.filter(([from, to]) => to > from).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let current: [number, number] | undefined;
  for (const [from, to] of sorted) {
    if (!current || from > current[1]) {
      if (current) total += current[1] - current[0];
      current = [from, to];
    } else current[1] = Math.max(current[1], to);
  }
  if (current) total += current[1] - current[0];
  return total;
}
