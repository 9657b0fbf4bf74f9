import type { Checklist, Item } from '../../checklists/schema.js';
import {
  BOT_ACTOR,
  copyForChange,
  type Deployment,
  isRollingBack,
  type Operation,
  type OutcomeUnknown,
  type TrafficState,
  type TrafficTarget,
} from '../model.js';
import { advance, openRollbackWalk, scheduleFollowUps } from './phases.js';
import { blockedBy, findItem, reject } from './rules.js';
import {
  type Command,
  type Decision,
  type DeploymentEvent,
  isUnknownOutcome,
  type OperationOutcome,
  type UnknownOutcome,
} from './types.js';

/**
 * Traffic and rollback: the engine decides, a worker changes the cluster and reports back. One operation
 * is in flight at a time; each has a run number, and a report for anything but the current run is
 * ignored — a rollback supersedes a shift still in flight. Rollback triggers are armed by the
 * first shift that puts new code in front of users. A rollback always returns to what was live when the
 * deployment started (`liveAtStart`), never "the other slot" or "the previous revision". A trigger that
 * fired without rolling back by itself holds every shift that would send more users to the new code,
 * until someone who may roll back does, or overrides the hold with a reason.
 *
 * A write whose outcome is unknown (it may have been applied, and nothing could be read since) is neither
 * done nor failed: the operation stays in flight, `uncertain`, while a worker reads the cluster again
 * with backoff; what a read shows decides. Meanwhile no other shift starts and the flow holds.
 */

export function requestTraffic(
  checklist: Checklist,
  current: Deployment,
  command: Extract<Command, { type: 'request-traffic' }>,
): Decision {
  if (current.status === 'paused') return reject('not_active', 'This deployment is paused; resume it first.');
  if (current.operation) {
    return reject(
      'busy',
      `A ${current.operation.kind} operation is already in progress; wait for it to finish.`,
    );
  }
  let target: TrafficTarget | undefined = command.target;
  if (command.itemId) {
    const found = findItem(checklist, command.itemId);
    if (found?.item.kind !== 'traffic')
      return reject('not_applicable', `No traffic step "${command.itemId}".`);
    if (current.phases[found.phase.id]?.status !== 'active') {
      return reject('phase_not_open', `“${found.phase.title}” is not the open phase.`);
    }
    const earlier = blockedBy(found.phase, current, found.item.id);
    if (earlier)
      return reject('out_of_order', `This phase goes step by step: finish “${earlier.title}” first.`);
    const status = current.items[found.item.id]?.status;
    if (status === 'done' || status === 'skipped' || status === 'n/a') {
      return reject('unchanged', `“${found.item.title}” is already ${status}.`);
    }
    target = found.item.traffic;
  }
  if (!target)
    return reject('not_applicable', 'Say where traffic should go: a weight (0–100) or a slot (blue/green).');
  const holding = holdingTriggers(current);
  if (holding.length > 0 && exposesMore(current, target)) {
    return reject(
      'held',
      `Held: the rollback trigger${holding.length > 1 ? 's' : ''} ${holding.map((id) => `“${id}”`).join(', ')} fired. Roll back, or override the hold with a reason (on the trigger’s message), before sending more traffic to the new version.`,
    );
  }

  if (!command.itemId && !command.confirmed) {
    const { jumped } = commandShiftPlan(checklist, current, target);
    if (jumped.length > 0)
      return reject(
        'unconfirmed',
        `Shifting to ${'weight' in target ? `${target.weight}%` : target.slot} jumps over ${jumped.map((item) => `“${item.title}”`).join(', ')}, not watched yet. Confirm to shift anyway (they are marked skipped, with your name).`,
      );
  }

  const state = copyForChange(current);
  const run = (state.operations ?? 0) + 1;
  state.operations = run;
  state.operation = {
    kind: 'traffic',
    run,
    requestedBy: command.actor,
    requestedAt: command.at,
    target,
    ...(command.itemId ? { itemId: command.itemId } : {}),
  };
  if (command.itemId)
    state.items[command.itemId] = { ...state.items[command.itemId], status: 'running', run };
  return {
    ok: true,
    state,
    events: [
      {
        type: 'traffic.requested',
        at: command.at,
        actor: command.actor,
        run,
        target,
        ...(command.itemId ? { itemId: command.itemId } : {}),
      },
    ],
  };
}

export function recordTraffic(
  checklist: Checklist,
  current: Deployment,
  command: Extract<Command, { type: 'traffic-result' }>,
): Decision {
  const operation = current.operation;
  if (operation?.kind !== 'traffic' || operation.run !== command.run || !operation.target) {
    return reject('unchanged', `Traffic operation ${command.run} is no longer current.`);
  }
  const { outcome } = command;
  if (isUnknownOutcome(outcome)) return trafficStillUnknown(current, operation, outcome, command);
  const state = copyForChange(current);
  delete state.operation;
  const target = operation.target as TrafficTarget;
  const itemId = operation.itemId;
  if (outcome.ok) {
    const events: DeploymentEvent[] = [recordShift(state, operation, outcome, command)];
    if (itemId) {
      state.items[itemId] = {
        status: 'done',
        by: operation.requestedBy,
        at: command.at,
        run: command.run,
        result: {
          outcome: 'passed',
          summary: outcome.after.description,
          attempts: outcome.attempts,
          durationMs: outcome.durationMs,
          at: command.at,
        },
      };
    }
    // A shift by command and the checklist tell one story: the steps it covers are done by it, and the
    // watch windows it jumped over (confirmed by whoever asked) are skipped, saying so.
    if (!itemId) reconcileSteps(checklist, state, operation, outcome.after, command.at, events);
    // New code now takes traffic (any share, or the new slot): the rollback triggers start watching.
    if (state.guardsArmedAt === undefined && takesTraffic(target)) {
      state.guardsArmedAt = command.at;
      events.push({ type: 'guards.armed', at: command.at, actor: BOT_ACTOR });
    }
    // All traffic on the new code: post-deployment follow-ups count from now (T+30m, T+2h…).
    if ('slot' in target || target.weight === 100) scheduleFollowUps(checklist, state, command.at, events);
    advance(checklist, state, command.at, events);
    return { ok: true, state, events };
  }
  const events: DeploymentEvent[] = [recordFailure(state, operation, outcome, command)];
  if (itemId) {
    state.items[itemId] = {
      status: 'failed',
      run: command.run,
      at: command.at,
      result: { outcome: 'failed', summary: outcome.message, attempts: 1, durationMs: 0, at: command.at },
    };
  }
  // The flow held while the outcome was unknown; items resolved meanwhile may close the phase now.
  if (operation.uncertain) advance(checklist, state, command.at, events);
  return { ok: true, state, events };
}

/**
 * A shift whose outcome was unknown when the deployment was aborted: the abort ends the checklist, not the
 * truth about traffic, so the read-back is still recorded (and read again while unknown). Only where
 * traffic is changes: no step is resolved, no watch starts, no trigger arms, nothing advances.
 */
export function recordTrafficAfterAbort(
  current: Deployment,
  command: Extract<Command, { type: 'traffic-result' }>,
): Decision {
  const operation = current.operation;
  if (operation?.kind !== 'traffic' || operation.run !== command.run || !operation.target) {
    return reject('not_active', `This deployment is already ${current.status.replace('_', ' ')}.`);
  }
  const { outcome } = command;
  if (isUnknownOutcome(outcome)) return trafficStillUnknown(current, operation, outcome, command);
  const state = copyForChange(current);
  delete state.operation;
  const event = outcome.ok
    ? recordShift(state, operation, outcome, command)
    : recordFailure(state, operation, outcome, command);
  return { ok: true, state, events: [event] };
}

type TrafficResult = Extract<Command, { type: 'traffic-result' }>;

/** Still unknown after a read: in flight, read again at `rereadAt`, and the thread says so. */
function trafficStillUnknown(
  current: Deployment,
  operation: Operation,
  outcome: UnknownOutcome,
  command: TrafficResult,
): Decision {
  const state = stillUnknown(current, operation, outcome, command.at);
  const uncertain = state.operation?.uncertain as OutcomeUnknown;
  return {
    ok: true,
    state,
    events: [
      {
        type: 'traffic.unknown',
        at: command.at,
        actor: operation.requestedBy,
        run: command.run,
        target: operation.target as TrafficTarget,
        ...(operation.itemId ? { itemId: operation.itemId } : {}),
        message: outcome.message,
        reads: uncertain.reads,
        nextAt: uncertain.nextAt,
      },
    ],
  };
}

/** A read-back shows the target: traffic is there now, and the shift joins the record. */
function recordShift(
  state: Deployment,
  operation: Operation,
  outcome: Extract<OperationOutcome, { ok: true }>,
  command: TrafficResult,
): DeploymentEvent {
  const target = operation.target as TrafficTarget;
  const itemId = operation.itemId;
  const traffic = state.traffic ?? { shifts: [] };
  traffic.initial ??= outcome.before;
  traffic.current = outcome.after;
  traffic.shifts.push({
    at: command.at,
    by: operation.requestedBy,
    ...(itemId ? { itemId } : {}),
    target,
    before: outcome.before,
    after: outcome.after,
    durationMs: outcome.durationMs,
  });
  state.traffic = traffic;
  return {
    type: 'traffic.shifted',
    at: command.at,
    actor: operation.requestedBy,
    run: command.run,
    target,
    ...(itemId ? { itemId } : {}),
    before: outcome.before,
    after: outcome.after,
    durationMs: outcome.durationMs,
    ...(operation.uncertain ? { unknownSince: operation.uncertain.since } : {}),
  };
}

/** The shift failed (or a read shows it did not land): traffic is where the cluster says, if it said. */
function recordFailure(
  state: Deployment,
  operation: Operation,
  outcome: Exclude<OperationOutcome, { ok: true } | UnknownOutcome>,
  command: TrafficResult,
): DeploymentEvent {
  if (outcome.state) state.traffic = { ...(state.traffic ?? { shifts: [] }), current: outcome.state };
  return {
    type: 'traffic.failed',
    at: command.at,
    actor: operation.requestedBy,
    run: command.run,
    target: operation.target as TrafficTarget,
    ...(operation.itemId ? { itemId: operation.itemId } : {}),
    code: outcome.code,
    message: outcome.message,
    ...(outcome.state ? { state: outcome.state } : {}),
    ...(operation.uncertain ? { unknownSince: operation.uncertain.since } : {}),
  };
}

/** The outcome is (still) unknown: the operation stays in flight, to be read again at `rereadAt`. */
function stillUnknown(
  current: Deployment,
  operation: Operation,
  outcome: UnknownOutcome,
  at: number,
): Deployment {
  const state = copyForChange(current);
  const earlier = operation.uncertain;
  state.operation = {
    ...operation,
    uncertain: {
      since: earlier?.since ?? at,
      message: earlier?.message ?? outcome.message,
      reads: (earlier?.reads ?? 0) + 1,
      lastTry: at,
      nextAt: outcome.rereadAt,
      ...(earlier ? { lastError: outcome.message } : {}),
    },
  };
  return state;
}

export function requestRollback(
  current: Deployment,
  command: Extract<Command, { type: 'request-rollback' }>,
): Decision {
  if (isRollingBack(current)) return reject('unchanged', 'A rollback is already in progress.');
  if (current.supersededBy)
    return reject(
      'superseded',
      `${current.service} ${current.supersededBy.version} has started since, so ${current.version} is no longer what runs: roll back from the current deployment's thread.`,
    );
  const reason = command.reason.trim();
  if (!reason) return reject('reason_required', 'A rollback needs a reason.');
  const state = copyForChange(current);
  const run = (state.operations ?? 0) + 1;
  state.operations = run;
  // A shift still in flight is superseded: its report will no longer match the current run, and its step
  // goes back to waiting (if the rollback fails, it can be pressed again).
  const superseded = current.operation?.kind === 'traffic' ? current.operation.itemId : undefined;
  if (superseded && state.items[superseded]?.status === 'running') {
    state.items[superseded] = {
      status: 'pending',
      ...(state.items[superseded]?.run ? { run: state.items[superseded]?.run } : {}),
    };
  }
  const to = returnTo(current);
  state.operation = {
    kind: 'rollback',
    run,
    requestedBy: command.actor,
    requestedAt: command.at,
    ...(to ? { to } : {}),
  };
  state.rollback = {
    requestedAt: command.at,
    requestedBy: command.actor,
    reason,
    // A retry after a failed rollback: the earlier attempt may have written (the thread must not say
    // "nothing to move back" then).
    ...(current.rollback?.error || current.rollback?.retried ? { retried: true } : {}),
    ...(command.trigger ? { trigger: command.trigger } : {}),
  };
  return {
    ok: true,
    state,
    events: [
      {
        type: 'rollback.requested',
        at: command.at,
        actor: command.actor,
        run,
        reason,
        ...(command.trigger ? { trigger: command.trigger } : {}),
        ...(to ? { to: withoutTemplate(to) } : {}),
      },
    ],
  };
}

/** What a rollback returns to: what was live at the start (older deployments: before the first shift). */
function returnTo(deployment: Deployment): TrafficState | undefined {
  return deployment.liveAtStart ?? deployment.traffic?.initial;
}

/** The state without a rolling Deployment's pod template: what the audit and the thread show. */
export function withoutTemplate(state: TrafficState): TrafficState {
  const { template: _template, ...shown } = state;
  return shown;
}

export function recordRollback(
  checklist: Checklist,
  current: Deployment,
  command: Extract<Command, { type: 'rollback-result' }>,
): Decision {
  const operation = current.operation;
  if (operation?.kind !== 'rollback' || operation.run !== command.run || !current.rollback) {
    return reject('unchanged', `Rollback ${command.run} is no longer current.`);
  }
  const { outcome } = command;
  if (isUnknownOutcome(outcome)) {
    // Neither failed nor completed: the rollback is still in progress, and the checklist keeps waiting.
    const state = stillUnknown(current, operation, outcome, command.at);
    const uncertain = state.operation?.uncertain as OutcomeUnknown;
    return {
      ok: true,
      state,
      events: [
        {
          type: 'rollback.unknown',
          at: command.at,
          actor: BOT_ACTOR,
          run: command.run,
          message: outcome.message,
          reads: uncertain.reads,
          nextAt: uncertain.nextAt,
        },
      ],
    };
  }
  const state = copyForChange(current);
  delete state.operation;
  const rollback = state.rollback as NonNullable<Deployment['rollback']>;
  if (!outcome.ok) {
    rollback.error = outcome.message;
    if (outcome.state) rollback.errorState = outcome.state;
    return {
      ok: true,
      state,
      events: [
        {
          type: 'rollback.failed',
          at: command.at,
          actor: BOT_ACTOR,
          run: command.run,
          code: outcome.code,
          message: outcome.message,
          ...(outcome.state ? { state: outcome.state } : {}),
        },
      ],
    };
  }
  const durationMs = command.at - rollback.requestedAt;
  // Nothing had moved: this attempt wrote nothing and no earlier attempt of this rollback may have (a
  // write whose outcome was unknown may have: the read-back that settled it writes nothing itself).
  const moved =
    outcome.attempts > 0 ||
    rollback.retried === true ||
    operation.uncertain !== undefined ||
    !current.trafficStrategy;
  delete rollback.error;
  delete rollback.errorState;
  Object.assign(rollback, {
    completedAt: command.at,
    durationMs,
    before: outcome.before,
    after: outcome.after,
    moved,
  });
  state.traffic = { ...(state.traffic ?? { shifts: [] }), current: outcome.after };
  state.status = 'rolled_back';
  state.endedAt = command.at;
  state.endedBy = rollback.requestedBy;
  state.endReason = rollback.reason;
  const events: DeploymentEvent[] = [
    {
      type: 'rollback.completed',
      at: command.at,
      actor: BOT_ACTOR,
      run: command.run,
      before: outcome.before,
      after: outcome.after,
      durationMs,
    },
  ];
  // The checklist's rollback phases (verify the old version, tell people…) are walked next.
  openRollbackWalk(checklist, state, command.at, events);
  return { ok: true, state, events };
}

/** A trigger held without automatic rollback: say so once, until it clears. */
export function recordTriggerFired(
  current: Deployment,
  command: Extract<Command, { type: 'guard-fired' }>,
): Decision {
  if (current.firedGuards?.[command.triggerId] !== undefined) return reject('unchanged', 'Already reported.');
  const state = copyForChange(current);
  state.firedGuards = { ...state.firedGuards, [command.triggerId]: command.at };
  return {
    ok: true,
    state,
    events: [
      {
        type: 'guard.fired',
        at: command.at,
        actor: BOT_ACTOR,
        triggerId: command.triggerId,
        measured: command.measured,
      },
    ],
  };
}

export function recordTriggerCleared(
  current: Deployment,
  command: Extract<Command, { type: 'guard-cleared' }>,
): Decision {
  if (current.firedGuards?.[command.triggerId] === undefined) return reject('unchanged', 'Not fired.');
  const state = copyForChange(current);
  const { [command.triggerId]: _cleared, ...rest } = state.firedGuards ?? {};
  state.firedGuards = rest;
  // The override was for that firing; if the trigger fires again, it holds again.
  if (state.guardOverrides?.[command.triggerId]) {
    const { [command.triggerId]: _overridden, ...others } = state.guardOverrides;
    state.guardOverrides = others;
  }
  return {
    ok: true,
    state,
    events: [{ type: 'guard.cleared', at: command.at, actor: BOT_ACTOR, triggerId: command.triggerId }],
  };
}

/**
 * What a shift by command to `target` means for the open phase's checklist: the traffic steps it covers
 * (a canary step at or below the new weight, a slot step to the same slot), in order up to the first it
 * does not cover, and the watch windows among them that have not run out (jumped over).
 */
export function commandShiftPlan(
  checklist: Checklist,
  state: Deployment,
  target: TrafficTarget,
): { steps: Array<Extract<Item, { kind: 'traffic' }>>; jumped: Item[] } {
  const phase = checklist.phases[state.currentPhase];
  const steps: Array<Extract<Item, { kind: 'traffic' }>> = [];
  const jumped: Item[] = [];
  if (!phase || state.phases[phase.id]?.status !== 'active') return { steps, jumped };
  let waits: Item[] = [];
  for (const item of phase.items) {
    const status = state.items[item.id]?.status ?? 'pending';
    const open = !['done', 'passed', 'skipped', 'n/a'].includes(status);
    if (item.kind === 'wait' && open) waits.push(item);
    if (item.kind !== 'traffic' || !open) continue;
    const covered =
      'slot' in item.traffic
        ? 'slot' in target && item.traffic.slot === target.slot
        : 'weight' in target && item.traffic.weight <= target.weight;
    if (!covered) break;
    steps.push(item);
    jumped.push(...waits);
    waits = [];
  }
  return { steps, jumped };
}

function reconcileSteps(
  checklist: Checklist,
  state: Deployment,
  operation: NonNullable<Deployment['operation']>,
  after: TrafficState,
  at: number,
  events: DeploymentEvent[],
): void {
  const target = operation.target;
  if (!target) return;
  const { steps, jumped } = commandShiftPlan(checklist, state, target);
  const phase = checklist.phases[state.currentPhase];
  if (!phase) return;
  const how = `by /deploy traffic (${after.description})`;
  const resolve = (item: Item, to: 'done' | 'skipped', reason: string) => {
    const from = state.items[item.id]?.status ?? 'pending';
    state.items[item.id] = { status: to, by: operation.requestedBy, at, reason };
    events.push({
      type: 'item.resolved',
      at,
      actor: operation.requestedBy,
      phaseId: phase.id,
      itemId: item.id,
      from,
      to,
      reason,
    });
  };
  for (const item of jumped) resolve(item, 'skipped', `jumped over ${how}`);
  for (const item of steps) resolve(item, 'done', how);
}

/** Someone who may roll back lets the next shifts go ahead although the trigger fired. */
export function overrideTrigger(
  current: Deployment,
  command: Extract<Command, { type: 'override-guard' }>,
): Decision {
  const firedAt = current.firedGuards?.[command.triggerId];
  if (firedAt === undefined) return reject('unchanged', 'That rollback trigger is not holding anything.');
  if (current.guardOverrides?.[command.triggerId]?.firedAt === firedAt)
    return reject('unchanged', 'That hold was already overridden.');
  const reason = command.reason.trim();
  if (!reason) return reject('reason_required', 'Overriding a rollback trigger needs a reason.');
  const state = copyForChange(current);
  state.guardOverrides = {
    ...state.guardOverrides,
    [command.triggerId]: { firedAt, by: command.actor, at: command.at, reason },
  };
  return {
    ok: true,
    state,
    events: [
      {
        type: 'guard.overridden',
        at: command.at,
        actor: command.actor,
        triggerId: command.triggerId,
        reason,
      },
    ],
  };
}

/** A later deployment of the service started: this one can no longer be rolled back, nor keep watching. */
export function supersede(current: Deployment, command: Extract<Command, { type: 'supersede' }>): Decision {
  if (current.supersededBy || command.by === current.id) return reject('unchanged', 'Already superseded.');
  const state = copyForChange(current);
  state.supersededBy = { id: command.by, version: command.version, at: command.at };
  delete state.watchUntil;
  return {
    ok: true,
    state,
    events: [
      {
        type: 'deployment.superseded',
        at: command.at,
        actor: BOT_ACTOR,
        by: command.by,
        version: command.version,
      },
    ],
  };
}

/** The watch after completion ran out: the triggers stop (the card stops saying they watch). */
export function endWatch(current: Deployment, command: Extract<Command, { type: 'end-watch' }>): Decision {
  if (current.watchUntil === undefined || command.at < current.watchUntil)
    return reject('unchanged', 'Still watching.');
  const state = copyForChange(current);
  delete state.watchUntil;
  return { ok: true, state, events: [{ type: 'guards.stopped', at: command.at, actor: BOT_ACTOR }] };
}

/** Fired triggers nobody has overridden since they fired: they hold shifts towards the new code. */
export function holdingTriggers(deployment: Deployment): string[] {
  return Object.entries(deployment.firedGuards ?? {})
    .filter(([id, firedAt]) => deployment.guardOverrides?.[id]?.firedAt !== firedAt)
    .map(([id]) => id);
}

/** Whether a shift sends more users to the new version than now (back towards the start never does). */
function exposesMore(deployment: Deployment, target: TrafficTarget): boolean {
  const now = deployment.traffic?.current ?? deployment.liveAtStart;
  if ('weight' in target) return now?.weight === undefined || target.weight > now.weight;
  return deployment.liveAtStart?.slot === undefined || target.slot !== deployment.liveAtStart.slot;
}

function takesTraffic(target: TrafficTarget): boolean {
  return 'weight' in target ? target.weight > 0 : true;
}
