import { isRollbackPhase } from '../checklists/phases.js';
import type { Checklist } from '../checklists/schema.js';
import { overrideCheck, recordCheckResult, rerunCheck } from './engine/checks.js';
import { acknowledge, escalate, reconcileEscalations } from './engine/escalations.js';
import { reopenItem, resolveItem } from './engine/items.js';
import {
  abort,
  complete,
  openFollowUp,
  pause,
  recordRetrospective,
  resume,
  waitElapsed,
} from './engine/lifecycle.js';
import {
  endWatch,
  overrideTrigger,
  recordRollback,
  recordTraffic,
  recordTrafficAfterAbort,
  recordTriggerCleared,
  recordTriggerFired,
  requestRollback,
  requestTraffic,
  supersede,
} from './engine/operations.js';
import { authorize } from './engine/permissions.js';
import { isFollowUp } from './engine/phases.js';
import { findItem, reject } from './engine/rules.js';
import { withdrawSignoff } from './engine/signoffs.js';
import type { Command, Decision } from './engine/types.js';
import { type Deployment, isRollingBack, isTerminal } from './model.js';

/**
 * The deployment engine: a pure function from (checklist, state, command) to a new state and the events
 * that say what happened. It never touches Redis, Slack or the clock; callers pass `at` in commands.
 * Authorisation is decided here too, before any transition (./engine/permissions.ts: one rule per
 * action), so every entry point enforces the same rules; callers pass the actor's roles, already
 * resolved. The transitions live in ./engine/, one file a topic.
 */

export { startDeployment } from './engine/lifecycle.js';
export { commandShiftPlan, withoutTemplate } from './engine/operations.js';
export {
  authorize,
  deployersPhrase,
  isDeployer,
  ownersPhrase,
  type Refusal,
  type Who,
} from './engine/permissions.js';
export { blockedBy, findItem, ownerRole } from './engine/rules.js';
export {
  type Command,
  type Decision,
  type DeploymentEvent,
  isUnknownOutcome,
  type OperationOutcome,
  type RejectionCode,
  type StartParams,
  type UnknownOutcome,
} from './engine/types.js';

export function decide(checklist: Checklist, current: Deployment, command: Command): Decision {
  const refusal = authorize(checklist, current, command);
  if (refusal) return reject(refusal.code, refusal.message);
  const decision = transition(checklist, current, command);
  if (!decision.ok) return decision;
  // Whatever changed, the escalations follow: new waits start a chain, answered ones end theirs.
  reconcileEscalations(checklist, decision.state, commandTime(command), decision.events);
  return decision;
}

function commandTime(command: Command): number {
  return 'at' in command ? command.at : command.result.at;
}

function transition(checklist: Checklist, current: Deployment, command: Command): Decision {
  // A completed deployment can still be rolled back (people find problems after promotion), and its
  // follow-up phases open and are walked; a rolled-back one walks its rollback phases. Nothing else
  // changes an ended deployment.
  const afterPromotion =
    (current.status === 'completed' && allowedAfterCompletion(checklist, current, command)) ||
    (current.status === 'rolled_back' && allowedAfterRollback(checklist, current, command));
  // The retrospective comes after the end, whatever the end was; so may a later deployment.
  if (command.type === 'record-retrospective') return recordRetrospective(current, command);
  if (command.type === 'supersede') return supersede(current, command);
  // An abort ends the checklist, not the truth about traffic: a shift left unknown is still read back.
  if (current.status === 'aborted' && command.type === 'traffic-result')
    return recordTrafficAfterAbort(current, command);
  if (isTerminal(current) && !afterPromotion) {
    return reject('not_active', `This deployment is already ${current.status.replace('_', ' ')}.`);
  }
  // While a rollback runs, the checklist waits: nothing but the rollback's own report changes it.
  if (isRollingBack(current) && !WHILE_ROLLING_BACK.has(command.type)) {
    return reject('not_active', 'A rollback is in progress; the checklist waits until it finishes.');
  }
  switch (command.type) {
    case 'resolve-item':
      return resolveItem(checklist, current, command);
    case 'reopen-item':
      return reopenItem(checklist, current, command);
    case 'check-result':
      return recordCheckResult(checklist, current, command);
    case 'rerun-check':
      return rerunCheck(checklist, current, command);
    case 'override-check':
      return overrideCheck(checklist, current, command);
    case 'complete':
      return complete(checklist, current, command);
    case 'abort':
      return abort(current, command);
    case 'pause':
      return pause(current, command);
    case 'resume':
      return resume(checklist, current, command);
    case 'request-traffic':
      return requestTraffic(checklist, current, command);
    case 'traffic-result':
      return recordTraffic(checklist, current, command);
    case 'request-rollback':
      return requestRollback(current, command);
    case 'rollback-result':
      return recordRollback(checklist, current, command);
    case 'wait-elapsed':
      return waitElapsed(checklist, current, command);
    case 'escalate':
      return escalate(current, command);
    case 'acknowledge-escalation':
      return acknowledge(current, command);
    case 'withdraw-signoff':
      return withdrawSignoff(checklist, current, command);
    case 'open-follow-up':
      return openFollowUp(checklist, current, command);
    case 'guard-fired':
      return recordTriggerFired(current, command);
    case 'guard-cleared':
      return recordTriggerCleared(current, command);
    case 'override-guard':
      return overrideTrigger(current, command);
    case 'end-watch':
      return endWatch(current, command);
  }
}

const AFTER_COMPLETION: ReadonlySet<Command['type']> = new Set([
  'request-rollback',
  'rollback-result',
  'open-follow-up',
  // New code takes all traffic: the rollback triggers keep watching for `watch_after_completion`.
  'guard-fired',
  'guard-cleared',
  'end-watch',
  // What waits in an open follow-up phase escalates too (chains of other causes ended at completion).
  'escalate',
  'acknowledge-escalation',
]);

/** Item commands are allowed after completion only for items of an open follow-up phase. */
function allowedAfterCompletion(checklist: Checklist, current: Deployment, command: Command): boolean {
  if (AFTER_COMPLETION.has(command.type)) return true;
  if (!('itemId' in command) || !command.itemId) return false;
  const found = findItem(checklist, command.itemId);
  return (
    found !== undefined && isFollowUp(found.phase) && current.phases[found.phase.id]?.status === 'active'
  );
}

const AFTER_ROLLBACK: ReadonlySet<Command['type']> = new Set(['escalate', 'acknowledge-escalation']);

/** After a rollback: item commands for items of an open rollback phase (and their escalations). */
function allowedAfterRollback(checklist: Checklist, current: Deployment, command: Command): boolean {
  if (AFTER_ROLLBACK.has(command.type)) return true;
  // Traffic is where the rollback put it; a traffic step of the rollback checklist is confirmed by hand.
  if (command.type === 'request-traffic' || command.type === 'traffic-result') return false;
  if (!('itemId' in command) || !command.itemId) return false;
  const found = findItem(checklist, command.itemId);
  return (
    found !== undefined &&
    isRollbackPhase(checklist, found.phase) &&
    current.phases[found.phase.id]?.status === 'active'
  );
}

const WHILE_ROLLING_BACK: ReadonlySet<Command['type']> = new Set([
  'rollback-result',
  'abort',
  'guard-fired',
  'guard-cleared',
  'check-result',
]);
