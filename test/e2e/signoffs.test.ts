import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Checklist, Item } from '../../src/checklists/schema.js';
import { loadConfig } from '../../src/config/load.js';
import { startFlightdeck } from '../../src/flightdeck.js';
import { createLogger } from '../../src/observability/logger.js';
import { SlackDriver } from '../../src/sandbox/slack/slack-driver.js';
import { ACTION } from '../../src/slack/action-ids.js';
import { phaseMessageKey } from '../../src/slack/render/phase-message.js';
import { type Harness, SIGNING_SECRET, startHarness } from '../support/harness.js';
import { buttonShown, messageOf, startDeployment, waitUntil } from './walk.js';

/**
 * Sign-offs through signed Slack clicks into the real bot on real Redis: only the role signs, one person
 * counts once, the requester cannot sign their own deployment (four eyes), a signer can take it back
 * while the phase is open, the count reached opens the next phase — also when many people click at once
 * through two bot replicas — and user-group members are found through usergroups.users.list, once.
 */

const REQUESTER = 'U0REVIEW1'; // a deployer who is also a reviewer: four eyes must stop them
const CROWD = ['U0CROWD1', 'U0CROWD2', 'U0CROWD3', 'U0CROWD4', 'U0CROWD5', 'U0CROWD6'];
const GROUP = 'S0APPROVERS';
/** The harness's fake workspace gives each user group two members named after it (`U0` + id + `M1`). */
const GROUP_MEMBERS = ['U00APPROVERSM1', 'U00APPROVERSM2'];

let h: Harness;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fd-signoffs-'));
  await mkdir(join(dir, 'checklists'));
  await writeFile(
    join(dir, 'checklists', 'gated.yaml'),
    stringify({
      id: 'gated',
      title: 'Gated release',
      four_eyes: true,
      phases: [
        {
          id: 'review',
          title: 'Review',
          items: [
            {
              id: 'code-review',
              kind: 'signoff',
              title: 'Code review approved by 2+ team members',
              signoff: { role: 'reviewers', count: 2 },
            },
          ],
        },
        {
          id: 'approve',
          title: 'Approval',
          items: [
            {
              id: 'platform-approval',
              kind: 'signoff',
              title: 'Platform group approves',
              signoff: { role: 'approvers', count: 2 },
            },
          ],
        },
        { id: 'ship', title: 'Ship', items: [{ id: 'shipped', kind: 'manual', title: 'Shipped' }] },
      ],
    }),
  );
  await writeFile(
    join(dir, 'checklists', 'crowd.yaml'),
    stringify({
      id: 'crowd',
      title: 'Crowded sign-off',
      phases: [
        {
          id: 'sign',
          title: 'Sign',
          items: [
            {
              id: 'quorum',
              kind: 'signoff',
              title: 'Four people agree',
              signoff: { role: 'crowd', count: 4 },
            },
          ],
        },
        { id: 'next', title: 'Next', items: [{ id: 'go', kind: 'manual', title: 'Go' }] },
      ],
    }),
  );
  const configPath = join(dir, 'flightdeck.yaml');
  await writeFile(
    configPath,
    stringify({
      // Escalation replies would crowd the threads this file counts messages in.
      escalation: { levels: [] },
      services: {
        gated: { checklist: 'gated', channel: 'C0GATED', deployers: ['deployer'] },
        crowd: { checklist: 'crowd', channel: 'C0CROWD', deployers: ['deployer'] },
      },
      roles: {
        deployer: { users: ['U0DEPLOYER', REQUESTER] },
        reviewers: { users: [REQUESTER, 'U0REVIEW2', 'U0REVIEW3'] },
        approvers: { groups: [GROUP] },
        crowd: { users: CROWD },
      },
    }),
  );
  h = await startHarness({ configPath });
}, 30_000);

afterAll(async () => {
  await h?.stop();
});

async function stateOf(id: string) {
  const loaded = await h.bot.store.load(id);
  if (!loaded) throw new Error(`no deployment ${id}`);
  return loaded;
}

function itemOf(checklist: Checklist, itemId: string): Item {
  const item = checklist.phases.flatMap((phase) => phase.items).find((candidate) => candidate.id === itemId);
  if (!item) throw new Error(`no item ${itemId}`);
  return item;
}

/** The text of the item's row in its phase message, as Slack shows it. */
function rowText(where: { channel: string; ts: string }, itemId: string): string {
  const block = h.slack
    .message(where.channel, where.ts)
    ?.blocks.find((candidate) => candidate.block_id === `i|${itemId}`) as
    | { text?: { text?: string } }
    | undefined;
  return block?.text?.text ?? '';
}

async function auditTypes(id: string): Promise<string[]> {
  return (await h.bot.store.audit(id)).map((entry) => entry.event.type);
}

describe('sign-offs in the thread', () => {
  let id: string;
  let checklist: Checklist;

  it('deny people outside the role privately, and record only the refusal', async () => {
    ({ id } = await startDeployment(h, 'gated', '1.0.0', REQUESTER));
    ({ checklist } = await stateOf(id));
    const review = itemOf(checklist, 'code-review');
    const where = await messageOf(h, id, checklist, review);
    const auditBefore = (await h.bot.store.audit(id)).length;
    const click = await h.driver.clickButton('U0OUTSIDER', where, {
      actionId: ACTION.itemDone,
      value: `${id}|code-review`,
    });
    expect(click.status).toBe(200);
    const denial = await h.slack.waitFor(() =>
      h.slack.ephemerals.find((message) => message.user === 'U0OUTSIDER' && message.channel === 'C0GATED'),
    );
    expect(denial.text).toContain('Only members of the *reviewers* role');
    expect(denial.thread_ts).toBe(await h.bot.store.message(id, 'card'));
    expect((await stateOf(id)).state.items['code-review']).toEqual({ status: 'pending' });
    expect((await h.bot.store.audit(id)).slice(auditBefore).map((entry) => entry.event)).toEqual([
      expect.objectContaining({
        type: 'access.refused',
        actor: 'U0OUTSIDER',
        action: 'resolve-item done',
        target: 'code-review',
        code: 'forbidden',
      }),
    ]);
  });

  it('keep the requester from signing their own deployment (four eyes)', async () => {
    const where = await messageOf(h, id, checklist, itemOf(checklist, 'code-review'));
    const auditBefore = (await h.bot.store.audit(id)).length;
    await h.driver.clickButton(REQUESTER, where, { actionId: ACTION.itemDone, value: `${id}|code-review` });
    const denial = await h.slack.waitFor(() =>
      h.slack.ephemerals.find(
        (message) => message.user === REQUESTER && message.via === 'chat.postEphemeral',
      ),
    );
    expect(denial.text).toMatch(/someone else has to sign off \(four eyes\)/);
    expect((await stateOf(id)).state.items['code-review']).toEqual({ status: 'pending' });
    expect((await h.bot.store.audit(id)).slice(auditBefore).map((entry) => entry.event)).toEqual([
      expect.objectContaining({ type: 'access.refused', actor: REQUESTER, code: 'four_eyes' }),
    ]);
  });

  it('count one person once, show who signed and who is still needed, and let a signer withdraw', async () => {
    const where = await messageOf(h, id, checklist, itemOf(checklist, 'code-review'));
    // Before anyone signs, the row calls the reviewers who may sign: not the requester (four eyes).
    await h.bot.context.presenter.idle();
    expect(rowText(where, 'code-review')).toMatch(/_needs 2 more from_ <@U0REVIEW2> <@U0REVIEW3>$/);

    const value = `${id}|code-review`;
    await h.driver.clickButton('U0REVIEW2', where, { actionId: ACTION.itemDone, value });
    await waitUntil(
      async () => (await stateOf(id)).state.items['code-review']?.signatures?.length === 1,
      'the first signature',
    );
    // A double tap, and a second tap from a stale screen at the same moment: still one signature.
    await Promise.all([
      h.driver.clickButton('U0REVIEW2', where, { actionId: ACTION.itemDone, value }),
      h.driver.clickButton('U0REVIEW2', where, { actionId: ACTION.itemDone, value }),
    ]);
    await h.bot.context.presenter.idle();
    const { state } = await stateOf(id);
    expect(state.items['code-review']).toMatchObject({
      status: 'pending',
      signatures: [{ by: 'U0REVIEW2', at: expect.any(Number) }],
    });
    expect((await auditTypes(id)).filter((type) => type === 'signoff.signed')).toHaveLength(1);
    // Who signed and when, and who is still needed, by mention: the one reviewer left.
    const row = rowText(where, 'code-review');
    expect(row).toContain('✍️ 1 of 2 signed: <@U0REVIEW2> <!date^');
    expect(row).toMatch(/_needs 1 more from_ <@U0REVIEW3>$/);

    // The signer takes it back while the phase is open.
    await buttonShown(h, where, ACTION.itemWithdraw, value);
    await h.driver.clickButton('U0REVIEW2', where, { actionId: ACTION.itemWithdraw, value });
    await waitUntil(
      async () => (await stateOf(id)).state.items['code-review']?.signatures?.length === 0,
      'the withdrawal',
    );
    await h.bot.context.presenter.idle();
    expect(rowText(where, 'code-review')).toMatch(/_needs 2 more from_ <@U0REVIEW2> <@U0REVIEW3>$/);
    expect(rowText(where, 'code-review')).not.toContain('signed:');
    expect(await auditTypes(id)).toContain('signoff.withdrawn');
    expect((await stateOf(id)).state.phases.review?.status).toBe('active');
  });

  it('open the next phase once enough distinct people signed', async () => {
    const where = await messageOf(h, id, checklist, itemOf(checklist, 'code-review'));
    const value = `${id}|code-review`;
    await h.driver.clickButton('U0REVIEW3', where, { actionId: ACTION.itemDone, value });
    await waitUntil(
      async () => (await stateOf(id)).state.items['code-review']?.signatures?.length === 1,
      'U0REVIEW3 to sign',
    );
    await h.driver.clickButton('U0REVIEW2', where, { actionId: ACTION.itemDone, value });
    const { state } = await waitUntil(async () => {
      const loaded = await stateOf(id);
      return loaded.state.phases.approve?.status === 'active' ? loaded : undefined;
    }, 'the approval phase to open');
    expect(state.items['code-review']).toMatchObject({
      status: 'done',
      by: 'U0REVIEW2',
      signatures: [{ by: 'U0REVIEW3' }, { by: 'U0REVIEW2' }],
    });
    expect(state.phases.review?.status).toBe('completed');
    // The next phase has its message in the thread, and its sign-off calls the group.
    const approval = await messageOf(h, id, checklist, itemOf(checklist, 'platform-approval'));
    const cardTs = await h.bot.store.message(id, 'card');
    expect(h.slack.message(approval.channel, approval.ts)?.thread_ts).toBe(cardTs);
    await h.bot.context.presenter.idle();
    expect(rowText(approval, 'platform-approval')).toContain(`_needs 2 more from_ <!subteam^${GROUP}>`);
    // The closed phase keeps its signatures with no buttons left to change them.
    expect(JSON.stringify(h.slack.message(where.channel, where.ts)?.blocks)).not.toMatch(
      /"item\.(done|withdraw)"/,
    );
    expect(rowText(where, 'code-review')).toContain('✍️ 2 of 2 signed: <@U0REVIEW3>');
  });

  it('find user-group members through usergroups.users.list, fetched once for many clicks', async () => {
    // A fresh process: nothing cached from the clicks above.
    await h.restart();
    const lookups = () =>
      h.slack.callsTo('usergroups.users.list').filter((call) => call.args.usergroup === GROUP);
    const before = lookups().length;
    const where = await messageOf(h, id, checklist, itemOf(checklist, 'platform-approval'));
    const value = `${id}|platform-approval`;
    const click = (user: string) => h.driver.clickButton(user, where, { actionId: ACTION.itemDone, value });
    // An outsider and a member at the same moment, then the member again, then an outsider once more.
    await Promise.all([click('U0OUTSIDER'), click(GROUP_MEMBERS[0] as string)]);
    await waitUntil(
      async () => (await stateOf(id)).state.items['platform-approval']?.signatures?.length === 1,
      'the first group member to sign',
    );
    await click(GROUP_MEMBERS[0] as string);
    await click('U0OUTSIDER');
    await h.slack.waitFor(
      () =>
        h.slack.ephemerals.filter(
          (message) => message.user === 'U0OUTSIDER' && message.text.includes('*approvers* role'),
        ).length === 2 || undefined,
    );
    await click(GROUP_MEMBERS[1] as string);
    const { state } = await waitUntil(async () => {
      const loaded = await stateOf(id);
      return loaded.state.phases.ship?.status === 'active' ? loaded : undefined;
    }, 'the ship phase to open');
    expect(state.items['platform-approval']).toMatchObject({
      status: 'done',
      signatures: GROUP_MEMBERS.map((by) => ({ by, at: expect.any(Number) })),
    });
    // Five clicks from three people, one lookup of the group.
    expect(lookups().length - before).toBe(1);
  });
});

describe('sign-offs clicked at once', () => {
  it('count exactly the people needed when many click together through two bot replicas', async () => {
    // A second bot on the same Redis keys and fake Slack: clicks land on both and race in Redis.
    const loaded = await loadConfig(h.env);
    if (!loaded.ok) throw new Error('the harness configuration does not load');
    const replica = await startFlightdeck(loaded.config, {
      listen: { port: 0, host: '127.0.0.1' },
      logger: createLogger({ level: 'silent' }),
      role: 'bot',
    });
    try {
      const other = new SlackDriver({
        eventsUrl: `http://127.0.0.1:${replica.port}/slack/events`,
        signingSecret: SIGNING_SECRET,
        slack: h.slack,
      });
      const { id, channel } = await startDeployment(h, 'crowd', '1.0.0', 'U0DEPLOYER');
      const { checklist } = await stateOf(id);
      const where = await messageOf(h, id, checklist, itemOf(checklist, 'quorum'));
      const value = `${id}|quorum`;
      // Six people, each tapping twice, half through each replica — all at once.
      const clicks = CROWD.flatMap((user, index) => [
        (index % 2 === 0 ? h.driver : other).clickButton(user, where, { actionId: ACTION.itemDone, value }),
        (index % 2 === 0 ? other : h.driver).clickButton(user, where, { actionId: ACTION.itemDone, value }),
      ]);
      const answers = await Promise.all(clicks);
      expect(answers.map((answer) => answer.status)).toEqual(clicks.map(() => 200));
      const { state } = await waitUntil(async () => {
        const current = await stateOf(id);
        return current.state.phases.next?.status === 'active' ? current : undefined;
      }, 'the next phase to open');
      // Let any click still in flight land before counting.
      await Promise.all([h.bot.context.presenter.idle(), replica.context.presenter.idle()]);
      const final = (await stateOf(id)).state;
      expect(final).toEqual(state);
      const signers = final.items.quorum?.signatures?.map((signature) => signature.by) ?? [];
      expect(signers).toHaveLength(4);
      expect(new Set(signers).size).toBe(4);
      expect(signers.every((user) => CROWD.includes(user))).toBe(true);
      expect(final.items.quorum).toMatchObject({ status: 'done', by: signers[3] });
      const types = await auditTypes(id);
      const count = (type: string) => types.filter((candidate) => candidate === type).length;
      expect(count('signoff.signed')).toBe(4);
      expect(count('item.resolved')).toBe(1);
      expect(count('phase.completed')).toBe(1);
      expect(count('phase.opened')).toBe(2); // sign, then next
      // Each phase message was posted once, by one of the two replicas.
      const cardTs = (await h.bot.store.message(id, 'card')) as string;
      const nextTs = await h.bot.store.message(id, phaseMessageKey('next', 0));
      expect(h.slack.thread(channel, cardTs).map((message) => message.ts)).toEqual([where.ts, nextTs]);
      // Nobody who tapped was told anything: late taps on a done sign-off need no answer.
      expect(
        h.slack.ephemerals.filter(
          (message) => message.channel === channel && message.via === 'chat.postEphemeral',
        ),
      ).toEqual([]);
    } finally {
      await replica.stop();
    }
  }, 30_000);
});
