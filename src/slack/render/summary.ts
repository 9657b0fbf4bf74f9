import { describeItemSpec } from '../../checklists/describe.js';
import type { Checklist, Item, Phase } from '../../checklists/schema.js';
import type { Deployment } from '../../deployments/model.js';
import { formatDuration } from '../../shared/duration.js';
import { type Block, escapeText, mention, type SlackMessage, truncate } from './format.js';
import { itemCounts } from './status-card.js';

export const SUMMARY_KEY = 'summary';

const LISTED_MAX = 15;

/** Posted in the thread when a deployment ends: outcome, duration and what was not simply done. */
export function renderSummary(deployment: Deployment, checklist: Checklist): SlackMessage {
  const counts = itemCounts(deployment, checklist);
  const duration = formatDuration((deployment.endedAt ?? deployment.createdAt) - deployment.createdAt);
  const what = `${deployment.service} ${deployment.version}`;
  const outcome =
    deployment.status === 'completed'
      ? `✅ ${what} deployed to ${deployment.environment}`
      : deployment.status === 'rolled_back'
        ? `↩️ ${what} rolled back in ${deployment.environment}`
        : `🛑 ${what} deployment aborted`;

  const lines = [
    `*Duration:* ${duration} · *Items:* ${counts.done} done, ${counts.skipped} skipped, ${counts.notApplicable} n/a of ${counts.total}`,
  ];
  const checks = checklist.phases.flatMap((phase) => phase.items).filter((item) => item.kind === 'check');
  if (checks.length > 0) {
    const states = checks.map((item) => deployment.items[item.id]);
    const passed = states.filter((state) => state?.status === 'passed').length;
    const overridden = states.filter((state) => state?.overridden).length;
    const failing = states.filter((state) => state?.status === 'failed' || state?.status === 'error').length;
    lines.push(
      `*Checks:* ${passed} passed, ${overridden} overridden${failing ? `, ${failing} still failing` : ''} of ${checks.length}`,
    );
  }
  const rollback = deployment.rollback;
  if (deployment.status === 'rolled_back' && rollback) {
    lines.push(
      `*Rolled back* in ${formatDuration(rollback.durationMs ?? 0)} — ${rollback.trigger ? `trigger “${escapeText(truncate(rollback.trigger.title, 150))}”: ${escapeText(truncate(rollback.trigger.measured, 200))}` : `${mention(rollback.requestedBy)}: “${escapeText(truncate(rollback.reason, 300))}”`}`,
    );
    if (rollback.before && rollback.after) {
      lines.push(
        `*Traffic:* ${escapeText(truncate(rollback.before.description, 150))} → ${escapeText(truncate(rollback.after.description, 150))}`,
      );
    }
  }
  const shifts = deployment.traffic?.shifts ?? [];
  if (shifts.length > 0)
    lines.push(
      `*Traffic steps:* ${shifts.map((shift) => escapeText(truncate(shift.after.description, 60))).join(' → ')}`,
    );
  if (deployment.status === 'aborted') {
    lines.push(
      `*Aborted by* ${mention(deployment.endedBy ?? 'flightdeck')}: “${escapeText(truncate(deployment.endReason ?? '', 500))}”`,
    );
  }
  const blocks: Block[] = [
    {
      type: 'header',
      block_id: 'summary.header',
      text: { type: 'plain_text', text: truncate(outcome, 150), emoji: true },
    },
    {
      type: 'section',
      block_id: 'summary.totals',
      text: { type: 'mrkdwn', text: truncate(lines.join('\n'), 3000) },
    },
  ];

  const walked = checklist.phases.flatMap((phase: Phase) => phase.items);
  const skipped = walked.filter((item) => deployment.items[item.id]?.status === 'skipped');
  if (skipped.length > 0) {
    blocks.push(
      listSection('summary.skipped', `*Skipped (${skipped.length})*`, skipped, (item) => {
        const state = deployment.items[item.id];
        return `${escapeText(truncate(item.title, 120))} — ${mention(state?.by ?? 'flightdeck')}: “${escapeText(truncate(state?.reason ?? '', 150))}”`;
      }),
    );
  }
  const overridden = walked.filter((item) => deployment.items[item.id]?.overridden);
  if (overridden.length > 0) {
    blocks.push(
      listSection('summary.overridden', `*Overridden checks (${overridden.length})*`, overridden, (item) => {
        const state = deployment.items[item.id];
        const last = state?.result ? ` _(was: ${escapeText(truncate(state.result.summary, 100))})_` : '';
        return `${escapeText(truncate(item.title, 100))} — ${mention(state?.by ?? 'flightdeck')}: “${escapeText(truncate(state?.reason ?? '', 150))}”${last}`;
      }),
    );
  }
  const open = walked.filter((item) => {
    const status = deployment.items[item.id]?.status ?? 'pending';
    return status === 'pending' || status === 'running' || status === 'failed' || status === 'error';
  });
  if (open.length > 0) {
    const label = deployment.status === 'completed' ? 'Optional, not done' : 'Not done';
    blocks.push(
      listSection('summary.open', `*${label} (${open.length})*`, open, (item) => {
        const spec = describeItemSpec(item);
        return `${escapeText(truncate(item.title, 120))}${spec ? ` _(${escapeText(truncate(spec, 80))})_` : ''}`;
      }),
    );
  }
  return { text: outcome, blocks };
}

function listSection(blockId: string, heading: string, items: Item[], line: (item: Item) => string): Block {
  const shown = items.slice(0, LISTED_MAX).map((item) => `• ${line(item)}`);
  if (items.length > LISTED_MAX) shown.push(`…and ${items.length - LISTED_MAX} more`);
  return {
    type: 'section',
    block_id: blockId,
    text: { type: 'mrkdwn', text: truncate(`${heading}\n${shown.join('\n')}`, 3000) },
  };
}
