import type { Checklist, Item } from '../../checklists/schema.js';
import { BOT_ACTOR, copyForChange, type Deployment, type EscalationState, isResolved } from '../model.js';
import { isFollowUp } from './phases.js';
import { reject } from './rules.js';
import type { Command, Decision, DeploymentEvent } from './types.js';

/**
 * Escalations: what nobody answered climbs a chain of levels (the owners, then on-call, then…), each
 * after its delay, until someone acknowledges it or its cause goes away. The causes are derived from the
 * state after every transition, so no path can forget to start or stop one:
 *
 *   phase:<id>    an open phase still has required items waiting for people (manual steps, sign-offs)
 *   check:<id>    a check failed or could not be evaluated, and nobody re-ran or overrode it
 *   guard:<id>    a rollback trigger fired without automatic rollback (`guard:` is its stored name, kept)
 *
 * A cause that comes back after it went away starts a new chain (its `chain` number grows), so the
 * timers of an old chain can never fire into a new one.
 */

/** Starts chains for new causes and resolves chains whose cause is gone. Called after every transition. */
export function reconcileEscalations(
  checklist: Checklist,
  state: Deployment,
  at: number,
  events: DeploymentEvent[],
): void {
  const levels = state.escalationLevels ?? [];
  if (levels.length === 0) return;
  const wanted = causes(checklist, state, at);
  const current = state.escalations ?? {};
  let next: Record<string, EscalationState> | undefined;
  const edit = () => {
    next ??= { ...current };
    return next;
  };
  for (const [key, startedAt] of wanted) {
    const existing = current[key];
    if (existing && existing.resolvedAt === undefined) continue;
    const chain = (existing?.chain ?? 0) + 1;
    edit()[key] = { chain, startedAt, level: 0 };
    // Not scaled by time_scale: escalation delays are configured for what they are (tests use ms).
    const firstAt = startedAt + (levels[0]?.after ?? 0);
    events.push({ type: 'escalation.started', at, actor: BOT_ACTOR, key, chain, startedAt, firstAt });
  }
  for (const [key, escalation] of Object.entries(current)) {
    if (escalation.resolvedAt !== undefined || wanted.has(key)) continue;
    edit()[key] = { ...escalation, resolvedAt: at };
    events.push({
      type: 'escalation.resolved',
      at,
      actor: BOT_ACTOR,
      key,
      chain: escalation.chain,
      paged: escalation.paged === true,
    });
  }
  if (next) state.escalations = next;
}

/** Cause key -> since when it has been waiting. */
function causes(checklist: Checklist, state: Deployment, at: number): Map<string, number> {
  const wanted = new Map<string, number>();
  if (state.status === 'aborted') return wanted;
  // After a rollback only its rollback phases are walked (and escalate); the interrupted flow is over.
  const phases = state.status === 'rolled_back' ? (checklist.rollback?.phases ?? []) : checklist.phases;
  for (const phase of phases) {
    const phaseState = state.phases[phase.id];
    if (phaseState?.status !== 'active') continue;
    // After completion only follow-up phases are still walked.
    if (state.status === 'completed' && !isFollowUp(phase)) continue;
    if (phase.items.some((item) => waitsForPeople(item, state)))
      wanted.set(`phase:${phase.id}`, phaseState.openedAt ?? at);
    for (const item of phase.items) {
      const itemState = state.items[item.id];
      if (
        item.kind === 'check' &&
        item.required &&
        (itemState?.status === 'failed' || itemState?.status === 'error')
      ) {
        wanted.set(`check:${item.id}`, itemState.at ?? at);
      }
    }
  }
  // A trigger that fired asks for a rollback: once rolled back, nobody needs calling about it.
  if (state.status === 'rolled_back') return wanted;
  // Someone who may roll back decided to go on (an override with a reason): nobody else needs calling.
  for (const [triggerId, firedAt] of Object.entries(state.firedGuards ?? {}))
    if (state.guardOverrides?.[triggerId]?.firedAt !== firedAt) wanted.set(`guard:${triggerId}`, firedAt);
  return wanted;
}

/** A required step only a person can resolve, still open (what a phase's escalation is about). */
export function waitsForPeople(item: Item, state: Deployment): boolean {
  if (!item.required || isResolved(state.items[item.id])) return false;
  if (item.kind === 'manual' || item.kind === 'signoff') return true;
  // Without a traffic strategy a traffic step is done by hand.
  return (
    item.kind === 'traffic' &&
    state.trafficStrategy === undefined &&
    state.items[item.id]?.status !== 'running'
  );
}

/** A level's timer fired: notify (and page) unless the chain was answered, resolved or moved on. */
export function escalate(current: Deployment, command: Extract<Command, { type: 'escalate' }>): Decision {
  const escalation = current.escalations?.[command.key];
  const level = current.escalationLevels?.[command.level - 1];
  if (!escalation || !level || escalation.chain !== command.chain || escalation.resolvedAt !== undefined) {
    return reject('unchanged', 'That escalation is over.');
  }
  if (escalation.acknowledgedBy) return reject('unchanged', 'Already acknowledged.');
  // Held while paused; on resume the chain's timers are set again from its moved start.
  if (current.status === 'paused') return reject('not_active', 'Paused: the chain climbs again on resume.');
  if (command.startedAt !== undefined && command.startedAt !== escalation.startedAt)
    return reject('unchanged', 'That timer was set before a pause moved the chain on.');
  if (command.level !== escalation.level + 1)
    return reject('unchanged', `Level ${command.level} is not next.`);
  const state = copyForChange(current);
  state.escalations = {
    ...state.escalations,
    [command.key]: {
      ...escalation,
      level: command.level,
      ...(level.page || escalation.paged ? { paged: true } : {}),
    },
  };
  const following = current.escalationLevels?.[command.level];
  // Unscaled, like the first level (see reconcileEscalations): every level counts from the same start.
  const nextAt = following ? escalation.startedAt + following.after : undefined;
  return {
    ok: true,
    state,
    events: [
      {
        type: 'escalation.level',
        at: command.at,
        actor: BOT_ACTOR,
        key: command.key,
        chain: escalation.chain,
        level: command.level,
        of: current.escalationLevels?.length ?? command.level,
        notify: level.notify,
        page: level.page,
        ...(nextAt !== undefined ? { nextAt } : {}),
      },
    ],
  };
}

/** Someone took it: the chain stops and the record says who. */
export function acknowledge(
  current: Deployment,
  command: Extract<Command, { type: 'acknowledge-escalation' }>,
): Decision {
  const escalation = current.escalations?.[command.key];
  if (!escalation || escalation.resolvedAt !== undefined)
    return reject('unchanged', 'That escalation is already over.');
  if (escalation.acknowledgedBy)
    return reject('unchanged', `Already acknowledged by <@${escalation.acknowledgedBy}>.`);
  const state = copyForChange(current);
  state.escalations = {
    ...state.escalations,
    [command.key]: { ...escalation, acknowledgedBy: command.actor, acknowledgedAt: command.at },
  };
  return {
    ok: true,
    state,
    events: [
      {
        type: 'escalation.acknowledged',
        at: command.at,
        actor: command.actor,
        key: command.key,
        chain: escalation.chain,
        paged: escalation.paged === true,
      },
    ],
  };
}
