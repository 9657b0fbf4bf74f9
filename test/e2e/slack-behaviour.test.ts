import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fileConfigSchema } from '../../src/config/schema.js';
import { findItem } from '../../src/deployments/engine.js';
import { COMMITTED_CONFIG } from '../../src/sandbox/infra/seed-environment.js';
import { type SimulatedInfra, startSimulatedInfra } from '../../src/sandbox/infra/simulated-infra.js';
import { signRequest } from '../../src/sandbox/slack/slack-driver.js';
import { BOT_TOKEN, type Harness, memberOf, SIGNING_SECRET, startHarness } from '../support/harness.js';
import { messageOf, resolveItem, startDeployment, waitUntil } from './walk.js';

/** What a person in Slack would notice: answers to mistakes, denials, links, restarts, and the rules Slack sets. */

let h: Harness;
let cluster: SimulatedInfra;
beforeAll(async () => {
  // The committed catalogue as it is; only its Kubernetes objects are simulated (a deployment of a
  // service with a traffic strategy reads what is live before it starts).
  const file = fileConfigSchema.parse(parse(await readFile(COMMITTED_CONFIG, 'utf8')));
  cluster = await startSimulatedInfra({ file, configDir: dirname(COMMITTED_CONFIG), prometheus: 'off' });
  h = await startHarness({ kube: cluster.kube });
});
afterAll(async () => {
  await h.stop();
  await cluster.stop();
});
// Each test starts from no active checkout deployment, even when the one before failed half-way.
afterEach(async () => {
  await abortActive('checkout');
  await h.bot.context.presenter.idle();
});

const CHANNEL = 'C0CHECKOUT';

async function abortActive(service: string) {
  const id = await h.bot.store.activeFor(service, 'production');
  if (id)
    await h.bot.deployments.execute(id, {
      type: 'abort',
      actor: 'flightdeck',
      actorRoles: [],
      reason: 'test cleanup',
      at: Date.now(),
    });
}

describe('/deploy answers mistakes privately and creates nothing', () => {
  it.each([
    ['launch checkout 1.0', 'Unknown subcommand "launch"'],
    ['start nosuch 1.0', 'No service "nosuch"'],
    ['start checkout', 'needs a version'],
    ['start checkout 1.0 marketplace-launch', 'cannot run checklist "marketplace-launch"'],
    ['start checkout <!here>', 'is not a version'],
  ])('%j', async (text, message) => {
    const postsBefore = h.slack.callsTo('chat.postMessage').length;
    const response = await h.driver.slash('U0DEPLOYER', CHANNEL, '/deploy', text);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      response_type: 'ephemeral',
      text: expect.stringContaining(message),
    });
    expect((response.body as { text: string }).text).toContain('/deploy start <service> <version>');
    expect(h.slack.callsTo('chat.postMessage')).toHaveLength(postsBefore);
    expect(await h.bot.store.activeFor('checkout', 'production')).toBeUndefined();
  });

  it('prints usage for /deploy help', async () => {
    const response = await h.driver.slash('U0DEPLOYER', CHANNEL, '/deploy', 'help');
    expect(response.body).toMatchObject({
      response_type: 'ephemeral',
      text: expect.stringContaining('/deploy status [service]'),
    });
  });
});

describe('starting', () => {
  it('acks at once, posts the card in the service channel and links the thread privately', async () => {
    const response = await h.driver.slash('U0DEPLOYER', 'C0APIGW', '/deploy', 'start checkout 2.0.0');
    expect(response.body).toMatchObject({ response_type: 'ephemeral', text: 'Starting checkout 2.0.0…' });
    const reply = await h.slack.waitFor(() =>
      h.slack.responses.find(
        (r) => r.url === response.responseUrl && /Open the thread/.test(JSON.stringify(r.body)),
      ),
    );
    const id = (await h.bot.store.activeFor('checkout', 'production'))!;
    expect(JSON.stringify(reply.body)).toContain(id);
    const card = h.slack.messages(CHANNEL).at(-1)!;
    expect(card.text).toContain('checkout 2.0.0 → production');
    expect(JSON.stringify(card.blocks)).toContain('<@U0DEPLOYER>');
  });

  it('refuses a second start for the same service and environment, linking the active thread', async () => {
    const { id } = await startDeployment(h, 'checkout', '2.1.0');
    const postsBefore = h.slack.callsTo('chat.postMessage').length;
    const second = await h.driver.slash('U0ONCALL', CHANNEL, '/deploy', 'start checkout 2.2.0');
    const reply = await h.slack.waitFor(() =>
      h.slack.responses.find(
        (r) =>
          r.url === second.responseUrl && /already has an active deployment/.test(JSON.stringify(r.body)),
      ),
    );
    const text = JSON.stringify(reply.body);
    expect(text).toContain('2.1.0');
    expect(text).toMatch(/Open its thread/);
    expect(reply.body).toMatchObject({ response_type: 'ephemeral' });
    expect(h.slack.callsTo('chat.postMessage')).toHaveLength(postsBefore);
    expect(await h.bot.store.activeFor('checkout', 'production')).toBe(id);
  });

  it('refuses someone outside the service deployers', async () => {
    const response = await h.driver.slash('U0OUTSIDER', CHANNEL, '/deploy', 'start checkout 2.3.0');
    const reply = await h.slack.waitFor(() =>
      h.slack.responses.find(
        (r) => r.url === response.responseUrl && /Only the/.test(JSON.stringify(r.body)),
      ),
    );
    expect(JSON.stringify(reply.body)).toContain('Nothing was started');
    expect(await h.bot.store.activeFor('checkout', 'production')).toBeUndefined();
  });

  it('undoes the start when the card cannot be posted, and says how to fix it', async () => {
    h.slack.failNext('chat.postMessage', 'not_in_channel');
    const response = await h.driver.slash('U0DEPLOYER', CHANNEL, '/deploy', 'start checkout 2.4.0');
    const reply = await h.slack.waitFor(() =>
      h.slack.responses.find(
        (r) => r.url === response.responseUrl && /Could not post/.test(JSON.stringify(r.body)),
      ),
    );
    expect(JSON.stringify(reply.body)).toContain('/invite @Flightdeck');
    expect(await h.bot.store.activeFor('checkout', 'production')).toBeUndefined();
    const last = (await h.bot.store.history('checkout', 1))[0]!;
    expect((await h.bot.store.load(last))?.state).toMatchObject({
      status: 'aborted',
      endReason: expect.stringContaining('not_in_channel'),
    });
  });
});

describe('buttons', () => {
  it('denies people outside an item’s owner role privately and changes nothing', async () => {
    const { id, channel } = await startDeployment(h, 'checkout', '3.0.0');
    const { checklist } = (await h.bot.store.load(id))!;
    const owned = checklist.phases[0]!.items.find((item) => item.owner === 'security')!;
    const where = await messageOf(h, id, checklist, owned);
    const auditBefore = (await h.bot.store.audit(id)).length;
    await h.driver.clickButton('U0OUTSIDER', where, { actionId: 'item.done', value: `${id}|${owned.id}` });
    const denial = await h.slack.waitFor(() =>
      h.slack.ephemerals.find((e) => e.user === 'U0OUTSIDER' && e.text.includes('security')),
    );
    expect(denial.channel).toBe(channel);
    expect(denial.thread_ts).toBe(await h.bot.store.message(id, 'card'));
    expect((await h.bot.store.load(id))?.state.items[owned.id]?.status).toBe('pending');
    // Nothing changed; only the refusal is on record (who, what, why).
    expect((await h.bot.store.audit(id)).slice(auditBefore).map((entry) => entry.event)).toEqual([
      expect.objectContaining({ type: 'access.refused', actor: 'U0OUTSIDER', target: owned.id }),
    ]);

    // A skip by an outsider is refused before the modal opens.
    const views = h.slack.views.length;
    await h.driver.clickButton('U0OUTSIDER', where, { actionId: 'item.skip', value: `${id}|${owned.id}` });
    await h.slack.waitFor(
      () => h.slack.ephemerals.filter((e) => e.user === 'U0OUTSIDER').length >= 2 || undefined,
    );
    expect(h.slack.views).toHaveLength(views);
  });

  it('refuses a skip without a reason inside the modal, and keeps the reason when given', async () => {
    const { id } = await startDeployment(h, 'checkout', '3.1.0');
    const { checklist } = (await h.bot.store.load(id))!;
    const item = checklist.phases[0]!.items.find(
      (candidate) => !candidate.owner && candidate.kind === 'manual',
    )!;
    const where = await messageOf(h, id, checklist, item);
    const views = h.slack.views.length;
    await h.driver.clickButton('U0DEPLOYER', where, { actionId: 'item.skip', value: `${id}|${item.id}` });
    const view = await h.slack.waitFor(() => h.slack.views[views]);
    const blank = await h.driver.submitView('U0DEPLOYER', view.id, { reason: '   ' });
    expect(blank.body).toMatchObject({ response_action: 'errors', errors: { reason: expect.any(String) } });
    expect((await h.bot.store.load(id))?.state.items[item.id]?.status).toBe('pending');
    await h.driver.submitView('U0DEPLOYER', view.id, { reason: 'measured in staging' });
    await waitUntil(
      async () => (await h.bot.store.load(id))?.state.items[item.id]?.status === 'skipped',
      'the skip',
    );
    expect((await h.bot.store.load(id))?.state.items[item.id]).toMatchObject({
      by: 'U0DEPLOYER',
      reason: 'measured in staging',
    });
  });

  it('undoes an accidental Done, shows runbook details privately, and keeps step order', async () => {
    const { id, channel } = await startDeployment(h, 'checkout', '3.2.0');
    const { checklist } = (await h.bot.store.load(id))!;
    const item = checklist.phases[0]!.items.find(
      (candidate) => candidate.kind === 'manual' && !candidate.owner,
    )!;
    // Without an owner the item belongs to the deployers (the requester, U0DEPLOYER, is one).
    await resolveItem(h, id, checklist, item, { resolution: 'done', actor: 'U0DEPLOYER' });
    await h.bot.context.presenter.idle();
    const where = await messageOf(h, id, checklist, item);
    await h.driver.clickButton('U0DEPLOYER', where, { actionId: 'item.reopen', value: `${id}|${item.id}` });
    await waitUntil(
      async () => (await h.bot.store.load(id))?.state.items[item.id]?.status === 'pending',
      'the undo',
    );

    const check = checklist.phases
      .flatMap((phase) => phase.items)
      .find((candidate) => candidate.kind === 'check')!;
    const checkPhase = findItem(checklist, check.id)!.phase;
    expect(checkPhase).toBeDefined();
    // Details work on any item of an open phase; the first phase has a sign-off with a spec.
    const signoff = checklist.phases[0]!.items.find((candidate) => candidate.kind === 'signoff')!;
    const signoffWhere = await messageOf(h, id, checklist, signoff);
    await h.driver.clickButton('U0DEV2', signoffWhere, {
      actionId: 'item.details',
      value: `${id}|${signoff.id}`,
    });
    const details = await h.slack.waitFor(() =>
      h.slack.ephemerals.find((e) => e.user === 'U0DEV2' && e.text.startsWith('Details')),
    );
    expect(details.channel).toBe(channel);
    expect(JSON.stringify(details.blocks)).toContain('role: reviewers');
  });

  it('aborts from the card through a confirmation modal, frees the lock and says why in the thread', async () => {
    const { id, channel } = await startDeployment(h, 'checkout', '3.3.0');
    const cardTs = (await h.bot.store.message(id, 'card'))!;
    const views = h.slack.views.length;
    await h.driver.clickButton('U0OUTSIDER', { channel, ts: cardTs }, { actionId: 'deployment.abort' });
    await h.slack.waitFor(() =>
      h.slack.ephemerals.find((e) => e.user === 'U0OUTSIDER' && e.text.includes('abort')),
    );
    expect(h.slack.views).toHaveLength(views);
    await h.driver.clickButton('U0DEPLOYER', { channel, ts: cardTs }, { actionId: 'deployment.abort' });
    const view = await h.slack.waitFor(() => h.slack.views[views]);
    await h.driver.submitView('U0DEPLOYER', view.id, { reason: 'wrong build tagged' });
    await waitUntil(async () => (await h.bot.store.load(id))?.state.status === 'aborted', 'the abort');
    expect(await h.bot.store.activeFor('checkout', 'production')).toBeUndefined();
    await h.bot.context.presenter.idle();
    const summary = h.slack.thread(channel, cardTs).at(-1)!;
    expect(summary.text).toContain('aborted');
    expect(JSON.stringify(summary.blocks)).toContain('wrong build tagged');
    expect(JSON.stringify(h.slack.message(channel, cardTs)!.blocks)).toContain('Aborted');
  });
});

describe('/deploy abort', () => {
  it('stops the active deployment for the requester or a deployer, and refuses others', async () => {
    const { id } = await startDeployment(h, 'checkout', '3.4.0');
    const denied = await h.driver.slash('U0OUTSIDER', CHANNEL, '/deploy', 'abort checkout not mine');
    const no = await h.slack.waitFor(() => h.slack.responses.find((r) => r.url === denied.responseUrl));
    expect(JSON.stringify(no.body)).toContain('Only the requester');
    expect((await h.bot.store.load(id))?.state.status).toBe('active');

    const allowed = await h.driver.slash('U0ONCALL', CHANNEL, '/deploy', 'abort checkout smoke tests red');
    const yes = await h.slack.waitFor(() => h.slack.responses.find((r) => r.url === allowed.responseUrl));
    expect(JSON.stringify(yes.body)).toContain(`Aborted checkout (\`${id}\`)`);
    expect((await h.bot.store.load(id))?.state).toMatchObject({
      status: 'aborted',
      endedBy: 'U0ONCALL',
      endReason: 'smoke tests red',
    });

    const nothing = await h.driver.slash('U0ONCALL', CHANNEL, '/deploy', 'abort checkout again');
    const none = await h.slack.waitFor(() => h.slack.responses.find((r) => r.url === nothing.responseUrl));
    expect(JSON.stringify(none.body)).toContain('has no active deployment');
  });
});

describe('requests Slack did not sign', () => {
  it('answers 401 to unsigned, wrongly signed and stale requests, and changes nothing', async () => {
    const { id } = await startDeployment(h, 'checkout', '4.0.0');
    const { checklist } = (await h.bot.store.load(id))!;
    const item = checklist.phases[0]!.items.find(
      (candidate) => !candidate.owner && candidate.kind === 'manual',
    )!;
    const { body } = h.driver.slashCommandBody('U0DEPLOYER', CHANNEL, '/deploy', 'abort checkout forged');
    const stale = Math.floor(Date.now() / 1000) - 6 * 60;
    const attempts = [
      { 'Content-Type': 'application/x-www-form-urlencoded' },
      signRequest(body, 'not-the-secret'),
      signRequest(body, SIGNING_SECRET, stale),
    ];
    for (const headers of attempts) expect((await h.driver.send(body, headers)).status).toBe(401);
    expect((await h.bot.store.load(id))?.state.status).toBe('active');
    expect((await h.bot.store.load(id))?.state.items[item.id]?.status).toBe('pending');
  });
});

describe('status and health', () => {
  it('lists active deployments with their phase and thread', async () => {
    const { id } = await startDeployment(h, 'checkout', '5.0.0');
    const response = await h.driver.slash('U0DEV1', CHANNEL, '/deploy', 'status');
    const reply = await h.slack.waitFor(() => h.slack.responses.find((r) => r.url === response.responseUrl));
    const text = JSON.stringify(reply.body);
    expect(text).toContain('*checkout* `5.0.0`');
    expect(text).toContain('phase 1/');
    expect(text).toContain('|thread>');
    const one = await h.driver.slash('U0DEV1', CHANNEL, '/deploy', 'status checkout');
    const single = await h.slack.waitFor(() => h.slack.responses.find((r) => r.url === one.responseUrl));
    expect(JSON.stringify(single.body)).toContain('In progress');
    expect(id).toBeTruthy();
  });

  it('serves /healthz and /metrics beside /slack/events', async () => {
    const health = await fetch(`http://127.0.0.1:${h.bot.port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', redis: 'ok' });
    const metrics = await (await fetch(`http://127.0.0.1:${h.bot.port}/metrics`)).text();
    expect(metrics).toMatch(/flightdeck_slack_requests_total\{kind="command"\} \d+/);
  });

  it('keeps the bot token and signing secret out of the logs', () => {
    const logs = h.logs.join('');
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(BOT_TOKEN);
    expect(logs).not.toContain(SIGNING_SECRET);
  });
});

describe('a restart mid-deployment', () => {
  it('loses nothing: the new process continues the same thread', async () => {
    const { id, channel } = await startDeployment(h, 'checkout', '6.0.0');
    const { checklist } = (await h.bot.store.load(id))!;
    const [first, second] = checklist.phases[0]!.items.filter(
      (item) => item.kind === 'manual' && !item.owner,
    );
    await resolveItem(h, id, checklist, first!, { resolution: 'done', actor: 'U0DEPLOYER' });
    await h.restart();
    expect((await h.bot.store.load(id))?.state.items[first!.id]?.status).toBe('done');
    await resolveItem(h, id, checklist, second!, { resolution: 'done', actor: memberOf(h.file, 'deployer') });
    await h.bot.context.presenter.idle();
    const where = await messageOf(h, id, checklist, second!);
    const message = JSON.stringify(h.slack.message(channel, where.ts)!.blocks);
    expect(message).toContain(`"i|${second!.id}"`);
    expect(message).not.toContain(`"a|${second!.id}"`); // its buttons are gone: the update came from the new process
    expect(h.slack.messages(channel).filter((m) => m.text.includes('checkout 6.0.0'))).toHaveLength(1);
  });
});

describe('Slack rate limits', () => {
  let wide: Harness;
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fd-wide-'));
    await mkdir(join(dir, 'checklists'));
    // Forty different people click: the steps are open to everyone, explicitly.
    const items = Array.from(
      { length: 40 },
      (_, index) => `      - { id: step-${index}, kind: manual, title: "Step ${index}", owner: anyone }`,
    );
    await writeFile(
      join(dir, 'checklists', 'wide.yaml'),
      `id: wide\ntitle: Forty steps\nphases:\n  - id: all\n    title: All forty\n    items:\n${items.join('\n')}\n  - id: after\n    title: After\n    items:\n      - { id: last, kind: manual, title: Last }\n`,
    );
    await writeFile(
      join(dir, 'flightdeck.yaml'),
      'services:\n  wide:\n    checklist: wide\n    channel: C0WIDE\n    deployers: [deployer]\nroles:\n  deployer: { users: [U0DEPLOYER] }\n',
    );
    // Production's interval: one chat.update per message per second.
    wide = await startHarness({
      configPath: join(dir, 'flightdeck.yaml'),
      presenter: { minUpdateIntervalMs: 1_000 },
    });
  });
  afterAll(async () => {
    await wide.stop();
  });

  it('coalesces a burst of 40 clicks into at most 3 updates per message, the last showing all of them', async () => {
    const { id, channel } = await startDeployment(wide, 'wide', '1.0.0', 'U0DEPLOYER');
    const { checklist } = (await wide.bot.store.load(id))!;
    const items = checklist.phases[0]!.items;
    const messages = await Promise.all(items.map((item) => messageOf(wide, id, checklist, item)));
    const distinct = [...new Set(messages.map((where) => where.ts))];
    expect(distinct.length).toBeLessThanOrEqual(2); // 40 items with their buttons fit in two messages
    await wide.bot.context.presenter.idle();
    const before = new Map(distinct.map((ts) => [ts, wide.slack.message(channel, ts)!.updates]));
    const started = Date.now();
    await Promise.all(
      items.map((item, index) =>
        wide.driver.clickButton(`U0CLICK${index}`, messages[index]!, {
          actionId: 'item.done',
          value: `${id}|${item.id}`,
        }),
      ),
    );
    expect(Date.now() - started).toBeLessThan(2_000); // sanity: the burst really was a burst
    await waitUntil(
      async () => (await wide.bot.store.load(id))?.state.currentPhase === 1,
      'all 40 to land',
      15_000,
    );
    await wide.bot.context.presenter.idle();
    let shown = '';
    for (const ts of distinct) {
      const message = wide.slack.message(channel, ts)!;
      expect(message.updates - (before.get(ts) ?? 0)).toBeLessThanOrEqual(3);
      shown += JSON.stringify(message.blocks);
    }
    for (let index = 0; index < 40; index++) expect(shown).toContain(`done by <@U0CLICK${index}>`);
    expect(shown).toContain('40/40 resolved');
  });

  it('waits out a 429 on chat.update and still lands the update', async () => {
    const id = (await wide.bot.store.activeFor('wide', 'production'))!;
    const { checklist } = (await wide.bot.store.load(id))!;
    const last = checklist.phases[1]!.items[0]!;
    wide.slack.rateLimit('chat.update', { times: 2, retryAfterSeconds: 1 });
    await resolveItem(wide, id, checklist, last, { resolution: 'done', actor: 'U0DEPLOYER' });
    await wide.bot.context.presenter.idle();
    const where = await messageOf(wide, id, checklist, last);
    const limited = wide.slack.callsTo('chat.update').filter((call) => call.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(wide.slack.message(where.channel, where.ts)!.blocks)).toContain(
      'done by <@U0DEPLOYER>',
    );
  }, 20_000);
});
