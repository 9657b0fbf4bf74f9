import type { Checklist } from '../../checklists/schema.js';
import { BOT_ACTOR, copyForChange, type Deployment, isRollingBack, type TrafficTarget } from '../model.js';
import { advance, openRollbackWalk, scheduleFollowUps } from './phases.js';
import { blockedBy, checkOwner, findItem, maySteer, reject } from './rules.js';
import type { Command, Decision, DeploymentEvent } from './types.js';

/**
 * Traffic and rollback: the engine decides, a worker changes the cluster and reports back. One operation
 * is in flight at a time; each has a run number, and a report for anything but the current run is
 * ignored — a rollback supersedes a shift still in flight. Guards (rollback triggers) are armed by the
 * first shift that puts new code in front of users.
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
    // Those who steer the deployment may press it, and so may the step's own owner role.
    const ownerMayPress =
      found.item.owner !== undefined && checkOwner(found.item, command.actorRoles) === undefined;
    if (!ownerMayPress && !maySteer(current, command.actor, command.actorRoles)) {
      return reject('forbidden', steerRefusal(current, 'shift traffic'));
    }
    target = found.item.traffic;
  } else if (!maySteer(current, command.actor, command.actorRoles)) {
    return reject('forbidden', steerRefusal(current, 'shift traffic'));
  }
  if (!target)
    return reject('not_applicable', 'Say where traffic should go: a weight (0–100) or a slot (blue/green).');

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
  const state = copyForChange(current);
  delete state.operation;
  const { outcome } = command;
  const target = operation.target as TrafficTarget;
  const itemId = operation.itemId;
  const events: DeploymentEvent[] = [];
  if (outcome.ok) {
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
    events.push({
      type: 'traffic.shifted',
      at: command.at,
      actor: operation.requestedBy,
      run: command.run,
      target,
      ...(itemId ? { itemId } : {}),
      before: outcome.before,
      after: outcome.after,
      durationMs: outcome.durationMs,
    });
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
    // New code now takes traffic (any share, or the new slot): the rollback triggers start watching.
    if (state.guardsArmedAt === undefined && takesTraffic(target)) {
      state.guardsArmedAt = command.at;
      events.push({ type: 'guards.armed', at: command.at, actor: BOT_ACTOR });
    }
    // All traffic on the new code: post-deployment follow-ups count from now (T+30m, T+2h…).
    if ('slot' in target || target.weight === 100) scheduleFollowUps(checklist, state, command.at, events);
    advance(checklist, state, command.at, events);
  } else {
    if (outcome.state) state.traffic = { ...(state.traffic ?? { shifts: [] }), current: outcome.state };
    events.push({
      type: 'traffic.failed',
      at: command.at,
      actor: operation.requestedBy,
      run: command.run,
      target,
      ...(itemId ? { itemId } : {}),
      code: outcome.code,
      message: outcome.message,
      ...(outcome.state ? { state: outcome.state } : {}),
    });
    if (itemId) {
      state.items[itemId] = {
        status: 'failed',
        run: command.run,
        at: command.at,
        result: { outcome: 'failed', summary: outcome.message, attempts: 1, durationMs: 0, at: command.at },
      };
    }
  }
  return { ok: true, state, events };
}

export function requestRollback(
  current: Deployment,
  command: Extract<Command, { type: 'request-rollback' }>,
): Decision {
  if (isRollingBack(current)) return reject('unchanged', 'A rollback is already in progress.');
  if (!maySteer(current, command.actor, command.actorRoles))
    return reject('forbidden', steerRefusal(current, 'roll back'));
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
  state.operation = { kind: 'rollback', run, requestedBy: command.actor, requestedAt: command.at };
  state.rollback = {
    requestedAt: command.at,
    requestedBy: command.actor,
    reason,
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
      },
    ],
  };
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
  const state = copyForChange(current);
  delete state.operation;
  const rollback = state.rollback as NonNullable<Deployment['rollback']>;
  const { outcome } = command;
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
  delete rollback.error;
  delete rollback.errorState;
  Object.assign(rollback, {
    completedAt: command.at,
    durationMs,
    before: outcome.before,
    after: outcome.after,
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
export function recordGuardFired(
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

export function recordGuardCleared(
  current: Deployment,
  command: Extract<Command, { type: 'guard-cleared' }>,
): Decision {
  if (current.firedGuards?.[command.triggerId] === undefined) return reject('unchanged', 'Not fired.');
  const state = copyForChange(current);
  const { [command.triggerId]: _cleared, ...rest } = state.firedGuards ?? {};
  state.firedGuards = rest;
  return {
    ok: true,
    state,
    events: [{ type: 'guard.cleared', at: command.at, actor: BOT_ACTOR, triggerId: command.triggerId }],
  };
}

function takesTraffic(target: TrafficTarget): boolean {
  return 'weight' in target ? target.weight > 0 : true;
}

function steerRefusal(current: Deployment, what: string): string {
  const roles = current.deployers.length > 0 ? `the *${current.deployers.join('*, *')}* role` : 'anyone';
  return `Only the requester or ${roles} can ${what} for this deployment.`;
}
