import { walkedPhases } from '../../checklists/phases.js';
import type { Checklist, Item, Phase } from '../../checklists/schema.js';
import { BOT_ACTOR, type Deployment, type ItemState, isResolved } from '../model.js';
import type { Decision, RejectionCode } from './types.js';

/** Who may do what, and small lookups every transition needs. */

export function findItem(
  checklist: Checklist,
  itemId: string,
): { item: Item; phase: Phase; phaseIndex: number } | undefined {
  // Rollback phases too: their items are walked after a rollback (phaseIndex counts on past `phases`).
  for (const [phaseIndex, phase] of walkedPhases(checklist).entries()) {
    const item = phase.items.find((candidate) => candidate.id === itemId);
    if (item) return { item, phase, phaseIndex };
  }
  return undefined;
}

/** The role allowed to resolve an item, if any: a sign-off's role, else the item's owner. */
export function ownerRole(item: Item): string | undefined {
  return item.kind === 'signoff' ? item.signoff.role : item.owner;
}

/** In a sequential phase, the first earlier required item still open (which must be resolved first). */
export function blockedBy(phase: Phase, state: Deployment, itemId: string): Item | undefined {
  if (!phase.sequential) return undefined;
  for (const item of phase.items) {
    if (item.id === itemId) return undefined;
    if (item.required && !isResolved(state.items[item.id])) return item;
  }
  return undefined;
}

export function describeStatus(item: ItemState): string {
  const by = item.by && item.by !== BOT_ACTOR ? ` by <@${item.by}>` : '';
  return `${item.status === 'n/a' ? 'marked n/a' : item.status}${by}`;
}

export function reject(code: RejectionCode, message: string): Decision {
  return { ok: false, code, message };
}
