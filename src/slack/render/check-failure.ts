import { describeItemSpec } from '../../checklists/describe.js';
import { walkedPhases } from '../../checklists/phases.js';
import type { Checklist, Item, Phase } from '../../checklists/schema.js';
import type { CheckRun } from '../../checks/types.js';
import { type Deployment, isTerminal } from '../../deployments/model.js';
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
 * The threaded reply when a check run fails or cannot be evaluated: which item, what it measured, what
 * was expected, who owns it (mentioned, so they get notified) and the two ways forward. Once the item
 * moves on (passes on a re-run, is overridden, the deployment ends) the reply is updated to say so and
 * loses its buttons, so nobody acts on a stale failure.
 */
export function renderCheckFailure(
  deployment: Deployment,
  checklist: Checklist,
  item: Extract<Item, { kind: 'check' }>,
  run: number,
  result: CheckRun,
  ownerMentions: string,
): SlackMessage {
  const phase = walkedPhases(checklist).find((candidate) => candidate.items.includes(item));
  const failed = result.outcome === 'failed';
  const title = escapeText(truncate(item.title, 200));
  const summary = escapeText(truncate(result.summary, 300));
  const headline = failed
    ? `❌ *${title}* failed: ${summary}`
    : `⚠️ *${title}* could not be evaluated: ${summary}`;
  const expected = `Expected: ${escapeText(truncate(describeItemSpec(item) ?? '', 400))}`;
  const outcome = whatHappenedSince(deployment, item, run, phase);
  const ask = outcome ? `_${outcome}_` : `${ownerMentions} — re-run it, or override it with a reason.`;
  const blocks: Block[] = [
    {
      type: 'section',
      block_id: 'failure.text',
      text: { type: 'mrkdwn', text: `${headline}\n${expected}\n${ask}` },
    },
    {
      type: 'context',
      block_id: 'failure.context',
      elements: [
        {
          type: 'mrkdwn',
          text: truncate(
            [
              `${phase ? `${escapeText(phase.title)} · ` : ''}run ${run} · ${slackTime(result.at)}`,
              `${result.attempts} attempt${result.attempts === 1 ? '' : 's'} in ${Math.round(result.durationMs)} ms`,
              result.detail ? escapeText(result.detail) : '',
            ]
              .filter(Boolean)
              .join(' · '),
            1_500,
          ),
        },
      ],
    },
  ];
  if (!outcome) {
    blocks.push({
      type: 'actions',
      block_id: 'failure.actions',
      elements: [
        {
          type: 'button',
          action_id: ACTION.checkRerun,
          text: { type: 'plain_text', text: '↻ Re-run' },
          value: actionValue(deployment.id, item.id),
        },
        {
          type: 'button',
          action_id: ACTION.checkOverride,
          text: { type: 'plain_text', text: 'Override…' },
          style: 'danger',
          value: actionValue(deployment.id, item.id),
        },
      ],
    });
  }
  return {
    text: `${failed ? 'Check failed' : 'Check could not be evaluated'}: ${item.title} — ${result.summary}`,
    blocks,
  };
}

/** Why this failure needs no action any more, or undefined while it still does. */
function whatHappenedSince(
  deployment: Deployment,
  item: Item,
  run: number,
  phase: Phase | undefined,
): string | undefined {
  const state = deployment.items[item.id];
  if (state?.overridden)
    return `☑️ Overridden by ${mention(state.by ?? 'flightdeck')}: “${escapeText(truncate(state.reason ?? '', 300))}”`;
  if (state?.status === 'skipped' || state?.status === 'n/a')
    return `Resolved as ${state.status} by ${mention(state.by ?? 'flightdeck')}.`;
  if (state?.status === 'passed')
    return `✅ Passed on run ${state.run ?? run}${state.result ? `: ${escapeText(truncate(state.result.summary, 200))}` : ''}.`;
  // A completed deployment still walks its open follow-up phases (T+30m…): their failures need answers.
  const openFollowUp =
    deployment.status === 'completed' &&
    phase?.after !== undefined &&
    deployment.phases[phase.id]?.status === 'active';
  if (isTerminal(deployment) && !openFollowUp)
    return `The deployment is ${deployment.status.replace('_', ' ')}; nothing to do.`;
  if ((state?.run ?? run) > run)
    return state?.status === 'running'
      ? `Re-running (run ${state.run})…`
      : `Superseded by run ${state?.run}.`;
  return undefined;
}

export function failureMessageKey(itemId: string, run: number): string {
  return `failure:${itemId}:${run}`;
}

export function parseFailureMessageKey(key: string): { itemId: string; run: number } | undefined {
  const match = /^failure:(.+):(\d+)$/.exec(key);
  return match ? { itemId: match[1] as string, run: Number(match[2]) } : undefined;
}
