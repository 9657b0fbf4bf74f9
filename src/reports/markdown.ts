import { formatDuration } from '../shared/duration.js';
import { DEPLOYMENT_STATE_LABEL } from '../slack/render/format.js';
import { fitLines, shareBudget } from './fit.js';
import { questionRole } from './sections/retrospective.js';
import type { DeploymentReport, FailedRun, FollowUpReport } from './types.js';

/**
 * The report as Markdown (for `/deploy report` and for pasting into a post-mortem). Every section is
 * always there — "None." when there is nothing to say — so a reader knows it was looked at. Times are
 * UTC; people are Slack mentions unless `person` says otherwise.
 */

export interface MarkdownOptions {
  /** How a person is written (default: a Slack mention; the bot is "Flightdeck"). */
  person?: (user: string) => string;
  /** Cut to this many characters, list by list, saying what was left out. */
  maxChars?: number;
}

interface Section {
  heading: string;
  lines: string[];
}

export function renderReportMarkdown(report: DeploymentReport, options: MarkdownOptions = {}): string {
  const who = options.person ?? defaultPerson;
  const at = (ms: number) => clock(ms, report.startedAt);
  const title = [
    `# Deployment report: ${md(report.service)} ${md(report.version)} → ${md(report.environment)}`,
    '',
    ...headline(report, who),
  ];
  const sections: Section[] = [
    { heading: 'Deployment Metrics', lines: metrics(report, who) },
    { heading: 'Phases', lines: phases(report, at) },
    { heading: 'Traffic', lines: traffic(report, who, at) },
    { heading: 'Rollback', lines: rollback(report, who, at) },
    { heading: 'Checks', lines: checks(report, at) },
    {
      heading: 'Skipped items',
      lines: report.items.skipped.map(
        (item) =>
          `- **${md(item.title)}** (${md(item.phaseTitle)}) — ${item.by ? who(item.by) : 'someone'}${item.at !== undefined ? ` at ${at(item.at)}` : ''}: “${md(item.reason ?? '')}”`,
      ),
    },
    {
      heading: 'Overridden checks',
      lines: report.items.overridden.map(
        (item) =>
          `- **${md(item.title)}** — ${item.by ? who(item.by) : 'someone'}${item.at !== undefined ? ` at ${at(item.at)}` : ''}: “${md(item.reason ?? '')}”${item.showed ? ` (it showed ${code(item.showed)})` : ''}`,
      ),
    },
    {
      heading: 'Not applicable',
      lines: report.items.notApplicable.map(
        (item) =>
          `- **${md(item.title)}** (${md(item.phaseTitle)}) — ${item.by ? who(item.by) : 'someone'}${item.reason ? `: “${md(item.reason)}”` : ''}`,
      ),
    },
    { heading: 'Not done', lines: notDone(report) },
    { heading: 'Sign-offs', lines: signoffs(report, who, at) },
    { heading: 'Escalations', lines: escalations(report, who, at) },
    {
      heading: 'Rollback triggers',
      lines: report.triggers.map(
        (trigger) =>
          `- **${md(trigger.title)}** fired at ${at(trigger.firedAt)}${trigger.automatic ? ' and rolled back automatically' : ''}${trigger.measured ? `: ${code(trigger.measured)}` : ''} — held ${formatDuration(trigger.heldUntil - trigger.heldSince)} (${at(trigger.heldSince)} → ${at(trigger.heldUntil)})${trigger.clearedAt !== undefined ? ', then cleared' : ''}${trigger.overridden ? `; its hold on traffic shifts overridden by ${who(trigger.overridden.by)} at ${at(trigger.overridden.at)}: “${md(trigger.overridden.reason)}”` : ''}`,
      ),
    },
    {
      heading: 'Refused attempts',
      lines: report.refusals.map(
        (refusal) =>
          `- ${at(refusal.at)} ${who(refusal.actor)} — ${code(refusal.action)}${refusal.target ? ` on ${code(refusal.target)}` : ''}: ${md(refusal.reason)}`,
      ),
    },
    { heading: 'Follow-up phases', lines: followUps(report, at) },
    { heading: 'Retrospective', lines: retrospective(report, who) },
  ];
  for (const section of sections) if (section.lines.length === 0) section.lines.push('None.');

  const head = title.join('\n');
  const render = (parts: Section[]) =>
    [head, ...parts.map((section) => `## ${section.heading}\n\n${section.lines.join('\n')}`)].join('\n\n');
  const full = `${render(sections)}\n`;
  const max = options.maxChars;
  if (max === undefined || full.length <= max) return full;

  // Too long: every section keeps its heading and a share of what is left; the note says what was cut.
  const note = (cut: string[]) =>
    `\n\n_Shortened to fit a Slack message: lines were left out of ${cut.join(', ')}. The full figures are in the deployment's audit log._`;
  const reserve = note(sections.map((section) => section.heading)).length;
  const overhead = head.length + sections.reduce((sum, section) => sum + section.heading.length + 7, 0);
  const needs = sections.map((section) => section.lines.join('\n').length);
  const shares = shareBudget(needs, max - overhead - reserve - 1);
  const cut: string[] = [];
  const fitted = sections.map((section, index) => {
    const lines = fitLines(section.lines, shares[index] ?? 0, (left) => `- … ${left} more not shown`);
    if (lines.length !== section.lines.length || lines.at(-1) !== section.lines.at(-1))
      cut.push(section.heading);
    return { ...section, lines };
  });
  return `${render(fitted)}${note(cut)}\n`;
}

function defaultPerson(user: string): string {
  return user === 'flightdeck' ? 'Flightdeck' : `<@${user}>`;
}

function headline(report: DeploymentReport, who: (user: string) => string): string[] {
  const short = report.trafficShortfall;
  const lines = [
    `- **Outcome:** ${DEPLOYMENT_STATE_LABEL[report.status]}${report.endReason ? ` — “${md(report.endReason)}”` : ''}${short ? ` — ⚠️ ${short.phrase}: “${md(short.title)}” ${short.status === 'n/a' ? 'marked n/a' : short.status}${short.by ? ` by ${who(short.by)}` : ''}${short.reason ? `: “${md(short.reason)}”` : ''}` : ''}`,
    `- **Duration:** ${formatDuration(report.metrics.durationMs)}${report.endedAt === undefined ? ' so far' : ''}`,
    `- **Checklist:** ${md(report.checklist.title)} (${code(report.checklist.id)})`,
    `- **Requested by:** ${who(report.requestedBy)}`,
    ...versionLine(report),
    `- **Started:** ${utc(report.startedAt)}`,
  ];
  if (report.endedAt !== undefined)
    lines.push(
      `- **Ended:** ${utc(report.endedAt)}${report.endedBy ? ` (${report.status.replace('_', ' ')} by ${who(report.endedBy)})` : ''}`,
    );
  lines.push(`- **Deployment:** ${code(report.id)} · report as of ${utc(report.asOf)}; times are UTC`);
  return lines;
}

/** Which image the cluster was seen running, when the checklist verifies it. */
function versionLine(report: DeploymentReport): string[] {
  const version = report.versionCheck;
  if (!version) return [];
  if (version.verified.length > 0)
    return [`- **Version verified:** ${version.verified.map((check) => code(check.summary)).join('; ')}`];
  const why = version.unverified
    .map((check) => `${md(check.title)} ${check.final}${check.summary ? ` (${code(check.summary)})` : ''}`)
    .join('; ');
  return [`- **Version verified:** ⚠️ no — ${why || 'no image check was reached'}`];
}

function metrics(report: DeploymentReport, who: (user: string) => string): string[] {
  const m = report.metrics;
  const issues = m.issuesFound;
  const lines = [
    `- **Deployment duration:** ${formatDuration(m.durationMs)}${m.pausedMs > 0 ? ` (paused ${formatDuration(m.pausedMs)})` : ''}`,
    `- **Downtime:** ${m.degradedMs > 0 ? `${formatDuration(m.degradedMs)} with a rollback trigger holding while new code took traffic` : 'none observed (no rollback trigger held while new code took traffic)'}${m.reportedDowntime ? `; the team reports: ${md(m.reportedDowntime)}` : ''}`,
    `- **Rollback time:** ${m.rollbackMs !== undefined ? `${formatDuration(m.rollbackMs)} (request to verified)` : report.rollback ? 'not verified' : 'no rollback'}${m.exposureMs !== undefined ? `; new code took traffic for ${formatDuration(m.exposureMs)} before it was asked for` : ''}`,
    `- **Issues found:** ${issues.total} — ${plural(issues.failedChecks, 'failed check')}, ${plural(issues.firedTriggers, 'rollback trigger')} fired, ${plural(issues.escalations, 'escalation')}`,
  ];
  if (m.postDeploymentIssues) {
    const p = m.postDeploymentIssues;
    lines.push(`- **Post-deployment issues:** ${p.critical} critical, ${p.major} major, ${p.minor} minor`);
  } else {
    lines.push('- **Post-deployment issues:** not reported yet (Retrospective button in the thread)');
  }
  lines.push(`- **User impact:** ${m.userImpact ? md(m.userImpact) : 'not reported yet'}`);
  if (m.performanceImpact) lines.push(`- **Performance impact:** ${md(m.performanceImpact)}`);
  if (report.retrospective)
    lines.push(
      `- _Reported in the retrospective by ${who(report.retrospective.by)} at ${utc(report.retrospective.at)}._`,
    );
  return lines;
}

function phases(report: DeploymentReport, at: (ms: number) => string): string[] {
  return report.phases.map((phase, index) => {
    const items = `${phase.items.resolved}/${phase.items.total} items`;
    if (phase.outcome === 'not reached')
      return `${index + 1}. **${md(phase.title)}** — not reached (${items})`;
    const span = `${at(phase.openedAt ?? 0)} → ${phase.completedAt !== undefined ? at(phase.completedAt) : 'not completed'}`;
    return `${index + 1}. **${md(phase.title)}** — ${formatDuration(phase.durationMs ?? 0)} (${span}, ${items})`;
  });
}

function traffic(
  report: DeploymentReport,
  who: (user: string) => string,
  at: (ms: number) => string,
): string[] {
  const t = report.traffic;
  const lines: string[] = [];
  if (t.strategy)
    lines.push(`Strategy: ${md(t.strategy)}. Before: ${t.initial ? code(t.initial) : 'not read'}.`);
  if (t.newCodeSince !== undefined) lines.push(`New code took traffic from ${at(t.newCodeSince)}.`);
  for (const step of t.steps) {
    lines.push(
      `- ${at(step.at)} (+${formatDuration(step.at - report.startedAt)}): ${md(step.target)}${step.itemTitle ? ` (“${md(step.itemTitle)}”)` : ''} by ${who(step.by)} — ${code(step.to)}, verified in ${formatDuration(step.durationMs)}`,
    );
  }
  for (const failure of t.failures) {
    lines.push(
      `- ${at(failure.at)}: ${md(failure.target)} by ${who(failure.by)} **failed** (${code(failure.code)}): ${md(failure.message)}`,
    );
  }
  if (t.final && (t.steps.length > 0 || report.rollback)) lines.push(`Final: ${code(t.final)}.`);
  if (lines.length === 0) return ['No traffic changes.'];
  return lines;
}

function rollback(
  report: DeploymentReport,
  who: (user: string) => string,
  at: (ms: number) => string,
): string[] {
  const r = report.rollback;
  if (!r) return ['Not rolled back.'];
  const why = r.trigger
    ? `automatically by trigger **${md(r.trigger.title)}**: ${code(r.trigger.measured)}`
    : `by ${who(r.requestedBy)}: “${md(r.reason)}”`;
  const lines = [`- **Requested** at ${at(r.requestedAt)} ${why}`];
  if (r.completedAt !== undefined)
    lines.push(
      `- **Verified** at ${at(r.completedAt)}, ${formatDuration(r.durationMs ?? r.completedAt - r.requestedAt)} after the request${r.from && r.to ? `: ${code(r.from)} → ${code(r.to)}` : ''}`,
    );
  if (r.error) lines.push(`- **Failed:** ${md(r.error)}`);
  return lines;
}

function failedRun(run: FailedRun, at: (ms: number) => string): string {
  const verdict = run.outcome === 'error' ? 'could not be evaluated' : 'failed';
  const detail = run.detail ? ` — ${md(oneLine(run.detail, 300))}` : '';
  return `- **${md(run.title)}** run ${run.run} at ${at(run.at)} ${verdict}: ${code(run.summary)}${detail}`;
}

function checks(report: DeploymentReport, at: (ms: number) => string): string[] {
  const c = report.checks;
  if (c.total === 0) return ['No automated checks.'];
  const lines = [
    `${plural(c.total, 'check')}, ${c.run} of them run (${plural(c.runs, 'run')} in all): ${c.passed} passed, ${c.failedAtLeastOnce} failed at least once, ${c.overridden} overridden, ${c.stillFailing} still failing, ${c.notRun} not run.`,
  ];
  if (c.failedRuns.length > 0) {
    lines.push('', 'Failed runs and the values they measured:');
    lines.push(...c.failedRuns.map((run) => failedRun(run, at)));
  }
  const stillFailing = c.items.filter((check) => check.final === 'failed' || check.final === 'error');
  if (stillFailing.length > 0) {
    lines.push('', 'Still failing at the end:');
    lines.push(
      ...stillFailing.map(
        (check) => `- **${md(check.title)}**${check.summary ? `: ${code(check.summary)}` : ''}`,
      ),
    );
  }
  return lines;
}

function notDone(report: DeploymentReport): string[] {
  const lines = report.items.notDone.map(
    (item) => `- **${md(item.title)}** (${md(item.phaseTitle)}) — ${item.status}, required`,
  );
  lines.push(
    ...report.items.optionalOpen.map((item) => `- ${md(item.title)} (${md(item.phaseTitle)}) — optional`),
  );
  return lines;
}

function signoffs(
  report: DeploymentReport,
  who: (user: string) => string,
  at: (ms: number) => string,
): string[] {
  return report.signoffs.map((signoff) => {
    const names =
      signoff.signatures.length > 0
        ? signoff.signatures.map((signature) => `${who(signature.by)} at ${at(signature.at)}`).join(', ')
        : 'nobody';
    const withdrawn =
      signoff.withdrawn.length > 0
        ? `; withdrawn: ${signoff.withdrawn.map((entry) => `${who(entry.by)} at ${at(entry.at)}`).join(', ')}`
        : '';
    const state =
      signoff.status === 'done'
        ? '✅'
        : signoff.status === 'skipped' || signoff.status === 'n/a'
          ? `${signoff.waived ? '⚠️ waived (not signed)' : signoff.status}${signoff.by ? ` by ${who(signoff.by)}` : ''}${signoff.reason ? `: “${md(signoff.reason)}”` : ''}`
          : `not signed (${signoff.signatures.length}/${signoff.needed})`;
    return `- **${md(signoff.title)}** (${md(signoff.role)}, ${signoff.needed} needed) — signed by ${names}${withdrawn} — ${state}`;
  });
}

function escalations(
  report: DeploymentReport,
  who: (user: string) => string,
  at: (ms: number) => string,
): string[] {
  return report.escalations.map((escalation) => {
    const levels = escalation.levels
      .map(
        (level) =>
          `level ${level.level} at ${at(level.at)} → ${md(level.notify)}${level.page ? ' (paged)' : ''}`,
      )
      .join(', ');
    const answer = escalation.acknowledged
      ? `acknowledged by ${who(escalation.acknowledged.by)} at ${at(escalation.acknowledged.at)}`
      : 'not acknowledged';
    const resolved = escalation.resolvedAt !== undefined ? `; resolved at ${at(escalation.resolvedAt)}` : '';
    return `- ${md(escalation.about)} (since ${at(escalation.startedAt)}): ${levels} — ${answer}${resolved}`;
  });
}

function followUp(phase: FollowUpReport, at: (ms: number) => string): string {
  const when = `T+${formatDuration(phase.afterMs)}`;
  const items = `${phase.items.resolved}/${phase.items.total} items`;
  const checks = phase.checks.total > 0 ? `, checks ${phase.checks.passed}/${phase.checks.total} passed` : '';
  const failed =
    phase.checks.failed > 0 ? ` (${plural(phase.checks.failed, 'check')} failed at least once)` : '';
  switch (phase.outcome) {
    case 'not scheduled':
      return `- **${md(phase.title)}** (${when}) — not scheduled (the deployment never reached full traffic)`;
    case 'cancelled':
      return `- **${md(phase.title)}** (${when}) — cancelled: was due ${phase.dueAt !== undefined ? at(phase.dueAt) : '?'}`;
    case 'scheduled':
      return `- **${md(phase.title)}** (${when}) — due ${phase.dueAt !== undefined ? at(phase.dueAt) : '?'}`;
    case 'open':
      return `- **${md(phase.title)}** (${when}) — due ${phase.dueAt !== undefined ? at(phase.dueAt) : '?'}, opened ${at(phase.openedAt ?? 0)}, still open: ${items}${checks}${failed}`;
    case 'completed':
      return `- **${md(phase.title)}** (${when}) — due ${phase.dueAt !== undefined ? at(phase.dueAt) : '?'}, opened ${at(phase.openedAt ?? 0)}, completed ${at(phase.completedAt ?? 0)}: ${items}${checks}${failed}`;
  }
}

function followUps(report: DeploymentReport, at: (ms: number) => string): string[] {
  return report.followUps.map((phase) => followUp(phase, at));
}

function retrospective(report: DeploymentReport, who: (user: string) => string): string[] {
  const retro = report.retrospective;
  if (!retro) {
    const questions = report.questions.map((question) => `- ${md(question.title)}`);
    return [
      'Not recorded yet: press Retrospective on the report in the thread.',
      ...(questions.length > 0 ? ['', 'It asks:', ...questions] : []),
    ];
  }
  const lines = [
    `Recorded by ${who(retro.by)} at ${utc(retro.at)}.`,
    '',
    `- **Post-deployment issues:** ${retro.issues.critical} critical, ${retro.issues.major} major, ${retro.issues.minor} minor`,
    `- **User impact:** ${retro.userImpact ? md(retro.userImpact) : 'not given'}`,
  ];
  for (const answer of retro.answers) {
    lines.push('', `**${md(answer.title)}**`, '');
    lines.push(...answer.answer.split(/\r?\n/).map((line) => `> ${md(line)}`));
  }
  const unanswered = report.questions.filter((question) => {
    const role = questionRole(question.id);
    return (
      role !== 'issues' &&
      role !== 'user-impact' &&
      !retro.answers.some((answer) => answer.id === question.id)
    );
  });
  if (unanswered.length > 0)
    lines.push('', `Not answered: ${unanswered.map((question) => md(question.title)).join('; ')}`);
  return lines;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** People's words, safe inside Markdown: punctuation that would format is escaped, lines joined. */
export function md(text: string): string {
  return text.replace(/\s*\r?\n\s*/g, ' ').replace(/[\\`*_[\]~|<>#]/g, '\\$&');
}

/** Measured text (values, states) as inline code, which needs no escaping. */
export function code(text: string): string {
  const flat = text.replace(/\s*\r?\n\s*/g, ' ');
  return flat.includes('`') ? `\`\` ${flat} \`\`` : `\`${flat}\``;
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

export function utc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A time of day, with the date when it is not the day the deployment started. */
function clock(ms: number, startedAt: number): string {
  const iso = new Date(ms).toISOString();
  const sameDay = iso.slice(0, 10) === new Date(startedAt).toISOString().slice(0, 10);
  return sameDay ? iso.slice(11, 19) : iso.slice(0, 19).replace('T', ' ');
}
