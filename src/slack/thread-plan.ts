import { walkedPhases } from '../checklists/phases.js';
import type { Checklist, Item, Phase } from '../checklists/schema.js';
import type { CheckRun } from '../checks/types.js';
import type { DeploymentEvent } from '../deployments/engine/types.js';
import { findItem } from '../deployments/engine.js';
import { type Deployment, isTerminal, type PhaseStatus } from '../deployments/model.js';
import type { Change } from '../deployments/service.js';
import type { ThreadLayout } from '../deployments/store.js';
import { failureMessageKey } from './render/check-failure.js';
import { escalationMessageKey, levelStillWanted } from './render/escalation.js';
import {
  rollbackMessageKey,
  trafficFailureKey,
  trafficShiftKey,
  trafficUnknownKey,
  triggerAlertKey,
} from './render/operations.js';
import { partitionPhase, phaseMessageKey } from './render/phase-message.js';
import { REPORT_KEY } from './render/report.js';
import { CARD_KEY } from './render/status-card.js';

/**
 * Which thread messages a committed change touches: a pure function of the change (the state after it,
 * its checklist and the events that led there) to an ordered list of steps. The presenter carries the
 * steps out — claiming, posting at Slack's pace, coalescing updates — and renders every message from the
 * newest state when its turn comes, so a step names a message, never its content.
 *
 * Message keys: `card` (the status card, the thread's parent), `phase:<id>:<part>`, `report`, and the
 * replies keyed in ./render/ (check failures, escalations, traffic, rollbacks, rollback trigger alerts).
 */

export type ThreadStep =
  /** Post the status card if it is not posted (the thread's parent); nothing else goes on without it. */
  | { kind: 'card' }
  /** Post the messages of the phase at this index of walkedPhases() where missing. */
  | { kind: 'phase'; index: number }
  /** Update these posted messages (unposted ones are skipped: their post renders the newest state). */
  | { kind: 'update'; keys: string[] }
  /** Update whichever messages of this family are posted (only Redis knows which). */
  | { kind: 'refresh'; family: 'escalation'; cause: string }
  | { kind: 'refresh'; family: 'trigger-alert' | 'traffic-unknown' }
  /** Post an escalation level's call for help once, if it is still wanted when its turn comes. */
  | { kind: 'escalation'; key: string; chain: number; level: number; notify: string }
  /** Post a thread reply once (`broadcast`: also to the channel). */
  | { kind: 'post'; key: string; broadcast: boolean; message: ReplyMessage };

/** What a posted reply shows; rendered by the presenter from the newest state. */
export type ReplyMessage =
  | { kind: 'check-failure'; item: Extract<Item, { kind: 'check' }>; run: number; result: CheckRun }
  | { kind: 'traffic-unknown'; run: number }
  | { kind: 'traffic-failure'; event: Extract<DeploymentEvent, { type: 'traffic.failed' }> }
  /** A shift made by /deploy traffic: who, from → to, what the checklist did (from the change's events). */
  | { kind: 'command-shift'; event: Extract<DeploymentEvent, { type: 'traffic.shifted' }> }
  | { kind: 'rollback'; run: number }
  | { kind: 'report' }
  | { kind: 'trigger-alert'; triggerId: string; at: number; measured: string };

/** The steps a change needs, in the order its events happened. */
export function planChange(change: Change): ThreadStep[] {
  const { deployment, checklist } = change;
  const steps: ThreadStep[] = [];
  const update = (keys: string[] | 'all') =>
    steps.push({ kind: 'update', keys: keysToUpdate(deployment, checklist, keys) });
  for (const event of change.events) {
    switch (event.type) {
      case 'deployment.started':
        steps.push({ kind: 'card' });
        break;
      case 'phase.opened': {
        const index = walkedPhases(checklist).findIndex((phase) => phase.id === event.phaseId);
        if (index >= 0) steps.push({ kind: 'phase', index });
        break;
      }
      case 'item.resolved':
      case 'item.reopened':
      case 'check.requested':
      case 'check.overridden':
      case 'signoff.signed':
      case 'signoff.withdrawn':
        update([itemMessageKey(checklist, event.itemId), CARD_KEY, ...failureKeys(deployment, event.itemId)]);
        break;
      case 'check.completed': {
        update([itemMessageKey(checklist, event.itemId), CARD_KEY, ...failureKeys(deployment, event.itemId)]);
        const found = findItem(checklist, event.itemId);
        if (event.outcome !== 'passed' && found?.item.kind === 'check')
          steps.push({
            kind: 'post',
            key: failureMessageKey(found.item.id, event.run),
            broadcast: false,
            message: { kind: 'check-failure', item: found.item, run: event.run, result: event.result },
          });
        break;
      }
      case 'phase.completed':
        update([...phaseKeys(checklist, event.phaseId), CARD_KEY]);
        break;
      case 'wait.started':
        update([itemMessageKey(checklist, event.itemId)]);
        break;
      case 'traffic.requested':
        update([...(event.itemId ? [itemMessageKey(checklist, event.itemId)] : []), CARD_KEY]);
        break;
      case 'traffic.unknown':
      case 'traffic.shifted':
      case 'traffic.failed': {
        const aboutUnknown = event.type === 'traffic.unknown' || event.unknownSince !== undefined;
        update([
          ...(event.itemId ? [itemMessageKey(checklist, event.itemId)] : []),
          CARD_KEY,
          // One message for a shift whose outcome went unknown: posted once, then updated in place.
          ...(aboutUnknown ? [trafficUnknownKey(event.run)] : []),
        ]);
        if (event.type === 'traffic.unknown')
          steps.push({
            kind: 'post',
            key: trafficUnknownKey(event.run),
            broadcast: false,
            message: { kind: 'traffic-unknown', run: event.run },
          });
        else if (event.type === 'traffic.failed' && !aboutUnknown)
          steps.push({
            kind: 'post',
            key: trafficFailureKey(event.run),
            broadcast: false,
            message: { kind: 'traffic-failure', event },
          });
        // A shift by /deploy traffic is a message of its own.
        else if (event.type === 'traffic.shifted' && !event.itemId && !aboutUnknown)
          steps.push({
            kind: 'post',
            key: trafficShiftKey(event.run),
            broadcast: false,
            message: { kind: 'command-shift', event },
          });
        break;
      }
      case 'escalation.level':
        steps.push({
          kind: 'escalation',
          key: event.key,
          chain: event.chain,
          level: event.level,
          notify: event.notify,
        });
        steps.push({ kind: 'refresh', family: 'escalation', cause: event.key });
        break;
      case 'escalation.acknowledged':
      case 'escalation.resolved':
        steps.push({ kind: 'refresh', family: 'escalation', cause: event.key });
        break;
      case 'phase.scheduled':
        update([CARD_KEY]);
        break;
      case 'guards.armed':
      case 'deployment.paused':
      case 'deployment.resumed':
        update('all');
        break;
      case 'rollback.requested':
        // The checklist waits while it rolls back: every message loses its buttons, and a shift whose
        // outcome was unknown will not be read any more (the rollback reads the cluster itself).
        update('all');
        steps.push({ kind: 'refresh', family: 'traffic-unknown' });
        steps.push({
          kind: 'post',
          key: rollbackMessageKey(event.run),
          broadcast: true,
          message: { kind: 'rollback', run: event.run },
        });
        break;
      case 'rollback.unknown':
        update([rollbackMessageKey(event.run), CARD_KEY]);
        break;
      case 'rollback.completed':
      case 'rollback.failed':
        update('all');
        update([rollbackMessageKey(event.run)]);
        steps.push({ kind: 'refresh', family: 'trigger-alert' });
        if (event.type === 'rollback.completed')
          steps.push({ kind: 'post', key: REPORT_KEY, broadcast: false, message: { kind: 'report' } });
        break;
      case 'guard.fired':
        steps.push({
          kind: 'post',
          key: triggerAlertKey(event.triggerId, event.at),
          broadcast: true,
          message: {
            kind: 'trigger-alert',
            triggerId: event.triggerId,
            at: event.at,
            measured: event.measured,
          },
        });
        break;
      case 'guard.cleared':
      case 'guard.overridden':
        steps.push({ kind: 'refresh', family: 'trigger-alert' });
        update([CARD_KEY]);
        break;
      case 'guards.stopped':
      case 'deployment.superseded':
        // Its card loses Roll back… and points at the deployment that runs now.
        update([CARD_KEY]);
        break;
      case 'deployment.completed':
      case 'deployment.aborted':
        update('all');
        steps.push({ kind: 'refresh', family: 'traffic-unknown' });
        steps.push({ kind: 'post', key: REPORT_KEY, broadcast: true, message: { kind: 'report' } });
        break;
      case 'retrospective.recorded':
        update([REPORT_KEY]);
        break;
    }
  }
  return steps;
}

/**
 * The messages to update for `keys` ('all': the card, every phase shown so far and every failure reply).
 * After the end the report is posted, and follow-ups (or a late rollback) still change its figures, so a
 * deployment that has ended updates its report with anything else.
 */
export function keysToUpdate(deployment: Deployment, checklist: Checklist, keys: string[] | 'all'): string[] {
  const list =
    keys === 'all'
      ? [
          CARD_KEY,
          ...walkedPhases(checklist)
            .filter((phase) => isShown(deployment.phases[phase.id]?.status))
            .flatMap((phase) => phaseKeys(checklist, phase.id)),
          ...Object.keys(deployment.items).flatMap((itemId) => failureKeys(deployment, itemId)),
        ]
      : keys;
  return isTerminal(deployment) && !list.includes(REPORT_KEY) ? [...list, REPORT_KEY] : list;
}

/** The messages the thread should hold by now: the card, the phases so far (in a threaded layout), the
 * escalation levels reached. */
export function expectedMessages(
  state: Deployment,
  checklist: Checklist,
  layout: ThreadLayout = 'threaded',
): string[] {
  const phases =
    layout === 'folded'
      ? []
      : postedPhases(state, checklist).flatMap(({ phase }) => phaseKeys(checklist, phase.id));
  const levels = Object.entries(state.escalations ?? {}).flatMap(([key, escalation]) =>
    !levelStillWanted(state, key, escalation.chain)
      ? []
      : Array.from({ length: escalation.level }, (_, index) =>
          escalationMessageKey(key, escalation.chain, index + 1),
        ),
  );
  // An ended deployment's thread ends with its report.
  return [CARD_KEY, ...phases, ...levels, ...(isTerminal(state) ? [REPORT_KEY] : [])];
}

/**
 * Which updates go first when chat.update's budget is short. 0: messages that will not change again — every
 * message of a deployment that has ended, and the message of a completed phase: one update finishes each
 * (until it lands it shows as pending what is done), and nothing supersedes it. 1: what people are looking
 * at in a running deployment, the card and the open phase. 2: the rest, which fold their changes together
 * meanwhile.
 */
export function updatePriority(deployment: Deployment, checklist: Checklist, key: string): number {
  if (isTerminal(deployment)) return 0;
  if (key === CARD_KEY) return 1;
  const match = /^phase:(.+):\d+$/.exec(key);
  const phase = match ? walkedPhases(checklist).find((candidate) => candidate.id === match[1]) : undefined;
  const status = phase ? deployment.phases[phase.id]?.status : undefined;
  return status === 'completed' ? 0 : status === 'active' ? 1 : 2;
}

/**
 * The keys of a folded thread (see ThreadLayout): its phases show inside the card, so what would change a
 * phase's message changes the card. In order, each once.
 */
export function foldIntoCard(keys: readonly string[]): string[] {
  return [...new Set(keys.map((key) => (key.startsWith('phase:') ? CARD_KEY : key)))];
}

/** Failure replies an item may have (one per failed run so far); unposted ones are skipped on update. */
function failureKeys(deployment: Deployment, itemId: string): string[] {
  const runs = deployment.items[itemId]?.run ?? 0;
  return Array.from({ length: runs }, (_, index) => failureMessageKey(itemId, index + 1));
}

/** The message key of the phase part that shows an item. */
export function itemMessageKey(checklist: Checklist, itemId: string): string {
  const found = findItem(checklist, itemId);
  if (!found) return CARD_KEY;
  const part = partitionPhase(found.phase).findIndex((items) => items.some((item) => item.id === itemId));
  return phaseMessageKey(found.phase.id, Math.max(0, part));
}

function phaseKeys(checklist: Checklist, phaseId: string): string[] {
  const phase = walkedPhases(checklist).find((candidate) => candidate.id === phaseId);
  return phase ? partitionPhase(phase).map((_, part) => phaseMessageKey(phaseId, part)) : [];
}

/** A phase whose message is in the thread: it has opened (rollback phases have no state until then). */
function isShown(status: PhaseStatus | undefined): boolean {
  return status !== undefined && status !== 'pending';
}

/** The phases whose messages the thread should hold: those up to the open flow phase, and every rollback
 * phase that has opened. */
export function postedPhases(
  state: Deployment,
  checklist: Checklist,
): Array<{ phase: Phase; index: number }> {
  const last = Math.min(state.currentPhase, checklist.phases.length - 1);
  return walkedPhases(checklist)
    .map((phase, index) => ({ phase, index }))
    .filter(
      ({ phase, index }) =>
        index <= last || (index >= checklist.phases.length && isShown(state.phases[phase.id]?.status)),
    );
}
