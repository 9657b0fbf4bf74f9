import { describe, expect, it } from 'vitest';
import { checklistSchema } from '../../../src/checklists/schema.js';
import type { CheckRun } from '../../../src/checks/types.js';
import {
  type Command,
  type DeploymentEvent,
  decide,
  type StartParams,
  startDeployment,
} from '../../../src/deployments/engine.js';
import type { Deployment } from '../../../src/deployments/model.js';
import { fitLines, shareBudget } from '../../../src/reports/fit.js';
import { renderReportMarkdown } from '../../../src/reports/markdown.js';
import { buildReport } from '../../../src/reports/report.js';
import { unionLength } from '../../../src/reports/sections/metrics.js';
import { freeTextQuestions } from '../../../src/reports/sections/retrospective.js';
import {
  blockTextLength,
  MESSAGE_LIMITS,
  messageBlockProblems,
} from '../../../src/sandbox/slack/block-kit-rules.js';
import { renderReportMessage } from '../../../src/slack/render/report.js';

/**
 * The report's figures, computed from a deployment played through the real engine with known times:
 * every number asserted here follows from the commands below, so a wrong subtraction shows.
 */

const T0 = Date.UTC(2026, 10, 23, 14, 0, 0);
const s = (seconds: number) => T0 + seconds * 1_000;

const checklist = checklistSchema.parse({
  id: 'canary-small',
  title: 'Small canary',
  four_eyes: true,
  phases: [
    {
      id: 'prepare',
      title: 'Prepare',
      items: [
        { id: 'backup', kind: 'manual', title: 'Database backup created', owner: 'dba' },
        { id: 'notes', kind: 'manual', title: 'Release notes written', required: false },
        { id: 'docs', kind: 'manual', title: 'Docs updated' },
        {
          id: 'approve',
          kind: 'signoff',
          title: 'Two leads approve',
          signoff: { role: 'tech-lead', count: 2 },
        },
      ],
    },
    {
      id: 'canary',
      title: 'Canary',
      sequential: true,
      items: [
        { id: 'shift-5', kind: 'traffic', title: 'Shift 5%', traffic: { weight: 5 } },
        {
          id: 'error-rate',
          kind: 'check',
          title: 'Error rate < 0.1%',
          check: { type: 'prometheus', query: 'x', comparator: '<', threshold: 0.001, unit: 'ratio' },
        },
        { id: 'shift-100', kind: 'traffic', title: 'Shift 100%', traffic: { weight: 100 } },
      ],
    },
    {
      id: 't30',
      title: 'T+30m verification',
      after: '30m',
      items: [
        {
          id: 'latency',
          kind: 'check',
          title: 'p95 latency < 200ms',
          check: {
            type: 'prometheus',
            query: 'y',
            comparator: '<',
            threshold: 0.2,
            unit: 'seconds',
          },
        },
      ],
    },
  ],
  rollback: {
    triggers: [
      {
        id: 'errors',
        title: 'Error rate above 1%',
        for: '2m',
        condition: { type: 'prometheus', query: 'z', comparator: '>', threshold: 0.01, unit: 'ratio' },
      },
    ],
  },
  report: {
    questions: [
      { id: 'what-went-well', title: 'What went well?' },
      { id: 'post-deployment-issues', title: 'Post-deployment issues (critical, major, minor)' },
      { id: 'user-impact', title: 'User impact (affected users)' },
      { id: 'downtime-minutes', title: 'Downtime (minutes)' },
    ],
  },
});

const params: StartParams = {
  id: 'd-report',
  service: 'checkout',
  environment: 'production',
  version: '2.4.0',
  channel: 'C0CHECKOUT',
  requestedBy: 'U0REQ',
  deployers: ['deployer'],
  trafficStrategy: 'ingress-nginx',
  escalationLevels: [
    { after: 60_000, notify: 'owner', page: false },
    { after: 300_000, notify: 'on-call', page: true },
  ],
  at: T0,
};

function play(commands: Command[]): { state: Deployment; events: DeploymentEvent[] } {
  const started = startDeployment(checklist, params);
  let state = started.state;
  const events = [...started.events];
  for (const command of commands) {
    const decision = decide(checklist, state, command);
    if (!decision.ok) throw new Error(`${command.type}: ${decision.code} ${decision.message}`);
    state = decision.state;
    events.push(...decision.events);
  }
  return { state, events };
}

const run = (outcome: CheckRun['outcome'], summary: string, at: number, value?: number): CheckRun => ({
  outcome,
  summary,
  at,
  attempts: 1,
  durationMs: 120,
  ...(value !== undefined ? { value, unit: 'ratio' } : {}),
});
const traffic = (weight: number, previous: number) => ({
  ok: true as const,
  before: { weight: previous, description: `canary ${previous}%` },
  after: { weight, description: `canary ${weight}% (stable ${100 - weight}%)` },
  attempts: 1,
  durationMs: 1_500,
});
const resolve = (itemId: string, actor: string, roles: string[], at: number, extra = {}): Command => ({
  type: 'resolve-item',
  itemId,
  resolution: 'done',
  actor,
  actorRoles: roles,
  at,
  ...extra,
});

/** Prepare walked by people (a skip, an n/a, a withdrawn signature), an escalation acknowledged, canary 5%. */
const prepared: Command[] = [
  { type: 'escalate', key: 'phase:prepare', chain: 1, level: 1, at: s(60) },
  {
    type: 'acknowledge-escalation',
    key: 'phase:prepare',
    actor: 'U0ONCALL',
    actorRoles: ['deployer'],
    at: s(90),
  },
  resolve('backup', 'U0DBA', ['dba'], s(100), {
    resolution: 'skipped',
    reason: 'covered by the staging run',
  }),
  resolve('notes', 'U0DEV', ['deployer'], s(110), { resolution: 'n/a' }),
  resolve('docs', 'U0DEV', ['deployer'], s(115)),
  resolve('approve', 'U0LEAD2', ['tech-lead'], s(120)),
  { type: 'withdraw-signoff', itemId: 'approve', actor: 'U0LEAD2', at: s(150) },
  resolve('approve', 'U0LEAD1', ['tech-lead'], s(160)),
  resolve('approve', 'U0LEAD3', ['tech-lead'], s(180)),
  // Canary opened at 180 s. 5% at 185 s, verified at 187 s: new code takes traffic.
  { type: 'request-traffic', itemId: 'shift-5', actor: 'U0REQ', actorRoles: ['deployer'], at: s(185) },
  { type: 'traffic-result', run: 1, at: s(187), outcome: traffic(5, 0) },
  // The error-rate check fails (run 1), is re-run and passes (run 2).
  {
    type: 'check-result',
    itemId: 'error-rate',
    run: 1,
    result: run('failed', 'error rate 2.5% > 0.1%', s(210), 0.025),
  },
  { type: 'rerun-check', itemId: 'error-rate', actor: 'U0REQ', actorRoles: ['deployer'], at: s(240) },
  {
    type: 'check-result',
    itemId: 'error-rate',
    run: 2,
    result: run('passed', 'error rate 0.05% < 0.1%', s(250), 0.0005),
  },
];

describe('buildReport: a rolled-back canary', () => {
  const { state, events } = play([
    ...prepared,
    // The trigger holds its 2 minutes and fires at 300 s; someone rolls back at 330 s, verified at 375 s.
    { type: 'guard-fired', triggerId: 'errors', measured: 'error rate 3% > 1% for 2m', at: s(300) },
    {
      type: 'request-rollback',
      actor: 'U0REQ',
      actorRoles: ['deployer'],
      reason: 'errors climbing on the canary',
      at: s(330),
    },
    {
      type: 'rollback-result',
      run: 2,
      at: s(375),
      outcome: {
        ok: true,
        before: { weight: 5, description: 'canary 5% (stable 95%)' },
        after: { weight: 0, description: 'canary 0% (stable 100%)' },
        attempts: 1,
        durationMs: 900,
      },
    },
    {
      type: 'record-retrospective',
      actor: 'U0REQ',
      actorRoles: ['deployer'],
      at: s(900),
      retrospective: {
        issues: { critical: 1, major: 2, minor: 3 },
        userImpact: 'about 200 users saw errors',
        answers: { 'what-went-well': 'The rollback was quick.\nNobody panicked.', 'downtime-minutes': '3' },
      },
    },
  ]);
  const report = buildReport(state, checklist, events, s(1_000));

  it('has the outcome, duration and time in each phase', () => {
    expect(report).toMatchObject({
      status: 'rolled_back',
      service: 'checkout',
      version: '2.4.0',
      startedAt: T0,
      endedAt: s(375),
      endReason: 'errors climbing on the canary',
    });
    expect(report.metrics.durationMs).toBe(375_000);
    expect(report.phases.map((phase) => [phase.id, phase.outcome, phase.durationMs])).toEqual([
      ['prepare', 'completed', 180_000],
      ['canary', 'open', 195_000], // opened at 180 s, still open when it rolled back at 375 s
    ]);
  });

  it('lists the traffic steps and the rollback with its duration and reason', () => {
    expect(report.traffic.steps).toEqual([
      expect.objectContaining({ at: s(187), by: 'U0REQ', target: 'canary 5%', to: 'canary 5% (stable 95%)' }),
    ]);
    expect(report.traffic.newCodeSince).toBe(s(187));
    expect(report.rollback).toMatchObject({
      requestedBy: 'U0REQ',
      reason: 'errors climbing on the canary',
      durationMs: 45_000,
      from: 'canary 5% (stable 95%)',
      to: 'canary 0% (stable 100%)',
    });
    expect(report.metrics.rollbackMs).toBe(45_000);
    expect(report.metrics.exposureMs).toBe(330_000 - 187_000);
  });

  it('counts check runs and keeps the value of the run that failed', () => {
    expect(report.checks).toMatchObject({
      total: 2,
      run: 1,
      runs: 2,
      passed: 1,
      failedAtLeastOnce: 1,
      overridden: 0,
      stillFailing: 0,
      notRun: 1,
    });
    expect(report.checks.failedRuns).toEqual([
      expect.objectContaining({
        itemId: 'error-rate',
        run: 1,
        at: s(210),
        outcome: 'failed',
        summary: 'error rate 2.5% > 0.1%',
        value: 0.025,
      }),
    ]);
  });

  it('says who skipped and why, what was n/a and what was left undone', () => {
    expect(report.items.skipped).toEqual([
      expect.objectContaining({
        itemId: 'backup',
        by: 'U0DBA',
        at: s(100),
        reason: 'covered by the staging run',
      }),
    ]);
    expect(report.items.notApplicable).toEqual([expect.objectContaining({ itemId: 'notes', by: 'U0DEV' })]);
    expect(report.items.notDone.map((item) => item.itemId)).toEqual(['shift-100']);
    expect(report.items).toMatchObject({ total: 8, done: 4 }); // docs, approve, shift-5, error-rate
  });

  it('names the signers with their times, and the signature withdrawn', () => {
    expect(report.signoffs).toEqual([
      expect.objectContaining({
        itemId: 'approve',
        role: 'tech-lead',
        needed: 2,
        status: 'done',
        signatures: [
          { by: 'U0LEAD1', at: s(160) },
          { by: 'U0LEAD3', at: s(180) },
        ],
        withdrawn: [{ by: 'U0LEAD2', at: s(150) }],
      }),
    ]);
  });

  it('reports the escalation that fired and who acknowledged it (not the chains answered in time)', () => {
    expect(report.escalations).toEqual([
      expect.objectContaining({
        key: 'phase:prepare',
        levels: [{ level: 1, at: s(60), notify: 'owner', page: false }],
        acknowledged: { by: 'U0ONCALL', at: s(90) },
        resolvedAt: s(180),
      }),
    ]);
  });

  it('fills the Deployment Metrics from what it observed, and the retrospective from what people said', () => {
    // The trigger held from 120 s before it fired (300 s) — but no earlier than new code took traffic
    // (187 s) — until the rollback was verified (375 s).
    expect(report.triggers).toEqual([
      expect.objectContaining({
        triggerId: 'errors',
        heldSince: s(187),
        heldUntil: s(375),
        automatic: false,
      }),
    ]);
    expect(report.metrics.degradedMs).toBe(375_000 - 187_000);
    expect(report.metrics.issuesFound).toEqual({
      total: 3,
      failedChecks: 1,
      firedTriggers: 1,
      escalations: 1,
    });
    expect(report.metrics).toMatchObject({
      postDeploymentIssues: { critical: 1, major: 2, minor: 3 },
      userImpact: 'about 200 users saw errors',
      reportedDowntime: '3',
    });
    expect(report.retrospective?.answers).toEqual([
      { id: 'what-went-well', title: 'What went well?', answer: 'The rollback was quick.\nNobody panicked.' },
      { id: 'downtime-minutes', title: 'Downtime (minutes)', answer: '3' },
    ]);
    expect(report.followUps).toEqual([expect.objectContaining({ id: 't30', outcome: 'not scheduled' })]);
  });

  it('renders every section in Markdown with those figures', () => {
    const markdown = renderReportMarkdown(report);
    for (const heading of [
      'Deployment Metrics',
      'Phases',
      'Traffic',
      'Rollback',
      'Checks',
      'Skipped items',
      'Overridden checks',
      'Not applicable',
      'Not done',
      'Sign-offs',
      'Escalations',
      'Rollback triggers',
      'Follow-up phases',
      'Retrospective',
    ]) {
      expect(markdown).toContain(`\n## ${heading}\n`);
    }
    expect(markdown).toContain('# Deployment report: checkout 2.4.0 → production');
    expect(markdown).toContain('- **Deployment duration:** 6m 15s');
    expect(markdown).toContain('- **Downtime:** 3m 8s with a rollback trigger holding');
    expect(markdown).toContain('the team reports: 3');
    expect(markdown).toContain('- **Rollback time:** 45s (request to verified)');
    expect(markdown).toContain(
      '- **Issues found:** 3 — 1 failed check, 1 rollback trigger fired, 1 escalation',
    );
    expect(markdown).toContain('- **Post-deployment issues:** 1 critical, 2 major, 3 minor');
    expect(markdown).toContain('run 1 at 14:03:30 failed: `error rate 2.5% > 0.1%`');
    expect(markdown).toContain('<@U0DBA> at 14:01:40: “covered by the staging run”');
    expect(markdown).toContain(
      'signed by <@U0LEAD1> at 14:02:40, <@U0LEAD3> at 14:03:00; withdrawn: <@U0LEAD2> at 14:02:30',
    );
    expect(markdown).toContain('acknowledged by <@U0ONCALL> at 14:01:30');
    expect(markdown).toContain('1. **Prepare** — 3m (14:00:00 → 14:03:00, 4/4 items)');
    expect(markdown).toContain('14:03:07 (+3m 7s): canary 5%');
    expect(markdown).toContain('by <@U0REQ>: “errors climbing on the canary”');
    expect(markdown).toContain('> The rollback was quick.\n> Nobody panicked.');
    // The severity counts and user impact have their own fields: not "unanswered" questions.
    expect(markdown).not.toContain('Not answered');
    expect(markdown).toContain('2 checks, 1 of them run (2 runs in all): 1 passed, 1 failed at least once');
  });

  it('fits the Slack message within Block Kit limits, with a Retrospective button', () => {
    const message = renderReportMessage(report);
    expect(messageBlockProblems(message.blocks)).toEqual([]);
    const json = JSON.stringify(message.blocks);
    expect(message.text).toBe('↩️ checkout 2.4.0 rolled back in production');
    expect(json).toContain('*Rolled back* in 45s');
    expect(json).toContain(
      '*Checks:* 1 passed, 0 overridden, 1 failed at least once, 1 not run of 2 (2 runs)',
    );
    expect(json).toContain('covered by the staging run');
    expect(json).toContain('`error rate 2.5% &gt; 0.1%`'); // mrkdwn escapes < and >
    expect(json).toContain('3 (1 failed check, 1 trigger fired, 1 escalation)');
    expect(json).toContain('report.retrospective');
    expect(json).toContain('Edit retrospective');
    expect(json).toContain('1 critical, 2 major, 3 minor');
  });
});

describe('buildReport: a completed canary with a follow-up', () => {
  const { state, events } = play([
    ...prepared,
    { type: 'pause', actor: 'U0REQ', actorRoles: ['deployer'], at: s(260) },
    { type: 'resume', actor: 'U0REQ', actorRoles: ['deployer'], at: s(320) },
    { type: 'request-traffic', itemId: 'shift-100', actor: 'U0REQ', actorRoles: ['deployer'], at: s(330) },
    { type: 'traffic-result', run: 2, at: s(332), outcome: traffic(100, 5) },
    // Completed at 332 s; the follow-up is due 30 minutes later and its check fails once, then passes.
    { type: 'open-follow-up', phaseId: 't30', at: s(332 + 1_800) },
    {
      type: 'check-result',
      itemId: 'latency',
      run: 1,
      result: run('failed', 'p95 412 ms > 200 ms', s(332 + 1_810)),
    },
  ]);

  it('reports the follow-up as due, opened and its results, and the pause', () => {
    const report = buildReport(state, checklist, events, s(3_000));
    expect(report.status).toBe('completed');
    expect(report.metrics.durationMs).toBe(332_000);
    expect(report.metrics.pausedMs).toBe(60_000);
    expect(report.metrics.degradedMs).toBe(0);
    expect(report.metrics.rollbackMs).toBeUndefined();
    expect(report.followUps).toEqual([
      expect.objectContaining({
        id: 't30',
        outcome: 'open',
        dueAt: s(332 + 1_800),
        openedAt: s(332 + 1_800),
        checks: { total: 1, passed: 0, failed: 1 },
      }),
    ]);
    // A failing follow-up check is an issue found, and is listed with its value.
    expect(report.metrics.issuesFound.failedChecks).toBe(2);
    const markdown = renderReportMarkdown(report);
    expect(markdown).toContain('- **Downtime:** none observed');
    expect(markdown).toContain('- **Rollback time:** no rollback');
    expect(markdown).toContain('(paused 1m)');
    expect(markdown).toContain('`p95 412 ms > 200 ms`');
    expect(markdown).toContain('opened 14:35:32, still open: 0/1 items, checks 0/1 passed');
    expect(markdown).toContain('Not recorded yet');
    expect(markdown).toContain('- What went well?');
  });

  it('falls back to the state alone when there is no audit', () => {
    const report = buildReport(state, checklist, undefined, s(3_000));
    expect(report.checks.failedRuns.map((failed) => failed.summary)).toEqual(['p95 412 ms > 200 ms']);
    expect(report.escalations.map((escalation) => escalation.key)).toEqual(['phase:prepare']);
  });
});

describe('an aborted deployment with an automatic rollback trigger and heavy lists', () => {
  it('counts an automatic trigger as fired, and shortens long reports saying what was cut', () => {
    const { state, events } = play([
      ...prepared,
      {
        type: 'request-rollback',
        actor: 'flightdeck',
        actorRoles: ['deployer'],
        reason: 'Error rate above 1% (automatic rollback)',
        trigger: { id: 'errors', title: 'Error rate above 1%', measured: 'error rate 4% > 1%' },
        at: s(400),
      },
      {
        type: 'rollback-result',
        run: 2,
        at: s(410),
        outcome: { ok: false, code: 'conflict', message: 'ingress changed meanwhile' },
      },
      { type: 'abort', actor: 'U0REQ', actorRoles: ['deployer'], reason: 'x'.repeat(50), at: s(420) },
    ]);
    const report = buildReport(state, checklist, events, s(500));
    expect(report.status).toBe('aborted');
    expect(report.triggers).toEqual([
      expect.objectContaining({ triggerId: 'errors', automatic: true, heldSince: s(280), heldUntil: s(420) }),
    ]);
    expect(report.rollback).toMatchObject({ error: 'ingress changed meanwhile' });
    expect(report.metrics.rollbackMs).toBeUndefined();

    // A report too long for Slack keeps every section and says what it left out.
    const long = structuredClone(report);
    long.items.skipped = Array.from({ length: 400 }, (_, index) => ({
      itemId: `i${index}`,
      title: `Item ${index} ${'t'.repeat(60)}`,
      phaseTitle: 'Prepare',
      by: 'U0DEV',
      reason: 'r'.repeat(100),
    }));
    const full = renderReportMarkdown(long);
    expect(full.length).toBeGreaterThan(12_000);
    const cut = renderReportMarkdown(long, { maxChars: 12_000 });
    expect(cut.length).toBeLessThanOrEqual(12_000);
    expect(cut).toContain('## Retrospective');
    expect(cut).toContain('## Deployment Metrics');
    expect(cut).toMatch(/- … \d+ more not shown/);
    expect(cut).toContain('Shortened to fit a Slack message: lines were left out of Skipped items.');
    const message = renderReportMessage(long);
    expect(messageBlockProblems(message.blocks)).toEqual([]);
    expect(blockTextLength(message.blocks)).toBeLessThan(MESSAGE_LIMITS.blockText);
    expect(JSON.stringify(message.blocks)).toMatch(/…and \d+ more in `\/deploy report`/);
  });
});

describe('helpers', () => {
  it('shares a budget: small needs in full, the rest evenly', () => {
    expect(shareBudget([100, 5_000, 5_000], 3_100)).toEqual([100, 1_500, 1_500]);
    expect(shareBudget([10, 20], 1_000)).toEqual([10, 20]);
  });

  it('keeps whole lines and says how many were left out', () => {
    const lines = ['aaaa', 'bbbb', 'cccc', 'dddd'];
    expect(fitLines(lines, 100, (n) => `+${n}`)).toEqual(lines);
    expect(fitLines(lines, 12, (n) => `+${n}`)).toEqual(['aaaa', 'bbbb', '+2']);
  });

  it('measures overlapping intervals once', () => {
    expect(
      unionLength([
        [0, 10],
        [5, 20],
        [30, 40],
      ]),
    ).toBe(30);
  });

  it('asks the questions the modal has no field for', () => {
    expect(freeTextQuestions(checklist).map((question) => question.id)).toEqual([
      'what-went-well',
      'downtime-minutes',
    ]);
  });
});
