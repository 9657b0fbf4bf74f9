import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Checklist, Item } from '../../src/checklists/schema.js';
import type { DeploymentEvent } from '../../src/deployments/engine.js';
import { DeploymentStore } from '../../src/deployments/store.js';
import { TIMERS_QUEUE } from '../../src/deployments/timers.js';
import { escalationJobId } from '../../src/escalations/timers.js';
import { queuePrefix } from '../../src/redis/job-queue.js';
import type { FakeMessage } from '../../src/sandbox/slack/types.js';
import { ACTION } from '../../src/slack/action-ids.js';
import { escalationMessageKey } from '../../src/slack/render/escalation.js';
import { type Harness, startHarness } from '../support/harness.js';
import { testRedisUrl } from '../support/redis.js';
import { rerunCheck, resolveItem, settledCheck, startDeployment, waitUntil } from './walk.js';

/**
 * Escalation chains with millisecond levels, end to end: BullMQ delayed jobs on real Redis fire each level
 * in order, each posts in the thread mentioning the role it calls, and paging levels reach a local
 * receiver (PagerDuty Events v2 here, the generic webhook with worker processes below) exactly once per
 * level, even when the receiver answers 500 first. Acknowledge stops a chain and says who; resolving what
 * waited cancels the levels still pending and resolves the page. A failed check nobody re-ran escalates
 * to its owner; a rollback trigger without automatic rollback escalates with a Roll back button. With
 * separate worker processes, one killed between levels, no level is lost or repeated.
 */

/** What a paging receiver got: every request, and how it answered. */
interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  status: number;
  at: number;
}

/** A local HTTP server standing in for PagerDuty, a webhook, and a health endpoint a test can break. */
class Receiver {
  readonly received: Received[] = [];
  /** Per path: how many of the next requests answer 500. */
  readonly failNext: Record<string, number> = {};
  /** How many of the next trigger events (either format) answer 500. */
  failTriggers = 0;
  /** Per path: the status plain GETs get (health endpoints); 200 unless set. */
  readonly status: Record<string, number> = {};
  private readonly server: Server = createServer((req, res) => void this.handle(req, res));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Requests to `path` it answered 2xx (what the paging service accepted). */
  accepted(path: string): Array<Record<string, unknown>> {
    return this.received
      .filter((entry) => entry.path === path && entry.status < 300)
      .map((entry) => entry.body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = req.url ?? '/';
    if (req.method !== 'POST') {
      res.writeHead(this.status[path] ?? 200).end('health');
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>;
    let status = 202;
    if ((this.failNext[path] ?? 0) > 0) {
      this.failNext[path] = (this.failNext[path] ?? 0) - 1;
      status = 500;
    } else if (this.failTriggers > 0 && (body.event_action ?? body.event) === 'trigger') {
      this.failTriggers--;
      status = 500;
    }
    this.received.push({ path, headers: req.headers, body, status, at: Date.now() });
    res.writeHead(status, { 'Content-Type': 'application/json' }).end('{"status":"success"}');
  }
}

const receiver = new Receiver();
const ROUTING_KEY_ENV = 'FD_TEST_PAGERDUTY_KEY';
const ROUTING_KEY = 'R0UTINGKEY-escalations-test';
/** The escalating checklist's levels: owner, then on-call (paged), then the leads (paged). */
const LEVELS_MS = [300, 1_500, 2_700];

let base: string;
let dir: string;

/** A checklist whose one phase waits for a person, escalating after LEVELS_MS. */
function waitingChecklist(id: string) {
  return stringify({
    id,
    title: 'Waits for the DBA',
    escalation: {
      levels: [
        { after: `${LEVELS_MS[0]}ms`, notify: 'owner' },
        { after: `${LEVELS_MS[1]}ms`, notify: 'on-call', page: true },
        { after: `${LEVELS_MS[2]}ms`, notify: 'lead', page: true },
      ],
    },
    phases: [
      {
        id: 'prep',
        title: 'Preparation',
        items: [{ id: 'backup', kind: 'manual', title: 'Database backup created', owner: 'dba' }],
      },
    ],
  });
}

const ROLES = {
  deployer: { users: ['U0DEPLOYER'] },
  dba: { users: ['U0DBA'] },
  'on-call': { users: ['U0ONCALL'] },
  lead: { users: ['U0LEAD'], groups: ['S0LEADS'] },
  sre: { users: ['U0SRE'] },
};

beforeAll(async () => {
  base = await receiver.start();
  dir = await mkdtemp(join(tmpdir(), 'fd-escalations-'));
  await mkdir(join(dir, 'checklists'));
  await writeFile(join(dir, 'checklists', 'waiting.yaml'), waitingChecklist('waiting'));
  await writeFile(
    join(dir, 'checklists', 'checked.yaml'),
    stringify({
      id: 'checked',
      title: 'One check',
      escalation: { levels: [{ after: '200ms', notify: 'owner' }] },
      phases: [
        {
          id: 'verify',
          title: 'Verify',
          items: [
            {
              id: 'health',
              kind: 'check',
              title: 'Health endpoint answers',
              owner: 'sre',
              check: { type: 'http', url: `${base}/health`, retries: 0, timeout: '2s' },
            },
          ],
        },
      ],
    }),
  );
  await writeFile(
    join(dir, 'checklists', 'guarded.yaml'),
    stringify({
      id: 'guarded',
      title: 'Guarded, by hand',
      escalation: { levels: [{ after: '200ms', notify: 'on-call' }] },
      phases: [
        {
          id: 'live',
          title: 'Live',
          starts_guards: true,
          items: [{ id: 'watch', kind: 'wait', title: 'Watch', wait: { duration: '10m' } }],
        },
      ],
      rollback: {
        evaluate_every: '100ms',
        triggers: [
          {
            id: 'down',
            title: 'Health endpoint down',
            condition: { type: 'http', url: `${base}/guard-health`, retries: 0, timeout: '1s' },
            for: '300ms',
            auto: false,
          },
        ],
      },
    }),
  );
});

afterAll(async () => {
  await receiver.stop();
});

describe('escalations in one process, paging PagerDuty (Events API v2)', () => {
  let h: Harness;
  let timers: Queue;

  beforeAll(async () => {
    process.env[ROUTING_KEY_ENV] = ROUTING_KEY;
    const configPath = join(dir, 'flightdeck.yaml');
    await writeFile(
      configPath,
      stringify({
        paging: { type: 'pagerduty', routing_key_env: ROUTING_KEY_ENV, url: `${base}/pd` },
        services: {
          db: { checklist: 'waiting', channel: 'C0DB', deployers: ['deployer'] },
          api: { checklist: 'checked', channel: 'C0API', deployers: ['deployer'] },
          web: { checklist: 'guarded', channel: 'C0WEB', deployers: ['deployer'] },
        },
        roles: ROLES,
      }),
    );
    h = await startHarness({ configPath });
    timers = new Queue(TIMERS_QUEUE, {
      connection: new Redis(testRedisUrl(), { maxRetriesPerRequest: null }),
      prefix: queuePrefix(h.prefix),
    });
  }, 30_000);

  // Each test starts with no deployment in flight, even when the one before failed half-way.
  afterEach(async () => {
    for (const service of ['db', 'api', 'web']) {
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
    await h.bot.context.presenter.idle();
  });

  afterAll(async () => {
    await timers?.close();
    await h?.stop();
    delete process.env[ROUTING_KEY_ENV];
  });

  it('fire level by level, in order, each in the thread calling its role; each paging level pages once', async () => {
    receiver.failNext['/pd'] = 1; // the first page is answered 500 and retried
    const { id, channel } = await startDeployment(h, 'db', '1.0.0', 'U0DEPLOYER');
    const levels = await waitForLevels(h, id, 3);
    const started = (await events(h, id)).find((event) => event.type === 'escalation.started');
    expect(started).toMatchObject({ key: 'phase:prep', chain: 1 });
    const startedAt = started?.type === 'escalation.started' ? started.startedAt : 0;
    expect(levels.map((event) => [event.level, event.notify, event.page])).toEqual([
      [1, 'owner', false],
      [2, 'on-call', true],
      [3, 'lead', true],
    ]);
    levels.forEach((event, index) => {
      expect(event.at - startedAt).toBeGreaterThanOrEqual(LEVELS_MS[index] as number);
      if (index > 0) expect(event.at).toBeGreaterThan((levels[index - 1] as DeploymentEvent).at);
    });

    // Each level is a reply in the thread that mentions who it calls.
    await h.bot.context.presenter.idle();
    const cardTs = await h.bot.store.message(id, 'card');
    const posted = await Promise.all(
      [1, 2, 3].map((level) => escalationMessage(h, id, channel, 'phase:prep', 1, level)),
    );
    for (const message of posted) expect(message.thread_ts).toBe(cardTs);
    // As posted (which is when Slack notifies the people mentioned): what waits, and who is called.
    const asPosted = posted.map(firstVersion);
    expect(asPosted[0]).toContain('level 1 of 3');
    expect(asPosted[0]).toContain('“Preparation” waits for “Database backup created”');
    expect(asPosted[0]).toMatch(/<@U0DBA> — acknowledge to stop the escalation/);
    expect(asPosted[1]).toMatch(/level 2 of 3.*\n<@U0ONCALL> — acknowledge/);
    expect(asPosted[2]).toMatch(/level 3 of 3.*\n<@U0LEAD> <!subteam\^S0LEADS> — acknowledge/);
    // Only the newest level asks to be acknowledged; the older ones point down the thread.
    expect(shown(posted[0])).toContain('⏫ *Escalated to level 3* (see below)');
    expect(buttons(posted[0])).toEqual([]);
    expect(buttons(posted[2])).toEqual([ACTION.escalationAcknowledge]);

    // PagerDuty got one trigger per paging level — the 500 was retried, not duplicated — all one incident.
    const triggers = await waitUntil(() => {
      const accepted = receiver.accepted('/pd').filter((page) => pageOf(page, id) === 'trigger');
      return accepted.length >= 2 ? accepted : undefined;
    }, 'two accepted triggers');
    expect(triggers).toHaveLength(2);
    expect(triggers.map((page) => details(page).level)).toEqual([2, 3]);
    expect(new Set(triggers.map((page) => page.dedup_key))).toEqual(
      new Set([`flightdeck/${id}/phase:prep/1`]),
    );
    expect(triggers[0]).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      payload: {
        summary: expect.stringContaining('db 1.0.0: “Preparation” waits for “Database backup created”'),
        source: 'db (production)',
        severity: 'error',
        component: 'flightdeck',
      },
    });
    expect(receiver.received.filter((entry) => entry.path === '/pd' && entry.status === 500)).toHaveLength(1);

    // The DBA does it: the chain resolves, and so does the incident — once.
    await clickDone(h, id, 'backup', 'U0DBA');
    const resolves = await waitUntil(() => {
      const accepted = receiver.accepted('/pd').filter((page) => pageOf(page, id) === 'resolve');
      return accepted.length > 0 ? accepted : undefined;
    }, 'the resolve event');
    await new Promise((resolve) => setTimeout(resolve, 500)); // room for a duplicate to show up
    expect(receiver.accepted('/pd').filter((page) => pageOf(page, id) === 'resolve')).toEqual(resolves);
    expect(resolves).toEqual([
      { routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: `flightdeck/${id}/phase:prep/1` },
    ]);
    await h.bot.context.presenter.idle();
    const after = await escalationMessage(h, id, channel, 'phase:prep', 1, 3);
    expect(shown(after)).toMatch(
      /^✅ \*Resolved .*\(level \d of \d\): nothing waits for people here any more\.$/,
    );
    expect(buttons(after)).toEqual([]);
  }, 30_000);

  it('stop when acknowledged, recording who; the page is acknowledged, then resolved with its cause', async () => {
    const { id, channel } = await startDeployment(h, 'db', '2.0.0', 'U0DEPLOYER');
    await waitForLevels(h, id, 2);
    await h.bot.context.presenter.idle();
    const second = await escalationMessage(h, id, channel, 'phase:prep', 1, 2);
    await h.driver.clickButton(
      'U0ONCALL',
      { channel, ts: second.ts },
      { actionId: ACTION.escalationAcknowledge },
    );
    const { state } = await waitUntil(async () => {
      const loaded = await h.bot.store.load(id);
      return loaded?.state.escalations?.['phase:prep']?.acknowledgedBy ? loaded : undefined;
    }, 'the acknowledgement');
    expect(state.escalations?.['phase:prep']).toMatchObject({
      acknowledgedBy: 'U0ONCALL',
      acknowledgedAt: expect.any(Number),
      level: 2,
    });
    // The level-3 timer goes from Redis (removed after the acknowledgement's commit, so soon rather than
    // at once), and waiting past its time changes nothing.
    await waitUntil(
      async () => (await timers.getJob(await timerId(h, id, 'phase:prep', 1, 3))) === undefined || undefined,
      'the level-3 timer to be removed',
    );
    const startedAt = state.escalations?.['phase:prep']?.startedAt as number;
    await sleepUntil(startedAt + (LEVELS_MS[2] as number) + 500);
    expect((await levelEvents(h, id)).map((event) => event.level)).toEqual([1, 2]);
    expect(await h.bot.store.message(id, escalationMessageKey('phase:prep', 1, 3))).toBeUndefined();
    await h.bot.context.presenter.idle();
    const acknowledged = await escalationMessage(h, id, channel, 'phase:prep', 1, 2);
    expect(shown(acknowledged)).toMatch(
      /^👀 \*Acknowledged by <@U0ONCALL>\* .*\(level 2 of 3\): “Preparation” waits for/,
    );
    expect(buttons(acknowledged)).toEqual([]);

    await clickDone(h, id, 'backup', 'U0DBA');
    await waitUntil(
      () => receiver.accepted('/pd').some((page) => pageOf(page, id) === 'resolve') || undefined,
      'the resolve event',
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const pages = receiver.accepted('/pd').filter((page) => pageOf(page, id) !== undefined);
    expect(pages.map((page) => page.event_action)).toEqual(['trigger', 'acknowledge', 'resolve']);
    expect(pages[1]).toEqual({
      routing_key: ROUTING_KEY,
      event_action: 'acknowledge',
      dedup_key: `flightdeck/${id}/phase:prep/1`,
    });
  }, 30_000);

  it('are cancelled when what waited is resolved: the pending levels never fire, nothing is paged', async () => {
    const { id, channel } = await startDeployment(h, 'db', '3.0.0', 'U0DEPLOYER');
    await waitForLevels(h, id, 1);
    expect(await timers.getJob(await timerId(h, id, 'phase:prep', 1, 2))).toBeDefined();
    await clickDone(h, id, 'backup', 'U0DBA');
    const { state } = await waitUntil(async () => {
      const loaded = await h.bot.store.load(id);
      return loaded?.state.escalations?.['phase:prep']?.resolvedAt !== undefined ? loaded : undefined;
    }, 'the chain to resolve');
    expect(state.status).toBe('completed');
    await waitUntil(
      async () => (await timers.getJob(await timerId(h, id, 'phase:prep', 1, 2))) === undefined || undefined,
      'the level-2 timer to be removed',
    );
    const startedAt = state.escalations?.['phase:prep']?.startedAt as number;
    await sleepUntil(startedAt + (LEVELS_MS[2] as number) + 500);
    expect((await levelEvents(h, id)).map((event) => event.level)).toEqual([1]);
    expect(receiver.received.filter((entry) => pageOf(entry.body, id) !== undefined)).toEqual([]);
    await h.bot.context.presenter.idle();
    const first = await escalationMessage(h, id, channel, 'phase:prep', 1, 1);
    expect(shown(first)).toMatch(
      /^✅ \*Resolved .*\(level \d of \d\): nothing waits for people here any more\.$/,
    );
    expect(buttons(first)).toEqual([]);
  }, 30_000);

  it('drop a trigger still being retried when its cause resolves: the incident ends resolved', async () => {
    // Every attempt the pager makes in-process fails, so the job itself is retried a little later.
    receiver.failTriggers = 4;
    const { id } = await startDeployment(h, 'db', '4.0.0', 'U0DEPLOYER');
    await waitUntil(
      () =>
        receiver.received.some((entry) => pageOf(entry.body, id) === 'trigger' && entry.status === 500) ||
        undefined,
      'the first refused trigger',
    );
    await clickDone(h, id, 'backup', 'U0DBA');
    await waitUntil(
      () => receiver.accepted('/pd').some((page) => pageOf(page, id) === 'resolve') || undefined,
      'the resolve event',
    );
    // Past the pager's own retries (0.5 + 1 + 2 s) and the job's retry (2 s later), with room to spare.
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    const attempts = receiver.received.filter((entry) => pageOf(entry.body, id) === 'trigger');
    expect(attempts.map((entry) => entry.status)).toEqual([500, 500, 500, 500]);
    expect(receiver.accepted('/pd').filter((page) => pageOf(page, id) !== undefined)).toEqual([
      { routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: `flightdeck/${id}/phase:prep/1` },
    ]);
  }, 30_000);

  it('call the owner of a failed check nobody re-ran or overrode, until it passes', async () => {
    receiver.status['/health'] = 404;
    const { id, channel } = await startDeployment(h, 'api', '1.0.0', 'U0DEPLOYER');
    expect((await settledCheck(h, id, 'health')).status).toBe('failed');
    const [level] = await waitForLevels(h, id, 1);
    expect(level).toMatchObject({ key: 'check:health', notify: 'owner' });
    await h.bot.context.presenter.idle();
    const message = await escalationMessage(h, id, channel, 'check:health', 1, 1);
    expect(shown(message)).toContain('check “Health endpoint answers” is failing: HTTP 404');
    expect(shown(message)).toContain('<@U0SRE>');

    receiver.status['/health'] = 200;
    expect((await rerunCheck(h, id, 'health', 'U0SRE')).status).toBe('passed');
    await waitUntil(
      async () => (await h.bot.store.load(id))?.state.status === 'completed' || undefined,
      'the deployment to complete',
    );
    expect((await h.bot.store.load(id))?.state.escalations?.['check:health']?.resolvedAt).toBeDefined();
    await h.bot.context.presenter.idle();
    expect(shown(await escalationMessage(h, id, channel, 'check:health', 1, 1))).toMatch(
      /^✅ \*Resolved .*\(level \d of \d\): nothing waits for people here any more\.$/,
    );
  }, 30_000);

  it('escalate a trigger that fired without automatic rollback, with a Roll back button', async () => {
    receiver.status['/guard-health'] = 503;
    const { id, channel } = await startDeployment(h, 'web', '1.0.0', 'U0DEPLOYER');
    try {
      const [level] = await waitForLevels(h, id, 1);
      expect(level).toMatchObject({ key: 'guard:down', notify: 'on-call' });
      expect((await h.bot.store.load(id))?.state.status).toBe('active'); // nothing rolled back by itself
      await h.bot.context.presenter.idle();
      const message = await escalationMessage(h, id, channel, 'guard:down', 1, 1);
      expect(shown(message)).toContain(
        'rollback trigger “Health endpoint down” fired and nobody has rolled back',
      );
      expect(shown(message)).toContain('<@U0ONCALL>');
      expect(buttons(message)).toEqual([ACTION.escalationAcknowledge, ACTION.deploymentRollback]);
      // The button asks for the reason, as every rollback does.
      const views = h.slack.views.length;
      await h.driver.clickButton(
        'U0DEPLOYER',
        { channel, ts: message.ts },
        {
          actionId: ACTION.deploymentRollback,
        },
      );
      const view = await h.slack.waitFor(() => h.slack.views[views]);
      expect(view.user).toBe('U0DEPLOYER');
      expect(JSON.stringify(view.view)).toContain('Roll back *web 1.0.0*');
      // Acknowledging keeps the Roll back button: someone is on it, and may still decide to roll back.
      await h.driver.clickButton(
        'U0ONCALL',
        { channel, ts: message.ts },
        {
          actionId: ACTION.escalationAcknowledge,
        },
      );
      await waitUntil(
        async () =>
          (await h.bot.store.load(id))?.state.escalations?.['guard:down']?.acknowledgedBy === 'U0ONCALL' ||
          undefined,
        'the acknowledgement',
      );
      await h.bot.context.presenter.idle();
      expect(buttons(await escalationMessage(h, id, channel, 'guard:down', 1, 1))).toEqual([
        ACTION.deploymentRollback,
      ]);
    } finally {
      receiver.status['/guard-health'] = 200;
    }
  }, 30_000);
});

describe('escalations across worker processes, paging a generic webhook', () => {
  let h: Harness;
  const workers: ChildProcess[] = [];
  const output = new Map<ChildProcess, string[]>();

  function startWorker(configPath: string): ChildProcess {
    // One process (node with tsx's loader), so SIGKILL kills the worker itself, not a wrapper.
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
      env: {
        ...process.env,
        ...h.env,
        FLIGHTDECK_CONFIG: configPath,
        LOG_LEVEL: 'info',
        FD_TEST_HOOK: 'hook-secret',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    workers.push(child);
    const lines: string[] = [];
    output.set(child, lines);
    child.stdout?.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    return child;
  }

  const running = (child: ChildProcess) =>
    waitUntil(
      () => output.get(child)?.some((line) => line.includes('check worker running')) || undefined,
      'a worker to start',
      30_000,
    );

  let configPath: string;
  beforeAll(async () => {
    const workerDir = await mkdtemp(join(tmpdir(), 'fd-escalation-workers-'));
    await mkdir(join(workerDir, 'checklists'));
    await writeFile(join(workerDir, 'checklists', 'waiting.yaml'), waitingChecklist('waiting'));
    configPath = join(workerDir, 'flightdeck.yaml');
    await writeFile(
      configPath,
      stringify({
        paging: {
          type: 'webhook',
          url: `${base}/hook`,
          // flightdeck.yaml's own ${VAR} syntax, filled from the environment when a page is sent.
          // biome-ignore lint/suspicious/noTemplateCurlyInString: not a JavaScript template
          headers: { Authorization: 'Bearer ${FD_TEST_HOOK}' },
        },
        services: { db: { checklist: 'waiting', channel: 'C0DB', deployers: ['deployer'] } },
        roles: ROLES,
      }),
    );
    // The bot serves Slack only: every timer and page is handled by the worker processes.
    h = await startHarness({ configPath, role: 'bot' });
  }, 30_000);

  afterAll(async () => {
    if (process.env.DEBUG_WORKERS)
      for (const lines of output.values()) console.log(`--- worker\n${lines.join('')}`);
    for (const child of workers) if (child.exitCode === null) child.kill('SIGKILL');
    await h?.stop();
  });

  it('neither loses nor repeats a level when the worker is killed between levels', async () => {
    const first = startWorker(configPath);
    await running(first);
    const { id, channel } = await startDeployment(h, 'db', '1.0.0', 'U0DEPLOYER');
    await waitForLevels(h, id, 1, 15_000);
    // Level 1 is in; the next levels wait as delayed jobs in Redis. The worker dies without a goodbye.
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    receiver.failNext['/hook'] = 1; // and the first page after the restart is refused once
    startWorker(configPath);

    const levels = await waitForLevels(h, id, 3, 30_000);
    expect(levels.map((event) => event.level)).toEqual([1, 2, 3]);
    const pages = await waitUntil(
      () => {
        const accepted = receiver.accepted('/hook').filter((page) => pageOf(page, id) === 'trigger');
        return accepted.length >= 2 ? accepted : undefined;
      },
      'the triggers of levels 2 and 3',
      15_000,
    );
    // Room for a late duplicate (a level fired twice, a page sent twice) to show up.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await levelEvents(h, id)).toHaveLength(3);
    expect(receiver.accepted('/hook').filter((page) => pageOf(page, id) === 'trigger')).toEqual(pages);
    // (In either order: the refused page of level 2 may be retried after level 3's went out.)
    expect(pages.map((page) => details(page).level).sort()).toEqual([2, 3]);
    // The header's ${VAR} is filled from the worker's environment.
    expect(
      new Set(
        receiver.received
          .filter((entry) => entry.path === '/hook' && pageOf(entry.body, id))
          .map((entry) => entry.headers.authorization),
      ),
    ).toEqual(new Set(['Bearer hook-secret']));
    expect(pages[0]).toMatchObject({
      event: 'trigger',
      dedup_key: `flightdeck/${id}/phase:prep/1`,
      source: 'db (production)',
      severity: 'error',
    });
    // One message per level in the thread, whichever process posted it.
    const cardTs = (await h.bot.store.message(id, 'card')) as string;
    // When the first worker died in the middle of posting level 1, its claim on that message blocks
    // everyone until it is stale (a minute): the new worker posts it then.
    const escalationPosts = await waitUntil(
      () => {
        const posts = h.slack.thread(channel, cardTs).filter((message) => message.text.startsWith('⏰'));
        return posts.length >= 3 ? posts : undefined;
      },
      'three escalation messages',
      DeploymentStore.STALE_CLAIM_MS + 15_000,
    );
    expect(escalationPosts).toHaveLength(3);

    await clickDone(h, id, 'backup', 'U0DBA');
    await waitUntil(
      () => receiver.accepted('/hook').some((page) => pageOf(page, id) === 'resolve') || undefined,
      'the resolve event',
      15_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(
      receiver
        .accepted('/hook')
        .filter((page) => pageOf(page, id) === 'resolve')
        .map((page) => page.dedup_key),
    ).toEqual([`flightdeck/${id}/phase:prep/1`]);
  }, 150_000);
});

// --- helpers ---

type LevelEvent = Extract<DeploymentEvent, { type: 'escalation.level' }>;

async function events(h: Harness, id: string): Promise<DeploymentEvent[]> {
  return (await h.bot.store.audit(id)).map((entry) => entry.event);
}

async function levelEvents(h: Harness, id: string): Promise<LevelEvent[]> {
  return (await events(h, id)).filter((event): event is LevelEvent => event.type === 'escalation.level');
}

/** Waits until `count` levels have fired (any cause) and returns them, in audit order. */
function waitForLevels(h: Harness, id: string, count: number, timeoutMs = 10_000): Promise<LevelEvent[]> {
  return waitUntil(
    async () => {
      const levels = await levelEvents(h, id);
      return levels.length >= count ? levels : undefined;
    },
    `${count} escalation level(s)`,
    timeoutMs,
  );
}

async function escalationMessage(
  h: Harness,
  id: string,
  channel: string,
  key: string,
  chain: number,
  level: number,
): Promise<FakeMessage> {
  const ts = await waitUntil(
    () => h.bot.store.message(id, escalationMessageKey(key, chain, level)),
    `the message of ${key} level ${level}`,
  );
  const message = h.slack.message(channel, ts);
  if (!message) throw new Error(`escalation message ${ts} is not in ${channel}`);
  return message;
}

/** Section texts of a message as it was first posted. */
function firstVersion(message: FakeMessage): string {
  const blocks = message.history[0]?.blocks ?? message.blocks;
  return shown({ ...message, blocks });
}

/** Section texts of a message, as Slack shows them. */
function shown(message: FakeMessage | undefined): string {
  return (message?.blocks ?? [])
    .map((block) => (block as { text?: { text?: string } }).text?.text ?? '')
    .join('\n');
}

function buttons(message: FakeMessage | undefined): string[] {
  return (message?.blocks ?? []).flatMap((block) =>
    ((block as { elements?: Array<{ type: string; action_id?: string }> }).elements ?? [])
      .filter((element) => element.type === 'button')
      .map((element) => element.action_id as string),
  );
}

/** The action of a page about deployment `id` (PagerDuty or webhook form), undefined for other pages. */
function pageOf(page: Record<string, unknown>, id: string): string | undefined {
  if (!String(page.dedup_key ?? '').startsWith(`flightdeck/${id}/`)) return undefined;
  return (page.event_action ?? page.event) as string;
}

function details(page: Record<string, unknown>): Record<string, unknown> {
  const payload = page.payload as { custom_details?: Record<string, unknown> } | undefined;
  return payload?.custom_details ?? (page.details as Record<string, unknown>);
}

/** The job id of a level's timer: it names the chain's start (a pause moves it on, and the timer with it). */
async function timerId(
  h: Harness,
  deploymentId: string,
  key: string,
  chain: number,
  level: number,
): Promise<string> {
  const startedAt = (await h.bot.store.load(deploymentId))?.state.escalations?.[key]?.startedAt;
  return escalationJobId(deploymentId, key, chain, level, startedAt);
}

async function sleepUntil(at: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
}

async function clickDone(h: Harness, id: string, itemId: string, actor: string): Promise<void> {
  const { checklist } = (await h.bot.store.load(id)) as { checklist: Checklist };
  const item = checklist.phases.flatMap((phase) => phase.items).find((candidate) => candidate.id === itemId);
  await resolveItem(h, id, checklist, item as Item, { resolution: 'done', actor });
}
