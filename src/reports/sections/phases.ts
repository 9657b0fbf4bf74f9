import type { Phase } from '../../checklists/schema.js';
import type { Deployment } from '../../deployments/model.js';
import type { ChecksReport, FollowUpOutcome, FollowUpReport, PhaseOutcome, PhaseReport } from '../types.js';
import { isResolvedStatus } from './items.js';

// Phases and follow-up phases: when each opened and completed, how many items it resolved.

export function phaseReport(deployment: Deployment, phase: Phase, end: number): PhaseReport {
  const state = deployment.phases[phase.id];
  const items = {
    total: phase.items.length,
    resolved: phase.items.filter((item) => isResolvedStatus(deployment.items[item.id]?.status)).length,
  };
  const openedAt = state?.openedAt;
  const completedAt = state?.completedAt;
  const outcome: PhaseOutcome =
    state?.status === 'completed' ? 'completed' : openedAt !== undefined ? 'open' : 'not reached';
  const durationMs =
    openedAt === undefined ? undefined : Math.max(0, (completedAt ?? Math.max(end, openedAt)) - openedAt);
  return {
    id: phase.id,
    title: phase.title,
    outcome,
    ...(openedAt !== undefined ? { openedAt } : {}),
    ...(completedAt !== undefined ? { completedAt } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
    items,
  };
}

export function followUpReport(
  deployment: Deployment,
  phase: Phase,
  checks: ChecksReport,
  now: number,
): FollowUpReport {
  const state = deployment.phases[phase.id];
  const base = phaseReport(deployment, phase, now);
  let outcome: FollowUpOutcome;
  if (state?.status === 'completed') outcome = 'completed';
  else if (state?.status === 'active') outcome = 'open';
  else if (state?.status === 'scheduled')
    // A rolled-back or aborted deployment does not open its follow-ups (nothing to verify).
    outcome =
      deployment.status === 'rolled_back' || deployment.status === 'aborted' ? 'cancelled' : 'scheduled';
  else outcome = 'not scheduled';
  const mine = checks.items.filter((check) => check.phaseId === phase.id);
  return {
    ...base,
    outcome,
    afterMs: phase.after ?? 0,
    ...(state?.dueAt !== undefined ? { dueAt: state.dueAt } : {}),
    checks: {
      total: mine.length,
      passed: mine.filter((check) => check.final === 'passed').length,
      failed: mine.filter((check) => check.failures.length > 0).length,
    },
    failures: mine.flatMap((check) => check.failures),
  };
}
