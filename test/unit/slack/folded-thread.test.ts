import { webApi } from '@slack/bolt';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceSchema } from '../../../src/config/schema.js';
import { DeploymentService } from '../../../src/deployments/service.js';
import { DeploymentStore } from '../../../src/deployments/store.js';
import { createLogger } from '../../../src/observability/logger.js';
import { FakeSlack } from '../../../src/sandbox/slack/fake-slack.js';
import type { FakeMessage } from '../../../src/sandbox/slack/types.js';
import { ACTION } from '../../../src/slack/action-ids.js';
import { SlackPresenter } from '../../../src/slack/presenter.js';
import { phaseMessageKey } from '../../../src/slack/render/phase-message.js';
import { REPORT_KEY } from '../../../src/slack/render/report.js';
import { CARD_KEY } from '../../../src/slack/render/status-card.js';
import { smallChecklist, wideChecklist } from '../../support/checklists.js';
import { connectTestRedis, uniquePrefix } from '../../support/redis.js';

/**
 * A busy channel: when a channel already has posts in line (Slack takes about one a second per channel), a
 * new deployment's phases show inside its status card instead of a message each. Real Redis, the fake
 * Slack through the real client, the presenter at production pace (one post a second, burst 2).
 */

const CHANNEL = 'C0BUSY';
const SERVICES = ['s0', 's1', 's2', 's3', 's4', 's5'];
const manual = smallChecklist({
  id: 'manual',
  phases: [
    {
      id: 'prepare',
      title: 'Prepare',
      items: [
        { id: 'notes', kind: 'manual', title: 'Release notes written' },
        { id: 'tag', kind: 'manual', title: 'Version tagged' },
      ],
    },
    { id: 'ship', title: 'Ship', items: [{ id: 'rollout', kind: 'manual', title: 'Rollout finished' }] },
  ],
});
const catalogue = {
  services: {
    ...Object.fromEntries(
      SERVICES.map((name) => [
        name,
        serviceSchema.parse({ checklist: 'manual', channel: CHANNEL, deployers: ['deployer'] }),
      ]),
    ),
    // One message cannot hold 60 items beside a card: this one stays threaded however busy the channel.
    wide: serviceSchema.parse({ checklist: 'wide', channel: CHANNEL, deployers: ['deployer'] }),
  },
  checklists: new Map([
    ['manual', manual],
    ['wide', wideChecklist(60)],
  ]),
};

let slack: FakeSlack;
let redis: Redis;
let store: DeploymentStore;
let service: DeploymentService;
let client: webApi.WebClient;
const presenters: SlackPresenter[] = [];

function presenter(): SlackPresenter {
  const made = new SlackPresenter(client, store, catalogue, createLogger({ level: 'silent' }), {
    foldWhenPostsWaiting: 2,
  });
  presenters.push(made);
  return made;
}

beforeAll(async () => {
  slack = await FakeSlack.start({ botToken: 'xoxb-folded-test', channels: [CHANNEL] });
  redis = connectTestRedis();
  store = new DeploymentStore(redis, uniquePrefix('folded'));
  service = new DeploymentService(store, catalogue);
  client = new webApi.WebClient('xoxb-folded-test', {
    slackApiUrl: slack.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
  });
});

afterAll(async () => {
  for (const made of presenters) made.close();
  await redis?.quit();
  await slack?.stop();
});

function copies(id: string, key: string): FakeMessage[] {
  const all = slack.messages(CHANNEL).flatMap((message) => [message, ...slack.thread(CHANNEL, message.ts)]);
  return all.filter(
    (message) =>
      message.metadata?.event_payload?.deployment_id === id &&
      message.metadata.event_payload.message_key === key,
  );
}

const doneButton = (message: FakeMessage | undefined, id: string, itemId: string) =>
  JSON.stringify(message?.blocks ?? []).includes(`"action_id":"${ACTION.itemDone}"`) &&
  JSON.stringify(message?.blocks ?? []).includes(`"value":"${id}|${itemId}"`);

async function waitFor<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (let tries = 0; tries < 400; tries++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('timed out');
}

async function resolve(id: string, itemId: string, via = service) {
  const result = await via.execute(id, {
    type: 'resolve-item',
    itemId,
    resolution: 'done',
    actor: 'U0DEPLOYER',
    actorRoles: ['deployer'],
    at: Date.now(),
  });
  if (!result.ok) throw new Error(result.message);
}

describe('a busy channel', () => {
  it('folds the phases of deployments started while posts wait into their card, and threads the rest', async () => {
    const shown = presenter();
    service.subscribe(shown);
    const ids: string[] = [];
    // Slack holds the channel's first post back for 3 s (429): the cards of the starts that follow wait in
    // line behind it, as they do when many start at once in one channel.
    slack.rateLimit('chat.postMessage', { times: 1, retryAfterSeconds: 3 });
    for (const name of [...SERVICES, 'wide']) {
      const started = await service.start({ service: name, version: '1.0.0', actor: 'U0DEPLOYER' });
      if (!started.ok) throw new Error(started.message);
      ids.push(started.deployment.id);
      // Its layout chosen, its card goes into the line (a claim and a load later) before the next start.
      await waitFor(() => store.threadLayout(started.deployment.id));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await shown.idle();

    const layouts = await Promise.all(ids.map((id) => store.threadLayout(id)));
    // The first found the line empty, the second one post in it; the rest folded, except the one whose
    // phase cannot fit in a card.
    expect(layouts).toEqual(['threaded', 'threaded', 'folded', 'folded', 'folded', 'folded', 'threaded']);
    for (const [index, id] of ids.entries()) {
      const card = copies(id, CARD_KEY);
      expect(card).toHaveLength(1);
      const phase = copies(id, phaseMessageKey(index === ids.length - 1 ? 'all' : 'prepare', 0));
      if (layouts[index] === 'folded') {
        expect(phase).toEqual([]);
        expect(doneButton(card[0], id, 'notes')).toBe(true);
      } else {
        expect(phase).toHaveLength(1);
        expect(JSON.stringify(card[0]?.blocks)).not.toContain(ACTION.itemDone);
      }
    }
  });

  it('walks a folded deployment in its card: the next phase replaces the last, the end posts the report', async () => {
    const id = (await store.activeFor('s5', 'production')) as string;
    expect(await store.threadLayout(id)).toBe('folded');
    const shown = presenters[0] as SlackPresenter;
    await resolve(id, 'notes');
    await shown.idle();
    const card = () => copies(id, CARD_KEY)[0];
    expect(JSON.stringify(card()?.blocks)).toMatch(/done by <@U0DEPLOYER>/);
    expect(doneButton(card(), id, 'tag')).toBe(true);
    await resolve(id, 'tag');
    await shown.idle();
    expect(doneButton(card(), id, 'rollout')).toBe(true);
    expect(JSON.stringify(card()?.blocks)).not.toContain(`${id}|tag`);
    // The phase behind it stays on the card as one line: its name and how many of its items were resolved.
    expect(JSON.stringify(card()?.blocks)).toContain('✅ Prepare 2/2');
    await resolve(id, 'rollout');
    await shown.idle();

    expect((await store.load(id))?.state.status).toBe('completed');
    expect(JSON.stringify(card()?.blocks)).toContain('*Completed*');
    expect(JSON.stringify(card()?.blocks)).not.toContain(ACTION.itemDone);
    expect(copies(id, REPORT_KEY)).toHaveLength(1);
    for (const phase of ['prepare', 'ship']) expect(copies(id, phaseMessageKey(phase, 0))).toEqual([]);
  });

  it('keeps each thread’s layout after a restart: the catch-up posts no phase message into a folded thread', async () => {
    const folded = [];
    for (const name of SERVICES.slice(0, 5)) {
      const id = (await store.activeFor(name, 'production')) as string;
      if ((await store.threadLayout(id)) === 'folded') folded.push(id);
    }
    expect(folded.length).toBeGreaterThan(0);
    const before = slack.calls.filter((call) => call.method === 'chat.postMessage').length;
    // A new process: nothing remembered, an empty post line (a fresh choice would thread).
    const restarted = presenter();
    const process = new DeploymentService(store, catalogue);
    process.subscribe(restarted);
    await restarted.reconcile();
    await restarted.catchUp();
    await restarted.idle();
    expect(slack.calls.filter((call) => call.method === 'chat.postMessage').length).toBe(before);
    const id = folded[0] as string;
    await resolve(id, 'notes', process);
    await restarted.idle();
    expect(JSON.stringify(copies(id, CARD_KEY)[0]?.blocks)).toMatch(/done by <@U0DEPLOYER>/);
    expect(copies(id, phaseMessageKey('prepare', 0))).toEqual([]);
  });
});
