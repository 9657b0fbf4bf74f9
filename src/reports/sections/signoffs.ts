import type { Checklist } from '../../checklists/schema.js';
import type { DeploymentEvent } from '../../deployments/engine.js';
import type { Actor, Deployment } from '../../deployments/model.js';
import { countedPhases } from '../../deployments/progress.js';
import type { SignoffReport } from '../types.js';

// Sign-offs: who signed, who withdrew a signature, which were waived or skipped.

export function buildSignoffs(
  deployment: Deployment,
  checklist: Checklist,
  audit: readonly DeploymentEvent[],
): SignoffReport[] {
  const withdrawn = new Map<string, Array<{ by: Actor; at: number }>>();
  for (const event of audit) {
    if (event.type !== 'signoff.withdrawn') continue;
    const list = withdrawn.get(event.itemId) ?? [];
    list.push({ by: event.actor, at: event.at });
    withdrawn.set(event.itemId, list);
  }
  const reports: SignoffReport[] = [];
  for (const phase of countedPhases(deployment, checklist)) {
    for (const item of phase.items) {
      if (item.kind !== 'signoff') continue;
      const state = deployment.items[item.id];
      const status = state?.status ?? 'pending';
      reports.push({
        itemId: item.id,
        title: item.title,
        role: item.signoff.role,
        needed: item.signoff.count,
        status,
        signatures: [...(state?.signatures ?? [])],
        withdrawn: withdrawn.get(item.id) ?? [],
        ...(status === 'skipped' || status === 'n/a'
          ? { ...(state?.reason ? { reason: state.reason } : {}), ...(state?.by ? { by: state.by } : {}) }
          : {}),
        ...(state?.waived ? { waived: true } : {}),
      });
    }
  }
  return reports;
}
