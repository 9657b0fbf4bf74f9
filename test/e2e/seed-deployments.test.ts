import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Item } from '../../src/checklists/schema.js';
import type { ThreadLayout } from '../../src/deployments/store.js';
import { type SeedEnvironment, startSeedEnvironment } from '../../src/sandbox/infra/seed-environment.js';
import type { FakeMessage } from '../../src/sandbox/slack/types.js';
import { escapeText } from '../../src/slack/render/format.js';
import { partitionPhase } from '../../src/slack/render/phase-message.js';
import { type Harness, startHarness } from '../support/harness.js';
import {
  actorFor,
  messageOf,
  overrideCheck,
  rerunCheck,
  resolveItem,
  settledCheck,
  shiftTraffic,
  signersFor,
  startDeployment,
  waitUntil,
  watchedOut,
} from './walk.js';

/**
 * The acceptance corpus: each of the five seed runbooks, as committed in checklists/, walked from
 * `/deploy start` to the summary through signed Slack requests, with its checks really running against
 * simulated infrastructure (a real Prometheus over the services' metrics, a fake Kubernetes API, the
 * services' health endpoints, manifests for the dry runs). People click what people do — one item
 * skipped with a reason, one marked N/A, the rest Done by someone holding its role — and every check
 * must pass by itself, except the few listed below, which look at things this machine cannot provide;
 * those are overridden from their failure reply, with a reason, by their owner role or the requester.
 */

type CheckItem = Extract<Item, { kind: 'check' }>;

interface Seed {
  label: string;
  service: string;
  /** Checks that may fail here, and why: each names a host outside this machine or a fixed port. */
  outsideTheSandbox: Record<string, string>;
}

const PUBLIC_HOST = 'a public host name: no DNS or TLS server for it here';
const FIXED_PORT = 'a fixed port of the real platform on {{vars.host}}; here a closed port stands in for it';

const SEEDS: Seed[] = [
  {
    label: '000 blue-green release',
    service: 'api-gateway',
    outsideTheSandbox: {
      'ssl-tls-certificates-valid': `TLS on api.azora.io, ${PUBLIC_HOST}`,
      'dns-records-verified': `DNS A of api.azora.io, ${PUBLIC_HOST}`,
    },
  },
  {
    label: '001 Kubernetes rollout with sign-offs',
    service: 'api-translation-platform',
    outsideTheSandbox: {
      'ssl-certificates-are-installed-and-valid': `TLS on yourdomain.com, ${PUBLIC_HOST}`,
      'dns-records-are-configured': `DNS A of yourdomain.com, ${PUBLIC_HOST}`,
    },
  },
  {
    label: '002 platform readiness',
    service: 'mcp-platform',
    outsideTheSandbox: {
      'redis-cache-connectivity': `TCP 6379, ${FIXED_PORT}`,
      'auth-service-port-3001': `TCP 3001, ${FIXED_PORT}`,
      'core-service-port-3002': `TCP 3002, ${FIXED_PORT}`,
      'mcp-server-port-3003': `TCP 3003, ${FIXED_PORT}`,
      'analytics-service-port-3004': `TCP 3004, ${FIXED_PORT}`,
      'api-gateway-port-8080': `TCP 8080, ${FIXED_PORT}`,
      'nginx-port-80-443': `TCP 443, ${FIXED_PORT}`,
      'prometheus-port-9090': `TCP 9090, ${FIXED_PORT}`,
      'grafana-port-3000': `TCP 3000, ${FIXED_PORT}`,
      'ssl-certificates-installed-and-valid': `TLS on 127.0.0.1:443, ${FIXED_PORT}`,
      'ssl-tls-certificates-installed': `TLS on 127.0.0.1:443, ${FIXED_PORT}`,
      'ssl-tls-certificates-valid': `TLS on 127.0.0.1:443, ${FIXED_PORT}`,
    },
  },
  {
    label: '003 canary release',
    service: 'checkout',
    outsideTheSandbox: {
      'tls-certificates-valid': `TLS on checkout.example.com, ${PUBLIC_HOST}`,
    },
  },
  {
    label: '004 marketplace launch',
    service: 'marketplace-api',
    outsideTheSandbox: {
      'ssl-tls-certificates-installed-and-verified': `TLS on api.marketplace.example.com, ${PUBLIC_HOST}`,
      'domain-dns-configured-and-propagated': `DNS A of api.marketplace.example.com, ${PUBLIC_HOST}`,
    },
  },
];

/** What each kind of check says when it passes: the measurement a person reads in the thread. */
function passingSummary(item: CheckItem): RegExp {
  const check = item.check;
  switch (check.type) {
    case 'http':
      return /^HTTP 200 in \d+ ms$/;
    case 'prometheus': {
      const label = (check.label ?? 'value').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      const window = check.for === undefined ? '' : ' for all of \\S+';
      return new RegExp(`^${label} (≤ |≥ )?\\S+( ms| s|%)? [<>=≤≥] \\S+( ms| s|%)?${window}$`);
    }
    case 'kubernetes':
      switch (check.check) {
        case 'pods-ready':
          return /^(\d+)\/\1 pods ready$/;
        case 'nodes-ready':
          return /^3\/3 nodes ready$/;
        case 'rollout-complete':
          return /^deployment "[\w-]+" successfully rolled out$/;
        case 'endpoints-ready':
          return /^service [\w-]+: \d+ ready endpoints?$/;
        case 'exists':
          return / exists in [\w-]+$/;
        case 'dry-run-apply':
          return /^\d+ objects? accepted by server-side dry run$/;
      }
      break;
    case 'tcp':
      return /^connected to \S+ in \d+ ms$/;
    default:
      return /./;
  }
  return /./;
}

/** Every text a message shows (section texts, fields, context elements), as Slack would render it. */
function shownText(message: FakeMessage | undefined): string {
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

let env: SeedEnvironment;
let h: Harness;
/** The same workspace as a busy channel sees it: every deployment's phases fold into its card. */
let folded: Harness;
beforeAll(async () => {
  // Watch windows take milliseconds; follow-ups (T+30m … T+30d) a few seconds after completion.
  env = await startSeedEnvironment({ scrapeIntervalMs: 500, timeScale: 0.000_005 });
  // Without Prometheus (or promtool for its history) the Prometheus checks could not pass: say so at once.
  expect(env.infra.notes).toEqual([]);
  h = await startHarness({
    configPath: env.configPath,
    kube: env.infra.kube,
    worker: { concurrency: 16, run: { backoffMs: 20, defaultTimeoutMs: 5_000 } },
  });
  // The same flightdeck.yaml, told to fold every thread (`fold_when_posts_waiting: 0`), beside the first.
  const busy = join(dirname(env.configPath), 'flightdeck-busy.yaml');
  const text = (await readFile(env.configPath, 'utf8')).replace(/^fold_when_posts_waiting:.*\n/m, '');
  await writeFile(busy, `fold_when_posts_waiting: 0\n${text}`);
  folded = await startHarness({
    configPath: busy,
    kube: env.infra.kube,
    worker: { concurrency: 16, run: { backoffMs: 20, defaultTimeoutMs: 5_000 } },
  });
}, 60_000);
afterAll(async () => {
  await folded?.stop();
  await h?.stop();
  await env?.stop();
});

describe.each(SEEDS)('seed $label walks to completion with its checks running', (seed) => {
  it(`deploys ${seed.service}`, () => walkSeed(h, seed, '1.0.0', 'threaded'), 90_000);
});

/**
 * Walks a seed from `/deploy start` to its report and follow-ups, as people do it, then checks what Slack
 * shows: `threaded`, a message per phase part; `folded` (a busy channel), the phases in the card.
 */
async function walkSeed(h: Harness, seed: Seed, version: string, layout: ThreadLayout): Promise<void> {
  const { service, outsideTheSandbox } = seed;
  const { id, requester, channel } = await startDeployment(h, service, version);
  // CI/CD rolls the version out; the checklist's image check verifies it on the cluster.
  await env.infra.release(service, version);
  const { checklist } = (await h.bot.store.load(id))!;
  const items = checklist.phases.flatMap((phase) => phase.items);
  const checks = items.filter((item): item is CheckItem => item.kind === 'check');
  // Traffic steps (the service has a strategy) are pressed and carried out; watch windows run out.
  const strategy = h.file.services[service]?.traffic;
  const automatic = (item: (typeof items)[number]) =>
    item.kind === 'wait' || (item.kind === 'traffic' && strategy !== undefined);
  const clicked = items.filter((item) => item.kind !== 'check' && !automatic(item));
  const shifts = items.filter((item) => item.kind === 'traffic' && strategy !== undefined);
  const waits = items.filter((item) => item.kind === 'wait');
  // The list names only checks this checklist has, so it cannot hide a renamed one.
  expect(Object.keys(outsideTheSandbox).filter((itemId) => !checks.some((c) => c.id === itemId))).toEqual([]);
  // Manual steps: a sign-off is never skipped or n/a (no seed names a `waivable_by`), nor is a traffic step.
  const manual = clicked.filter((item) => item.kind === 'manual');
  const skipTarget = manual[0]!;
  const naTarget = manual[1]!;

  const walkPhase = async (phase: (typeof checklist.phases)[number]) => {
    await waitUntil(
      async () => (await h.bot.store.load(id))?.state.phases[phase.id]?.status === 'active' || undefined,
      `${phase.id} to open`,
      60_000,
    );
    for (const item of phase.items) {
      const actor = actorFor(h, item, requester);
      if (item.kind === 'traffic' && strategy) {
        await shiftTraffic(h, id, checklist, item, requester);
        continue;
      }
      if (item.kind === 'wait') {
        await watchedOut(h, id, item.id);
        continue;
      }
      if (item.kind === 'signoff') {
        // Enough distinct people of the role, never the requester (every seed asks for four eyes).
        for (const signer of signersFor(h, item.signoff.role, requester).slice(0, item.signoff.count)) {
          await resolveItem(h, id, checklist, item, {
            resolution: 'done',
            actor: signer,
            untilResolved: false,
          });
        }
        await waitUntil(
          async () => (await h.bot.store.load(id))?.state.items[item.id]?.status === 'done' || undefined,
          `${item.id} signed`,
        );
        continue;
      }
      if (item.kind !== 'check') {
        if (item === skipTarget)
          await resolveItem(h, id, checklist, item, {
            resolution: 'skipped',
            actor,
            reason: 'covered by the staging run',
          });
        else if (item === naTarget) await resolveItem(h, id, checklist, item, { resolution: 'n/a', actor });
        else await resolveItem(h, id, checklist, item, { resolution: 'done', actor });
        continue;
      }
      let state = await settledCheck(h, id, item.id);
      if (state.status === 'passed') continue;
      const why = outsideTheSandbox[item.id];
      if (why) {
        await overrideCheck(h, id, item.id, { actor, reason: `Not checkable in the sandbox: ${why}` });
        continue;
      }
      // Anything else must pass; give it two more runs in case the data was a scrape behind.
      for (let rerun = 0; rerun < 2 && state.status !== 'passed'; rerun++) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        state = await rerunCheck(h, id, item.id, actor);
      }
      if (state.status !== 'passed')
        throw new Error(`check ${item.id} ${state.status} after ${state.run} runs: ${state.result?.summary}`);
    }
  };
  // The flow first; the deployment completes; then each follow-up opens on its own and is walked.
  const flow = checklist.phases.filter((phase) => phase.after === undefined);
  const followUps = checklist.phases.filter((phase) => phase.after !== undefined);
  for (const phase of flow) await walkPhase(phase);
  await waitUntil(
    async () => (await h.bot.store.load(id))?.state.status === 'completed' || undefined,
    'completion',
  );
  expect(await h.bot.store.activeFor(service, 'production')).toBeUndefined(); // the lock is free before the follow-ups
  for (const phase of followUps) await walkPhase(phase);

  const final = await waitUntil(async () => {
    const loaded = await h.bot.store.load(id);
    const allDone = checklist.phases.every((phase) => loaded?.state.phases[phase.id]?.status === 'completed');
    return loaded?.state.status === 'completed' && allDone ? loaded : undefined;
  }, 'completion and every follow-up');
  expect(await h.bot.store.activeFor(service, final.state.environment)).toBeUndefined();

  // Every check passed by itself, except ones outside the sandbox, which were overridden with a reason.
  const passed = checks.filter((item) => final.state.items[item.id]?.status === 'passed');
  const overridden = checks.filter((item) => final.state.items[item.id]?.overridden);
  expect(overridden.map((item) => item.id).filter((itemId) => !outsideTheSandbox[itemId])).toEqual([]);
  expect(
    checks.filter((item) => !outsideTheSandbox[item.id] && !passed.includes(item)).map((item) => item.id),
  ).toEqual([]);
  expect(passed.length + overridden.length).toBe(checks.length);
  // Checks on the platform's fixed ports go to closed ports the seed environment reserved: whatever
  // listens on this machine's well-known ports (Redis on 6379, the sandbox on 3000), they fail.
  const onFixedPorts = Object.keys(outsideTheSandbox).filter((itemId) =>
    outsideTheSandbox[itemId]?.endsWith(FIXED_PORT),
  );
  expect(onFixedPorts.filter((itemId) => !final.state.items[itemId]?.overridden)).toEqual([]);
  for (const item of overridden) {
    expect(final.state.items[item.id]).toMatchObject({
      status: 'done',
      by: actorFor(h, item, requester),
      reason: `Not checkable in the sandbox: ${outsideTheSandbox[item.id]}`,
    });
  }

  // The audit stream tells the whole story, once each.
  const audit = (await h.bot.store.audit(id)).map((entry) => entry.event);
  const count = (type: string) => audit.filter((event) => event.type === type).length;
  expect(count('deployment.started')).toBe(1);
  expect(count('phase.opened')).toBe(checklist.phases.length);
  expect(count('phase.completed')).toBe(checklist.phases.length);
  expect(count('item.resolved')).toBe(clicked.length + waits.length);
  expect(count('traffic.shifted')).toBe(shifts.length);
  for (const wait of waits) {
    expect(audit).toContainEqual(
      expect.objectContaining({ type: 'item.resolved', itemId: wait.id, actor: 'flightdeck' }),
    );
  }
  expect(count('check.overridden')).toBe(overridden.length);
  expect(count('deployment.completed')).toBe(1);
  const completedRuns = audit.filter((event) => event.type === 'check.completed');
  expect(completedRuns.filter((event) => event.outcome === 'passed')).toHaveLength(passed.length);
  expect(audit).toContainEqual(
    expect.objectContaining({
      type: 'item.resolved',
      itemId: skipTarget.id,
      to: 'skipped',
      reason: 'covered by the staging run',
    }),
  );
  expect(audit).toContainEqual(
    expect.objectContaining({ type: 'item.resolved', itemId: naTarget.id, to: 'n/a' }),
  );

  // Slack: the card shows the end; the thread holds every phase message (threaded), a reply per failed run
  // and the summary; each passed check shows what it measured; no buttons to resolve anything are left.
  await h.bot.context.presenter.idle();
  expect(await h.bot.store.threadLayout(id)).toBe(layout);
  const cardTs = (await h.bot.store.message(id, 'card'))!;
  const card = h.slack.message(channel, cardTs)!;
  expect(JSON.stringify(card.blocks)).toContain('Completed');
  expect(JSON.stringify(card.blocks)).not.toContain('deployment.abort');
  const thread = h.slack.thread(channel, cardTs);
  const phaseMessages =
    layout === 'folded' ? 0 : checklist.phases.reduce((sum, phase) => sum + partitionPhase(phase).length, 0);
  const failedRuns = completedRuns.filter((event) => event.outcome !== 'passed').length;
  expect(failedRuns).toBeGreaterThanOrEqual(overridden.length);
  expect(thread).toHaveLength(phaseMessages + failedRuns + 1);
  const summary = thread.find((message) =>
    message.text.includes(`${service} ${version} deployed to production`),
  )!;
  for (const item of passed) {
    const result = final.state.items[item.id]!.result!.summary;
    expect(result, item.id).toMatch(passingSummary(item));
    // A folded card shows the open phase only: what each check measured is in its phase's message.
    if (layout === 'folded') continue;
    const where = await messageOf(h, id, checklist, item);
    expect(shownText(h.slack.message(channel, where.ts))).toContain(`${escapeText(result)} ✅`);
  }
  for (const item of overridden) {
    const where =
      layout === 'folded' ? summary : h.slack.message(channel, (await messageOf(h, id, checklist, item)).ts);
    expect(shownText(where)).toContain(
      layout === 'folded'
        ? escapeText(item.title).slice(0, 40)
        : `“${escapeText(`Not checkable in the sandbox: ${outsideTheSandbox[item.id]}`)}”`,
    );
  }
  const phaseTs = new Set(
    await Promise.all(items.map(async (item) => (await messageOf(h, id, checklist, item)).ts)),
  );
  for (const message of [card, ...thread].filter((candidate) => phaseTs.has(candidate.ts))) {
    expect(JSON.stringify(message.blocks)).not.toMatch(
      /"(item\.(done|skip|na|reopen)|check\.menu|traffic\.shift)"/,
    );
  }
  // The cluster ended where the last traffic step put it, and the card says so.
  if (shifts.length > 0) {
    const last = shifts.at(-1)!;
    const target = last.kind === 'traffic' ? last.traffic : undefined;
    expect(final.state.traffic?.current).toMatchObject(target ?? {});
    expect(JSON.stringify(card.blocks)).toContain(
      `*Traffic:* ${escapeText(final.state.traffic!.current!.description)}`,
    );
  }
  expect(summary.reply_broadcast).toBe(true);
  expect(summary.text).toContain(`${service} ${version} deployed to production`);
  expect(JSON.stringify(summary.blocks)).toContain('covered by the staging run');
  // Nothing the bot sent was refused by Slack.
  expect(h.slack.calls.filter((call) => !call.ok).map((call) => `${call.method}: ${call.error}`)).toEqual([]);
}

/** The seeds whose runbooks say what to do after a rollback (000, 001 and 003). */
const WITH_ROLLBACK_PHASES = SEEDS.filter((seed) => ['000', '001', '003'].includes(seed.label.slice(0, 3)));

describe.each(WITH_ROLLBACK_PHASES)('seed $label rolls back and walks its rollback checklist', (seed) => {
  it(`rolls back ${seed.service}`, () => rollBackSeed(h, seed, '2.0.0', 'threaded'), 90_000);
});

/** Rolls a seed's deployment back from Slack, then walks its rollback checklist and checks the thread. */
async function rollBackSeed(h: Harness, seed: Seed, version: string, layout: ThreadLayout): Promise<void> {
  const { service, outsideTheSandbox } = seed;
  const { id, requester, channel } = await startDeployment(h, service, version);
  await env.infra.release(service, version);
  const { checklist } = (await h.bot.store.load(id))!;
  const rollbackPhases = checklist.rollback?.phases ?? [];
  expect(rollbackPhases.length).toBeGreaterThan(0);

  // Rolled back from Slack, as a person does it: the command, then the reason in its modal.
  const views = h.slack.views.length;
  await h.driver.slash(requester, channel, '/deploy', `rollback ${service}`);
  const view = await waitUntil(() => h.slack.views[views], 'the rollback modal');
  await h.driver.submitView(requester, view.id, { reason: `error rate up after ${version}` });
  await waitUntil(
    async () => (await h.bot.store.load(id))?.state.status === 'rolled_back' || undefined,
    'the rollback',
    30_000,
  );

  // Each rollback phase opens in turn; its checks run against the cluster and metrics, people click
  // the rest (a traffic step the rollback itself did is already done).
  for (const phase of rollbackPhases) {
    await waitUntil(
      async () => (await h.bot.store.load(id))?.state.phases[phase.id]?.status === 'active' || undefined,
      `${phase.id} to open`,
    );
    for (const item of phase.items) {
      const current = (await h.bot.store.load(id))!.state.items[item.id];
      if (current?.status === 'done') continue;
      const actor = actorFor(h, item, requester);
      if (item.kind !== 'check') {
        await resolveItem(h, id, checklist, item, { resolution: 'done', actor });
        continue;
      }
      let state = await settledCheck(h, id, item.id);
      for (let rerun = 0; rerun < 2 && state.status !== 'passed'; rerun++) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        state = await rerunCheck(h, id, item.id, actor);
      }
      if (state.status === 'passed') continue;
      const why = outsideTheSandbox[item.id];
      if (!why) throw new Error(`check ${item.id} ${state.status}: ${state.result?.summary}`);
      await overrideCheck(h, id, item.id, { actor, reason: `Not checkable in the sandbox: ${why}` });
    }
  }
  const final = await waitUntil(async () => {
    const loaded = await h.bot.store.load(id);
    return rollbackPhases.every((phase) => loaded?.state.phases[phase.id]?.status === 'completed')
      ? loaded
      : undefined;
  }, 'every rollback phase to complete');
  expect(final.state.status).toBe('rolled_back');
  // Its checks really ran after the rollback, and passed by themselves.
  const rollbackChecks = rollbackPhases
    .flatMap((phase) => phase.items)
    .filter((item) => item.kind === 'check');
  expect(rollbackChecks.length).toBeGreaterThan(0);
  expect(
    rollbackChecks.map((item) => [
      item.id,
      final.state.items[item.id]?.status,
      final.state.items[item.id]?.result?.summary,
    ]),
  ).toEqual(
    rollbackChecks.map((item) => [
      item.id,
      'passed',
      expect.stringMatching(passingSummary(item as CheckItem)),
    ]),
  );

  // The thread holds each rollback phase's message (a folded card: a line for each), with no buttons left.
  await h.bot.context.presenter.idle();
  expect(await h.bot.store.threadLayout(id)).toBe(layout);
  const cardTs = (await h.bot.store.message(id, 'card'))!;
  const card = h.slack.message(channel, cardTs);
  expect(JSON.stringify(card?.blocks)).toContain('*After the rollback:*');
  if (layout === 'folded') {
    expect(JSON.stringify(card?.blocks)).not.toMatch(/"(item\.(done|skip|na)|traffic\.shift)"/);
    for (const phase of rollbackPhases)
      expect(shownText(card)).toContain(`✅ ${escapeText(phase.title).slice(0, 50)}`);
  }
  for (const phase of layout === 'folded' ? [] : rollbackPhases) {
    const where = await messageOf(h, id, checklist, phase.items[0]!);
    const blocks = JSON.stringify(h.slack.message(channel, where.ts)?.blocks);
    expect(blocks).toContain('Complete');
    expect(blocks).not.toMatch(/"(item\.(done|skip|na)|traffic\.shift)"/);
  }
  const audit = (await h.bot.store.audit(id)).map((entry) => entry.event);
  const opened = audit.filter((event) => event.type === 'phase.opened').map((event) => event.phaseId);
  expect(opened.slice(-rollbackPhases.length)).toEqual(rollbackPhases.map((phase) => phase.id));
  expect(h.slack.calls.filter((call) => !call.ok).map((call) => `${call.method}: ${call.error}`)).toEqual([]);
}

/** The seeds whose every phase fits in the card beside it (002 and 003, no follow-ups). */
const FOLDABLE = SEEDS.filter((seed) => ['002', '003'].includes(seed.label.slice(0, 3)));

describe.each(FOLDABLE)('seed $label walks with its phases folded into the card (a busy channel)', (seed) => {
  it(
    `deploys ${seed.service}, every click on the card`,
    () => walkSeed(folded, seed, '3.0.0', 'folded'),
    90_000,
  );
});

describe('seed 003 canary release rolls back with its phases folded into the card', () => {
  it('rolls back checkout and walks its rollback checklist in the card', async () => {
    const seed = SEEDS.find((candidate) => candidate.label.startsWith('003'))!;
    await rollBackSeed(folded, seed, '4.0.0', 'folded');
  }, 90_000);
});
