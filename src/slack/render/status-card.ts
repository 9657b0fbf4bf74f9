import type { types } from '@slack/bolt';
import type { Checklist } from '../../checklists/schema.js';
import { type Deployment, isResolved, isRollingBack, isTerminal } from '../../deployments/model.js';
import { itemCounts } from '../../deployments/progress.js';
import { trafficShortfall } from '../../deployments/traffic-plan.js';
import { formatDuration } from '../../shared/duration.js';
import { ACTION } from '../action-ids.js';
import {
  actionValue,
  type Block,
  DEPLOYMENT_STATE_LABEL,
  escapeText,
  mention,
  progressBar,
  type SlackMessage,
  slackDateTime,
  slackTime,
  truncate,
} from './format.js';

/** Context the card shows that is not part of the deployment's state. */
export interface CardContext {
  namespace?: string;
  links?: Readonly<Record<string, string>>;
  /** The clock the "watching for N more minutes" line counts from (default: now). */
  now?: number;
}

/** How long the rollback triggers still watch a completed deployment, in words; undefined when they do not. */
function watchingFor(deployment: Deployment, now: number): string | undefined {
  if (deployment.status !== 'completed' || deployment.supersededBy || deployment.watchUntil === undefined)
    return undefined;
  const left = deployment.watchUntil - now;
  if (left <= 0) return undefined;
  return left >= 120_000
    ? `${Math.round(left / 60_000)} more minutes`
    : `${Math.ceil(left / 1_000)} more seconds`;
}

export const CARD_KEY = 'card';

/** The top-level message in the service's channel: what, who, where it is now, and links. */
export function renderStatusCard(
  deployment: Deployment,
  checklist: Checklist,
  context: CardContext = {},
): SlackMessage {
  const counts = itemCounts(deployment, checklist);
  const rollback = deployment.rollback;
  const title = `🚀 ${deployment.service} ${deployment.version} → ${deployment.environment}`;
  const environment = context.namespace
    ? `${deployment.environment} (ns \`${context.namespace}\`)`
    : deployment.environment;
  const fields: types.MrkdwnElement[] = [
    { type: 'mrkdwn', text: `*Service*\n${escapeText(deployment.service)}` },
    { type: 'mrkdwn', text: `*Version*\n\`${escapeText(deployment.version)}\`` },
    { type: 'mrkdwn', text: `*Environment*\n${escapeText(environment)}` },
    { type: 'mrkdwn', text: `*Requested by*\n${mention(deployment.requestedBy)}` },
    { type: 'mrkdwn', text: `*State*\n${DEPLOYMENT_STATE_LABEL[deployment.status]}` },
    { type: 'mrkdwn', text: `*Checklist*\n${escapeText(truncate(checklist.title, 150))}` },
  ];

  const bar = `\`${progressBar(counts.resolved, counts.total)}\` ${counts.resolved}/${counts.total} items`;
  const extras = [
    counts.skipped ? `${counts.skipped} skipped` : '',
    counts.notApplicable ? `${counts.notApplicable} n/a` : '',
    counts.failed ? `${counts.failed} failing` : '',
  ].filter(Boolean);
  let progress = `${bar}${extras.length ? ` · ${extras.join(' · ')}` : ''}`;
  const traffic = deployment.traffic?.current?.description;
  const operation = deployment.operation;
  if (operation?.uncertain) {
    // Nobody reads for an ended deployment: then it stays unknown.
    const state = isTerminal(deployment)
      ? 'unknown — no read succeeded before the deployment ended'
      : 'unknown — re-reading';
    const before = traffic
      ? ` (last read before the ${operation.kind === 'rollback' ? 'rollback' : 'shift'}: ${escapeText(truncate(traffic, 300))})`
      : '';
    progress += `\n*Traffic:* ${state}${before}`;
  } else if (traffic) progress += `\n*Traffic:* ${escapeText(truncate(traffic, 300))}`;
  if (rollback?.error) progress += `\n⚠️ *Rollback failed:* ${escapeText(truncate(rollback.error, 300))}`;
  const followUps = checklist.phases.filter((phase) => phase.after !== undefined);
  if (followUps.length > 0 && deployment.followUpsFrom !== undefined) {
    const lines = followUps.map((phase) => {
      const state = deployment.phases[phase.id];
      const name = escapeText(truncate(phase.title, 60));
      if (state?.status === 'completed') return `${name} ✅`;
      if (state?.status === 'active') return `${name} ⏰ open`;
      return `${name} due ${state?.dueAt ? slackDateTime(state.dueAt) : '?'}`;
    });
    progress += `\n*Follow-ups:* ${truncate(lines.join(' · '), 1_500)}`;
  }
  // The rollback checklist, once the rollback has finished: how far the team has walked it.
  const rollbackPhases = (checklist.rollback?.phases ?? []).filter((phase) => deployment.phases[phase.id]);
  if (rollbackPhases.length > 0) {
    const lines = rollbackPhases.map((phase) => {
      const name = escapeText(truncate(phase.title, 60));
      if (deployment.phases[phase.id]?.status === 'completed') return `${name} ✅`;
      const done = phase.items.filter((item) => isResolved(deployment.items[item.id])).length;
      return `${name} ${done}/${phase.items.length}`;
    });
    progress += `\n*After the rollback:* ${truncate(lines.join(' · '), 1_000)}`;
  }
  const short = trafficShortfall(deployment, checklist);
  if (short)
    progress += `\n⚠️ *${escapeText(short.phrase)}:* “${escapeText(truncate(short.title, 100))}” ${short.status === 'n/a' ? 'marked n/a' : short.status}${short.by ? ` by ${mention(short.by)}` : ''}`;
  if (deployment.guardsArmedAt !== undefined && !isTerminal(deployment))
    progress += ' · 🛡️ rollback triggers armed';
  const watching = watchingFor(deployment, context.now ?? Date.now());
  if (watching && deployment.watchUntil !== undefined)
    progress += `\n🛡️ Rollback triggers watching for ${watching} (until ${slackTime(deployment.watchUntil)}): new code takes all traffic`;
  if (deployment.supersededBy)
    progress += `\n_Superseded by ${escapeText(deployment.service)} \`${escapeText(deployment.supersededBy.version)}\` (\`${deployment.supersededBy.id}\`): roll back from its thread._`;
  let where: string;
  if (deployment.status === 'rolled_back' && rollback) {
    where = `*Rolled back* in ${formatDuration(rollback.durationMs ?? 0)} by ${mention(rollback.requestedBy)}: “${escapeText(truncate(rollback.reason, 300))}”`;
  } else if (isRollingBack(deployment) && rollback) {
    where = `*↩️ Rolling back…* requested by ${mention(rollback.requestedBy)}: “${escapeText(truncate(rollback.reason, 300))}”`;
  } else if (deployment.status === 'completed') {
    where = `*Completed* in ${formatDuration((deployment.endedAt ?? deployment.createdAt) - deployment.createdAt)}`;
  } else if (deployment.status === 'aborted') {
    where = `*Aborted* by ${mention(deployment.endedBy ?? 'flightdeck')}: “${escapeText(truncate(deployment.endReason ?? '', 500))}”`;
  } else {
    const phase = checklist.phases[deployment.currentPhase];
    where = `*Phase ${deployment.currentPhase + 1} of ${checklist.phases.length}:* ${escapeText(truncate(phase?.title ?? '', 300))}`;
  }

  const contextParts = Object.entries(context.links ?? {})
    .slice(0, 8)
    .map(([name, url]) => `<${url}|${escapeText(name)}>`);
  contextParts.push(`\`${deployment.id}\` · started ${slackDateTime(deployment.createdAt)}`);

  const blocks: Block[] = [
    {
      type: 'header',
      block_id: 'card.header',
      text: { type: 'plain_text', text: truncate(title, 150), emoji: true },
    },
    { type: 'section', block_id: 'card.fields', fields },
    { type: 'section', block_id: 'card.progress', text: { type: 'mrkdwn', text: `${where}\n${progress}` } },
    {
      type: 'context',
      block_id: 'card.context',
      elements: [{ type: 'mrkdwn', text: contextParts.join('  ·  ') }],
    },
  ];
  if (deployment.status === 'completed' && !isRollingBack(deployment) && !deployment.supersededBy) {
    // Problems often show up after promotion: the latest deployment can still be rolled back (only it).
    blocks.push({
      type: 'actions',
      block_id: 'card.actions',
      elements: [
        {
          type: 'button',
          action_id: ACTION.deploymentRollback,
          text: { type: 'plain_text', text: '↩️ Roll back…' },
          value: actionValue(deployment.id, 'card'),
        },
      ],
    });
  }
  if (!isTerminal(deployment)) {
    const value = actionValue(deployment.id, 'card');
    const elements: types.Button[] = [];
    if (!isRollingBack(deployment)) {
      elements.push({
        type: 'button',
        action_id: ACTION.deploymentRollback,
        text: { type: 'plain_text', text: '↩️ Roll back…' },
        style: 'danger',
        value,
      });
    }
    elements.push(
      deployment.status === 'paused'
        ? {
            type: 'button',
            action_id: ACTION.deploymentResume,
            text: { type: 'plain_text', text: '▶️ Resume' },
            value,
          }
        : {
            type: 'button',
            action_id: ACTION.deploymentPause,
            text: { type: 'plain_text', text: '⏸️ Pause' },
            value,
          },
      {
        type: 'button',
        action_id: ACTION.deploymentAbort,
        text: { type: 'plain_text', text: 'Abort…' },
        value,
      },
    );
    blocks.push({ type: 'actions', block_id: 'card.actions', elements });
  }
  return {
    text: `${deployment.service} ${deployment.version} → ${deployment.environment}: ${DEPLOYMENT_STATE_LABEL[deployment.status]}`,
    blocks,
  };
}
