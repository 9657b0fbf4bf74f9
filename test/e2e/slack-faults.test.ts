import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeploymentService } from '../../src/deployments/service.js';
import { DeploymentStore } from '../../src/deployments/store.js';
import { SLACK_LIMITS } from '../../src/sandbox/slack/pace.js';
import type { FakeMessage } from '../../src/sandbox/slack/types.js';
import { phaseMessageKey } from '../../src/slack/render/phase-message.js';
import { REPORT_KEY } from '../../src/slack/render/report.js';
import { type Harness, type HarnessOptions, startHarness } from '../support/harness.js';
import { messageOf, resolveItem, startDeployment, waitUntil } from './walk.js';

/**
 * The thread under faults, through the real receiver against the fake Slack: a post Slack stored whose
 * answer was lost, a poster that died mid-post, and Slack's own pace (posts per channel, chat.update's
 * tier, 429 + Retry-After). Nothing is posted twice, and a busy channel gets no 429.
 */

const CHANNEL = 'C0SHOP';
const SERVICES = ['shop-0', 'shop-1', 'shop-2', 'shop-3'];

/** Services sharing one channel, running a two-phase checklist whose items are open to everyone. */
async function workspace(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fd-faults-'));
  await mkdir(join(dir, 'checklists'));
  await writeFile(
    join(dir, 'checklists', 'simple.yaml'),
    [
      'id: simple',
      'title: Two phases',
      'phases:',
      '  - id: prepare',
      '    title: Prepare',
      '    items:',
      '      - { id: announce, kind: manual, title: Announce the release, owner: anyone }',
      '      - { id: freeze, kind: manual, title: Freeze merges, owner: anyone }',
      '  - id: release',
      '    title: Release',
      '    items:',
      '      - { id: ship, kind: manual, title: Ship it, owner: anyone }',
      '      - { id: verify, kind: manual, title: Verify it, owner: anyone }',
      '',
    ].join('\n'),
  );
  const services = SERVICES.map(
    (name) => `  ${name}:\n    checklist: simple\n    channel: ${CHANNEL}\n    deployers: [deployer]`,
  );
  const path = join(dir, 'flightdeck.yaml');
  await writeFile(
    path,
    // No reminders or escalations: nothing but the deployments themselves talks in the threads.
    `escalation: { levels: [] }\nroles:\n  deployer: { users: [U0DEPLOYER] }\nservices:\n${services.join('\n')}\n`,
  );
  return path;
}

async function harness(options: HarnessOptions = {}): Promise<Harness> {
  return startHarness({ configPath: await workspace(), ...options });
}

/** Clicks every item of a deployment Done, phase by phase, each as a different person. */
async function walkThrough(h: Harness, id: string): Promise<void> {
  const { checklist } = (await h.bot.store.load(id))!;
  for (const phase of checklist.phases)
    for (const item of phase.items)
      await resolveItem(h, id, checklist, item, {
        resolution: 'done',
        actor: `U0CLICK${item.id.toUpperCase()}`,
      });
  await waitUntil(
    async () => (await h.bot.store.load(id))?.state.status === 'completed',
    `${id} to complete`,
  );
}

const metadataOf = (id: string, key: string) => ({
  event_type: 'flightdeck_message',
  event_payload: { deployment_id: id, message_key: key },
});

describe('posting once', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(async () => {
    await h.stop();
  });

  it.each([
    ['http-500', '1.0.0'],
    ['connection-closed', '1.0.1'],
  ] as const)(
    'adopts a status card Slack stored but whose answer was lost (%s), and posts no second one',
    async (how, version) => {
      h.slack.loseAnswer('chat.postMessage', how);
      const { id } = await startDeployment(h, 'shop-0', version);
      const cards = h.slack.messages(CHANNEL).filter((message) => message.text.includes(`shop-0 ${version}`));
      expect(cards).toHaveLength(1);
      const card = cards[0] as FakeMessage;
      expect(await h.bot.store.message(id, 'card')).toBe(card.ts);
      expect(card.metadata).toEqual(metadataOf(id, 'card'));
      // The thread grows under that one card, and its messages say what they are too.
      const [phase] = h.slack.thread(CHANNEL, card.ts);
      expect(phase?.metadata).toEqual(metadataOf(id, phaseMessageKey('prepare', 0)));
      await walkThrough(h, id);
    },
  );

  it('posts the report and shows the end on the card after a restart, when the process that ended the deployment died before telling Slack', async () => {
    const { id } = await startDeployment(h, 'shop-3', '3.0.0');
    const { checklist } = (await h.bot.store.load(id))!;
    const items = checklist.phases.flatMap((phase) => phase.items);
    for (const item of items.slice(0, -1))
      await resolveItem(h, id, checklist, item, { resolution: 'done', actor: 'U0CLICK1' });
    await h.bot.context.presenter.idle();
    // The last click lands in Redis through a process that dies before its presenter says anything: the
    // deployment has completed, and Slack still shows it in progress, without a report.
    const dying = new DeploymentService(h.bot.store, h.bot.context.catalogue);
    const last = items.at(-1)!;
    const done = await dying.execute(id, {
      type: 'resolve-item',
      itemId: last.id,
      resolution: 'done',
      actor: 'U0CLICK2',
      actorRoles: [],
      at: Date.now(),
    });
    expect(done.ok).toBe(true);
    expect((await h.bot.store.load(id))?.state.status).toBe('completed');
    await h.restart();

    const report = await waitUntil(
      () => h.bot.store.message(id, REPORT_KEY),
      'the report to be posted',
      15_000,
    );
    await h.bot.context.presenter.idle();
    const cardTs = (await h.bot.store.message(id, 'card'))!;
    expect(h.slack.thread(CHANNEL, cardTs).filter((message) => message.ts === report)).toHaveLength(1);
    expect(JSON.stringify(h.slack.message(CHANNEL, cardTs)?.blocks)).toContain('*Completed*');
  });

  it('adopts a phase message whose poster died mid-post once its claim is stale, and updates that one message', async () => {
    const { id } = await startDeployment(h, 'shop-2', '2.0.0');
    const { checklist } = (await h.bot.store.load(id))!;
    const [prepare, release] = checklist.phases;
    for (const item of prepare!.items)
      await resolveItem(h, id, checklist, item, { resolution: 'done', actor: 'U0CLICK1' });
    await h.bot.context.presenter.idle();
    const key = phaseMessageKey('release', 0);
    const posted = await waitUntil(() => h.bot.store.message(id, key), 'the Release message');

    // The poster died after Slack stored the message and before Redis heard its ts: only its claim is left,
    // and by now it is stale.
    const staleSince = Date.now() - DeploymentStore.STALE_CLAIM_MS - 1_000;
    await h.bot.redis.hset(`${h.prefix}:dep:${id}:slack`, key, `posting:${staleSince}`);
    await h.restart();

    await waitUntil(() => h.bot.store.message(id, key), 'the Release message to be known again');
    await h.bot.context.presenter.idle();
    expect(await h.bot.store.message(id, key)).toBe(posted);
    const cardTs = (await h.bot.store.message(id, 'card'))!;
    const releases = h.slack.thread(CHANNEL, cardTs).filter((message) => message.text.startsWith('Release'));
    expect(releases.map((message) => message.ts)).toEqual([posted]);

    // Later changes land on that message.
    await resolveItem(h, id, checklist, release!.items[0]!, { resolution: 'done', actor: 'U0CLICK2' });
    await h.bot.context.presenter.idle();
    const where = await messageOf(h, id, checklist, release!.items[0]!);
    expect(where.ts).toBe(posted);
    expect(JSON.stringify(h.slack.message(CHANNEL, posted)?.blocks)).toContain('done by <@U0CLICK2>');
  });
});

describe('a 429', () => {
  // A harness of its own: a one-shot 429 must meet this test's update, not one left over from another.
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(async () => {
    await h.stop();
  });

  it('waits out a 429 on chat.update without holding up posts', async () => {
    const { id } = await startDeployment(h, 'shop-3', '3.0.0');
    const { checklist } = (await h.bot.store.load(id))!;
    const [first, last] = checklist.phases[0]!.items;
    h.slack.rateLimit('chat.update', { times: 1, retryAfterSeconds: 3 });
    await resolveItem(h, id, checklist, first!, { resolution: 'done', actor: 'U0CLICK1' });
    const limited = await h.slack.waitFor(() =>
      h.slack.callsTo('chat.update').find((call) => call.status === 429),
    );
    // Resolving the last item opens the next phase: its post need not wait for chat.update's pause.
    await resolveItem(h, id, checklist, last!, { resolution: 'done', actor: 'U0CLICK2' });
    const release = await waitUntil(
      () =>
        h.slack
          .callsTo('chat.postMessage')
          .find((call) => call.ok && String(call.args.text).startsWith('Release')),
      'the Release post',
    );
    expect(release.at - limited.at).toBeLessThan(2_000);
    // chat.update waits out Retry-After (an update already on its way may still arrive), then the limited
    // message gets its update.
    await h.bot.context.presenter.idle();
    const later = h.slack.callsTo('chat.update').filter((call) => call.at > limited.at);
    expect(later.filter((call) => call.at > limited.at + 200 && call.at < limited.at + 2_900)).toEqual([]);
    const retried = later.find((call) => call.args.ts === limited.args.ts);
    expect(retried!.at - limited.at).toBeGreaterThanOrEqual(2_900);
    expect(
      JSON.stringify(h.slack.message(CHANNEL, (await messageOf(h, id, checklist, first!)).ts)?.blocks),
    ).toContain('done by <@U0CLICK1>');
  }, 20_000);
});

describe('Slack’s pace', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ slackLimits: SLACK_LIMITS, productionPace: true });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('runs deployments side by side in one channel with no 429, each message updated at most once a second', async () => {
    const started = await Promise.all(SERVICES.map((service) => startDeployment(h, service, '4.0.0')));
    await Promise.all(started.map(({ id }) => walkThrough(h, id)));
    await h.bot.context.presenter.idle();

    expect(h.slack.calls.filter((call) => call.status === 429)).toEqual([]);
    // A message's next update goes a second after the previous one was answered, never in a bunch.
    const updates = new Map<string, number[]>();
    for (const call of h.slack.callsTo('chat.update'))
      updates.set(String(call.args.ts), [...(updates.get(String(call.args.ts)) ?? []), call.at]);
    for (const times of updates.values())
      for (let index = 1; index < times.length; index++)
        expect(times[index]! - times[index - 1]!).toBeGreaterThanOrEqual(990);
    // Every thread ends current: the card says completed, both phases show who did what, the report is there.
    for (const { id } of started) {
      const cardTs = (await h.bot.store.message(id, 'card'))!;
      expect(JSON.stringify(h.slack.message(CHANNEL, cardTs)?.blocks)).toContain('*Completed*');
      const thread = h.slack.thread(CHANNEL, cardTs);
      for (const title of ['Prepare', 'Release']) {
        const phase = thread.find((message) => message.text.startsWith(title));
        expect(JSON.stringify(phase?.blocks).match(/done by <@U0CLICK/g)).toHaveLength(2);
      }
      expect(thread.map((message) => message.ts)).toContain(await h.bot.store.message(id, 'summary'));
    }
  }, 120_000);
});
