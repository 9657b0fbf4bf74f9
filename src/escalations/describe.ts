import { walkedPhases } from '../checklists/phases.js';
import type { Checklist } from '../checklists/schema.js';
import { waitsForPeople } from '../deployments/engine/escalations.js';
import type { Deployment } from '../deployments/model.js';

/**
 * One line on what an escalation is about, for pages and thread messages: for a phase, the steps that
 * wait for people now (the same ones that started the chain; never steps already resolved, nor checks
 * and watch windows, which people do not do). Undefined when nothing waits any more.
 */
export function describeEscalation(checklist: Checklist, state: Deployment, key: string): string {
  const [kind, id = ''] = splitKey(key);
  if (kind === 'phase') {
    const phase = walkedPhases(checklist).find((candidate) => candidate.id === id);
    const open = (phase?.items ?? []).filter((item) => waitsForPeople(item, state));
    if (open.length === 0) return `“${phase?.title ?? id}” no longer waits for anyone`;
    const names = open
      .slice(0, 5)
      .map((item) => `“${item.title}”`)
      .join(', ');
    return `“${phase?.title ?? id}” waits for ${open.length === 1 ? names : `${open.length} steps: ${names}${open.length > 5 ? ', …' : ''}`}`;
  }
  if (kind === 'check') {
    const item = walkedPhases(checklist)
      .flatMap((phase) => phase.items)
      .find((candidate) => candidate.id === id);
    const result = state.items[id]?.result;
    return `check “${item?.title ?? id}” ${result?.outcome === 'error' ? 'cannot be evaluated' : 'is failing'}${result ? `: ${result.summary}` : ''}`;
  }
  const trigger = checklist.rollback?.triggers.find((candidate) => candidate.id === id);
  return `rollback trigger “${trigger?.title ?? id}” fired and nobody has rolled back`;
}

/** `phase:deploy` -> ['phase', 'deploy'] (ids never contain ':'). */
export function splitKey(key: string): [string, string | undefined] {
  const colon = key.indexOf(':');
  return colon < 0 ? [key, undefined] : [key.slice(0, colon), key.slice(colon + 1)];
}
