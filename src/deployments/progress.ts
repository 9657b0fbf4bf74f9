import { isRollbackPhase, walkedPhases } from '../checklists/phases.js';
import type { Checklist, Phase } from '../checklists/schema.js';
import type { Deployment } from './model.js';

/**
 * How far a deployment has got, counted one way everywhere (the card, `/deploy status`, the report): over
 * its checklist's phases and follow-ups, plus the rollback phases a rollback has opened (the others never
 * apply). An item is resolved when it is done, passed, skipped or n/a.
 */

/** The phases a deployment walks or has walked. */
export function countedPhases(deployment: Deployment, checklist: Checklist): readonly Phase[] {
  const rollbackPhases = checklist.rollback?.phases ?? [];
  if (!rollbackPhases.some((phase) => deployment.phases[phase.id])) return checklist.phases;
  return walkedPhases(checklist).filter(
    (phase) => !isRollbackPhase(checklist, phase) || deployment.phases[phase.id] !== undefined,
  );
}

export interface ItemCounts {
  total: number;
  resolved: number;
  /** Done by a person, passed (a check), or done by Flightdeck (a shift, a watch window). */
  done: number;
  skipped: number;
  notApplicable: number;
  failed: number;
}

export function itemCounts(deployment: Deployment, checklist: Checklist): ItemCounts {
  const states = countedPhases(deployment, checklist).flatMap((phase) =>
    phase.items.map((item) => deployment.items[item.id]?.status ?? 'pending'),
  );
  const count = (...statuses: string[]) => states.filter((status) => statuses.includes(status)).length;
  return {
    total: states.length,
    resolved: count('done', 'passed', 'skipped', 'n/a'),
    done: count('done', 'passed'),
    skipped: count('skipped'),
    notApplicable: count('n/a'),
    failed: count('failed', 'error'),
  };
}
