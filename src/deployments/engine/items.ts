import { isRollbackPhase } from '../../checklists/phases.js';
import type { Checklist } from '../../checklists/schema.js';
import { copyForChange, type Deployment, type ItemState, isResolved } from '../model.js';
import { advance, startReachedWork } from './phases.js';
import { blockedBy, describeStatus, findItem, reject } from './rules.js';
import { signOff } from './signoffs.js';
import type { Command, Decision, DeploymentEvent } from './types.js';

/**
 * People resolving items by hand: done, skipped (with a reason), n/a — and undo. Who may is decided
 * before these run (permissions.ts); these say what the state allows.
 */

export function resolveItem(
  checklist: Checklist,
  current: Deployment,
  command: Extract<Command, { type: 'resolve-item' }>,
): Decision {
  const found = findItem(checklist, command.itemId);
  if (!found) return reject('unknown_item', `This deployment has no item "${command.itemId}".`);
  const { item, phase } = found;
  const itemState = current.items[item.id] ?? { status: 'pending' };
  const phaseState = current.phases[phase.id];

  if (current.status === 'paused') return reject('not_active', 'This deployment is paused; resume it first.');
  if (phaseState?.status === 'pending') {
    return reject('phase_not_open', `"${phase.title}" has not started yet; finish the current phase first.`);
  }
  const earlier = blockedBy(phase, current, item.id);
  if (earlier && !isResolved(itemState)) {
    return reject('out_of_order', `This phase goes step by step: finish “${earlier.title}” first.`);
  }
  if (isResolved(itemState)) {
    return reject('unchanged', `"${item.title}" is already ${describeStatus(itemState)}.`);
  }
  // Skipping would record "traffic not moved" while its write may have moved it.
  if (current.operation?.uncertain && current.operation.itemId === item.id) {
    return reject(
      'busy',
      `Whether “${item.title}” moved traffic is unknown; Flightdeck is reading the cluster until it knows. Roll back if you cannot wait.`,
    );
  }
  if (phaseState?.status === 'completed' && item.required) {
    return reject('phase_closed', `"${phase.title}" is already complete.`);
  }
  if (item.kind === 'check' && command.resolution === 'done') {
    return reject(
      'not_manual',
      `“${item.title}” is an automated check: re-run it, or override it with a reason.`,
    );
  }
  if (item.kind === 'wait' && command.resolution === 'done') {
    return reject(
      'not_manual',
      `“${item.title}” completes by itself when its window ends; skip it with a reason to end it early.`,
    );
  }
  // After a rollback, traffic is where the rollback left it: its checklist's traffic steps are confirmed.
  if (
    item.kind === 'traffic' &&
    command.resolution === 'done' &&
    current.trafficStrategy &&
    !isRollbackPhase(checklist, phase)
  ) {
    return reject('not_manual', `“${item.title}” shifts traffic itself: press its Shift button.`);
  }
  if (item.kind === 'signoff' && command.resolution === 'done')
    return signOff(checklist, current, item, phase, command);
  // Whoever asks (Flightdeck included): a sign-off is cleared by signatures, or waived where the checklist
  // allows it — never by someone who signed it.
  if (item.kind === 'signoff' && !item.signoff.waivable_by)
    return reject(
      'not_waivable',
      `A sign-off cannot be skipped or marked n/a: “${item.title}” needs signatures.`,
    );
  if (item.kind === 'signoff' && (itemState.signatures ?? []).some((s) => s.by === command.actor))
    return reject('four_eyes', `You signed “${item.title}”; a waiver must come from someone who did not.`);
  const reason = command.reason?.trim();
  // Leaving traffic where it is, ending a watch early, waiving a sign-off or setting a check aside (as
  // an override would) is a decision the report names: never without a reason.
  const decides = item.kind !== 'manual';
  if (!reason && (command.resolution === 'skipped' || (decides && command.resolution !== 'done'))) {
    const what = item.kind === 'signoff' ? 'Waiving a sign-off' : 'Skipping';
    return reject('reason_required', `${what} needs a reason, so the report can say why.`);
  }

  const state = copyForChange(current);
  const next: ItemState = { status: command.resolution, by: command.actor, at: command.at };
  if (reason) next.reason = reason;
  // A waiver keeps the signatures given so far and counts as none of them.
  if (item.kind === 'signoff') Object.assign(next, { waived: true, signatures: itemState.signatures ?? [] });
  state.items[item.id] = next;
  const events: DeploymentEvent[] = [
    {
      type: 'item.resolved',
      at: command.at,
      actor: command.actor,
      phaseId: phase.id,
      itemId: item.id,
      from: itemState.status,
      to: command.resolution,
      ...(reason ? { reason } : {}),
    },
  ];
  advance(checklist, state, command.at, events);
  return { ok: true, state, events };
}

/** Undo for an accidental tap: only while the item's phase is still open. */
export function reopenItem(
  checklist: Checklist,
  current: Deployment,
  command: Extract<Command, { type: 'reopen-item' }>,
): Decision {
  const found = findItem(checklist, command.itemId);
  if (!found) return reject('unknown_item', `This deployment has no item "${command.itemId}".`);
  const { item, phase } = found;
  if (current.status === 'paused') return reject('not_active', 'This deployment is paused; resume it first.');
  if (current.phases[phase.id]?.status !== 'active') {
    return reject('phase_closed', `"${phase.title}" is no longer open, so its items cannot be reopened.`);
  }
  const itemState = current.items[item.id] ?? { status: 'pending' };
  if (itemState.status === 'pending') return reject('unchanged', `"${item.title}" is already open.`);
  if (item.kind === 'signoff' && !itemState.waived)
    return reject('not_applicable', `Signatures are taken back one by one: each signer can Withdraw theirs.`);
  // A shift that happened is on the cluster: reopening its step would make the thread say otherwise.
  if (item.kind === 'traffic' && itemState.status === 'done' && itemState.run !== undefined)
    return reject(
      'not_applicable',
      `“${item.title}” moved traffic (${itemState.result?.summary ?? 'read back'}); a click cannot move it back. Shift with \`/deploy traffic\`, or roll back.`,
    );

  const state = copyForChange(current);
  state.items[item.id] = { status: 'pending', ...(itemState.run ? { run: itemState.run } : {}) };
  const events: DeploymentEvent[] = [
    {
      type: 'item.reopened',
      at: command.at,
      actor: command.actor,
      phaseId: phase.id,
      itemId: item.id,
      from: itemState.status,
    },
  ];
  // A reopened check runs again.
  startReachedWork(checklist, state, command.at, events);
  return { ok: true, state, events };
}
