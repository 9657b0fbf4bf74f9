import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Checklist, Item } from '../../src/checklists/schema.js';
import type { DeploymentEvent } from '../../src/deployments/engine.js';
import type { FakeMessage } from '../../src/sandbox/slack/types.js';
import { escalationMessageKey } from '../../src/slack/render/escalation.js';
import { phaseMessageKey } from '../../src/slack/render/phase-message.js';
import { type Harness, startHarness } from '../support/harness.js';
import { failureReplyOf, rerunCheck, resolveItem, settledCheck, startDeployment, waitUntil } from './walk.js';

/**
 * Scheduled (follow-up) phases, end to end with a shrunken clock (time_scale): after completion the
 * status card says when each is due; each opens by itself at that time in the same thread, mentions its
 * owners and re-runs its checks for real — here an HTTP check against a local server that has started
 * failing since the deployment, so the follow-up catches it, replies with the failure and escalates to
 * its owner although the deployment itself is complete. (seed-deployments.test.ts walks the seeds'
 * follow-ups when everything passes.)
 */

const TIME_SCALE = 0.0005; // 30 minutes -> 900 ms, 2 hours -> 3.6 s
const MINUTE = 60_000;

let healthStatus = 200;
const server = createServer((_req, res) => res.writeHead(healthStatus).end('health'));
let h: Harness;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const health = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
  const check = { type: 'http', url: health, retries: 0, timeout: '2s' };
  const dir = await mkdtemp(join(tmpdir(), 'fd-follow-ups-'));
  await mkdir(join(dir, 'checklists'));
  await writeFile(
    join(dir, 'checklists', 'verified.yaml'),
    stringify({
      id: 'verified',
      title: 'Verified release',
      // Escalations are not scaled: what waits in an open follow-up calls its owner 400 ms later.
      escalation: { levels: [{ after: '400ms', notify: 'owner' }] },
      phases: [
        {
          id: 'ship',
          title: 'Ship',
          items: [
            { id: 'health', kind: 'check', title: 'Health endpoint answers', check },
            { id: 'deployed', kind: 'manual', title: 'New version deployed' },
          ],
        },
        {
          id: 't30m',
          title: 'T+30 minutes',
          after: '30m',
          items: [
            { id: 'health-30m', kind: 'check', title: 'Still healthy at T+30m', owner: 'sre', check },
            { id: 'dashboards-30m', kind: 'manual', title: 'Dashboards reviewed', owner: 'sre' },
          ],
        },
        {
          id: 't2h',
          title: 'T+2 hours',
          after: '2h',
          items: [{ id: 'feedback-2h', kind: 'manual', title: 'User feedback reviewed', owner: 'qa' }],
        },
      ],
    }),
  );
  const configPath = join(dir, 'flightdeck.yaml');
  await writeFile(
    configPath,
    stringify({
      time_scale: TIME_SCALE,
      services: { shop: { checklist: 'verified', channel: 'C0SHOP', deployers: ['deployer'] } },
      roles: {
        deployer: { users: ['U0DEPLOYER'] },
        sre: { users: ['U0SRE'], groups: ['S0SRE'] },
        qa: { users: ['U0QA'] },
      },
    }),
  );
  h = await startHarness({ configPath });
}, 30_000);

afterAll(async () => {
  await h?.stop();
  server.close();
});

function itemOf(checklist: Checklist, itemId: string): Item {
  const item = checklist.phases.flatMap((phase) => phase.items).find((candidate) => candidate.id === itemId);
  if (!item) throw new Error(`no item ${itemId}`);
  return item;
}

/** Every text of a message's blocks, in this version of it. */
function textOf(blocks: unknown): string {
  const texts: string[] = [];
  const visit = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object')
      for (const [key, value] of Object.entries(node)) {
        if (key === 'text' && typeof value === 'string') texts.push(value);
        else visit(value);
      }
  };
  visit(blocks);
  return texts.join('\n');
}

/** The message's text in every version it has had, oldest first. */
function versions(message: FakeMessage): string[] {
  return [...message.history.map((version) => version.blocks), message.blocks].map(textOf);
}

describe('follow-up phases', () => {
  it('are due on the card, open on time in the thread calling their owners, and re-run their checks', async () => {
    healthStatus = 200;
    const { id, channel } = await startDeployment(h, 'shop', '1.0.0', 'U0DEPLOYER');
    const { checklist } = (await h.bot.store.load(id))!;
    expect((await settledCheck(h, id, 'health')).status).toBe('passed');
    // Since the deployment's own check, the service has started failing.
    healthStatus = 404;
    await resolveItem(h, id, checklist, itemOf(checklist, 'deployed'), {
      resolution: 'done',
      actor: 'U0DEPLOYER',
    });

    const audit = async () => (await h.bot.store.audit(id)).map((entry) => entry.event);
    const completed = (await audit()).find(
      (event) => event.type === 'deployment.completed',
    ) as DeploymentEvent;
    const scheduled = Object.fromEntries(
      (await audit())
        .filter((event) => event.type === 'phase.scheduled')
        .map((event) => [event.type === 'phase.scheduled' ? event.phaseId : '', event]),
    );
    const dueAt = (phaseId: string) => (scheduled[phaseId] as { dueAt: number }).dueAt;
    expect(dueAt('t30m')).toBe(completed.at + 30 * MINUTE * TIME_SCALE);
    expect(dueAt('t2h')).toBe(completed.at + 120 * MINUTE * TIME_SCALE);

    // Until then the card says when each is due (as a Slack date, shown in the reader's time zone).
    const cardTs = (await h.bot.store.message(id, 'card')) as string;
    const dueLine = (phaseTitle: string, phaseId: string) =>
      `${phaseTitle} due <!date^${Math.floor(dueAt(phaseId) / 1000)}^`;
    await waitUntil(
      () =>
        versions(h.slack.message(channel, cardTs)!).some(
          (text) =>
            text.includes('*Follow-ups:*') &&
            text.includes(dueLine('T+30 minutes', 't30m')) &&
            text.includes(dueLine('T+2 hours', 't2h')),
        ) || undefined,
      'the card to show when the follow-ups are due',
    );

    // T+30m opens by itself, on time, and runs its check again: a new run, against the service as it is now.
    const opened = await waitUntil(
      async () => (await audit()).find((event) => event.type === 'phase.opened' && event.phaseId === 't30m'),
      'T+30 minutes to open',
    );
    expect(opened.at).toBeGreaterThanOrEqual(dueAt('t30m'));
    expect(opened.actor).toBe('flightdeck');
    const rerun = await settledCheck(h, id, 'health-30m');
    expect(rerun).toMatchObject({
      status: 'failed',
      run: 1,
      result: { summary: expect.stringContaining('404') },
    });
    expect((await h.bot.store.load(id))?.state.status).toBe('completed');

    // In the same thread, calling its owners; the failure gets its reply there too.
    await h.bot.context.presenter.idle();
    const phaseTs = (await h.bot.store.message(id, phaseMessageKey('t30m', 0))) as string;
    const phaseMessage = h.slack.message(channel, phaseTs)!;
    expect(phaseMessage.thread_ts).toBe(cardTs);
    expect(versions(phaseMessage)[0]).toContain(
      '⏰ *Follow-up due* (T+30m) · 0/2 resolved · <@U0SRE> <!subteam^S0SRE>',
    );
    const failure = await failureReplyOf(h, id, 'health-30m', 1);
    expect(h.slack.message(channel, failure.ts)?.thread_ts).toBe(cardTs);
    // …which asks its owners to act, with the buttons to do so, although the deployment is complete.
    const reply = versions(h.slack.message(channel, failure.ts)!)[0];
    expect(reply).toContain('❌ *Still healthy at T+30m* failed: HTTP 404');
    expect(reply).toContain('<@U0SRE> <!subteam^S0SRE> — re-run it, or override it with a reason.');

    // Nobody re-runs it: it escalates to its owner, although the deployment itself is complete.
    const levelTs = await waitUntil(
      () => h.bot.store.message(id, escalationMessageKey('check:health-30m', 1, 1)),
      'the escalation of the failing follow-up check',
    );
    expect(versions(h.slack.message(channel, levelTs)!)[0]).toMatch(
      /check “Still healthy at T\+30m” is failing: HTTP 404[^\n]*\n<@U0SRE> <!subteam\^S0SRE> — acknowledge/,
    );

    // Fixed: the owner re-runs it from the failure reply and finishes the phase.
    healthStatus = 200;
    expect((await rerunCheck(h, id, 'health-30m', 'U0SRE')).status).toBe('passed');
    await resolveItem(h, id, checklist, itemOf(checklist, 'dashboards-30m'), {
      resolution: 'done',
      actor: 'U0SRE',
    });
    await waitUntil(
      async () => (await h.bot.store.load(id))?.state.phases.t30m?.status === 'completed' || undefined,
      'T+30 minutes to complete',
    );
    const state = (await h.bot.store.load(id))!.state;
    expect(state.escalations?.['check:health-30m']?.resolvedAt).toBeDefined();
    expect(state.escalations?.['phase:t30m']?.resolvedAt).toBeDefined();

    // T+2h opens at its own time, calling QA, and is walked like any phase.
    const later = await waitUntil(
      async () => (await audit()).find((event) => event.type === 'phase.opened' && event.phaseId === 't2h'),
      'T+2 hours to open',
    );
    expect(later.at).toBeGreaterThanOrEqual(dueAt('t2h'));
    await h.bot.context.presenter.idle();
    const laterTs = (await h.bot.store.message(id, phaseMessageKey('t2h', 0))) as string;
    expect(versions(h.slack.message(channel, laterTs)!)[0]).toContain(
      '⏰ *Follow-up due* (T+2h) · 0/1 resolved · <@U0QA>',
    );
    await resolveItem(h, id, checklist, itemOf(checklist, 'feedback-2h'), {
      resolution: 'done',
      actor: 'U0QA',
    });
    await waitUntil(
      async () => (await h.bot.store.load(id))?.state.phases.t2h?.status === 'completed' || undefined,
      'T+2 hours to complete',
    );
    await h.bot.context.presenter.idle();
    expect(textOf(h.slack.message(channel, cardTs)?.blocks)).toContain(
      '*Follow-ups:* T+30 minutes ✅ · T+2 hours ✅',
    );
    // Each follow-up opened once; the check ran twice in T+30m (the failing run and the re-run).
    const events = await audit();
    expect(
      events
        .filter((event) => event.type === 'phase.opened')
        .map((event) => 'phaseId' in event && event.phaseId),
    ).toEqual(['ship', 't30m', 't2h']);
    expect(
      events
        .filter((event) => event.type === 'check.completed' && event.itemId === 'health-30m')
        .map((event) => event.type === 'check.completed' && event.outcome),
    ).toEqual(['failed', 'passed']);
  }, 60_000);
});
