import type { Checklist } from '../../checklists/schema.js';
import type { DeploymentEvent } from '../../deployments/engine.js';
import type { Deployment } from '../../deployments/model.js';
import type { TriggerReport } from '../types.js';

// Rollback triggers that fired (or rolled back by themselves), and how long each held.

export function buildTriggers(
  deployment: Deployment,
  checklist: Checklist,
  audit: readonly DeploymentEvent[],
  now: number,
): TriggerReport[] {
  const definitions = new Map((checklist.rollback?.triggers ?? []).map((trigger) => [trigger.id, trigger]));
  const armedAt = deployment.guardsArmedAt ?? deployment.createdAt;
  const stop = deployment.rollback?.completedAt ?? deployment.endedAt ?? now;
  const triggers: TriggerReport[] = [];
  const open = new Map<string, TriggerReport>();
  const fire = (triggerId: string, firedAt: number, measured: string, automatic: boolean) => {
    const definition = definitions.get(triggerId);
    const trigger: TriggerReport = {
      triggerId,
      title: definition?.title ?? triggerId,
      firedAt,
      measured,
      automatic,
      heldSince: Math.min(firedAt, Math.max(armedAt, firedAt - (definition?.for ?? 0))),
      heldUntil: Math.max(firedAt, stop),
    };
    triggers.push(trigger);
    return trigger;
  };
  for (const event of audit) {
    if (event.type === 'guard.fired')
      open.set(event.triggerId, fire(event.triggerId, event.at, event.measured, false));
    if (event.type === 'guard.overridden') {
      const trigger = open.get(event.triggerId);
      if (trigger) trigger.overridden = { by: event.actor, at: event.at, reason: event.reason };
    }
    if (event.type === 'guard.cleared') {
      const trigger = open.get(event.triggerId);
      if (trigger) {
        trigger.clearedAt = event.at;
        trigger.heldUntil = Math.max(trigger.firedAt, event.at);
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
  return triggers;
}
