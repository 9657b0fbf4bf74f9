import type { types } from '@slack/bolt';
import type { Checklist } from '../../checklists/schema.js';
import { type Deployment, isRollingBack, isTerminal } from '../../deployments/model.js';
import { describeEscalation, splitKey } from '../../escalations/describe.js';
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
 * An escalation level in the thread: what has been waiting, for how long, who is being called (mentioned,
 * so they are notified) and an Acknowledge button that stops the chain. Updated when it is acknowledged
 * or its cause goes away, so the thread never shows a stale call for help.
 */

type Button = types.Button;

export function escalationMessageKey(key: string, chain: number, level: number): string {
  return `escalation:${key}:${chain}:${level}`;
}

export function parseEscalationMessageKey(
  messageKey: string,
): { key: string; chain: number; level: number } | undefined {
  const match = /^escalation:(.+):(\d+):(\d+)$/.exec(messageKey);
  return match ? { key: match[1] as string, chain: Number(match[2]), level: Number(match[3]) } : undefined;
}

/**
 * Whether a level's call for help should still be posted: its chain is the current one, and nobody has
 * resolved it or taken it (the timer may fire a moment before the wait ends).
 */
export function levelStillWanted(deployment: Deployment, key: string, chain: number): boolean {
  const escalation = deployment.escalations?.[key];
  return (
    escalation !== undefined &&
    escalation.chain === chain &&
    escalation.resolvedAt === undefined &&
    escalation.acknowledgedBy === undefined
  );
}

export function renderEscalation(
  deployment: Deployment,
  checklist: Checklist,
  key: string,
  chain: number,
  level: number,
  called: string,
  now: number,
): SlackMessage {
  const escalation = deployment.escalations?.[key];
  const of = deployment.escalationLevels?.length ?? level;
  const what = escapeText(truncate(describeEscalation(checklist, deployment, key), 1_200));
  const current = escalation?.chain === chain;
  const waited = escalation ? formatDuration(Math.max(0, now - escalation.startedAt)) : '';
  const where = `level ${level} of ${of}`;
  // Each state reads as what it is: only an open call says "still waiting" and mentions people.
  let text: string;
  let open = false;
  if (!current || escalation?.resolvedAt !== undefined) {
    const when = escalation?.resolvedAt && current ? ` ${slackTime(escalation.resolvedAt)}` : '';
    text = `✅ *Resolved${when}* (${where}): nothing waits for people here any more.`;
  } else if (escalation?.acknowledgedBy) {
    text = `👀 *Acknowledged by ${mention(escalation.acknowledgedBy)}*${escalation.acknowledgedAt ? ` ${slackTime(escalation.acknowledgedAt)}` : ''} (${where}): ${what}`;
  } else if (escalation && escalation.level > level) {
    text = `⏫ *Escalated to level ${escalation.level}* (see below): ${what}`;
  } else {
    open = true;
    text = `⏰ *Still waiting* (${where}${waited ? `, ${waited}` : ''}): ${what}\n${truncate(called, 1_000)} — acknowledge to stop the escalation.`;
  }
  const blocks: Block[] = [{ type: 'section', block_id: 'escalation.text', text: { type: 'mrkdwn', text } }];
  const elements: Button[] = [];
  if (open) {
    elements.push({
      type: 'button',
      action_id: ACTION.escalationAcknowledge,
      text: { type: 'plain_text', text: '👀 Acknowledge' },
      style: 'primary',
      value: actionValue(deployment.id, key),
    });
  }
  // A trigger that does not roll back by itself: whoever is called can do it from here (also after
  // acknowledging), as from the trigger's alert.
  const [kind, triggerId] = splitKey(key);
  const live =
    current && escalation?.resolvedAt === undefined && escalation?.level === level && !isTerminal(deployment);
  // `guard:<id>` is the stored escalation key of a rollback trigger (see deployments/engine/escalations.ts).
  if (kind === 'guard' && triggerId && live && !isRollingBack(deployment)) {
    elements.push({
      type: 'button',
      action_id: ACTION.deploymentRollback,
      text: { type: 'plain_text', text: '↩️ Roll back now…' },
      style: 'danger',
      value: actionValue(deployment.id, triggerId),
    });
  }
  if (elements.length > 0) blocks.push({ type: 'actions', block_id: 'escalation.actions', elements });
  return {
    text: `⏰ ${deployment.service}: ${truncate(describeEscalation(checklist, deployment, key), 200)}`,
    blocks,
  };
}
