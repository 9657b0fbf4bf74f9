import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { Checklist } from '../../src/checklists/schema.js';
import type { DeploymentEvent } from '../../src/deployments/engine.js';
import type { Deployment } from '../../src/deployments/model.js';
import {
  COMMITTED_CONFIG,
  type SeedEnvironment,
  startSeedEnvironment,
} from '../../src/sandbox/infra/seed-environment.js';
import type { FakeMessage } from '../../src/sandbox/slack/types.js';
import { formatDuration } from '../../src/shared/duration.js';
import { ACTION, FIELD, VIEW } from '../../src/slack/action-ids.js';
import { escalationMessageKey } from '../../src/slack/render/escalation.js';
import { escapeText } from '../../src/slack/render/format.js';
import { REPORT_KEY } from '../../src/slack/render/report.js';
import { type Harness, memberOf, startHarness } from '../support/harness.js';
import { buttonShown, resolveItem, startDeployment, waitUntil, walkPhase } from './walk.js';

/**
 * The deployment report end to end. Seed 002 (platform readiness) is walked from `/deploy start` to
 * completion through signed Slack requests with its checks running against simulated infrastructure —
 * a skip with a reason, an n/a, thirteen sign-offs, the checks this machine cannot satisfy overridden,
 * an escalation acknowledged — and the report posted in the thread and returned by `/deploy report` must
 * show each of those with the figures the audit stream holds. The Retrospective modal asks seed 002's
 * questions, refuses a negative count field by field, and its answers land in both reports. Seed 003
 * (canary) is shifted to 5% and rolled back: the report gives the rollback's duration, who and why.
 * `/deploy history` lists both; `/deploy status` lists follow-ups due next across services.
 */

const SANDBOX = 'Not checkable in the sandbox';
const FIXED_PORT = 'a fixed port of the real platform; here a closed port stands in for it';
/**
 * Seed 002's checks that look at the real platform's ports (see seed-deployments.test.ts). The seed
 * environment points them at ports it reserved and closed, so they fail whatever listens on this machine.
 */
const PLATFORM_OUTSIDE: Record<string, string> = Object.fromEntries(
  [
    'redis-cache-connectivity',
    'auth-service-port-3001',
    'core-service-port-3002',
    'mcp-server-port-3003',
    'analytics-service-port-3004',
    'api-gateway-port-8080',
    'nginx-port-80-443',
    'prometheus-port-9090',
    'grafana-port-3000',
    'ssl-certificates-installed-and-valid',
    'ssl-tls-certificates-installed',
    'ssl-tls-certificates-valid',
  ].map((id) => [id, `${SANDBOX}: ${FIXED_PORT}`]),
);
const ESCALATE_AFTER_MS = 4_000;
const SKIP_REASON = 'covered by the staging run an hour ago';

let env: SeedEnvironment;
let h: Harness;

beforeAll(async () => {
  env = await startSeedEnvironment({ scrapeIntervalMs: 500, timeScale: 0.000_005 });
  expect(env.infra.notes).toEqual([]);
  // Escalations in seconds rather than the default ten minutes, so one fires while the test watches.
  const file = parse(await readFile(env.configPath, 'utf8'));
  await writeFile(
    env.configPath,
    stringify({ ...file, escalation: { levels: [{ after: ESCALATE_AFTER_MS, notify: 'owner' }] } }),
  );
  h = await startHarness({
    configPath: env.configPath,
    kube: env.infra.kube,
    worker: { concurrency: 16, run: { backoffMs: 20, defaultTimeoutMs: 5_000 } },
  });
}, 60_000);
afterAll(async () => {
  await h?.stop();
  await env?.stop();
});

/** Every text a message shows (section texts, fields, context), as Slack renders them. */
function shownText(message: { blocks: unknown } | undefined): string {
  const texts: string[] = [];
  const visit = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object')
      for (const [key, value] of Object.entries(node)) {
        if (key === 'text' && typeof value === 'string') texts.push(value);
        else visit(value);
      }
  };
  visit(message?.blocks);
  return texts.join('\n');
}

/** `/deploy <text>` as `user` in `channel`: the private answer posted to that command's response_url. */
async function deploy(
  harness: Harness,
  user: string,
  channel: string,
  text: string,
): Promise<{ text: string; blocks: unknown[] }> {
  const response = await harness.driver.slash(user, channel, '/deploy', text);
  expect(response.status).toBe(200);
  const answer = await waitUntil(
    () => harness.slack.responses.find((posted) => posted.url === response.responseUrl),
    `the answer to /deploy ${text}`,
  );
  // Slack took it as sent: no invalid_blocks, no text over its limits; the user saw it privately.
  expect(answer.result).toBe('ok');
  const body = answer.body as { text: string; blocks?: unknown[]; response_type?: string };
  expect(body.response_type).toBe('ephemeral');
  return { text: body.text, blocks: body.blocks ?? [] };
}

/** The Markdown report `/deploy report …` returns (one markdown block within Slack's 12,000 characters). */
async function markdownReport(user: string, channel: string, args: string): Promise<string> {
  const answer = await deploy(h, user, channel, `report ${args}`.trim());
  expect(answer.blocks).toHaveLength(1);
  const block = answer.blocks[0] as { type: string; text: string };
  expect(block.type).toBe('markdown');
  expect(block.text.length).toBeLessThanOrEqual(12_000);
  return block.text;
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

const SECTIONS = [
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
];

async function reportMessage(deploymentId: string, channel: string): Promise<FakeMessage> {
  await h.bot.context.presenter.idle();
  const ts = await waitUntil(() => h.bot.store.message(deploymentId, REPORT_KEY), 'the report in the thread');
  return h.slack.message(channel, ts) as FakeMessage;
}

function failedRuns(audit: DeploymentEvent[]) {
  return audit.filter(
    (event): event is Extract<DeploymentEvent, { type: 'check.completed' }> =>
      event.type === 'check.completed' && event.outcome !== 'passed',
  );
}

describe('seed 002 walked to completion', () => {
  let id: string;
  let channel: string;
  let requester: string;
  let checklist: Checklist;
  let final: Deployment;
  let audit: DeploymentEvent[];
  let overridden: string[];
  const firstPhaseKey = () => `phase:${checklist.phases[0]!.id}`;

  it('walks with a skip, an n/a, sign-offs, overrides and an acknowledged escalation', async () => {
    ({ id, requester, channel } = await startDeployment(h, 'mcp-platform', '2.0.0'));
    await env.infra.release('mcp-platform', '2.0.0');
    checklist = (await h.bot.store.load(id))!.checklist;
    const [skipped, na] = checklist.phases[0]!.items.slice(1, 3);

    // Nobody touches the first phase until its escalation posts; the on-call acknowledges it.
    const where = {
      channel,
      ts: await waitUntil(
        () => h.bot.store.message(id, escalationMessageKey(firstPhaseKey(), 1, 1)),
        'the first escalation',
        ESCALATE_AFTER_MS + 10_000,
      ),
    };
    await buttonShown(h, where, ACTION.escalationAcknowledge);
    await h.driver.clickButton('U0ONCALL', where, { actionId: ACTION.escalationAcknowledge });
    await waitUntil(
      async () =>
        (await h.bot.store.load(id))?.state.escalations?.[firstPhaseKey()]?.acknowledgedBy === 'U0ONCALL' ||
        undefined,
      'the acknowledgement',
    );

    for (const phase of checklist.phases) {
      await walkPhase(h, id, checklist, phase, {
        requester,
        skip: { itemId: skipped!.id, reason: SKIP_REASON },
        notApplicable: na!.id,
        override: PLATFORM_OUTSIDE,
      });
    }
    final = await waitUntil(async () => {
      const state = (await h.bot.store.load(id))?.state;
      return state?.status === 'completed' ? state : undefined;
    }, 'completion');
    audit = (await h.bot.store.audit(id)).map((entry) => entry.event);
    // Each of them failed and was overridden, and each overridden check failed first.
    overridden = Object.keys(final.items).filter((itemId) => final.items[itemId]?.overridden);
    expect([...overridden].sort()).toEqual(Object.keys(PLATFORM_OUTSIDE).sort());
    expect(failedRuns(audit).length).toBeGreaterThanOrEqual(overridden.length);
  }, 120_000);

  it('posts the report in the thread with the figures, within Block Kit limits', async () => {
    const message = await reportMessage(id, channel);
    expect(message.reply_broadcast).toBe(true);
    expect(message.text).toBe('✅ mcp-platform 2.0.0 deployed to production');
    const text = shownText(message);
    expect(text).toContain(`*Duration:* ${formatDuration(final.endedAt! - final.createdAt)}`);
    expect(text).toContain('*Skipped (1)*');
    expect(text).toContain(`“${SKIP_REASON}”`);
    expect(text).toContain(`*Overridden checks (${overridden.length})*`);
    expect(text).toContain('*Sign-offs (13)*');
    expect(text).toContain('acknowledged by <@U0ONCALL>');
    expect(text).toContain('*Post-deployment issues*\n_retrospective pending_');
    // The first failed run and the value it measured.
    const first = failedRuns(audit)[0]!;
    expect(text).toContain(escapeText(first.result.summary));
    expect(JSON.stringify(message.blocks)).toContain(`"action_id":"${ACTION.reportRetrospective}"`);
    expect(h.slack.calls.filter((call) => !call.ok).map((call) => `${call.method}: ${call.error}`)).toEqual(
      [],
    );
  });

  it('returns the same report as Markdown with every section and the right figures', async () => {
    const markdown = await markdownReport(requester, channel, ''); // no argument: this channel's service
    for (const heading of SECTIONS) expect(markdown).toContain(`\n## ${heading}\n`);
    expect(markdown).toContain('# Deployment report: mcp-platform 2.0.0 → production');
    expect(markdown).toContain(
      `- **Deployment duration:** ${formatDuration(final.endedAt! - final.createdAt)}`,
    );
    expect(markdown).toContain('- **Downtime:** none observed');
    expect(markdown).toContain('- **Rollback time:** no rollback');
    // Issues found: the checks that failed at least once, no trigger fired, the escalations that reached a level.
    const failedChecks = new Set(failedRuns(audit).map((event) => event.itemId)).size;
    const escalations = new Set(
      audit.filter((event) => event.type === 'escalation.level').map((e) => `${e.key}#${e.chain}`),
    ).size;
    expect(escalations).toBeGreaterThanOrEqual(1);
    expect(markdown).toContain(
      `- **Issues found:** ${failedChecks + escalations} — ${failedChecks} failed checks`,
    );
    // Time in the first phase, from its open and complete times.
    const phase = checklist.phases[0]!;
    const times = final.phases[phase.id]!;
    expect(markdown).toContain(
      `1. **${phase.title}** — ${formatDuration(times.completedAt! - times.openedAt!)} (${clock(times.openedAt!)} → ${clock(times.completedAt!)}`,
    );
    // The skip with who and why, the n/a, an override with its reason and what the check showed.
    const skipped = checklist.phases[0]!.items[1]!;
    expect(markdown).toContain(
      `- **${skipped.title}** (${phase.title}) — <@${final.items[skipped.id]!.by}> at ${clock(final.items[skipped.id]!.at!)}: “${SKIP_REASON}”`,
    );
    expect(markdown).toContain(`- **${checklist.phases[0]!.items[2]!.title}** (${phase.title}) — <@`);
    const auth = final.items['auth-service-port-3001']!;
    expect(auth.overridden).toBe(true);
    expect(markdown).toContain(`“${SANDBOX}: ${FIXED_PORT}” (it showed \`${auth.result!.summary}\`)`);
    // The value a failed run measured, with its run number and time.
    const first = failedRuns(audit)[0]!;
    expect(markdown).toContain(`run ${first.run} at ${clock(first.result.at)}`);
    expect(markdown).toContain(`\`${first.result.summary}\``);
    // Every signer of the first sign-off, with the time they signed.
    const signoff = checklist.phases.flatMap((p) => p.items).find((item) => item.kind === 'signoff')!;
    for (const signature of final.items[signoff.id]!.signatures!)
      expect(markdown).toContain(`<@${signature.by}> at ${clock(signature.at)}`);
    // The escalation the on-call acknowledged.
    const acknowledged = final.escalations![firstPhaseKey()]!;
    expect(markdown).toContain(`acknowledged by <@U0ONCALL> at ${clock(acknowledged.acknowledgedAt!)}`);
    expect(markdown).toContain('Not recorded yet');
    expect(markdown).toContain('- What went well during deployment?');
  });

  it('takes the retrospective through the modal, refusing a bad count, and adds it to both reports', async () => {
    const message = await reportMessage(id, channel);
    const views = h.slack.views.length;
    await h.driver.clickButton(
      requester,
      { channel, ts: message.ts },
      { actionId: ACTION.reportRetrospective },
    );
    const view = await waitUntil(() => h.slack.views[views], 'the retrospective modal');
    expect(view.view.callback_id).toBe(VIEW.retrospective);
    const labels = (view.view.blocks as Array<{ type: string; label?: { text: string } }>)
      .filter((block) => block.type === 'input')
      .map((block) => block.label?.text);
    // Seed 002's questions, less the two the modal asks with its own fields.
    expect(labels).toEqual([
      'Critical issues after the deployment',
      'Major issues',
      'Minor issues',
      'User impact (affected users)',
      'What went well during deployment?',
      'What could be improved?',
      'What unexpected issues occurred?',
      'How can we prevent similar issues in the future?',
      'Downtime (minutes)',
      'Performance impact (% change)',
    ]);

    const answers = {
      [FIELD.retroMajor]: '1',
      [FIELD.retroMinor]: '2',
      [FIELD.retroUserImpact]: 'none',
      [`${FIELD.retroQuestionPrefix}what-went-well-during-deployment`]: 'Sign-offs in the thread were fast.',
      [`${FIELD.retroQuestionPrefix}downtime-minutes`]: '0',
    };
    const refused = await h.driver.submitView(requester, view.id, {
      ...answers,
      [FIELD.retroCritical]: '-1',
    });
    expect(refused.body).toMatchObject({
      response_action: 'errors',
      errors: { [FIELD.retroCritical]: expect.stringContaining('whole number') },
    });
    expect(h.slack.view(view.id)?.state).toBe('open');
    expect((await h.bot.store.load(id))?.state.retrospective).toBeUndefined();

    const saved = await h.driver.submitView(requester, view.id, { ...answers, [FIELD.retroCritical]: '0' });
    expect(saved.status).toBe(200);
    const retro = await waitUntil(
      async () => (await h.bot.store.load(id))?.state.retrospective,
      'the record',
    );
    expect(retro).toMatchObject({
      by: requester,
      issues: { critical: 0, major: 1, minor: 2 },
      userImpact: 'none',
      answers: {
        'what-went-well-during-deployment': 'Sign-offs in the thread were fast.',
        'downtime-minutes': '0',
      },
    });

    // The report in the thread is updated in place.
    await waitUntil(
      () =>
        shownText(h.slack.message(channel, message.ts)).includes('0 critical, 1 major, 2 minor') || undefined,
      'the report to show the retrospective',
    );
    const updated = h.slack.message(channel, message.ts)!;
    expect(shownText(updated)).toContain('Sign-offs in the thread were fast.');
    expect(JSON.stringify(updated.blocks)).toContain('Edit retrospective');

    const markdown = await markdownReport(requester, channel, id);
    expect(markdown).toContain('- **Post-deployment issues:** 0 critical, 1 major, 2 minor');
    expect(markdown).toContain('- **User impact:** none');
    expect(markdown).toContain('the team reports: 0');
    expect(markdown).toContain(
      '**What went well during deployment?**\n\n> Sign-offs in the thread were fast.',
    );
    expect(markdown).toContain('Not answered: What could be improved?');

    // Amending: the modal opens with the answers given.
    const again = h.slack.views.length;
    await h.driver.clickButton(
      requester,
      { channel, ts: message.ts },
      { actionId: ACTION.reportRetrospective },
    );
    const reopened = await waitUntil(() => h.slack.views[again], 'the modal again');
    expect(JSON.stringify(reopened.view.blocks)).toContain(
      '"initial_value":"Sign-offs in the thread were fast."',
    );
  });

  it('lists it in /deploy history', async () => {
    const answer = await deploy(h, requester, channel, 'history mcp-platform');
    expect(answer.text).toContain('*mcp-platform: last 1 deployment*');
    expect(answer.text).toContain(
      `\`2.0.0\` ✅ Completed · ${formatDuration(final.endedAt! - final.createdAt)} · <!date^${Math.floor(final.createdAt / 1000)}^`,
    );
    expect(answer.text).toContain(`by <@${requester}> · \`${id}\``);
  });
});

describe('seed 003 shifted to 5% and rolled back', () => {
  it('reports the rollback: its duration, who and why, and the traffic step', async () => {
    const requester = memberOf(h.file, 'deployer');
    const { id, channel } = await startDeployment(h, 'checkout', '3.1.0', requester);
    await env.infra.release('checkout', '3.1.0');
    const checklist = (await h.bot.store.load(id))!.checklist;
    await walkPhase(h, id, checklist, checklist.phases[0]!, { requester, automaticTraffic: true });
    await deploy(h, requester, channel, 'traffic checkout 5');
    await waitUntil(
      async () => (await h.bot.store.load(id))?.state.traffic?.current?.weight === 5 || undefined,
      'the canary at 5%',
    );
    const views = h.slack.views.length;
    await h.driver.slash(requester, channel, '/deploy', 'rollback checkout canary 5xx on checkout');
    const modal = await waitUntil(() => h.slack.views[views], 'the rollback modal');
    expect(modal.view.callback_id).toBe(VIEW.rollback);
    await h.driver.submitView(requester, modal.id);
    const final = await waitUntil(async () => {
      const state = (await h.bot.store.load(id))?.state;
      return state?.status === 'rolled_back' ? state : undefined;
    }, 'the rollback');
    const rollback = final.rollback!;
    const shift = final.traffic!.shifts[0]!;

    const message = await reportMessage(id, channel);
    expect(message.text).toBe('↩️ checkout 3.1.0 rolled back in production');
    const text = shownText(message);
    expect(text).toContain(
      `*Rolled back* in ${formatDuration(rollback.durationMs!)} — <@${requester}>: “canary 5xx on checkout”`,
    );
    expect(text).toContain(`*Rollback time*\n${formatDuration(rollback.durationMs!)}`);
    expect(text).toContain(escapeText(shift.after.description));

    const markdown = await markdownReport(requester, channel, 'checkout');
    for (const heading of SECTIONS) expect(markdown).toContain(`\n## ${heading}\n`);
    expect(markdown).toContain('- **Outcome:** ↩️ Rolled back — “canary 5xx on checkout”');
    expect(markdown).toContain(
      `- **Rollback time:** ${formatDuration(rollback.durationMs!)} (request to verified)`,
    );
    expect(markdown).toContain(
      `- **Requested** at ${clock(rollback.requestedAt)} by <@${requester}>: “canary 5xx on checkout”`,
    );
    expect(markdown).toContain(
      `- **Verified** at ${clock(rollback.completedAt!)}, ${formatDuration(rollback.durationMs!)} after the request: \`${rollback.before!.description}\` → \`${rollback.after!.description}\``,
    );
    expect(markdown).toContain(
      `- ${clock(shift.at)} (+${formatDuration(shift.at - final.createdAt)}): canary 5% by <@${requester}> — \`${shift.after.description}\``,
    );
    expect(markdown).toContain(
      `new code took traffic for ${formatDuration(rollback.requestedAt - final.guardsArmedAt!)} before it was asked for`,
    );
    // What the rollback left undone is listed (the checklist stopped after its first phase).
    expect(markdown).toContain(
      `- **${checklist.phases[1]!.items[0]!.title}** (${checklist.phases[1]!.title}) — pending, required`,
    );

    const history = await deploy(h, requester, channel, 'history checkout');
    expect(history.text).toContain(
      `\`3.1.0\` ↩️ Rolled back · ${formatDuration(final.endedAt! - final.createdAt)}`,
    );
  }, 90_000);
});

describe('/deploy status and report around follow-ups (a catalogue of its own, real time)', () => {
  let dir: string;
  let own: Harness;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fd-report-'));
    await mkdir(join(dir, 'checklists'));
    const committed = parse(await readFile(COMMITTED_CONFIG, 'utf8'));
    await writeFile(
      join(dir, 'checklists', 'small.yaml'),
      stringify({
        id: 'small',
        title: 'Small release',
        phases: [
          { id: 'ship', title: 'Ship', items: [{ id: 'deploy', kind: 'manual', title: 'Deployed' }] },
          {
            id: 'soon',
            title: 'T+2h checks',
            after: '2h',
            items: [{ id: 'dashboards', kind: 'manual', title: 'Dashboards look normal' }],
          },
          {
            id: 'later',
            title: 'Day-1 review',
            after: '1d',
            items: [{ id: 'review', kind: 'manual', title: 'Reviewed' }],
          },
        ],
      }),
    );
    const service = (channel: string) => ({ checklist: 'small', channel, deployers: ['deployer'] });
    await writeFile(
      join(dir, 'flightdeck.yaml'),
      stringify({
        checklists_dir: 'checklists',
        roles: committed.roles,
        services: { web: service('C0WEB'), shop: service('C0SHOP') },
      }),
    );
    own = await startHarness({ configPath: join(dir, 'flightdeck.yaml') });
  }, 30_000);
  afterAll(async () => {
    await own?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists the follow-ups due next across services with their due times', async () => {
    const deployer = memberOf(own.file, 'deployer');
    const web = await startDeployment(own, 'web', '1.0.0', deployer);
    const inProgress = (await deploy(own, deployer, 'C0WEB', 'report')).blocks[0] as { text: string };
    expect(inProgress.text).toContain('- **Outcome:** 🟢 In progress');
    expect(inProgress.text).toContain('- **Duration:**');
    expect(inProgress.text).toContain('so far');

    const checklist = (await own.bot.store.load(web.id))!.checklist;
    const item = checklist.phases[0]!.items[0]!;
    await resolveItem(own, web.id, checklist, item, { resolution: 'done', actor: deployer });
    const completed = await waitUntil(async () => {
      const state = (await own.bot.store.load(web.id))?.state;
      return state?.status === 'completed' ? state : undefined;
    }, 'web to complete');
    const shop = await startDeployment(own, 'shop', '7.0.0', deployer);

    await waitUntil(
      async () => ((await own.bot.store.followUpsDue()).length === 2 ? true : undefined),
      'the index',
    );
    const status = await deploy(own, deployer, 'C0WEB', 'status');
    expect(status.text).toContain('*Active deployments (1)*');
    expect(status.text).toContain('*shop* `7.0.0`');
    expect(status.text).toContain('*Follow-ups due next*');
    const soonDue = completed.phases.soon!.dueAt!;
    const laterDue = completed.phases.later!.dueAt!;
    expect(soonDue - completed.endedAt!).toBe(2 * 3_600_000);
    const lines = status.text.split('\n');
    const soon = lines.findIndex((line) => line.includes('T+2h checks'));
    const later = lines.findIndex((line) => line.includes('Day-1 review'));
    expect(soon).toBeGreaterThan(-1);
    expect(later).toBeGreaterThan(soon); // soonest first
    expect(lines[soon]).toContain(`*web* \`1.0.0\` — T+2h checks due <!date^${Math.floor(soonDue / 1000)}^`);
    expect(lines[soon]).toMatch(/\(in (1h 59m|2h)\)/);
    expect(lines[later]).toContain(`due <!date^${Math.floor(laterDue / 1000)}^`);

    const markdown = (await deploy(own, deployer, 'C0WEB', `report ${web.id}`)).blocks[0] as { text: string };
    // Times are UTC; one on another day than the deployment's start carries its date (past 22:00 UTC).
    const due = new Date(soonDue).toISOString();
    const started = new Date(completed.createdAt).toISOString();
    const shown =
      due.slice(0, 10) === started.slice(0, 10) ? due.slice(11, 19) : due.slice(0, 19).replace('T', ' ');
    expect(markdown.text).toContain(`- **T+2h checks** (T+2h) — due ${shown}`);
    expect(shop.id).not.toBe(web.id);
  });

  it('says what it cannot find', async () => {
    const deployer = memberOf(own.file, 'deployer');
    expect((await deploy(own, deployer, 'C0NOWHERE', 'report')).text).toContain(
      'No service deploys from this channel',
    );
    expect((await deploy(own, deployer, 'C0WEB', 'report d0nosuchdeployment')).text).toContain(
      'No service or deployment "d0nosuchdeployment"',
    );
    expect((await deploy(own, deployer, 'C0WEB', 'history nosuch')).text).toContain('No service "nosuch"');
    const help = await own.driver.slash(deployer, 'C0WEB', '/deploy', 'help');
    expect(JSON.stringify(help.body)).toContain('/deploy history <service>');
  });
});
