import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Checklist } from '../../src/checklists/schema.js';
import { loadConfig } from '../../src/config/load.js';
import { startFlightdeck } from '../../src/flightdeck.js';
import { createLogger } from '../../src/observability/logger.js';
import { type RedisServer, startRedisServer } from '../../src/sandbox/infra/redis-server.js';
import { ACTION } from '../../src/slack/action-ids.js';
import { type Harness, startHarness } from '../support/harness.js';
import { messageOf, startDeployment, waitUntil } from './walk.js';

/**
 * Redis going away while people click, and Redis that is wrong at start. A click or command Flightdeck
 * cannot record is answered at once, privately ("not recorded"), and never carried out later; the log
 * says once that Redis went away and once that it came back, without stack traces; at start a wrong
 * password or a port that never answers is named, and the process does not hang.
 */

let redis: RedisServer;
let h: Harness;
let checklist: Checklist;
let configPath: string;
/** What was written to stderr (ioredis prints "Unhandled error event" there when nobody listens). */
const stderr: string[] = [];
const originalWrite = process.stderr.write.bind(process.stderr);

beforeAll(async () => {
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    stderr.push(String(chunk));
    return (originalWrite as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  redis = await startRedisServer({ persist: true });
  const dir = await mkdtemp(join(tmpdir(), 'fd-outage-'));
  await mkdir(join(dir, 'checklists'));
  await writeFile(
    join(dir, 'checklists', 'notes.yaml'),
    stringify({
      id: 'notes',
      title: 'Release notes',
      phases: [
        {
          id: 'write',
          title: 'Write',
          items: [
            { id: 'hold', kind: 'manual', title: 'Keeps the phase open' },
            { id: 'note-1', kind: 'manual', title: 'Note 1', owner: 'anyone' },
            { id: 'note-2', kind: 'manual', title: 'Note 2', owner: 'anyone' },
          ],
        },
      ],
    }),
  );
  configPath = join(dir, 'flightdeck.yaml');
  await writeFile(
    configPath,
    stringify({
      escalation: { levels: [] },
      services: { notes: { checklist: 'notes', channel: 'C0NOTES', deployers: ['deployer'] } },
      roles: { deployer: { users: ['U0DEPLOYER'] } },
    }),
  );
  h = await startHarness({ configPath, redisUrl: redis.url });
  checklist = h.bot.context.catalogue.checklists.get('notes') as Checklist;
}, 60_000);

afterAll(async () => {
  process.stderr.write = originalWrite;
  await h?.stop();
  await redis?.stop();
});

function logLines(from: number) {
  return h.logs.slice(from).map((line) => JSON.parse(line) as { level: number; msg: string; err?: unknown });
}

describe('Redis goes away while people click', () => {
  it('answers "not recorded" at once, applies nothing later, and says so twice in the log', async () => {
    const { id } = await startDeployment(h, 'notes', '1.0.0', 'U0DEPLOYER');
    const where = await messageOf(h, id, checklist, checklist.phases[0]!.items[1]!);
    const logsBefore = h.logs.length;
    const ephemerals = h.slack.ephemerals.length;

    process.kill(redis.pid, 'SIGSTOP'); // Redis accepts nothing more and answers nothing: a frozen server
    try {
      const started = Date.now();
      const click = await h.driver.clickButton('U0PERSON', where, {
        actionId: ACTION.itemDone,
        value: `${id}|note-1`,
      });
      expect(click.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(3_000); // within Slack's 3 s, though Redis never answered
      const told = await h.slack.waitFor(
        () => h.slack.ephemerals.slice(ephemerals).find((e) => e.user === 'U0PERSON'),
        { what: 'the private "not recorded"' },
      );
      expect(told.text).toMatch(/^⚠️ Not recorded: .*nothing happened\. Press again/);

      const status = await h.driver.slash('U0DEPLOYER', 'C0NOTES', '/deploy', 'status');
      expect(status.status).toBe(200);
      expect(JSON.stringify(status.body)).toContain('Not recorded');
      await new Promise((resolve) => setTimeout(resolve, 3_000)); // the outage goes on a while
    } finally {
      process.kill(redis.pid, 'SIGCONT');
    }
    // Redis is back: the click from the outage is not carried out behind the person's back.
    await waitUntil(
      () => h.logs.slice(logsBefore).some((line) => line.includes('Redis available again')),
      'Redis back',
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await h.bot.store.load(id))?.state.items['note-1']?.status).toBe('pending');

    // One line when it went away, one when it came back; reminders at most every 10 s; no stack traces.
    const lines = logLines(logsBefore);
    expect(lines.filter((line) => line.msg === 'Redis unavailable')).toHaveLength(1);
    expect(lines.filter((line) => line.msg === 'Redis available again')).toHaveLength(1);
    expect(lines.filter((line) => line.level >= 40).length).toBeLessThanOrEqual(8);
    expect(JSON.stringify(lines)).not.toMatch(/\n\s+at /);
    expect(stderr.join('')).not.toContain('Unhandled error event');

    // And the same click, pressed again now, lands.
    await h.driver.clickButton('U0PERSON', where, { actionId: ACTION.itemDone, value: `${id}|note-1` });
    await waitUntil(
      async () => (await h.bot.store.load(id))?.state.items['note-1']?.status === 'done' || undefined,
      'the click pressed again',
    );
  }, 60_000);

  it('comes back from a Redis crash with what was acknowledged before it (AOF)', async () => {
    const { id } = await startDeployment(h, 'notes', '2.0.0', 'U0DEPLOYER');
    const where = await messageOf(h, id, checklist, checklist.phases[0]!.items[2]!);
    await h.driver.clickButton('U0PERSON', where, { actionId: ACTION.itemDone, value: `${id}|note-2` });
    await waitUntil(
      async () => (await h.bot.store.load(id))?.state.items['note-2']?.status === 'done' || undefined,
      'the click',
    );
    await new Promise((resolve) => setTimeout(resolve, 1_200)); // appendfsync everysec
    process.kill(redis.pid, 'SIGKILL');
    redis = await startRedisServer({ persist: true, port: redis.port, dir: redis.dir });
    await waitUntil(
      async () => (await h.bot.store.load(id).catch(() => undefined)) !== undefined,
      'reconnected',
    );
    expect((await h.bot.store.load(id))?.state.items['note-2']?.status).toBe('done');
  }, 60_000);
});

describe('Redis that is wrong at start', () => {
  async function startWith(url: string) {
    const loaded = await loadConfig({ ...h.env, REDIS_URL: url });
    if (!loaded.ok) throw new Error('config');
    const started = Date.now();
    const error = await startFlightdeck(loaded.config, {
      logger: createLogger({ level: 'silent' }),
      listen: { port: 0, host: '127.0.0.1' },
    }).then(
      async (bot) => {
        await bot.stop();
        return undefined;
      },
      (failure: Error) => failure,
    );
    return { error, tookMs: Date.now() - started };
  }

  it('names a wrong password (WRONGPASS), not "Connection is closed"', async () => {
    const secured = await startRedisServer();
    try {
      const admin = await import('ioredis').then(({ Redis }) => new Redis(secured.url));
      await admin.config('SET', 'requirepass', 'right-password');
      admin.disconnect();
      const { error } = await startWith(`redis://:wrong-password@127.0.0.1:${secured.port}`);
      expect(error?.message).toMatch(
        /cannot reach Redis at redis:\/\/:\[redacted\]@127\.0\.0\.1:\d+: authentication failed \(WRONGPASS\)/,
      );
      expect(error?.message).not.toContain('wrong-password');
    } finally {
      await secured.stop();
    }
  });

  it('gives up on a port that accepts but never answers, within seconds, saying so', async () => {
    // Accepts every connection, reads what is sent, and never says a word.
    const sockets: Socket[] = [];
    const mute = createServer((socket) => {
      sockets.push(socket);
      socket.resume();
    });
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    const hole = {
      port: (mute.address() as { port: number }).port,
      stop: () => {
        for (const socket of sockets) socket.destroy();
        return new Promise((resolve) => mute.close(resolve));
      },
    };
    try {
      const { error, tookMs } = await startWith(`redis://127.0.0.1:${hole.port}`);
      expect(error?.message).toMatch(
        /no answer within \d s: something accepts connections there but does not answer as Redis/,
      );
      expect(tookMs).toBeLessThan(9_000);
    } finally {
      await hole.stop();
    }
  }, 30_000);

  it('says when nothing listens (refused)', async () => {
    const gone = await startRedisServer();
    await gone.stop();
    const { error } = await startWith(gone.url);
    expect(error?.message).toMatch(/connection refused: nothing listens there/);
  });
});
