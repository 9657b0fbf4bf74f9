import type { types } from '@slack/bolt';
import type { Checklist } from '../../checklists/schema.js';
import type { DeploymentEvent } from '../../deployments/engine.js';
import {
  type Deployment,
  isTerminal,
  type OutcomeUnknown,
  type TrafficState,
  type TrafficTarget,
} from '../../deployments/model.js';
import { formatDuration } from '../../shared/duration.js';
import { ACTION } from '../action-ids.js';
import {
  actionValue,
  type Block,
  escapeText,
  mention,
  type SlackMessage,
  slackTime,
  slackTimeWithSeconds,
  truncate,
} from './format.js';

/**
 * Thread messages about the cluster: a rollback (posted when it is asked for, updated when it is verified
 * or fails), a traffic shift that failed, and a rollback trigger that fired without automatic rollback.
 * Each says what the cluster looks like, so nobody has to run kubectl to find out.
 */

export function rollbackMessageKey(run: number): string {
  return `rollback:${run}`;
}

export function parseRollbackMessageKey(key: string): number | undefined {
  const match = /^rollback:(\d+)$/.exec(key);
  return match ? Number(match[1]) : undefined;
}

export function trafficShiftKey(run: number): string {
  return `traffic-shifted:${run}`;
}

export function trafficFailureKey(run: number): string {
  return `traffic-failed:${run}`;
}

/** The message about a shift whose outcome went unknown: posted then, updated until a read settles it. */
export function trafficUnknownKey(run: number): string {
  return `traffic-unknown:${run}`;
}

export function parseTrafficUnknownKey(key: string): number | undefined {
  const match = /^traffic-unknown:(\d+)$/.exec(key);
  return match ? Number(match[1]) : undefined;
}

/** A fired rollback trigger's alert; `guard:` is the stored name of this message key (from when triggers were
 * called guards), kept so alerts already posted are still found and updated. */
export function triggerAlertKey(triggerId: string, firedAt: number): string {
  return `guard:${triggerId}:${firedAt}`;
}

export function parseTriggerAlertKey(key: string): { triggerId: string; firedAt: number } | undefined {
  const match = /^guard:(.+):(\d+)$/.exec(key);
  return match ? { triggerId: match[1] as string, firedAt: Number(match[2]) } : undefined;
}

export function describeTarget(target: TrafficTarget): string {
  return 'weight' in target ? `canary ${target.weight}%` : `the ${target.slot} slot`;
}

/** "blue", "canary 0%", "revision 4": the live state in a word or two. */
function whatLive(value: TrafficState | undefined): string {
  if (value?.slot) return value.slot;
  if (value?.weight !== undefined) return `canary ${value.weight}%`;
  if (value?.revision !== undefined) return `revision ${value.revision}`;
  return 'what was there';
}

function state(label: string, value: TrafficState | undefined): string {
  return value ? `*${label}:* ${escapeText(truncate(value.description, 300))}` : '';
}

/** "outcome unknown — re-reading (last try 14:02:05, next in 4s)". */
function rereading(uncertain: OutcomeUnknown): string {
  const next = formatDuration(uncertain.nextAt - uncertain.lastTry);
  return `outcome unknown — re-reading (last try ${slackTimeWithSeconds(uncertain.lastTry)}, next in ${next})`;
}

/** Why the outcome is unknown, and what the latest read ran into. */
function unknownBecause(uncertain: OutcomeUnknown): string[] {
  return [
    `*Unknown because:* ${escapeText(truncate(uncertain.message, 500))}`,
    uncertain.lastError ? `*Latest read:* ${escapeText(truncate(uncertain.lastError, 300))}` : '',
  ];
}

/** The rollback of `run`: in progress, verified (before → after, how long), or failed (and what shows now). */
export function renderRollback(deployment: Deployment, run: number, deployers: string): SlackMessage {
  const rollback = deployment.rollback;
  const what = `${deployment.service} ${deployment.version}`;
  const why = rollback?.trigger
    ? `*Trigger:* ${escapeText(truncate(rollback.trigger.title, 200))} — ${escapeText(truncate(rollback.trigger.measured, 300))}`
    : `*Why:* “${escapeText(truncate(rollback?.reason ?? '', 500))}” — ${mention(rollback?.requestedBy ?? 'flightdeck')}`;
  const current = deployment.operation?.kind === 'rollback' && deployment.operation.run === run;
  const blocks: Block[] = [];
  let text: string;
  if (rollback?.completedAt !== undefined && deployment.status === 'rolled_back') {
    const stayed = rollback.moved === false;
    text = stayed
      ? `↩️ ${what} rolled back — nothing to move back: ${whatLive(rollback.after)} was live and still is`
      : `↩️ Rolled back ${what} in ${formatDuration(rollback.durationMs ?? 0)}`;
    const lines = [
      `*${escapeText(text)}*`,
      why,
      ...(stayed
        ? [state('Traffic', rollback.after)]
        : [state('Before', rollback.before), state('After', rollback.after)]),
    ].filter(Boolean);
    blocks.push({
      type: 'section',
      block_id: 'rollback.text',
      text: { type: 'mrkdwn', text: lines.join('\n') },
    });
  } else if (rollback?.error && !current) {
    text = `⚠️ Rollback of ${what} failed: ${rollback.error}`;
    const lines = [
      `*⚠️ Rollback of ${escapeText(what)} failed:* ${escapeText(truncate(rollback.error, 500))}`,
      state('The cluster shows', rollback.errorState),
      why,
      `${deployers} — retry, or roll back by hand and abort the deployment.`,
    ].filter(Boolean);
    blocks.push(
      { type: 'section', block_id: 'rollback.text', text: { type: 'mrkdwn', text: lines.join('\n') } },
      {
        type: 'actions',
        block_id: 'rollback.actions',
        elements: [
          {
            type: 'button',
            action_id: ACTION.deploymentRollback,
            text: { type: 'plain_text', text: '↩️ Retry rollback…' },
            style: 'danger',
            value: actionValue(deployment.id, 'retry'),
          },
        ],
      },
    );
  } else if (current && deployment.operation?.uncertain) {
    // Neither done nor failed: its write may have landed, and no read has shown the cluster since.
    const uncertain = deployment.operation.uncertain;
    const ended = isTerminal(deployment);
    const outcome = ended
      ? 'outcome never learned — the deployment ended before a read succeeded'
      : rereading(uncertain);
    text = `↩️ ${ended ? 'Rollback of' : 'Rolling back'} ${what}: ${outcome}`;
    const lines = [
      // The time is a Slack date token: only the words around it are escaped.
      `*↩️ ${ended ? 'Rollback of' : 'Rolling back'} ${escapeText(what)}: ${outcome}*`,
      why,
      ...unknownBecause(uncertain),
      ended ? '' : '_Traffic may be back or not: the checklist waits until a read shows what serves users._',
    ].filter(Boolean);
    blocks.push({
      type: 'section',
      block_id: 'rollback.text',
      text: { type: 'mrkdwn', text: lines.join('\n') },
    });
  } else {
    text = `↩️ Rolling back ${what}…`;
    const lines = [`*${text}*`, why, state('Traffic now', deployment.traffic?.current)].filter(Boolean);
    blocks.push({
      type: 'section',
      block_id: 'rollback.text',
      text: { type: 'mrkdwn', text: lines.join('\n') },
    });
  }
  blocks.push({
    type: 'context',
    block_id: 'rollback.context',
    elements: [
      { type: 'mrkdwn', text: `requested ${slackTime(rollback?.requestedAt ?? deployment.createdAt)}` },
    ],
  });
  return { text, blocks };
}

/** A shift that did not happen: why, and what the cluster shows instead, as far as it was read. */
export function renderTrafficFailure(
  event: Extract<DeploymentEvent, { type: 'traffic.failed' }>,
): SlackMessage {
  const text = `🔀 Shifting to ${describeTarget(event.target)} failed: ${event.message}`;
  const lines = [
    `*${escapeText(truncate(text, 600))}*`,
    state('The cluster shows', event.state),
    `_${failureFootnote(event)}_`,
  ];
  return {
    text,
    blocks: [
      {
        type: 'section',
        block_id: 'traffic.failed',
        text: { type: 'mrkdwn', text: lines.filter(Boolean).join('\n') },
      },
    ],
  };
}

/**
 * What a failed shift left, said from what was read. A write whose outcome is unknown never ends here
 * (see renderTrafficUnknown); so without a state, the strategy stopped before writing. A failed write
 * either was refused by the API (the state is what was read before it, or after the 409s), or failed on
 * the way (the state is what a read after it showed), or was stored and did not hold (a mismatch).
 */
function failureFootnote(event: Extract<DeploymentEvent, { type: 'traffic.failed' }>): string {
  if (!event.state) return 'No change was sent to the cluster.';
  if (event.code === 'mismatch') return 'The change did not hold: the state above is what a read-back shows.';
  if (event.code === 'timeout' || event.code === 'unavailable')
    return 'Nothing was half-applied: a read after the failed write shows the state above.';
  return 'Nothing was half-applied: the API refused the change, and the state above is what Flightdeck read.';
}

/**
 * A shift whose write's outcome went unknown: one message, updated in place. While nobody knows: when it
 * reads again. Then what the read-back showed — or that nobody found out, when a rollback took over or
 * the deployment ended first. `audit` is the deployment's audit, where the settled outcome is.
 */
export function renderTrafficUnknown(
  deployment: Deployment,
  run: number,
  audit: readonly DeploymentEvent[],
): SlackMessage {
  const ofRun = audit.filter((event) => 'run' in event && event.run === run);
  const first = ofRun.find((event) => event.type === 'traffic.unknown');
  const settled = ofRun.find((event) => event.type === 'traffic.shifted' || event.type === 'traffic.failed');
  const operation = deployment.operation;
  // Nobody reads for an ended deployment: "re-reading" would no longer be true.
  const uncertain = operation?.run === run && !isTerminal(deployment) ? operation.uncertain : undefined;
  const target =
    operation?.run === run ? operation.target : first?.type === 'traffic.unknown' && first.target;
  const what = target ? describeTarget(target) : 'the new traffic split';
  let text: string;
  let lines: string[];
  if (uncertain) {
    text = `🔀 Shifting to ${what}: ${rereading(uncertain)}`;
    lines = [
      // The time is a Slack date token: only the words around it are escaped.
      `*🔀 Shifting to ${escapeText(what)}: ${rereading(uncertain)}*`,
      ...unknownBecause(uncertain),
      '_Traffic may have moved or not: no other shift starts and the checklist waits until a read shows what serves users._',
    ];
  } else if (settled?.type === 'traffic.shifted') {
    const unknownFor = formatDuration(settled.at - (settled.unknownSince ?? settled.at));
    text = `🔀 Shifted to ${what}: a read-back shows it, after ${unknownFor} of not knowing`;
    lines = [`*${escapeText(text)}*`, state('The cluster shows', settled.after)];
  } else if (settled?.type === 'traffic.failed' && settled.code === 'not_applied' && settled.state) {
    text = `🔀 Shifting to ${what} did not take: a read-back shows ${settled.state.description}`;
    lines = [
      `*${escapeText(truncate(text, 600))}*`,
      `_Nothing was half-applied: a read-back at ${slackTimeWithSeconds(settled.at)} shows the state above, and it is what serves users now._`,
    ];
  } else if (settled?.type === 'traffic.failed') {
    text = `🔀 Shifting to ${what} failed: ${settled.message}`;
    lines = [`*${escapeText(truncate(text, 600))}*`, state('The cluster shows', settled.state)];
  } else {
    const why = deployment.rollback
      ? 'the rollback took over, and reads the cluster itself'
      : 'the deployment ended before a read succeeded';
    text = `🔀 Shifting to ${what}: outcome never learned — ${why}`;
    lines = [`*${escapeText(text)}*`];
  }
  return {
    text,
    blocks: [
      {
        type: 'section',
        block_id: 'traffic.unknown',
        text: { type: 'mrkdwn', text: lines.filter(Boolean).join('\n') },
      },
    ],
  };
}

/** A trigger held for its whole window on a checklist without automatic rollback: ask a human. */
export function renderTriggerAlert(
  deployment: Deployment,
  checklist: Checklist,
  triggerId: string,
  firedAt: number,
  measured: string,
  onCall: string,
): SlackMessage {
  const trigger = checklist.rollback?.triggers.find((candidate) => candidate.id === triggerId);
  const title = trigger?.title ?? triggerId;
  const live =
    deployment.status === 'active' ||
    deployment.status === 'paused' ||
    (deployment.status === 'completed' && !deployment.supersededBy);
  const stillFiring = deployment.firedGuards?.[triggerId] === firedAt && live;
  const override = deployment.guardOverrides?.[triggerId];
  const overridden = override?.firedAt === firedAt ? override : undefined;
  const text = `🚨 ${title}: ${measured}`;
  const lines = [
    `*🚨 ${escapeText(truncate(title, 200))}* — ${escapeText(truncate(measured, 400))}`,
    !stillFiring
      ? deployment.status === 'rolled_back'
        ? '_Rolled back._'
        : '_Recovered, or the deployment moved on._'
      : overridden
        ? `_Hold overridden by ${mention(overridden.by)} ${slackTime(overridden.at)}: “${escapeText(truncate(overridden.reason, 300))}” — traffic shifts may go on; the trigger keeps watching._`
        : `${onCall} this trigger does not roll back by itself. Roll back now, or override the hold with a reason: until then no traffic shift sends more users to the new version.`,
  ];
  // `guard.text` / `guard.actions`: block ids of alerts already posted (triggers were called guards), kept.
  const blocks: Block[] = [
    { type: 'section', block_id: 'guard.text', text: { type: 'mrkdwn', text: lines.join('\n') } },
  ];
  if (stillFiring) {
    const elements: types.Button[] = [
      {
        type: 'button',
        action_id: ACTION.deploymentRollback,
        text: { type: 'plain_text', text: '↩️ Roll back now…' },
        style: 'danger',
        value: actionValue(deployment.id, triggerId),
      },
    ];
    if (!overridden && deployment.status !== 'completed')
      elements.push({
        type: 'button',
        action_id: ACTION.triggerOverride,
        text: { type: 'plain_text', text: 'Override hold…' },
        value: actionValue(deployment.id, triggerId),
      });
    blocks.push({ type: 'actions', block_id: 'guard.actions', elements });
  }
  return { text, blocks };
}

/**
 * A shift by `/deploy traffic`, verified: who asked, from → to as read back from the cluster, and what it
 * did to the checklist (steps it covers done, watch windows it jumped over skipped).
 */
export function renderCommandShift(
  event: Extract<DeploymentEvent, { type: 'traffic.shifted' }>,
  checklist: Checklist,
  events: readonly DeploymentEvent[],
): SlackMessage {
  const title = (itemId: string) =>
    checklist.phases.flatMap((phase) => phase.items).find((item) => item.id === itemId)?.title ?? itemId;
  const byThisShift = events.filter(
    (other): other is Extract<DeploymentEvent, { type: 'item.resolved' }> =>
      other.type === 'item.resolved' && other.reason?.includes('by /deploy traffic') === true,
  );
  const done = byThisShift.filter((other) => other.to === 'done').map((other) => `“${title(other.itemId)}”`);
  const skipped = byThisShift
    .filter((other) => other.to === 'skipped')
    .map((other) => `“${title(other.itemId)}”`);
  const text = `🔀 ${describeTarget(event.target)} by /deploy traffic`;
  const lines = [
    `*🔀 ${mention(event.actor)} shifted traffic with \`/deploy traffic\`* — ${escapeText(truncate(event.before.description, 200))} → ${escapeText(truncate(event.after.description, 200))} _(read back)_`,
    ...(done.length > 0
      ? [`Checklist: ${escapeText(truncate(done.join(', '), 600))} done by this shift.`]
      : []),
    ...(skipped.length > 0
      ? [`⚠️ Watch windows jumped over (skipped): ${escapeText(truncate(skipped.join(', '), 600))}.`]
      : []),
  ];
  return {
    text,
    blocks: [
      { type: 'section', block_id: 'traffic.shifted', text: { type: 'mrkdwn', text: lines.join('\n') } },
    ],
  };
}
