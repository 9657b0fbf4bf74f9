import { ANYONE } from '../../checklists/owners.js';
import type { Checklist, Item } from '../../checklists/schema.js';
import { type Actor, BOT_ACTOR, type Deployment, type Resolution } from '../model.js';
import { findItem } from './rules.js';
import type { Command, RejectionCode } from './types.js';

/**
 * Who may do what: one rule per action, and every path that reaches the same outcome asks the same rule.
 * Skipping or marking n/a is at least as privileged as doing; undoing is as privileged as what it undoes;
 * a sign-off is cleared only by its signers (or, where the checklist names a `waivable_by` role, waived);
 * nothing is open to everyone unless the configuration says `anyone`.
 *
 *   deployers   the requester, and members of the service's `deployers` roles (`anyone` when it says so)
 *   owners      an item's `owner` role; `owner: anyone` is everyone; without an owner, the deployers
 *
 * The engine asks `authorize` before every transition a person asks for; the Slack listeners ask it too,
 * before they open a dialog, so nobody types a reason only to be refused.
 */

export interface Who {
  actor: Actor;
  roles: readonly string[];
}

export interface Refusal {
  code: Extract<RejectionCode, 'forbidden' | 'four_eyes' | 'not_waivable'>;
  message: string;
}

/** Undefined when `command` may be carried out by whoever asks for it; else why not. */
export function authorize(checklist: Checklist, state: Deployment, command: Command): Refusal | undefined {
  if (!('actor' in command) || command.actor === BOT_ACTOR) return undefined;
  const who: Who = { actor: command.actor, roles: 'actorRoles' in command ? command.actorRoles : [] };
  switch (command.type) {
    case 'resolve-item': {
      const item = findItem(checklist, command.itemId)?.item;
      return item && mayResolve(checklist, state, who, item, command.resolution);
    }
    case 'reopen-item': {
      const item = findItem(checklist, command.itemId)?.item;
      return item && mayUndo(checklist, state, who, item);
    }
    case 'rerun-check':
    case 'override-check': {
      const item = findItem(checklist, command.itemId)?.item;
      return item && mayTend(state, who, item, command.type === 'rerun-check' ? 're-run' : 'override');
    }
    case 'request-traffic': {
      const item = command.itemId ? findItem(checklist, command.itemId)?.item : undefined;
      return item
        ? mayTend(state, who, item, 'shift traffic for')
        : maySteer(state, who, 'shift traffic for');
    }
    case 'request-rollback':
      return maySteer(state, who, 'roll back');
    case 'override-guard':
      return maySteer(state, who, 'override a rollback trigger’s hold');
    case 'pause':
      return maySteer(state, who, 'pause');
    case 'resume':
      return maySteer(state, who, 'resume');
    case 'abort':
      return maySteer(state, who, 'abort');
    case 'acknowledge-escalation':
      return mayAcknowledge(checklist, state, who, command.key);
    case 'record-retrospective':
      return isDeployer(state, who) || checklistRoles(checklist).some((role) => who.roles.includes(role))
        ? undefined
        : forbidden(`Only ${deployersPhrase(state)} or the checklist’s roles can write the retrospective.`);
    default:
      // Withdrawing a signature is one's own (the engine checks it is); the rest are Flightdeck's.
      return undefined;
  }
}

/** The requester and the deployer roles: who steers a deployment (start, traffic, rollback, pause, abort). */
export function isDeployer(state: Pick<Deployment, 'requestedBy' | 'deployers'>, who: Who): boolean {
  return (
    who.actor === BOT_ACTOR ||
    who.actor === state.requestedBy ||
    state.deployers.includes(ANYONE) ||
    state.deployers.some((role) => who.roles.includes(role))
  );
}

/** Whether `who` owns `item`: its owner role (a sign-off: its signing role), `anyone`, else the deployers. */
export function owns(state: Deployment, who: Who, item: Item): boolean {
  const owner = item.kind === 'signoff' ? item.signoff.role : item.owner;
  if (owner === ANYONE) return true;
  if (owner !== undefined) return who.roles.includes(owner);
  return isDeployer(state, who);
}

/** "the requester or the *deployer* role" — the deployers, in words. */
export function deployersPhrase(state: Pick<Deployment, 'deployers'>): string {
  if (state.deployers.includes(ANYONE)) return 'anyone';
  return state.deployers.length > 0
    ? `the requester or the *${state.deployers.join('*, *')}* role`
    : 'the requester';
}

/** Who owns an item, in words: "the *dba* role", "anyone", "the requester or the *deployer* role". */
export function ownersPhrase(state: Pick<Deployment, 'deployers'>, item: Item): string {
  const owner = item.kind === 'signoff' ? item.signoff.role : item.owner;
  if (owner === ANYONE) return 'anyone';
  return owner !== undefined ? `the *${owner}* role` : deployersPhrase(state);
}

function maySteer(state: Deployment, who: Who, what: string): Refusal | undefined {
  return isDeployer(state, who)
    ? undefined
    : forbidden(`Only ${deployersPhrase(state)} can ${what} this deployment.`);
}

/** Done, skip or n/a by hand. */
function mayResolve(
  checklist: Checklist,
  state: Deployment,
  who: Who,
  item: Item,
  resolution: Resolution,
): Refusal | undefined {
  const title = `“${item.title}”`;
  switch (item.kind) {
    case 'manual':
      return owns(state, who, item)
        ? undefined
        : forbidden(`Only ${ownersPhrase(state, item)} can change ${title}.`);
    case 'signoff':
      return resolution === 'done'
        ? maySign(checklist, state, who, item)
        : mayWaive(checklist, state, who, item);
    case 'check':
      return mayTend(state, who, item, RESOLVING[resolution]);
    case 'traffic':
    case 'wait':
      // Resolving a traffic step or a watch window by hand decides as much as shifting traffic does.
      return mayTend(state, who, item, resolution === 'done' ? 'confirm' : RESOLVING[resolution]);
  }
}

const RESOLVING: Record<Resolution, string> = { done: 'mark done', skipped: 'skip', 'n/a': 'mark n/a' };

/**
 * Checks, traffic steps and watch windows: their owner role and the deployers. (For a traffic step this is
 * "who may shift traffic", so skipping one is exactly as privileged as pressing its Shift button.)
 */
function mayTend(state: Deployment, who: Who, item: Item, what: string): Refusal | undefined {
  if (owns(state, who, item) || isDeployer(state, who)) return undefined;
  const owner = item.kind === 'signoff' ? undefined : item.owner;
  const whom =
    owner !== undefined && owner !== ANYONE
      ? `the *${owner}* role or ${deployersPhrase(state)}`
      : deployersPhrase(state);
  return forbidden(`Only ${whom} can ${what} “${item.title}”.`);
}

function maySign(
  checklist: Checklist,
  state: Deployment,
  who: Who,
  item: Extract<Item, { kind: 'signoff' }>,
): Refusal | undefined {
  if (!owns(state, who, item))
    return forbidden(`Only members of the *${item.signoff.role}* role can sign “${item.title}”.`);
  if (checklist.four_eyes && who.actor === state.requestedBy)
    return {
      code: 'four_eyes',
      message: 'You started this deployment, so someone else has to sign off (four eyes).',
    };
  return undefined;
}

/** Skip or n/a on a sign-off is a waiver: only its `waivable_by` role, and never by one of its signers. */
function mayWaive(
  checklist: Checklist,
  state: Deployment,
  who: Who,
  item: Extract<Item, { kind: 'signoff' }>,
): Refusal | undefined {
  const role = item.signoff.waivable_by;
  const needed = `${item.signoff.count > 1 ? `${item.signoff.count} signatures` : 'a signature'} from the *${item.signoff.role}* role`;
  if (role === undefined)
    return {
      code: 'not_waivable',
      message: `A sign-off cannot be skipped or marked n/a: “${item.title}” needs ${needed}.`,
    };
  if (!(role === ANYONE || who.roles.includes(role)))
    return forbidden(`Only the *${role}* role can waive “${item.title}”; otherwise it needs ${needed}.`);
  if (checklist.four_eyes && who.actor === state.requestedBy)
    return {
      code: 'four_eyes',
      message: 'You started this deployment, so someone else has to waive this sign-off (four eyes).',
    };
  if ((state.items[item.id]?.signatures ?? []).some((signature) => signature.by === who.actor))
    return {
      code: 'four_eyes',
      message: `You signed “${item.title}”; a waiver must come from someone who did not.`,
    };
  return undefined;
}

/** Undo is as privileged as what it undoes. */
function mayUndo(checklist: Checklist, state: Deployment, who: Who, item: Item): Refusal | undefined {
  if (item.kind === 'signoff') {
    // A signature is withdrawn by its signer (Withdraw); only a waiver is undone as a whole.
    return state.items[item.id]?.waived ? mayWaive(checklist, state, who, item) : undefined;
  }
  return item.kind === 'manual'
    ? mayResolve(checklist, state, who, item, 'done')
    : mayTend(state, who, item, 'undo');
}

/**
 * Acknowledging an escalation: the deployers, the owners of what waits, and the roles the chain has
 * notified so far (a level's `owner` meaning those same owners).
 */
function mayAcknowledge(checklist: Checklist, state: Deployment, who: Who, key: string): Refusal | undefined {
  if (isDeployer(state, who)) return undefined;
  const waiting = causeItems(checklist, state, key);
  if (waiting.some((item) => owns(state, who, item))) return undefined;
  const reached = state.escalations?.[key]?.level ?? 0;
  const notified = (state.escalationLevels ?? []).slice(0, reached).map((level) => level.notify);
  if (notified.some((role) => role !== 'owner' && who.roles.includes(role))) return undefined;
  const roles = [...new Set(notified.filter((role) => role !== 'owner'))];
  const also = roles.length > 0 ? `, the *${roles.join('*, *')}* role` : '';
  return forbidden(
    `Only ${deployersPhrase(state)}${also} or the owners of what waits can acknowledge this escalation.`,
  );
}

/** The items an escalation is about: what waits in its phase, or its check (a trigger has none). */
function causeItems(checklist: Checklist, state: Deployment, key: string): Item[] {
  const [kind, id = ''] = key.split(/:(.*)/s);
  if (kind === 'check') {
    const item = findItem(checklist, id)?.item;
    return item ? [item] : [];
  }
  if (kind !== 'phase') return [];
  const phase = [...checklist.phases, ...(checklist.rollback?.phases ?? [])].find((p) => p.id === id);
  return (phase?.items ?? []).filter((item) => {
    const status = state.items[item.id]?.status;
    return item.required && (status === undefined || status === 'pending');
  });
}

/** Every role a checklist names for its items. */
function checklistRoles(checklist: Checklist): string[] {
  return [...checklist.phases, ...(checklist.rollback?.phases ?? [])].flatMap((phase) =>
    phase.items.flatMap((item) =>
      item.kind === 'signoff'
        ? [item.signoff.role, ...(item.signoff.waivable_by ? [item.signoff.waivable_by] : [])]
        : item.owner
          ? [item.owner]
          : [],
    ),
  );
}

function forbidden(message: string): Refusal {
  return { code: 'forbidden', message };
}
