import type { Checklist } from '../../checklists/schema.js';
import { BOT_ACTOR, copyForChange, type Deployment, isTerminal } from '../model.js';
import { reconcileEscalations } from './escalations.js';
import { withoutTemplate } from './operations.js';
import { advance, finish, nextFlowPhase, openPhase, startReachedWork, startWait } from './phases.js';
import { findItem, reject } from './rules.js';
import type { Command, Decision, DeploymentEvent, StartParams } from './types.js';

/** A deployment's beginning and end: start, complete, abort. */

/** A new deployment with its first phase open. */
export function startDeployment(
  checklist: Checklist,
  params: StartParams,
): { state: Deployment; events: DeploymentEvent[] } {
  const state: Deployment = {
    id: params.id,
    service: params.service,
    environment: params.environment,
    version: params.version,
    checklistId: checklist.id,
    channel: params.channel,
    requestedBy: params.requestedBy,
    deployers: [...params.deployers],
    ...(params.trafficStrategy ? { trafficStrategy: params.trafficStrategy } : {}),
    ...(params.escalationLevels?.length
      ? { escalationLevels: params.escalationLevels.map((level) => ({ ...level })) }
      : {}),
    ...(params.timeScale !== undefined && params.timeScale !== 1 ? { timeScale: params.timeScale } : {}),
    ...(params.liveAtStart
      ? {
          liveAtStart: params.liveAtStart,
          traffic: {
            initial: withoutTemplate(params.liveAtStart),
            current: withoutTemplate(params.liveAtStart),
            shifts: [],
          },
        }
      : {}),
    status: 'active',
    createdAt: params.at,
    currentPhase: 0,
    phases: Object.fromEntries(checklist.phases.map((phase) => [phase.id, { status: 'pending' as const }])),
    items: Object.fromEntries(
      checklist.phases.flatMap((phase) =>
        phase.items.map((item) => [item.id, { status: 'pending' as const }]),
      ),
    ),
  };
  const events: DeploymentEvent[] = [
    {
      type: 'deployment.started',
      at: params.at,
      actor: params.requestedBy,
      service: params.service,
      environment: params.environment,
      version: params.version,
      checklistId: checklist.id,
    },
  ];
  state.currentPhase = nextFlowPhase(checklist, 0);
  if (state.currentPhase < checklist.phases.length)
    openPhase(checklist, state, state.currentPhase, params.at, BOT_ACTOR, events);
  advance(checklist, state, params.at, events);
  reconcileEscalations(checklist, state, params.at, events);
  return { state, events };
}

export function complete(
  checklist: Checklist,
  current: Deployment,
  command: Extract<Command, { type: 'complete' }>,
): Decision {
  if (current.currentPhase < checklist.phases.length) {
    const open = checklist.phases[current.currentPhase];
    return reject('not_finished', `"${open?.title}" still has open required items.`);
  }
  const state = copyForChange(current);
  const events: DeploymentEvent[] = [];
  finish(checklist, state, command.at, command.actor, events);
  return { ok: true, state, events };
}

export function abort(current: Deployment, command: Extract<Command, { type: 'abort' }>): Decision {
  const reason = command.reason.trim();
  if (!reason) return reject('reason_required', 'Aborting needs a reason.');
  const state = copyForChange(current);
  state.status = 'aborted';
  state.endedAt = command.at;
  state.endedBy = command.actor;
  state.endReason = reason;
  return {
    ok: true,
    state,
    events: [{ type: 'deployment.aborted', at: command.at, actor: command.actor, reason }],
  };
}

/** Holds the checklist: no item changes, no traffic shifts. Rollback triggers keep watching; a rollback still works. */
export function pause(current: Deployment, command: Extract<Command, { type: 'pause' }>): Decision {
  if (current.status === 'paused') return reject('unchanged', 'This deployment is already paused.');
  const state = copyForChange(current);
  state.status = 'paused';
  state.pausedAt = command.at;
  return { ok: true, state, events: [{ type: 'deployment.paused', at: command.at, actor: command.actor }] };
}

/**
 * Picks up where it stopped; watch windows that were running start over, since nobody watched meanwhile.
 * Escalation chains were held by the pause: they climb again from where they were, their start moved on
 * by the time paused, so nobody is called for time the deployment stood still.
 */
export function resume(
  checklist: Checklist,
  current: Deployment,
  command: Extract<Command, { type: 'resume' }>,
): Decision {
  if (current.status !== 'paused') return reject('unchanged', 'This deployment is not paused.');
  const state = copyForChange(current);
  state.status = 'active';
  delete state.pausedAt;
  const events: DeploymentEvent[] = [{ type: 'deployment.resumed', at: command.at, actor: command.actor }];
  resumeEscalations(state, command.at - (current.pausedAt ?? command.at), command.at, events);
  const phase = checklist.phases[state.currentPhase];
  for (const item of phase?.items ?? []) {
    if (item.kind === 'wait' && state.items[item.id]?.status === 'running' && phase)
      startWait(state, phase, item, command.at, events);
  }
  advance(checklist, state, command.at, events);
  return { ok: true, state, events };
}

function resumeEscalations(state: Deployment, pausedFor: number, at: number, events: DeploymentEvent[]) {
  if (!state.escalations || pausedFor <= 0) return;
  const escalations = { ...state.escalations };
  for (const [key, escalation] of Object.entries(escalations)) {
    if (escalation.resolvedAt !== undefined || escalation.acknowledgedBy) continue;
    const startedAt = escalation.startedAt + pausedFor;
    escalations[key] = { ...escalation, startedAt };
    events.push({
      type: 'escalation.resumed',
      at,
      actor: BOT_ACTOR,
      key,
      chain: escalation.chain,
      startedAt,
      level: escalation.level,
    });
  }
  state.escalations = escalations;
}

/** A watch window's timer fired: the step is done, unless the deployment moved on or paused. */
export function waitElapsed(
  checklist: Checklist,
  current: Deployment,
  command: Extract<Command, { type: 'wait-elapsed' }>,
): Decision {
  const item = current.items[command.itemId];
  if (item?.status !== 'running' || item.run !== command.run)
    return reject('unchanged', 'That watch window is no longer current.');
  if (current.status === 'paused') return reject('not_active', 'Paused: the window starts over on resume.');
  const state = copyForChange(current);
  state.items[command.itemId] = { status: 'done', by: BOT_ACTOR, at: command.at, run: command.run };
  const found = findItem(checklist, command.itemId);
  const events: DeploymentEvent[] = [
    {
      type: 'item.resolved',
      at: command.at,
      actor: BOT_ACTOR,
      phaseId: found?.phase.id ?? '',
      itemId: command.itemId,
      from: 'running',
      to: 'done',
    },
  ];
  advance(checklist, state, command.at, events);
  return { ok: true, state, events };
}

/** A follow-up phase is due: it opens (even after completion), its checks run again and its owners hear. */
export function openFollowUp(
  checklist: Checklist,
  current: Deployment,
  command: Extract<Command, { type: 'open-follow-up' }>,
): Decision {
  const index = checklist.phases.findIndex((phase) => phase.id === command.phaseId);
  if (index < 0 || current.phases[command.phaseId]?.status !== 'scheduled') {
    return reject('unchanged', `Follow-up "${command.phaseId}" is not waiting to open.`);
  }
  const state = copyForChange(current);
  const events: DeploymentEvent[] = [];
  openPhase(checklist, state, index, command.at, BOT_ACTOR, events);
  startReachedWork(checklist, state, command.at, events);
  return { ok: true, state, events };
}

/** The team's retrospective, kept with the deployment for its report. */
export function recordRetrospective(
  current: Deployment,
  command: Extract<Command, { type: 'record-retrospective' }>,
): Decision {
  if (!isTerminal(current))
    return reject('not_finished', 'The retrospective opens once the deployment has ended.');
  const state = copyForChange(current);
  state.retrospective = { ...command.retrospective, by: command.actor, at: command.at };
  return {
    ok: true,
    state,
    events: [{ type: 'retrospective.recorded', at: command.at, actor: command.actor }],
  };
}
