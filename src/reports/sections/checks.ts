import type { Checklist } from '../../checklists/schema.js';
import type { CheckRun } from '../../checks/types.js';
import type { DeploymentEvent } from '../../deployments/engine.js';
import type { Deployment } from '../../deployments/model.js';
import { countedPhases } from '../../deployments/progress.js';
import type { CheckFinal, CheckReport, ChecksReport, FailedRun } from '../types.js';

// Checks: every run from the audit stream, what each check ended as, the failed runs in order.

export function buildChecks(
  deployment: Deployment,
  checklist: Checklist,
  audit: readonly DeploymentEvent[],
  haveAudit: boolean,
): ChecksReport {
  const runsByItem = new Map<string, Array<{ run: number; result: CheckRun }>>();
  for (const event of audit) {
    if (event.type !== 'check.completed') continue;
    const list = runsByItem.get(event.itemId) ?? [];
    list.push({ run: event.run, result: event.result });
    runsByItem.set(event.itemId, list);
  }
  const items: CheckReport[] = [];
  for (const phase of countedPhases(deployment, checklist)) {
    for (const item of phase.items) {
      if (item.kind !== 'check') continue;
      const state = deployment.items[item.id];
      // Without the audit, the state's latest result is all there is.
      const runs =
        runsByItem.get(item.id) ??
        (!haveAudit && state?.result ? [{ run: state.run ?? 1, result: state.result }] : []);
      const failures: FailedRun[] = runs
        .filter(({ result }) => result.outcome !== 'passed')
        .map(({ run, result }) => ({
          itemId: item.id,
          title: item.title,
          run,
          at: result.at,
          outcome: result.outcome as FailedRun['outcome'],
          summary: result.summary,
          ...(result.value !== undefined ? { value: result.value } : {}),
          ...(result.unit !== undefined ? { unit: result.unit } : {}),
          ...(result.detail ? { detail: result.detail } : {}),
        }));
      const status = state?.status ?? 'pending';
      const final: CheckFinal = state?.overridden
        ? 'overridden'
        : status === 'passed'
          ? 'passed'
          : status === 'failed' || status === 'error'
            ? status
            : status === 'running'
              ? 'running'
              : status === 'skipped' || status === 'n/a'
                ? status
                : 'not run';
      items.push({
        itemId: item.id,
        title: item.title,
        phaseId: phase.id,
        runs: runs.length,
        final,
        ...(state?.result?.summary ? { summary: state.result.summary } : {}),
        failures,
      });
    }
  }
  return {
    total: items.length,
    run: items.filter((check) => check.runs > 0).length,
    runs: items.reduce((sum, check) => sum + check.runs, 0),
    passed: items.filter((check) => check.final === 'passed').length,
    failedAtLeastOnce: items.filter((check) => check.failures.length > 0).length,
    overridden: items.filter((check) => check.final === 'overridden').length,
    stillFailing: items.filter((check) => check.final === 'failed' || check.final === 'error').length,
    notRun: items.filter((check) => check.runs === 0 && check.final !== 'overridden').length,
    items,
    failedRuns: items.flatMap((check) => check.failures).sort((a, b) => a.at - b.at),
  };
}
