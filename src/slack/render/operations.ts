import type { types } from '@slack/bolt';
import type { Checklist } from '../../checklists/schema.js';
import type { DeploymentEvent } from '../../deployments/engine.js';
import type { Deployment, TrafficState, TrafficTarget } from '../../deployments/model.js';
import { formatDuration } from '../../shared/duration.js';
import { ACTION } from '../action-ids.js';
import {
  actionValue,
  type Block,
  escapeText,
  mention,
  type SlackMessage,
  slackTime,
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

export function trafficFailureKey(run: number): string {
  return `traffic-failed:${run}`;
}

export function guardAlertKey(triggerId: string, firedAt: number): string {
  return `guard:${triggerId}:${firedAt}`;
}

export function parseGuardAlertKey(key: string): { triggerId: string; firedAt: number } | undefined {
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

/** A shift that did not happen: why, and what the cluster shows instead. */
export function renderTrafficFailure(
  event: Extract<DeploymentEvent, { type: 'traffic.failed' }>,
): SlackMessage {
  const text = `🔀 Shifting to ${describeTarget(event.target)} failed: ${event.message}`;
  const lines = [
    `*${escapeText(truncate(text, 600))}*`,
    state('The cluster shows', event.state),
    `_Nothing was half-applied: ${event.state ? 'the state above is what serves users now' : 'the change was refused'}._`,
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

/** A trigger held for its whole window on a checklist without automatic rollback: ask a human. */
export function renderGuardAlert(
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
        action_id: ACTION.guardOverride,
        text: { type: 'plain_text', text: 'Override hold…' },
        value: actionValue(deployment.id, triggerId),
      });
    blocks.push({ type: 'actions', block_id: 'guard.actions', elements });
  }
  return { text, blocks };
}
