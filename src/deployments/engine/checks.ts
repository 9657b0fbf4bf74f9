import type { Checklist } from '../../checklists/schema.js';
import { BOT_ACTOR, copyForChange, type Deployment, isResolved } from '../model.js';
import { advance, requestCheck } from './phases.js';
import { describeStatus, findItem, reject } from './rules.js';
import type { Command, Decision, DeploymentEvent } from './types.js';

/** Automated checks: a worker's verdict, a re-run, an override with a reason. */

export function recordCheckResult(
  checklist: Checklist,
  current: Deployment,
  command: Extract<Command, { type: 'check-result' }>,
): Decision {
  const found = findItem(checklist, command.itemId);
  if (found?.item.kind !== 'check') return reject('not_a_check', `No check "${command.itemId}".`);
  const itemState = current.items[command.itemId];
  // A result for an older run, or for a check someone overrode meanwhile, changes nothing.
  if (itemState?.status !== 'running' || itemState.run !== command.run) {
    return reject('unchanged', `Run ${command.run} of “${found.item.title}” is no longer current.`);
  }
  const state = copyForChange(current);
  const { result } = command;
  state.items[command.itemId] = { status: result.outcome, run: command.run, at: result.at, result };
  const events: DeploymentEvent[] = [
    {
      type: 'check.completed',
      at: result.at,
      actor: BOT_ACTOR,
      phaseId: found.phase.id,
      itemId: command.itemId,
      run: command.run,
      outcome: result.outcome,
      result,
    },
  ];
  advance(checklist, state, result.at, events);
  return { ok: true, state, events };
}

export function rerunCheck(
  checklist: Checklist,
  current: Deployment,
  command: Extract<Command, { type: 'rerun-check' }>,
): Decision {
  const found = findItem(checklist, command.itemId);
  if (found?.item.kind !== 'check') return reject('not_a_check', `No check "${command.itemId}".`);
  if (current.status === 'paused') return reject('not_active', 'This deployment is paused; resume it first.');
  if (current.phases[found.phase.id]?.status !== 'active') {
    return reject('phase_not_open', `“${found.phase.title}” is not the open phase.`);
  }
  const itemState = current.items[command.itemId] ?? { status: 'pending' };
  if (itemState.status === 'running') return reject('unchanged', `“${found.item.title}” is already running.`);
  if (itemState.status === 'pending')
    return reject('out_of_order', `“${found.item.title}” has not been reached yet.`);
  const state = copyForChange(current);
  const events: DeploymentEvent[] = [];
  requestCheck(state, found.phase, found.item, command.at, command.actor, events);
  return { ok: true, state, events };
}

export function overrideCheck(
  checklist: Checklist,
  current: Deployment,
  command: Extract<Command, { type: 'override-check' }>,
): Decision {
  const found = findItem(checklist, command.itemId);
  if (found?.item.kind !== 'check') return reject('not_a_check', `No check "${command.itemId}".`);
  if (current.status === 'paused') return reject('not_active', 'This deployment is paused; resume it first.');
  const phaseStatus = current.phases[found.phase.id]?.status;
  const itemState = current.items[command.itemId] ?? { status: 'pending' };
  if (phaseStatus === 'pending')
    return reject('phase_not_open', `“${found.phase.title}” has not started yet.`);
  if (isResolved(itemState))
    return reject('unchanged', `“${found.item.title}” is already ${describeStatus(itemState)}.`);
  const reason = command.reason.trim();
  if (!reason) return reject('reason_required', 'An override needs a reason, so the report can say why.');

  const state = copyForChange(current);
  state.items[command.itemId] = {
    ...itemState,
    status: 'done',
    by: command.actor,
    at: command.at,
    reason,
    overridden: true,
  };
  const events: DeploymentEvent[] = [
    {
      type: 'check.overridden',
      at: command.at,
      actor: command.actor,
      phaseId: found.phase.id,
      itemId: command.itemId,
      from: itemState.status,
      ...(itemState.result ? { summary: itemState.result.summary } : {}),
      reason,
    },
  ];
  advance(checklist, state, command.at, events);
  return { ok: true, state, events };
}
