import { walkedPhases } from '../../checklists/phases.js';
import type { Checklist, Item, Phase } from '../../checklists/schema.js';
import { type Actor, BOT_ACTOR, type Deployment, isResolved, type TrafficTarget } from '../model.js';
import { blockedBy } from './rules.js';
import type { DeploymentEvent } from './types.js';

/** Moving through phases: opening, closing, finishing, and starting the automated work a phase reaches. */

/**
 * Phases come in three kinds. Flow phases are walked in order: the open one closes when its required items
 * are resolved and the next opens; after the last, the deployment completes. Follow-up phases (`after:`)
 * are not walked: they are scheduled when new code first takes all traffic (or at completion, whichever
 * comes first), open on their own at that time, and close like any phase once their items are resolved.
 * Rollback phases (`rollback.phases`) are walked in order once a rollback has finished, in the same thread.
 */
export function isFollowUp(phase: Phase): boolean {
  return phase.after !== undefined;
}

/** Closes finished phases, opens what comes next, completes the flow, and starts newly reached work. */
export function advance(
  checklist: Checklist,
  state: Deployment,
  at: number,
  events: DeploymentEvent[],
): void {
  closeFinishedFollowUps(checklist, state, at, events);
  if (state.status === 'rolled_back') walkRollbackPhases(checklist, state, at, events);
  if (state.status !== 'active') {
    startReachedWork(checklist, state, at, events);
    return;
  }
  while (state.currentPhase < checklist.phases.length) {
    const phase = checklist.phases[state.currentPhase] as Phase;
    const done = phase.items.every((item) => !item.required || isResolved(state.items[item.id]));
    // While a shift's outcome is unknown, what serves users is unknown: the flow waits for a read-back.
    if (!done || state.operation?.uncertain) {
      startReachedWork(checklist, state, at, events);
      return;
    }
    state.phases[phase.id] = { ...state.phases[phase.id], status: 'completed', completedAt: at };
    events.push({ type: 'phase.completed', at, actor: BOT_ACTOR, phaseId: phase.id });
    state.currentPhase = nextFlowPhase(checklist, state.currentPhase + 1);
    if (state.currentPhase < checklist.phases.length)
      openPhase(checklist, state, state.currentPhase, at, BOT_ACTOR, events);
  }
  finish(checklist, state, at, BOT_ACTOR, events);
}

/**
 * After a rollback: closes the open rollback phase once its required items are resolved and opens the next.
 * The first one opens when the rollback finishes (openRollbackWalk). Nothing else follows the last one:
 * the deployment has already ended, and the report shows how far the walk got.
 */
function walkRollbackPhases(
  checklist: Checklist,
  state: Deployment,
  at: number,
  events: DeploymentEvent[],
): void {
  const rollbackPhases = checklist.rollback?.phases ?? [];
  for (const [offset, phase] of rollbackPhases.entries()) {
    if (state.phases[phase.id]?.status !== 'active') continue;
    if (!phase.items.every((item) => !item.required || isResolved(state.items[item.id]))) return;
    state.phases[phase.id] = { ...state.phases[phase.id], status: 'completed', completedAt: at };
    events.push({ type: 'phase.completed', at, actor: BOT_ACTOR, phaseId: phase.id });
    const next = rollbackPhases[offset + 1];
    if (next) openRollbackPhase(checklist, state, next, at, events);
  }
}

/** A rollback has finished: its checklist's rollback phases start, in the thread, from the first. */
export function openRollbackWalk(
  checklist: Checklist,
  state: Deployment,
  at: number,
  events: DeploymentEvent[],
): void {
  const first = checklist.rollback?.phases[0];
  if (!first || state.phases[first.id] !== undefined) return;
  openRollbackPhase(checklist, state, first, at, events);
  advance(checklist, state, at, events);
}

function openRollbackPhase(
  checklist: Checklist,
  state: Deployment,
  phase: Phase,
  at: number,
  events: DeploymentEvent[],
): void {
  openPhase(checklist, state, walkedPhases(checklist).indexOf(phase), at, BOT_ACTOR, events);
  // "Traffic switched back to blue": a step the rollback itself has just done is done, by Flightdeck.
  const after = state.rollback?.after;
  for (const item of phase.items) {
    if (item.kind !== 'traffic' || !after || !trafficIsAt(item.traffic, after)) continue;
    if (state.items[item.id]?.status !== 'pending') continue;
    const reason = `the rollback did this: ${after.description}`;
    state.items[item.id] = { status: 'done', by: BOT_ACTOR, at, reason };
    events.push({
      type: 'item.resolved',
      at,
      actor: BOT_ACTOR,
      phaseId: phase.id,
      itemId: item.id,
      from: 'pending',
      to: 'done',
      reason,
    });
  }
}

function trafficIsAt(target: TrafficTarget, state: { weight?: number; slot?: string }): boolean {
  return 'slot' in target ? state.slot === target.slot : state.weight === target.weight;
}

/** The index of the first flow phase at or after `from` (the phase count when there is none). */
export function nextFlowPhase(checklist: Checklist, from: number): number {
  let index = from;
  while (index < checklist.phases.length && isFollowUp(checklist.phases[index] as Phase)) index++;
  return index;
}

export function openPhase(
  checklist: Checklist,
  state: Deployment,
  index: number,
  at: number,
  actor: Actor,
  events: DeploymentEvent[],
): void {
  const phase = walkedPhases(checklist)[index] as Phase;
  state.phases[phase.id] = { ...state.phases[phase.id], status: 'active', openedAt: at };
  // Rollback phases get their items only when they open (most deployments never roll back).
  for (const item of phase.items) state.items[item.id] ??= { status: 'pending' };
  events.push({ type: 'phase.opened', at, actor, phaseId: phase.id });
  if (phase.starts_guards && state.guardsArmedAt === undefined) {
    state.guardsArmedAt = at;
    events.push({ type: 'guards.armed', at, actor: BOT_ACTOR });
  }
}

export function finish(
  checklist: Checklist,
  state: Deployment,
  at: number,
  actor: Actor,
  events: DeploymentEvent[],
): void {
  state.status = 'completed';
  state.endedAt = at;
  state.endedBy = actor;
  // New code keeps taking all traffic: the rollback triggers keep watching for a while (0: they stop now).
  const watch = checklist.rollback?.watch_after_completion ?? 0;
  if (state.guardsArmedAt !== undefined && (checklist.rollback?.triggers.length ?? 0) > 0 && watch > 0)
    state.watchUntil = at + Math.round(watch * (state.timeScale ?? 1));
  events.push({ type: 'deployment.completed', at, actor });
  scheduleFollowUps(checklist, state, at, events);
}

/** Follow-up phases get their due times, once: at full traffic or completion, whichever is first. */
export function scheduleFollowUps(
  checklist: Checklist,
  state: Deployment,
  at: number,
  events: DeploymentEvent[],
): void {
  if (state.followUpsFrom !== undefined) return;
  const followUps = checklist.phases.filter(isFollowUp);
  if (followUps.length === 0) return;
  state.followUpsFrom = at;
  for (const phase of followUps) {
    const dueAt = at + Math.round((phase.after ?? 0) * (state.timeScale ?? 1));
    state.phases[phase.id] = { status: 'scheduled', dueAt };
    events.push({ type: 'phase.scheduled', at, actor: BOT_ACTOR, phaseId: phase.id, dueAt });
  }
}

/** Follow-up phases whose required items are all resolved are complete. */
function closeFinishedFollowUps(
  checklist: Checklist,
  state: Deployment,
  at: number,
  events: DeploymentEvent[],
): void {
  for (const phase of checklist.phases) {
    if (!isFollowUp(phase) || state.phases[phase.id]?.status !== 'active') continue;
    if (phase.items.every((item) => !item.required || isResolved(state.items[item.id]))) {
      state.phases[phase.id] = { ...state.phases[phase.id], status: 'completed', completedAt: at };
      events.push({ type: 'phase.completed', at, actor: BOT_ACTOR, phaseId: phase.id });
    }
  }
}

/**
 * Starts the automated work the open phase has reached: its checks (queued for a worker) and its watch
 * windows (timers) — all at once, or one by one in a sequential phase.
 */
export function startReachedWork(
  checklist: Checklist,
  state: Deployment,
  at: number,
  events: DeploymentEvent[],
): void {
  // Work waits while paused; after completion only follow-up phases have any, after a rollback only the
  // rollback phases (a flow phase the rollback interrupted stays as it was).
  const phases =
    state.status === 'active' || state.status === 'completed'
      ? checklist.phases
      : state.status === 'rolled_back'
        ? (checklist.rollback?.phases ?? [])
        : [];
  for (const phase of phases) {
    if (state.phases[phase.id]?.status !== 'active') continue;
    for (const item of phase.items) {
      if ((item.kind !== 'check' && item.kind !== 'wait') || state.items[item.id]?.status !== 'pending')
        continue;
      if (blockedBy(phase, state, item.id)) continue;
      if (item.kind === 'check') requestCheck(state, phase, item, at, BOT_ACTOR, events);
      else startWait(state, phase, item, at, events);
    }
  }
}

/** A watch window begins: the item runs until its timer fires (unless a rollback trigger rolls back first). */
export function startWait(
  state: Deployment,
  phase: Phase,
  item: Extract<Item, { kind: 'wait' }>,
  at: number,
  events: DeploymentEvent[],
): void {
  const run = (state.items[item.id]?.run ?? 0) + 1;
  state.items[item.id] = { status: 'running', run, at };
  events.push({
    type: 'wait.started',
    at,
    actor: BOT_ACTOR,
    phaseId: phase.id,
    itemId: item.id,
    run,
    until: at + Math.round(item.wait.duration * (state.timeScale ?? 1)),
  });
}

/** Marks a check as requested (a new run) and says so, so a worker picks it up. */
export function requestCheck(
  state: Deployment,
  phase: Phase,
  item: Item,
  at: number,
  actor: Actor,
  events: DeploymentEvent[],
): void {
  const run = (state.items[item.id]?.run ?? 0) + 1;
  const previous = state.items[item.id]?.result;
  state.items[item.id] = { status: 'running', run, ...(previous ? { result: previous } : {}) };
  events.push({ type: 'check.requested', at, actor, phaseId: phase.id, itemId: item.id, run });
}
