import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { walkedPhases } from '../../src/checklists/phases.js';
import { DeploymentStore } from '../../src/deployments/store.js';
import { freePort } from '../../src/sandbox/infra/redis-server.js';
import { type MessageRef, SlackDriver } from '../../src/sandbox/slack/slack-driver.js';
import { parseDuration } from '../../src/shared/duration.js';
import { ACTION } from '../../src/slack/action-ids.js';
import { partitionPhase, phaseMessageKey } from '../../src/slack/render/phase-message.js';
import { type Harness, SIGNING_SECRET, startHarness } from '../support/harness.js';
import { connectTestRedis } from '../support/redis.js';
import { startDeployment, waitUntil } from './walk.js';

/**
 * `docker stop` while people are clicking: the bot runs as a real process (`src/main.ts`, as the image
 * runs it) and gets SIGTERM right as clicks arrive on keep-alive sockets Slack already has open. Every
 * click gets its 200 (none is reset), every acknowledged click is in Redis afterwards, and the process
 * exits 0 within docker-compose's stop_grace_period.
 *
 * Each round opens SOCKETS keep-alive sockets and sends a click on each; those are acknowledged, but their
 * transitions wait on Slack: the clicker's roles include a user group, looked up with
 * usergroups.users.list, which answers 429 (Retry-After 1 s) as Slack's Tier 2 does. Then a second click
 * on each of the same sockets, now idle, around SIGTERM; the rounds differ in when. Deployments were
 * started by an earlier process (the rounds' bots restart onto them), so each bot's group cache is cold.
 */

const SOCKETS = 10;
const CLICKS = 2 * SOCKETS;
const ROUNDS = 3;
const service = (round: number) => `shutdown-${round}`;
const channel = (round: number) => `C0SHUTDOWN${round}`;
const CLICKERS = ['U0CREWM1', 'U0CREWM2', 'U0OUTSIDER', 'U0DEPLOYER'];
const clicker = (index: number) => CLICKERS[index % CLICKERS.length] as string;
const itemId = (index: number) => `item-${index + 1}`;

let h: Harness;
let redis: Redis;
let store: DeploymentStore; // the harness's bot is stopped: its store's connection is closed
let configPath: string;
let stopGraceMs: number;
const deployments: string[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  const compose = parse(await readFile('docker-compose.yml', 'utf8'));
  stopGraceMs = parseDuration(compose.services.flightdeck.stop_grace_period) ?? 10_000; // Docker's default

  const dir = await mkdtemp(join(tmpdir(), 'fd-shutdown-'));
  await mkdir(join(dir, 'checklists'));
  // Anyone may tick these off; the last item (the deployers') stays open, so the deployment does too.
  const items = Array.from(
    { length: CLICKS },
    (_, index) => `      - { id: ${itemId(index)}, kind: manual, title: Step ${index + 1}, owner: anyone }\n`,
  );
  await writeFile(
    join(dir, 'checklists', 'clicks.yaml'),
    `id: clicks\ntitle: Clicks\nphases:\n  - id: clicks\n    title: Clicks\n    items:\n${items.join('')}      - { id: last, kind: manual, title: Last step }\n`,
  );
  const services = Array.from(
    { length: ROUNDS },
    (_, round) =>
      `  ${service(round)}:\n    checklist: clicks\n    channel: ${channel(round)}\n    deployers: [deployer]\n`,
  );
  configPath = join(dir, 'flightdeck.yaml');
  await writeFile(
    configPath,
    `services:\n${services.join('')}roles:\n  deployer: { users: [U0DEPLOYER] }\n  crew: { groups: [S0CREW] }\n`,
  );
  h = await startHarness({ configPath, role: 'bot' });
  for (let round = 0; round < ROUNDS; round += 1)
    deployments.push((await startDeployment(h, service(round), '1.0.0')).id);
  await h.bot.stop(); // the rounds' bots take over; FakeSlack stays
  redis = connectTestRedis();
  store = new DeploymentStore(redis, h.prefix);
}, 60_000);

afterEach(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

afterAll(async () => {
  await h?.slack.stop();
  await redis?.quit();
});

interface Bot {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** `node src/main.ts` in HTTP mode on the harness's Redis keys and FakeSlack, as one process so SIGTERM reaches the bot itself. */
async function startBot(): Promise<Bot> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, ...h.env, FLIGHTDECK_CONFIG: configPath, PORT: String(port), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<Awaited<Bot['exited']>>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  await Promise.race([
    waitUntil(() => output.includes('Flightdeck listening'), 'the bot to listen', 30_000),
    exited.then(() => {
      throw new Error(`the bot exited before listening:\n${output}`);
    }),
  ]);
  return { child, port, output: () => output, exited };
}

/** Opens `count` keep-alive sockets to the bot (concurrent GET /healthz), left idle in the agent's pool. */
async function openSockets(agent: Agent, port: number, count: number): Promise<void> {
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve, reject) => {
          get({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
            res.resume();
            res.on('end', resolve);
          }).on('error', reject);
        }),
    ),
  );
}

const idleSockets = (agent: Agent) => Object.values(agent.freeSockets).flat().length;

/** Where each item's Done button is: the phase's messages. */
async function buttonsOf(id: string): Promise<Map<string, MessageRef>> {
  const loaded = await store.load(id);
  const phase = loaded && walkedPhases(loaded.checklist).find((candidate) => candidate.id === 'clicks');
  if (!phase) throw new Error('no clicks phase');
  const where = new Map<string, MessageRef>();
  for (const [part, items] of partitionPhase(phase).entries()) {
    const ts = await store.message(id, phaseMessageKey(phase.id, part));
    if (!ts) throw new Error(`message ${part} of the phase was not posted`);
    for (const item of items) where.set(item.id, { channel: loaded.state.channel, ts });
  }
  return where;
}

describe('SIGTERM while clicks arrive', () => {
  it.each([
    { round: 0, when: 'together, just before SIGTERM', firstClickMs: -5, gapMs: 0 },
    { round: 1, when: 'one every 2 ms from SIGTERM on', firstClickMs: 0, gapMs: 2 },
    { round: 2, when: 'together, 200 ms after SIGTERM', firstClickMs: 200, gapMs: 0 },
  ])(
    'answers every click, keeps every acknowledged one and exits 0 (second clicks $when)',
    async ({ round, firstClickMs, gapMs }) => {
      const id = deployments[round] as string;
      const buttons = await buttonsOf(id);
      const bot = await startBot();
      const agent = new Agent({ keepAlive: true, maxSockets: SOCKETS });
      try {
        const driver = new SlackDriver({
          eventsUrl: `http://127.0.0.1:${bot.port}/slack/events`,
          signingSecret: SIGNING_SECRET,
          slack: h.slack,
          agent,
        });
        await openSockets(agent, bot.port, SOCKETS);
        expect(idleSockets(agent)).toBe(SOCKETS);

        // A click's outcome as Slack sees it: the HTTP status, or the socket error (ECONNRESET, …).
        const click = (index: number) =>
          driver
            .clickButton(clicker(index), buttons.get(itemId(index)) as MessageRef, {
              actionId: ACTION.itemDone,
              value: `${id}|${itemId(index)}`,
            })
            .then(
              (response) => response.status,
              (error: NodeJS.ErrnoException) => error.code ?? error.message,
            );
        const indexes = (from: number) => Array.from({ length: SOCKETS }, (_, offset) => from + offset);

        const clicksStarted = Date.now();
        h.slack.rateLimit('usergroups.users.list', { times: 1, retryAfterSeconds: 1 });
        const first = await Promise.all(indexes(0).map(click));
        expect(first).toEqual(Array(SOCKETS).fill(200));
        expect(idleSockets(agent), 'the first clicks left their sockets open and idle').toBe(SOCKETS);
        // The second clicks and SIGTERM on one timeline; it starts at whichever comes first.
        const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
        const signalAtMs = Math.max(0, -firstClickMs);
        const second = Promise.all(
          indexes(SOCKETS).map((index, order) =>
            pause(signalAtMs + firstClickMs + order * gapMs).then(() => click(index)),
          ),
        );
        await pause(signalAtMs);
        const signalled = Date.now();
        bot.child.kill('SIGTERM');
        const outcomes = [...first, ...(await second)];
        const socketsLeft = idleSockets(agent); // before the bot's grace for idle sockets ends
        const exit = await Promise.race([
          bot.exited,
          new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), stopGraceMs)),
        ]);

        const items = (await store.load(id))?.state.items ?? {};
        const clicks = outcomes.map((outcome, index) => ({ item: itemId(index), outcome }));
        // One assertion, so a failure shows everything that went wrong in the round at once.
        expect(
          {
            notAnswered: clicks.filter((each) => each.outcome !== 200),
            lost: clicks
              .filter((each) => each.outcome === 200 && items[each.item]?.status !== 'done')
              .map((each) => each.item),
            // The first clicks' role lookup was refused once, and asked again a second later.
            roleLookups: h.slack
              .callsTo('usergroups.users.list')
              .filter((call) => call.at >= clicksStarted)
              .map((call) => call.status),
            exit: exit && {
              code: exit.code,
              signal: exit.signal,
              withinGrace: exit.at - signalled < stopGraceMs,
            },
          },
          bot.output(),
        ).toEqual({
          notAnswered: [],
          lost: [],
          roleLookups: [429, 200],
          exit: { code: 0, signal: null, withinGrace: true },
        });
        // Clicks sent well after SIGTERM are answered with `Connection: close`: no socket is left to reuse.
        if (firstClickMs >= 200) expect(socketsLeft, 'sockets the bot left open for reuse').toBe(0);
      } finally {
        agent.destroy();
      }
    },
    60_000,
  );
});
