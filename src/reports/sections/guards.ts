import type { Checklist } from '../../checklists/schema.js';
import type { DeploymentEvent } from '../../deployments/engine.js';
import type { Deployment } from '../../deployments/model.js';
import type { GuardReport } from '../types.js';

// Rollback triggers that fired (or rolled back by themselves), and how long each held.

export function buildGuards(
  deployment: Deployment,
  checklist: Checklist,
  audit: readonly DeploymentEvent[],
  now: number,
): GuardReport[] {
  const triggers = new Map((checklist.rollback?.triggers ?? []).map((trigger) => [trigger.id, trigger]));
  const armedAt = deployment.guardsArmedAt ?? deployment.createdAt;
  const stop = deployment.rollback?.completedAt ?? deployment.endedAt ?? now;
  const guards: GuardReport[] = [];
  const open = new Map<string, GuardReport>();
  const fire = (triggerId: string, firedAt: number, measured: string, automatic: boolean) => {
    const trigger = triggers.get(triggerId);
    const guard: GuardReport = {
      triggerId,
      title: trigger?.title ?? triggerId,
      firedAt,
      measured,
      automatic,
      heldSince: Math.min(firedAt, Math.max(armedAt, firedAt - (trigger?.for ?? 0))),
      heldUntil: Math.max(firedAt, stop),
    };
    guards.push(guard);
    return guard;
  };
  for (const event of audit) {
    if (event.type === 'guard.fired')
      open.set(event.triggerId, fire(event.triggerId, event.at, event.measured, false));
    if (event.type === 'guard.overridden') {
      const guard = open.get(event.triggerId);
      if (guard) guard.overridden = { by: event.actor, at: event.at, reason: event.reason };
    }
    if (event.type === 'guard.cleared') {
      const guard = open.get(event.triggerId);
      if (guard) {
        guard.clearedAt = event.at;
        guard.heldUntil = Math.max(guard.firedAt, event.at);
        open.delete(event.triggerId);
      }
    }
  }
  if (audit.length === 0) {
    for (const [triggerId, firedAt] of Object.entries(deployment.firedGuards ?? {}))
      fire(triggerId, firedAt, '', false);
  }
  // A trigger that rolled back by itself never shows as fired: its rollback request carries it.
  const automatic = deployment.rollback?.trigger;
  if (automatic) fire(automatic.id, deployment.rollback?.requestedAt ?? now, automatic.measured, true);
  return guards;
}
