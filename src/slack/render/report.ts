import type { types } from '@slack/bolt';
import { fitLines, shareBudget } from '../../reports/fit.js';
import type { DeploymentReport } from '../../reports/types.js';
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
 * The report in the thread, posted when a deployment completes, rolls back or is aborted, and updated when
 * follow-ups run or the retrospective is recorded. The compact form of `renderReportMarkdown`: the same
 * figures (built once by `buildReport`), the lists cut to fit Block Kit, and a Retrospective button.
 */

/** Stored under the summary's old key, so threads posted before keep (and update) their message. */
export const REPORT_KEY = 'summary';

/** Block text stays well under Slack's msg_blocks_too_long (about 13k characters). */
const TEXT_BUDGET = 11_000;
const SECTION_MAX = 2_900;

export function reportHeadline(report: DeploymentReport): string {
  const what = `${report.service} ${report.version}`;
  switch (report.status) {
    case 'completed':
      // Never "deployed" when traffic did not end where the checklist's last traffic step put it.
      return report.trafficShortfall
        ? `⚠️ ${what} completed in ${report.environment} — ${report.trafficShortfall.phrase}`
        : `✅ ${what} deployed to ${report.environment}`;
    case 'rolled_back':
      return `↩️ ${what} rolled back in ${report.environment}`;
    case 'aborted':
      return `🛑 ${what} deployment aborted`;
    default:
      return `🟢 ${what} in progress in ${report.environment}`;
  }
}

export function renderReportMessage(report: DeploymentReport): SlackMessage {
  const headline = reportHeadline(report);
  const blocks: Block[] = [
    {
      type: 'header',
      block_id: 'report.header',
      text: { type: 'plain_text', text: truncate(headline, 150), emoji: true },
    },
    {
      type: 'section',
      block_id: 'report.totals',
      text: { type: 'mrkdwn', text: truncate(totals(report).join('\n'), SECTION_MAX) },
    },
    { type: 'section', block_id: 'report.metrics', fields: metricFields(report) },
  ];

  const lists = listSections(report).filter((list) => list.lines.length > 0);
  const fixed = blocks.reduce((sum, block) => sum + textLength(block), 0) + 400;
  const shares = shareBudget(
    lists.map((list) => Math.min(SECTION_MAX, list.heading.length + 1 + list.lines.join('\n').length)),
    TEXT_BUDGET - fixed,
  );
  lists.forEach((list, index) => {
    const share = (shares[index] ?? 0) - list.heading.length - 1;
    if (share < 40) return; // no room left for even one line: the Markdown report has it
    const lines = fitLines(list.lines, share, (left) => `_…and ${left} more in \`/deploy report\`_`);
    blocks.push({
      type: 'section',
      block_id: `report.${list.id}`,
      text: { type: 'mrkdwn', text: truncate(`${list.heading}\n${lines.join('\n')}`, SECTION_MAX) },
    });
  });

  blocks.push({
    type: 'actions',
    block_id: 'report.actions',
    elements: [
      {
        type: 'button',
        action_id: ACTION.reportRetrospective,
        text: {
          type: 'plain_text',
          text: report.retrospective ? '📝 Edit retrospective' : '📝 Retrospective',
          emoji: true,
        },
        ...(report.retrospective ? {} : { style: 'primary' as const }),
        value: actionValue(report.id, 'retrospective'),
      },
    ],
  });
  blocks.push({
    type: 'context',
    block_id: 'report.more',
    elements: [
      {
        type: 'mrkdwn',
        text: `Full report as Markdown: \`/deploy report ${report.id}\` · history: \`/deploy history ${escapeText(report.service)}\``,
      },
    ],
  });
  return { text: headline, blocks };
}

function totals(report: DeploymentReport): string[] {
  const items = report.items;
  const lines = [
    `*Duration:* ${formatDuration(report.metrics.durationMs)}${report.metrics.pausedMs > 0 ? ` (paused ${formatDuration(report.metrics.pausedMs)})` : ''} · *Items:* ${items.done} done, ${items.skipped.length} skipped, ${items.notApplicable.length} n/a of ${items.total}`,
  ];
  const short = report.trafficShortfall;
  if (short)
    lines.push(
      `⚠️ *${escapeText(short.phrase)}:* “${escapeText(truncate(short.title, 150))}” ${short.status === 'n/a' ? 'marked n/a' : short.status}${short.by ? ` by ${mention(short.by)}` : ''}${short.reason ? `: “${escapeText(truncate(short.reason, 300))}”` : ''}`,
    );
  const version = report.versionCheck;
  if (version)
    lines.push(
      version.verified.length > 0
        ? `*Version verified:* ${escapeText(truncate(version.verified.map((check) => check.summary).join('; '), 600))}`
        : `⚠️ *Version not verified:* ${escapeText(truncate(version.unverified.map((check) => `${check.title} ${check.final}`).join('; ') || 'no image check was reached', 600))}`,
    );
  const c = report.checks;
  if (c.total > 0) {
    lines.push(
      `*Checks:* ${c.passed} passed, ${c.overridden} overridden, ${c.failedAtLeastOnce} failed at least once${c.stillFailing ? `, ${c.stillFailing} still failing` : ''}${c.notRun ? `, ${c.notRun} not run` : ''} of ${c.total} (${plural(c.runs, 'run')})`,
    );
  }
  const phasesDone = report.phases.filter((phase) => phase.outcome !== 'not reached');
  if (phasesDone.length > 0) {
    const shown = phasesDone
      .map((phase) => `${escapeText(truncate(phase.title, 40))} ${formatDuration(phase.durationMs ?? 0)}`)
      .join(' · ');
    lines.push(`*Phases:* ${truncate(shown, 900)}`);
  }
  const steps = report.traffic.steps;
  if (steps.length > 0) {
    const shown = steps.map((step) => `${slackTime(step.at)} ${escapeText(truncate(step.to, 60))}`);
    lines.push(`*Traffic steps:* ${truncate(shown.join(' → '), 900)}`);
  }
  const rollback = report.rollback;
  if (rollback) {
    const why = rollback.trigger
      ? `trigger “${escapeText(truncate(rollback.trigger.title, 150))}”: ${escapeText(truncate(rollback.trigger.measured, 200))}`
      : `${mention(rollback.requestedBy)}: “${escapeText(truncate(rollback.reason, 300))}”`;
    lines.push(
      rollback.durationMs !== undefined
        ? `*Rolled back* in ${formatDuration(rollback.durationMs)} — ${why}`
        : `*Rollback* ${rollback.error ? `failed: ${escapeText(truncate(rollback.error, 200))}` : 'in progress'} — ${why}`,
    );
    if (rollback.from && rollback.to)
      lines.push(
        `*Traffic:* ${escapeText(truncate(rollback.from, 150))} → ${escapeText(truncate(rollback.to, 150))}`,
      );
  }
  if (report.status === 'aborted') {
    lines.push(
      `*Aborted by* ${mention(report.endedBy ?? 'flightdeck')}: “${escapeText(truncate(report.endReason ?? '', 500))}”`,
    );
  }
  return lines;
}

function metricFields(report: DeploymentReport): types.MrkdwnElement[] {
  const m = report.metrics;
  const issues = m.issuesFound;
  const field = (label: string, value: string): types.MrkdwnElement => ({
    type: 'mrkdwn',
    text: truncate(`*${label}*\n${value}`, 1_900),
  });
  const post = m.postDeploymentIssues;
  return [
    field('Deployment duration', formatDuration(m.durationMs)),
    field(
      'Downtime',
      `${m.degradedMs > 0 ? `${formatDuration(m.degradedMs)} with a trigger holding` : 'none observed'}${m.reportedDowntime ? ` · team: ${escapeText(truncate(m.reportedDowntime, 100))}` : ''}`,
    ),
    field('Rollback time', m.rollbackMs !== undefined ? formatDuration(m.rollbackMs) : '—'),
    field(
      'Issues found',
      `${issues.total} (${plural(issues.failedChecks, 'failed check')}, ${plural(issues.firedTriggers, 'trigger')} fired, ${plural(issues.escalations, 'escalation')})`,
    ),
    field(
      'Post-deployment issues',
      post
        ? `${post.critical} critical, ${post.major} major, ${post.minor} minor`
        : '_retrospective pending_',
    ),
    field('User impact', m.userImpact ? escapeText(truncate(m.userImpact, 200)) : '_retrospective pending_'),
  ];
}

interface ListSection {
  id: string;
  heading: string;
  lines: string[];
}

function quote(text: string, max: number): string {
  return `“${escapeText(truncate(text.replace(/\s+/g, ' ').trim(), max))}”`;
}

function listSections(report: DeploymentReport): ListSection[] {
  const time = (ms: number | undefined) => (ms === undefined ? '' : ` ${slackTime(ms)}`);
  const who = (user: string | undefined) => mention(user ?? 'flightdeck');
  const title = (text: string, max = 100) => escapeText(truncate(text, max));
  const sections: ListSection[] = [];
  const failed = report.checks.failedRuns;
  sections.push({
    id: 'failed',
    heading: `*Failed check runs (${failed.length})*`,
    lines: failed.map(
      (run) =>
        `• ${title(run.title)} — run ${run.run}${time(run.at)}: \`${escapeText(truncate(run.summary, 200)).replaceAll('`', "'")}\``,
    ),
  });
  sections.push({
    id: 'skipped',
    heading: `*Skipped (${report.items.skipped.length})*`,
    lines: report.items.skipped.map(
      (item) => `• ${title(item.title, 120)} — ${who(item.by)}: ${quote(item.reason ?? '', 150)}`,
    ),
  });
  sections.push({
    id: 'overridden',
    heading: `*Overridden checks (${report.items.overridden.length})*`,
    lines: report.items.overridden.map(
      (item) =>
        `• ${title(item.title)} — ${who(item.by)}: ${quote(item.reason ?? '', 150)}${item.showed ? ` _(was: ${escapeText(truncate(item.showed, 100))})_` : ''}`,
    ),
  });
  sections.push({
    id: 'na',
    heading: `*Not applicable (${report.items.notApplicable.length})*`,
    lines: report.items.notApplicable.map(
      (item) =>
        `• ${title(item.title, 120)} — ${who(item.by)}${item.reason ? `: ${quote(item.reason, 100)}` : ''}`,
    ),
  });
  const open = [...report.items.notDone, ...report.items.optionalOpen];
  sections.push({
    id: 'open',
    heading: `*${report.status === 'completed' ? 'Not done' : 'Left undone'} (${open.length})*`,
    lines: [
      ...report.items.notDone.map((item) => `• ${title(item.title, 120)}`),
      ...report.items.optionalOpen.map((item) => `• ${title(item.title, 120)} _(optional)_`),
    ],
  });
  sections.push({
    id: 'signoffs',
    heading: `*Sign-offs (${report.signoffs.length})*`,
    lines: report.signoffs.map((signoff) => {
      const names = signoff.signatures
        .map((signature) => `${who(signature.by)}${time(signature.at)}`)
        .join(', ');
      const state =
        signoff.status === 'done'
          ? '✅'
          : signoff.status === 'skipped' || signoff.status === 'n/a'
            ? `_${signoff.status}_`
            : `_${signoff.signatures.length}/${signoff.needed}_`;
      return `• ${title(signoff.title)} ${state}${names ? ` — ${names}` : ''}`;
    }),
  });
  sections.push({
    id: 'escalations',
    heading: `*Escalations (${report.escalations.length})*`,
    lines: report.escalations.map((escalation) => {
      const top = escalation.levels.at(-1);
      const answer = escalation.acknowledged
        ? `acknowledged by ${who(escalation.acknowledged.by)}${time(escalation.acknowledged.at)}`
        : escalation.resolvedAt !== undefined
          ? `resolved${time(escalation.resolvedAt)}`
          : 'not acknowledged';
      return `• ${escapeText(truncate(escalation.about, 150))} — level ${top?.level ?? 0}${top?.page ? ' (paged)' : ''}, ${answer}`;
    }),
  });
  sections.push({
    id: 'followups',
    heading: `*Follow-ups (${report.followUps.length})*`,
    lines: report.followUps.map((phase) => {
      const name = title(phase.title, 80);
      const checks =
        phase.checks.total > 0 ? `, checks ${phase.checks.passed}/${phase.checks.total} passed` : '';
      switch (phase.outcome) {
        case 'completed':
          return `• ${name} ✅${time(phase.completedAt)} — ${phase.items.resolved}/${phase.items.total} items${checks}`;
        case 'open':
          return `• ${name} ⏰ open since${time(phase.openedAt)} — ${phase.items.resolved}/${phase.items.total} items${checks}`;
        case 'scheduled':
          return `• ${name} due${time(phase.dueAt)}`;
        case 'cancelled':
          return `• ${name} _cancelled_`;
        default:
          return `• ${name} _not scheduled_`;
      }
    }),
  });
  const retro = report.retrospective;
  if (retro) {
    sections.push({
      id: 'retrospective',
      heading: `*Retrospective* — ${who(retro.by)}${time(retro.at)}`,
      lines: [
        `Post-deployment issues: ${retro.issues.critical} critical, ${retro.issues.major} major, ${retro.issues.minor} minor · User impact: ${retro.userImpact ? escapeText(truncate(retro.userImpact, 200)) : '—'}`,
        ...retro.answers.map((answer) => `• *${title(answer.title)}* ${quote(answer.answer, 300)}`),
      ],
    });
  }
  return sections;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function textLength(value: unknown): number {
  if (Array.isArray(value)) return value.reduce<number>((sum, entry) => sum + textLength(entry), 0);
  if (!value || typeof value !== 'object') return 0;
  let total = 0;
  for (const [key, child] of Object.entries(value)) {
    total += key === 'text' && typeof child === 'string' ? child.length : textLength(child);
  }
  return total;
}
