import { get } from 'node:http';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../src/sandbox/sandbox.js';
import { signRequest } from '../../src/sandbox/slack/slack-driver.js';
import { ACTION, FIELD } from '../../src/slack/action-ids.js';
import { testRedisUrl } from '../support/redis.js';

/**
 * The sandbox without a browser: startSandbox on the built-in metrics source (the Prometheus path is
 * the browser test's), and its page API as the page uses it. Everything the page sends must reach the
 * bot as Slack would send it — signed, into the Bolt receiver — and what the bot does must reach the
 * page as it happens.
 */

const DANA = 'U0DEPLOYER';
const VIC = 'U0VIEWER';
const DEMO = 'C0DEMO';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({
    env: { REDIS_URL: testRedisUrl(), SANDBOX_PROMETHEUS: 'builtin', LOG_LEVEL: 'silent' },
    port: 0,
  });
}, 60_000);

afterAll(async () => {
  await sandbox?.stop();
});

async function api(path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${sandbox.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Server-sent events from the page's stream, as they arrive. */
function events(): { received: Array<{ event: string; data: unknown }>; close(): void } {
  const received: Array<{ event: string; data: unknown }> = [];
  let buffer = '';
  const request = get(`${sandbox.url}/api/events`, (response) => {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (event && data) received.push({ event, data: JSON.parse(data) });
      }
    });
  });
  return { received, close: () => request.destroy() };
}

describe('the sandbox', () => {
  it('serves the page and only the page’s files', async () => {
    const page = await fetch(sandbox.url);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<script type="module" src="/app.js"></script>');
    expect((await fetch(`${sandbox.url}/blockkit.js`)).status).toBe(200);
    expect((await fetch(`${sandbox.url}/..%2Fsandbox.ts`)).status).toBe(404);
    expect((await fetch(`${sandbox.url}/web-server.ts`)).status).toBe(404);
  });

  it('answers only this machine by name, and only JSON posts (no cross-site form posts, no DNS rebinding)', async () => {
    const command = JSON.stringify({ user: DANA, channel: DEMO, text: 'from elsewhere' });
    const form = await fetch(`${sandbox.url}/api/command`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: command,
    });
    expect(form.status).toBe(415);
    const port = new URL(sandbox.url).port;
    const rebound = await new Promise<number>((resolve, reject) => {
      get(
        { host: '127.0.0.1', port, path: '/api/workspace', headers: { Host: `evil.example:${port}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      ).on('error', reject);
    });
    expect(rebound).toBe(403);
    expect(sandbox.slack.messages(DEMO).some((message) => message.text === 'from elsewhere')).toBe(false);
  });

  it('has the demo services first, the seed services, and demo people in roles', async () => {
    const { json } = await api('/api/workspace');
    const channels = json.channels as Array<{ name: string; strategy?: string }>;
    expect(channels.map((channel) => channel.name)).toEqual([
      'demo',
      'demo-blue-green',
      'api-gateway',
      'api-translation-platform',
      'checkout',
      'marketplace-api',
      'mcp-platform',
    ]);
    expect(channels.slice(0, 2).map((channel) => channel.strategy)).toEqual(['canary', 'blue-green']);
    const people = json.people as Array<{ id: string; roles: string[]; demo: boolean }>;
    const roles = Object.fromEntries(people.filter((p) => p.demo).map((p) => [p.id, p.roles]));
    expect(roles).toMatchObject({
      U0DEPLOYER: ['deployer'],
      U0APPROVER: ['approver'],
      U0VIEWER: [],
    });
    expect(roles.U0ONCALL).toEqual(expect.arrayContaining(['deployer', 'on-call']));
    // What will happen when, for someone reading the page: a pace a person can follow.
    expect(json.notes).toEqual([
      'In #demo, time runs 50× faster for watch windows: "watch for 5 minutes" takes 6s.',
      'A phase nobody acts on calls its owners after 2m, then on-call after 4m (paged) (not sped up).',
      'After the last phase, the rollback triggers keep watching for 36s.',
      expect.stringContaining('built-in metrics source'),
    ]);
  });

  it('sends a typed /deploy as a signed slash command; the receiver refuses a forged or stale one', async () => {
    const stream = events();
    try {
      expect(
        (await api('/api/command', { user: DANA, channel: DEMO, text: '/deploy start demo 1.2.3' })).json,
      ).toEqual({
        ok: true,
      });
      const card = await waitFor(
        () => sandbox.slack.messages(DEMO).find((message) => message.text.startsWith('demo 1.2.3')),
        'the status card',
      );
      // The page heard about it over server-sent events: a snapshot first, then the changes.
      await waitFor(
        () =>
          stream.received.find(
            (e) => e.event === 'message' && (e.data as { ts: string; bot: boolean }).ts === card.ts,
          ),
        'the card on the event stream',
      );
      expect(stream.received[0]?.event).toBe('snapshot');
      await waitFor(
        () =>
          stream.received.find(
            (e) => e.event === 'ephemeral' && JSON.stringify(e.data).includes('Started demo'),
          ),
        'the ephemeral answer on the event stream',
      );
    } finally {
      stream.close();
    }

    const { body } = sandbox.driver.slashCommandBody(DANA, DEMO, '/deploy', 'status');
    expect((await sandbox.driver.send(body)).status).toBe(200);
    const forged = signRequest(body, 'not-the-signing-secret');
    expect((await sandbox.driver.send(body, forged)).status).toBe(401);
    const stale = signRequest(
      body,
      sandbox.config.env.SLACK_SIGNING_SECRET!,
      Math.floor(Date.now() / 1000) - 600,
    );
    expect((await sandbox.driver.send(body, stale)).status).toBe(401);
  });

  it('runs every pre-flight check of the demo against the simulation, and they pass', async () => {
    const id = (await sandbox.bot.store.activeFor('demo', 'production'))!;
    const loaded = await waitFor(async () => {
      const current = await sandbox.bot.store.load(id);
      const checks = current?.checklist.phases[0]?.items.filter((item) => item.kind === 'check') ?? [];
      const settled = checks.every((item) =>
        ['passed', 'failed', 'error'].includes(current!.state.items[item.id]?.status ?? ''),
      );
      return settled && checks.length > 0 ? current : undefined;
    }, 'the pre-flight checks');
    const checks = loaded.checklist.phases[0]!.items.filter((item) => item.kind === 'check');
    expect(checks.length).toBeGreaterThanOrEqual(9);
    const outcome = (id: string) => {
      const state = loaded.state.items[id];
      return state?.status === 'passed' ? 'passed' : `${state?.status}: ${state?.result?.summary}`;
    };
    expect(Object.fromEntries(checks.map((item) => [item.id, outcome(item.id)]))).toEqual(
      Object.fromEntries(checks.map((item) => [item.id, 'passed'])),
    );
  });

  it('clicks buttons and submits modals as the person chosen, with Slack’s answers shown per field', async () => {
    const id = (await sandbox.bot.store.activeFor('demo', 'production'))!;
    const ts = (await sandbox.bot.store.message(id, 'phase:preflight:0'))!;
    const click = (user: string, item: string, actionId: string) =>
      api('/api/action', {
        user,
        channel: DEMO,
        ts,
        type: 'button',
        actionId,
        blockId: `a|${item}`,
        value: `${id}|${item}`,
      });
    expect((await click(VIC, 'release-notes', ACTION.itemDone)).json).toEqual({ ok: true });
    await waitFor(
      () => sandbox.slack.ephemerals.find((e) => e.user === VIC && e.text.includes('deployer')),
      "the viewer's denial",
    );
    expect((await sandbox.bot.store.load(id))?.state.items['release-notes']?.status).toBe('pending');

    expect((await click(DANA, 'changelog-link', ACTION.itemSkip)).json).toEqual({ ok: true });
    const view = await waitFor(
      () => sandbox.slack.views.find((candidate) => candidate.user === DANA && candidate.state === 'open'),
      'the skip modal',
    );
    const tooShort = await api('/api/view/submit', {
      user: DANA,
      viewId: view.id,
      values: { [FIELD.reasonBlock]: '   ' },
    });
    expect(tooShort.json).toEqual({
      ok: false,
      errors: { [FIELD.reasonBlock]: expect.stringContaining('Say why') },
    });
    expect(sandbox.slack.view(view.id)?.state).toBe('open');
    const submitted = await api('/api/view/submit', {
      user: DANA,
      viewId: view.id,
      values: { [FIELD.reasonBlock]: 'covered by the release notes' },
    });
    expect(submitted.json).toEqual({ ok: true });
    expect(sandbox.slack.view(view.id)?.state).toBe('closed');
    await waitFor(
      async () => (await sandbox.bot.store.load(id))?.state.items['changelog-link']?.status === 'skipped',
      'the skip',
    );

    // A button that is not on the message (a stale page) is refused, not invented.
    const stale = await click(DANA, 'release-notes', 'item.nonexistent');
    expect(stale.json).toMatchObject({ ok: false, error: expect.stringContaining('No button matching') });

    // Abort… opens a modal; closing it (Cancel) sends nothing to the bot and the deployment goes on.
    const cardTs = (await sandbox.bot.store.message(id, 'card'))!;
    await api('/api/action', {
      user: DANA,
      channel: DEMO,
      ts: cardTs,
      type: 'button',
      actionId: ACTION.deploymentAbort,
      value: `${id}|card`,
    });
    const abort = await waitFor(
      () => sandbox.slack.views.find((candidate) => candidate.view.callback_id === 'deployment.abort.modal'),
      'the abort modal',
    );
    expect((await api('/api/view/close', { user: DANA, viewId: abort.id })).json).toEqual({ ok: true });
    expect(sandbox.slack.view(abort.id)?.state).toBe('closed');
    expect((await sandbox.bot.store.load(id))?.state.status).toBe('active');
  });

  it('answers other slash commands as Slack does, and shows plain messages as the person’s', async () => {
    expect((await api('/api/command', { user: DANA, channel: DEMO, text: '/foo bar' })).json).toEqual({
      ok: false,
      error: '/foo is not a valid command. Try /deploy help.',
    });
    expect((await api('/api/command', { user: DANA, channel: DEMO, text: 'hello team' })).json).toEqual({
      ok: true,
    });
    expect(sandbox.slack.messages(DEMO).at(-1)).toMatchObject({ user: DANA, text: 'hello team' });
    expect((await api('/api/command', { user: 'U0NOBODY', channel: DEMO, text: 'hi' })).status).toBe(400);
  });

  it('starts a seed service against the simulated infrastructure', async () => {
    expect(
      (await api('/api/command', { user: DANA, channel: 'C0CHECKOUT', text: '/deploy start checkout 1.0.0' }))
        .json,
    ).toEqual({
      ok: true,
    });
    await waitFor(
      () => sandbox.slack.messages('C0CHECKOUT').find((m) => m.text.startsWith('checkout 1.0.0')),
      'the checkout card',
    );
    const id = (await sandbox.bot.store.activeFor('checkout', 'production'))!;
    expect((await sandbox.bot.store.load(id))?.checklist.id).toBe('canary-release');
  });

  it('plays an incident: the error rate and the health endpoint change, and restore undoes them', async () => {
    const ratio =
      'sum(rate(http_requests_total{service="demo",code=~"5.."}[15s])) / sum(rate(http_requests_total{service="demo"}[15s]))';
    const measured = async () => {
      const response = await fetch(
        `${sandbox.infra.prometheusUrl}/api/v1/query?${new URLSearchParams({ query: ratio })}`,
      );
      const body = (await response.json()) as { data: { result: Array<{ value: [number, string] }> } };
      return Number(body.data.result[0]?.value[1]);
    };
    const health = sandbox.config.file.services.demo!.health_url!;
    expect((await api('/api/incident', { service: 'demo', action: 'error-rate' })).json).toMatchObject({
      ok: true,
      state: { errorRatio: 0.25 },
    });
    await waitFor(async () => (await measured()) > 0.05, 'the error rate to rise', 10_000);
    await api('/api/incident', { service: 'demo', action: 'health' });
    expect((await fetch(health)).status).toBe(503);
    await api('/api/incident', { service: 'demo', action: 'restore' });
    expect((await fetch(health)).status).toBe(200);
    expect((await api('/api/incident', { service: 'nope', action: 'restore' })).status).toBe(404);
    expect((await api('/api/incident', { service: 'demo', action: 'meteor' })).status).toBe(400);
  });

  it('stops everything it started and leaves no keys in Redis', async () => {
    const { url } = sandbox;
    const prefix = sandbox.redis.prefix;
    const redis = new Redis(testRedisUrl());
    expect((await redis.keys(`${prefix}:*`)).length).toBeGreaterThan(0);
    await sandbox.stop();
    expect(await redis.keys(`${prefix}:*`)).toEqual([]);
    redis.disconnect();
    await expect(fetch(url)).rejects.toThrow();
  });
});
