import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkJobId } from '../../src/checks/queue.js';
import { DeploymentStore } from '../../src/deployments/store.js';
import { failureMessageKey } from '../../src/slack/render/check-failure.js';
import { phaseMessageKey } from '../../src/slack/render/phase-message.js';
import { type Harness, startHarness } from '../support/harness.js';
import { messageOf, resolveItem, startDeployment, waitUntil } from './walk.js';

/**
 * Automated checks end to end: they start when their phase opens, run on the BullMQ worker, land through
 * the engine, show their measurement in the thread, post a failure reply that mentions the owner, and
 * can be re-run or overridden from Slack. Production's update interval (one chat.update per message per
 * second) is used throughout.
 */

let h: Harness;
let configPath: string;
let web: Server;
let tcp: TcpServer;
let brokenStatus = 404;
/** Requests to /slow hang until this is called. */
let releaseSlow: () => void = () => undefined;
const slowReleased = () => new Promise<void>((resolve) => (releaseSlow = resolve));
let slowGate = slowReleased();
const CHANNEL = 'C0CHECKS';

beforeAll(async () => {
  web = createServer((req, res) => {
    if (req.url === '/health') res.writeHead(200).end('ok');
    else if (req.url === '/broken') res.writeHead(brokenStatus).end('nope');
    else if (req.url === '/slow') void slowGate.then(() => res.writeHead(200).end('finally'));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  tcp = createTcpServer((socket) => socket.end());
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  const webPort = (web.address() as AddressInfo).port;
  const tcpPort = (tcp.address() as AddressInfo).port;

  const dir = await mkdtemp(join(tmpdir(), 'fd-checks-'));
  await mkdir(join(dir, 'checklists'));
  const burst = Array.from(
    { length: 40 },
    (_, index) =>
      `      - { id: port-${index}, kind: check, title: "Port check ${index}", check: { type: tcp, host: 127.0.0.1, port: ${tcpPort} } }`,
  );
  await writeFile(
    join(dir, 'checklists', 'checked.yaml'),
    [
      'id: checked',
      'title: Checked release',
      'phases:',
      '  - id: verify',
      '    title: Verify',
      '    items:',
      '      - { id: health, kind: check, title: Health endpoint answers, check: { type: http, url: "{{health_url}}" } }',
      `      - { id: db-port, kind: check, title: Database port open, check: { type: tcp, host: 127.0.0.1, port: ${tcpPort} } }`,
      '      - id: broken',
      '        kind: check',
      '        title: Status page answers',
      '        owner: dba',
      '        check: { type: http, url: "{{base_url}}/broken", retries: 0 }',
      '      - { id: announce, kind: manual, title: "Announce in #releases" }',
      '  - id: burst',
      '    title: Forty ports',
      '    items:',
      ...burst,
      '',
    ].join('\n'),
  );
  await writeFile(
    join(dir, 'checklists', 'slow.yaml'),
    [
      'id: slow',
      'title: Slow checks',
      'phases:',
      '  - id: verify',
      '    title: Verify',
      '    items:',
      '      - { id: slow, kind: check, title: Slow endpoint answers, check: { type: http, url: "{{base_url}}/slow", timeout: 30s } }',
      `      - { id: quick, kind: check, title: Port open, check: { type: tcp, host: 127.0.0.1, port: ${tcpPort} } }`,
      '',
    ].join('\n'),
  );
  await writeFile(
    join(dir, 'flightdeck.yaml'),
    [
      'services:',
      '  shop:',
      '    checklist: checked',
      `    channel: ${CHANNEL}`,
      `    health_url: http://127.0.0.1:${webPort}/health`,
      `    base_url: http://127.0.0.1:${webPort}`,
      '    deployers: [deployer]',
      '  slowshop:',
      '    checklist: slow',
      `    channel: ${CHANNEL}`,
      `    base_url: http://127.0.0.1:${webPort}`,
      '    deployers: [deployer]',
      'roles:',
      '  deployer: { users: [U0DEPLOYER] }',
      '  dba: { users: [U0DBA] }',
      '',
    ].join('\n'),
  );
  configPath = join(dir, 'flightdeck.yaml');
  h = await startHarness({
    configPath,
    presenter: { minUpdateIntervalMs: 1_000 },
    worker: { concurrency: 40, run: { backoffMs: 20 } },
  });
});

afterAll(async () => {
  releaseSlow();
  await h.stop();
  web.close();
  tcp.close();
});

async function itemStatus(id: string, itemId: string) {
  return (await h.bot.store.load(id))?.state.items[itemId];
}

describe('automated checks', () => {
  let id: string;
  let cardTs: string;

  it('run when their phase opens and show what they measured', async () => {
    ({ id } = await startDeployment(h, 'shop', '1.0.0', 'U0DEPLOYER'));
    cardTs = (await h.bot.store.message(id, 'card'))!;
    await waitUntil(async () => (await itemStatus(id, 'health'))?.status === 'passed', 'the health check');
    await waitUntil(async () => (await itemStatus(id, 'db-port'))?.status === 'passed', 'the tcp check');
    await h.bot.context.presenter.idle();
    const { checklist } = (await h.bot.store.load(id))!;
    const where = await messageOf(h, id, checklist, checklist.phases[0]!.items[0]!);
    const text = JSON.stringify(h.slack.message(CHANNEL, where.ts)!.blocks);
    expect(text).toMatch(/HTTP 200 in \d+ ms ✅/);
    expect(text).toMatch(/connected to 127\.0\.0\.1:\d+ in \d+ ms ✅/);
    const audit = (await h.bot.store.audit(id)).map((entry) => entry.event);
    expect(audit.filter((event) => event.type === 'check.requested')).toHaveLength(3);
  });

  it('posts a failure reply naming the item, value, expectation and owner, and holds the phase', async () => {
    await waitUntil(async () => (await itemStatus(id, 'broken'))?.status === 'failed', 'the failing check');
    const { checklist } = (await h.bot.store.load(id))!;
    await resolveItem(h, id, checklist, checklist.phases[0]!.items[3]!, {
      resolution: 'done',
      actor: 'U0DEPLOYER',
    });
    await h.bot.context.presenter.idle();
    const failureTs = (await h.bot.store.message(id, failureMessageKey('broken', 1)))!;
    const failure = h.slack.message(CHANNEL, failureTs)!;
    expect(failure.thread_ts).toBe(cardTs);
    expect(failure.text).toContain('Status page answers');
    const text = JSON.stringify(failure.blocks);
    expect(text).toContain('HTTP 404 (expected 2xx)');
    expect(text).toContain('Expected: check · HTTP GET http://127.0.0.1:');
    expect(text).toContain('<@U0DBA>');
    expect((await h.bot.store.load(id))?.state.currentPhase).toBe(0); // a failed required check holds the phase
  });

  it('re-runs from the failure reply; a passing run opens the next phase', async () => {
    brokenStatus = 200;
    const failureTs = (await h.bot.store.message(id, failureMessageKey('broken', 1)))!;
    await h.driver.clickButton(
      'U0DEPLOYER',
      { channel: CHANNEL, ts: failureTs },
      { actionId: 'check.rerun' },
    );
    await waitUntil(async () => (await itemStatus(id, 'broken'))?.status === 'passed', 'the re-run to pass');
    expect(await itemStatus(id, 'broken')).toMatchObject({ run: 2, result: { outcome: 'passed' } });
    const audit = (await h.bot.store.audit(id)).map((entry) => entry.event);
    expect(audit).toContainEqual(
      expect.objectContaining({ type: 'check.requested', itemId: 'broken', run: 2, actor: 'U0DEPLOYER' }),
    );
    await waitUntil(async () => (await h.bot.store.load(id))?.state.currentPhase === 1, 'the next phase');
    // The old failure reply now says what happened and offers no stale buttons.
    await h.bot.context.presenter.idle();
    const reply = JSON.stringify(h.slack.message(CHANNEL, failureTs)!.blocks);
    expect(reply).toContain('Passed on run 2');
    expect(reply).not.toContain('check.rerun');
    expect(reply).not.toContain('check.override');
  });

  it('coalesces 40 checks finishing together into at most 3 updates of their phase message, showing all 40', async () => {
    const { checklist } = (await h.bot.store.load(id))!;
    const burst = checklist.phases[1]!;
    const where = await messageOf(h, id, checklist, burst.items[0]!);
    for (const item of burst.items) expect((await messageOf(h, id, checklist, item)).ts).toBe(where.ts); // one message
    await waitUntil(
      async () => (await h.bot.store.load(id))?.state.status === 'completed',
      'all 40 checks',
      20_000,
    );
    const completed = (await h.bot.store.audit(id))
      .map((entry) => entry.event)
      .filter((event) => event.type === 'check.completed' && event.itemId.startsWith('port-'));
    expect(completed).toHaveLength(40);
    const spread =
      Math.max(...completed.map((event) => event.at)) - Math.min(...completed.map((event) => event.at));
    expect(spread).toBeLessThan(1_000); // sanity: it really was a burst (typically well under 200 ms)
    await h.bot.context.presenter.idle();
    const message = h.slack.message(CHANNEL, where.ts)!;
    expect(message.updates).toBeLessThanOrEqual(3);
    const text = JSON.stringify(message.blocks);
    for (let index = 0; index < 40; index++) expect(text).toContain(`Port check ${index}*`);
    expect(text.match(/ms ✅/g)?.length).toBe(40);
  });
});

describe('overriding a failed check', () => {
  it('asks for a reason, only from the owner role, deployers or requester, and records it', async () => {
    brokenStatus = 503;
    const { id } = await startDeployment(h, 'shop', '2.0.0', 'U0DEPLOYER');
    await waitUntil(
      async () => ['error', 'failed'].includes((await itemStatus(id, 'broken'))?.status ?? ''),
      'the check to fail',
    );
    await h.bot.context.presenter.idle();
    const failureTs = (await h.bot.store.message(id, failureMessageKey('broken', 1)))!;
    expect(JSON.stringify(h.slack.message(CHANNEL, failureTs)!.blocks)).toContain('could not be evaluated'); // 503 = error

    const views = h.slack.views.length;
    await h.driver.clickButton(
      'U0OUTSIDER',
      { channel: CHANNEL, ts: failureTs },
      { actionId: 'check.override' },
    );
    await h.slack.waitFor(() =>
      h.slack.ephemerals.find((e) => e.user === 'U0OUTSIDER' && e.text.includes('override')),
    );
    expect(h.slack.views).toHaveLength(views);

    await h.driver.clickButton('U0DBA', { channel: CHANNEL, ts: failureTs }, { actionId: 'check.override' });
    const view = await h.slack.waitFor(() => h.slack.views[views]);
    await h.driver.submitView('U0DBA', view.id, { reason: 'status page is being migrated, see INC-42' });
    await waitUntil(async () => (await itemStatus(id, 'broken'))?.overridden === true, 'the override');
    expect(await itemStatus(id, 'broken')).toMatchObject({
      status: 'done',
      by: 'U0DBA',
      reason: 'status page is being migrated, see INC-42',
      result: { outcome: 'error' },
    });
    const audit = (await h.bot.store.audit(id)).map((entry) => entry.event);
    expect(audit).toContainEqual(
      expect.objectContaining({
        type: 'check.overridden',
        itemId: 'broken',
        actor: 'U0DBA',
        from: 'error',
        reason: 'status page is being migrated, see INC-42',
      }),
    );
    await h.bot.context.presenter.idle();
    const reply = JSON.stringify(h.slack.message(CHANNEL, failureTs)!.blocks);
    expect(reply).toContain('Overridden by <@U0DBA>');
    expect(reply).not.toContain('check.override');
    await h.driver.clickButton(
      'U0DEPLOYER',
      { channel: CHANNEL, ts: (await h.bot.store.message(id, 'card'))! },
      { actionId: 'deployment.abort' },
    );
    const abortView = await h.slack.waitFor(() => h.slack.views[views + 1]);
    await h.driver.submitView('U0DEPLOYER', abortView.id, { reason: 'done testing' });
    await waitUntil(async () => (await h.bot.store.load(id))?.state.status === 'aborted', 'the abort');
    await h.bot.context.presenter.idle();
    const cardTs = (await h.bot.store.message(id, 'card'))!;
    const summary = h.slack.thread(CHANNEL, cardTs).at(-1)!;
    const summaryText = JSON.stringify(summary.blocks);
    expect(summaryText).toContain('Overridden checks (1)');
    expect(summaryText).toContain('status page is being migrated, see INC-42');
    expect(summaryText).toMatch(/\*Checks:\* \d+ passed, 1 overridden/);
  });
});

describe('live state of a check', () => {
  it('shows a check that takes a while as running, and a quick one straight with its verdict', async () => {
    slowGate = slowReleased();
    const { id } = await startDeployment(h, 'slowshop', '1.0.0', 'U0DEPLOYER');
    const { checklist } = (await h.bot.store.load(id))!;
    const where = await messageOf(h, id, checklist, checklist.phases[0]!.items[0]!);
    const blocks = () => JSON.stringify(h.slack.message(CHANNEL, where.ts)!.blocks);
    // The quick check's verdict and the slow one's "running" reach the thread; nothing waits on the other.
    await waitUntil(
      async () => blocks().includes('Slow endpoint answers') && blocks().includes('running…'),
      'the slow check shown running',
    );
    await waitUntil(async () => (await itemStatus(id, 'quick'))?.status === 'passed', 'the quick check');
    expect(await h.bot.store.startedChecks(id)).toEqual({ slow: 1 }); // other replicas render it running too
    await h.bot.context.presenter.idle();
    expect(blocks()).toMatch(/connected to 127\.0\.0\.1:\d+ in \d+ ms ✅/);
    expect(blocks()).toContain('🔄 running…');

    releaseSlow();
    await waitUntil(async () => (await itemStatus(id, 'slow'))?.status === 'passed', 'the slow check');
    await h.bot.context.presenter.idle();
    expect(blocks()).not.toContain('running…');
    expect(blocks()).toMatch(/HTTP 200 in \d+ ms ✅/);
    expect(await h.bot.store.startedChecks(id)).toEqual({}); // the verdict's commit cleared the mark
  });
});

describe('the periodic sweep', () => {
  // A process of its own (own keys), sweeping every 300 ms instead of every minute.
  let swept: Harness;
  beforeAll(async () => {
    swept = await startHarness({
      configPath,
      presenter: { minUpdateIntervalMs: 1_000 },
      worker: { run: { backoffMs: 20 } },
      sweepIntervalMs: 300,
    });
  });
  afterAll(async () => {
    await swept.stop();
  });

  it('queues a check whose job was lost again; it runs and lands once', async () => {
    releaseSlow(); // the slow check answers at once here
    const worker = swept.bot.worker!.worker;
    await worker.pause(); // nothing is taken while the job goes missing
    const { id } = await startDeployment(swept, 'slowshop', '2.0.0', 'U0DEPLOYER');
    const jobId = checkJobId({ deploymentId: id, itemId: 'quick', run: 1 });
    const queue = swept.bot.checks.queue;
    await waitUntil(async () => (await queue.getJob(jobId)) !== undefined || undefined, 'the job');
    // As if the add had failed (a Redis error between the commit and the add): the store says the check
    // is queued, and no job exists.
    await queue.remove(jobId);
    expect(await queue.getJob(jobId)).toBeUndefined();
    expect(await itemStatusIn(swept, id, 'quick')).toMatchObject({ status: 'running', run: 1 });
    worker.resume();
    await waitUntil(
      async () => (await itemStatusIn(swept, id, 'quick'))?.status === 'passed',
      'the swept check',
    );
    const completed = (await swept.bot.store.audit(id)).filter(
      (entry) => entry.event.type === 'check.completed' && entry.event.itemId === 'quick',
    );
    expect(completed).toHaveLength(1);
  });

  it('posts a thread message whose poster died mid-post, once its claim is stale', async () => {
    slowGate = slowReleased(); // the slow check hangs, so the deployment stays active meanwhile
    const { id } = await startDeployment(swept, 'slowshop', '3.0.0', 'U0DEPLOYER');
    const key = phaseMessageKey('verify', 0);
    const before = await waitUntil(async () => swept.bot.store.message(id, key), 'the first post');
    // A process claimed the post two minutes ago and died before posting: Slack never got it. (One that
    // died after Slack stored it is adopted instead: slack-faults.test.ts.)
    const staleSince = Date.now() - 2 * DeploymentStore.STALE_CLAIM_MS;
    swept.slack.message(CHANNEL, before)!.deleted = true;
    await swept.bot.redis.hset(`${swept.prefix}:dep:${id}:slack`, key, `posting:${staleSince}`);
    expect(await swept.bot.store.message(id, key)).toBeUndefined();
    const after = await waitUntil(async () => swept.bot.store.message(id, key), 'the phase message');
    expect(after).not.toBe(before);
    const card = (await swept.bot.store.message(id, 'card'))!;
    expect(swept.slack.message(CHANNEL, after)?.thread_ts).toBe(card);
    expect(JSON.stringify(swept.slack.message(CHANNEL, after)?.blocks)).toContain('Slow endpoint answers');
    releaseSlow();
  });
});

async function itemStatusIn(harness: Harness, id: string, itemId: string) {
  return (await harness.bot.store.load(id))?.state.items[itemId];
}
