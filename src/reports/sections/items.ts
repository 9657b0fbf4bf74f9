import type { Checklist } from '../../checklists/schema.js';
import type { Deployment, ItemStatus } from '../../deployments/model.js';
import { countedPhases } from '../../deployments/progress.js';
import type { ItemRecord, ItemsReport } from '../types.js';

// Items: how many were done, and which were skipped, not applicable, overridden or left open.

export function isResolvedStatus(status: ItemStatus | undefined): boolean {
  return status === 'passed' || status === 'done' || status === 'skipped' || status === 'n/a';
}

export function buildItems(deployment: Deployment, checklist: Checklist): ItemsReport {
  const report: ItemsReport = {
    total: 0,
    done: 0,
    skipped: [],
    notApplicable: [],
    overridden: [],
    notDone: [],
    optionalOpen: [],
  };
  for (const phase of countedPhases(deployment, checklist)) {
    for (const item of phase.items) {
      report.total++;
      const state = deployment.items[item.id];
      const record: ItemRecord = {
        itemId: item.id,
        title: item.title,
        phaseTitle: phase.title,
        ...(state?.by ? { by: state.by } : {}),
        ...(state?.at !== undefined ? { at: state.at } : {}),
        ...(state?.reason ? { reason: state.reason } : {}),
      };
      const status = state?.status ?? 'pending';
      if (status === 'done' || status === 'passed') report.done++;
      if (status === 'skipped') report.skipped.push(record);
      else if (status === 'n/a') report.notApplicable.push(record);
      if (state?.overridden)
        report.overridden.push({ ...record, ...(state.result ? { showed: state.result.summary } : {}) });
      if (!isResolvedStatus(status)) {
        // Follow-ups not yet due are not "not done": they are scheduled.
        const phaseStatus = deployment.phases[phase.id]?.status;
        if (phase.after !== undefined && phaseStatus !== 'active' && phaseStatus !== 'completed') continue;
        if (item.required) report.notDone.push({ ...record, status });
        else report.optionalOpen.push(record);
      }
    }
  }
  return report;
}
