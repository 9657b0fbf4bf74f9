import type { Checklist, Item, Phase } from '../../checklists/schema.js';
import { BOT_ACTOR, copyForChange, type Deployment } from '../model.js';
import { advance } from './phases.js';
import { findItem, reject } from './rules.js';
import type { Command, Decision, DeploymentEvent } from './types.js';

/**
 * Sign-offs: a role signs, `count` distinct people. Each signature records who and when; one person counts
 * once; with `four_eyes` the requester cannot sign their own deployment (permissions.ts); a signer may
 * withdraw while the phase is open. The item is done when enough people have signed. (The phase being
 * open is checked by resolveItem before it hands over.)
 */
export function signOff(
  checklist: Checklist,
  current: Deployment,
  item: Extract<Item, { kind: 'signoff' }>,
  phase: Phase,
  command: Extract<Command, { type: 'resolve-item' }>,
): Decision {
  // A signature is a person's: Flightdeck never signs.
  if (command.actor === BOT_ACTOR) return reject('forbidden', 'Flightdeck does not sign off.');
  const signatures = current.items[item.id]?.signatures ?? [];
  if (signatures.some((signature) => signature.by === command.actor)) {
    return reject('unchanged', `You already signed “${item.title}”.`);
  }
  const state = copyForChange(current);
  const signed = [...signatures, { by: command.actor, at: command.at }];
  const needed = item.signoff.count;
  const complete = signed.length >= needed;
  state.items[item.id] = complete
    ? { status: 'done', by: command.actor, at: command.at, signatures: signed }
    : { status: 'pending', signatures: signed };
  const events: DeploymentEvent[] = [
    {
      type: 'signoff.signed',
      at: command.at,
      actor: command.actor,
      phaseId: phase.id,
      itemId: item.id,
      signed: signed.length,
      needed,
    },
  ];
  if (complete) {
    events.push({
      type: 'item.resolved',
      at: command.at,
      actor: command.actor,
      phaseId: phase.id,
      itemId: item.id,
      from: 'pending',
      to: 'done',
    });
    advance(checklist, state, command.at, events);
  }
  return { ok: true, state, events };
}

/** A signer takes their signature back while the phase is still open. */
export function withdrawSignoff(
  checklist: Checklist,
  current: Deployment,
  command: Extract<Command, { type: 'withdraw-signoff' }>,
): Decision {
  const found = findItem(checklist, command.itemId);
  if (found?.item.kind !== 'signoff') return reject('unknown_item', `No sign-off "${command.itemId}".`);
  if (current.phases[found.phase.id]?.status !== 'active') {
    return reject('phase_closed', `“${found.phase.title}” is closed; signatures there are final.`);
  }
  const itemState = current.items[command.itemId];
  const signatures = itemState?.signatures ?? [];
  if (!signatures.some((signature) => signature.by === command.actor)) {
    return reject('unchanged', `You have not signed “${found.item.title}”.`);
  }
  const state = copyForChange(current);
  const remaining = signatures.filter((signature) => signature.by !== command.actor);
  const stillComplete = remaining.length >= found.item.signoff.count;
  state.items[command.itemId] = stillComplete
    ? { ...(itemState as NonNullable<typeof itemState>), signatures: remaining }
    : { status: 'pending', signatures: remaining };
  return {
    ok: true,
    state,
    events: [
      {
        type: 'signoff.withdrawn',
        at: command.at,
        actor: command.actor,
        phaseId: found.phase.id,
        itemId: command.itemId,
        signed: remaining.length,
        needed: found.item.signoff.count,
      },
    ],
  };
}
