import { webApi } from '@slack/bolt';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceSchema } from '../../../src/config/schema.js';
import { type Change, DeploymentService } from '../../../src/deployments/service.js';
import { DeploymentStore } from '../../../src/deployments/store.js';
import { createLogger } from '../../../src/observability/logger.js';
import { FakeSlack } from '../../../src/sandbox/slack/fake-slack.js';
import { SlackPresenter } from '../../../src/slack/presenter.js';
import { phaseMessageKey } from '../../../src/slack/render/phase-message.js';
import { CARD_KEY } from '../../../src/slack/render/status-card.js';
import { smallChecklist } from '../../support/checklists.js';
import { connectTestRedis, uniquePrefix } from '../../support/redis.js';

/**
 * The presenter on its own: a real Redis, the fake Slack Web API through the real client, and the
 * deployment service feeding it changes — no Bolt receiver, no workers. What is asserted is what Slack
 * ends up holding and what the store records for it.
 */

const CHANNEL = 'C0TEST';
let slack: FakeSlack;
let redis: Redis;
let store: DeploymentStore;
let service: DeploymentService;
let presenter: SlackPresenter;
const changes: Change[] = [];

beforeAll(async () => {
  slack = await FakeSlack.start({ botToken: 'xoxb-presenter-test', channels: [CHANNEL] });
  redis = connectTestRedis();
  store = new DeploymentStore(redis, uniquePrefix('presenter'));
  const catalogue = {
    services: {
      checkout: serviceSchema.parse({ checklist: 'small', channel: CHANNEL, deployers: ['deployer'] }),
      payments: serviceSchema.parse({ checklist: 'small', channel: CHANNEL, deployers: ['deployer'] }),
    },
    checklists: new Map([['small', smallChecklist()]]),
  };
  service = new DeploymentService(store, catalogue);
  // As production builds it (flightdeck.ts): no retries and no client-wide pause on 429, the presenter paces.
  const client = new webApi.WebClient('xoxb-presenter-test', {
    slackApiUrl: slack.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
  });
  presenter = new SlackPresenter(client, store, catalogue, createLogger({ level: 'silent' }));
  service.subscribe(presenter);
  service.subscribe({ onChange: (change) => changes.push(change) });
});

afterAll(async () => {
  presenter?.close();
  await redis?.quit();
  await slack?.stop();
});

async function start(name: string, version: string) {
  const started = await service.start({ service: name, version, actor: 'U0DEPLOYER' });
  if (!started.ok) throw new Error(started.message);
  await presenter.idle();
  return started.deployment.id;
}

/** The messages in Slack whose metadata names this deployment and key. */
function copies(id: string, key: string) {
  const all = slack.messages(CHANNEL).flatMap((message) => [message, ...slack.thread(CHANNEL, message.ts)]);
  return all.filter(
    (message) =>
      message.metadata?.event_payload?.deployment_id === id &&
      message.metadata.event_payload.message_key === key,
  );
}

describe('SlackPresenter', () => {
  it('posts the card and the open phase once, however often it is told the same change', async () => {
    const id = await start('checkout', '1.0.0');
    const startedChange = changes.find((change) => change.deployment.id === id) as Change;
    presenter.onChange(startedChange);
    presenter.onChange(startedChange);
    await presenter.idle();
    expect(copies(id, CARD_KEY)).toHaveLength(1);
    expect(copies(id, phaseMessageKey('prepare', 0))).toHaveLength(1);
    expect(await store.message(id, CARD_KEY)).toBe(copies(id, CARD_KEY)[0]?.ts);
  });

  it('deletes its own copy when its claim was taken over while Slack held the post, and keeps the recorded one', async () => {
    const id = await start('payments', '2.0.0');
    const key = phaseMessageKey('ship', 0);
    // Slack holds the next post back (429, Retry-After 1 s): the Ship message is claimed and on its way.
    slack.rateLimit('chat.postMessage', { times: 1, retryAfterSeconds: 1 });
    for (const itemId of ['backup', 'tag'])
      await service.execute(id, {
        type: 'resolve-item',
        itemId,
        resolution: 'done',
        actor: 'U0DEPLOYER',
        actorRoles: ['deployer', 'dba'],
        at: Date.now(),
      });
    const slackKey = `${store.prefix}:dep:${id}:slack`;
    for (let tries = 0; !(await redis.hget(slackKey, key))?.startsWith('posting:'); tries++) {
      if (tries > 400) throw new Error('the Ship message was never claimed');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // Meanwhile another replica took the claim over and recorded a message of its own for the key.
    await redis.hset(slackKey, key, '1799999999.000100');
    await presenter.idle();

    expect(await store.message(id, key)).toBe('1799999999.000100');
    expect(copies(id, key)).toEqual([]);
    const deleted = slack.calls.filter((call) => call.method === 'chat.delete' && call.ok);
    expect(deleted).toHaveLength(1);
  });
});
