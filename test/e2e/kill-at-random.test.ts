import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { StartOptions } from '../../src/flightdeck.js';
import { SlackDriver } from '../../src/sandbox/slack/slack-driver.js';
import { MESSAGE_EVENT_TYPE } from '../../src/slack/message-metadata.js';
import { REPORT_KEY } from '../../src/slack/render/report.js';
import { CARD_KEY } from '../../src/slack/render/status-card.js';
import { type Harness, SIGNING_SECRET, startHarness } from '../support/harness.js';
import { waitUntil } from './walk.js';

/**
 * kill -9 at random moments, 50 rounds (issue #12). Each round a bot process (test/support/bot-process.ts)
 * starts a deployment and takes bursts of Done clicks through its real receiver, and is killed with
 * SIGKILL at a moment a seeded generator picks: after a random delay, at its k-th acknowledgement, or
 * the instant the fake Slack stores its m-th post or update (before the bot hears the answer). The
 * harness's bot (this process) stands by the whole time, as a second replica: it takes over the dead
 * process's inbox and stale message claims; clicks Slack sends after the kill go to it, as a load balancer
 * would send them. Once a round has settled it counts:
 *
 *   - acknowledged-but-lost: an action answered 200 whose effect is not in Redis and whose sender was not
 *     told privately (a refusal, "not recorded", "not carried out") — must be 0;
 *   - duplicates: a message key of the deployment (its metadata) with more than one message in Slack —
 *     must be 0.
 *
 * In a quarter of the rounds Slack also loses its answer to one post (stored, but answered 500 or the
 * connection closed), so a kill can meet a poster that is already unsure.
 *
 * FLIGHTDECK_KILL_SEED=<n> replays a run (the seed is printed); FLIGHTDECK_KILL_ROUNDS=<n> runs fewer.
 */

/** A killed process's heartbeat runs out in a second; its stale claims are taken over after 1.5 s. */
const FAST: StartOptions = {
  // Slack's pace as the harness sets it for tests (posts and updates at once): rounds stay short.
  presenter: {
    minUpdateIntervalMs: 50,
    updatesPerMinute: 60_000,
    updateBurst: 1_000,
    postsPerSecond: 1_000,
    postBurst: 1_000,
  },
  inbox: { heartbeatTtlMs: 1_000, heartbeatEveryMs: 250 },
  inboxRecoveryMs: 200,
  staleClaimMs: 1_500,
  sweepIntervalMs: 250,
};
const ROUNDS = Number(process.env.FLIGHTDECK_KILL_ROUNDS ?? 50);
const SEED = Number(process.env.FLIGHTDECK_KILL_SEED ?? Math.floor(Math.random() * 2 ** 31));
const PER_PHASE = 4;
/** Everyone who clicks in a round is someone else, so a private answer tells exactly who it is for. */
const CREW = Array.from({ length: 2 * (PER_PHASE + 1) }, (_, index) => `U0CREW${index}`);
const CHANNEL = 'C0NOTES';
/** Delays drawn for the timed kills: the span a round's start and two bursts take when nobody dies. */
const KILL_WINDOW_MS = 300;
/** Everything a round waits for once its bot is dead: recovery, stale claims, posts. */
const SETTLE_MS = 15_000;

/** mulberry32: small, seedable, good enough to pick moments. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

let h: Harness;
const children: ChildProcess[] = [];
/** test/support/bot-process.ts as one ES module (see beforeAll), and the folder it is in. */
let botScript: string;
let scratch: string;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fd-kill50-'));
  scratch = dir;
  // 50 bot processes start in this test. Compiled once into one file (the same esbuild transform tsx
  // applies file by file), each starts on half the CPU: packages stay imports, found through a link.
  botScript = join(dir, 'bot-process.mjs');
  await build({
    entryPoints: ['test/support/bot-process.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: botScript,
    logLevel: 'error',
  });
  await symlink(resolve('node_modules'), join(dir, 'node_modules'), 'dir');
  // The store reads its Lua scripts beside the module that loads them (src/deployments/lua.ts): in one
  // bundle, that is beside the bundle.
  await symlink(resolve('src/deployments/scripts'), join(dir, 'scripts'), 'dir');
  await mkdir(join(dir, 'checklists'));
  const items = (phase: string) =>
    Array.from({ length: PER_PHASE }, (_, index) => ({
      id: `${phase}-${index}`,
      kind: 'manual',
      title: `${phase} ${index}`,
      owner: 'anyone',
    }));
  await writeFile(
    join(dir, 'checklists', 'notes.yaml'),
    stringify({
      id: 'notes',
      title: 'Release notes',
      phases: [
        // Completing a phase opens the next: a thread post while the clicks' updates go out.
        { id: 'write', title: 'Write', items: items('write') },
        { id: 'publish', title: 'Publish', items: items('publish') },
        { id: 'hold', title: 'Hold', items: [{ id: 'hold', kind: 'manual', title: 'Keeps it open' }] },
      ],
    }),
  );
  const configPath = join(dir, 'flightdeck.yaml');
  await writeFile(
    configPath,
    stringify({
      escalation: { levels: [] },
      services: { notes: { checklist: 'notes', channel: CHANNEL, deployers: ['deployer'] } },
      roles: { deployer: { users: ['U0DEPLOYER'] }, crew: { users: CREW } },
    }),
  );
  h = await startHarness({ configPath, ...FAST });
}, 60_000);

afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await h?.stop();
  if (scratch) {
    await unlink(join(scratch, 'node_modules')).catch(() => undefined); // the link only, first
    await rm(scratch, { recursive: true, force: true });
  }
});

interface Victim {
  child: ChildProcess;
  driver: SlackDriver;
  exited: Promise<void>;
  /** How long it took to serve Slack, from spawn. */
  startMs: number;
}

/** A bot process on the harness's Redis keys and fake Slack (Slack only: no check workers to wait for). */
async function startVictim(): Promise<Victim> {
  const spawnedAt = Date.now();
  // One process (node itself), so SIGKILL really kills the bot, not a wrapper around it.
  const child = spawn(process.execPath, [botScript], {
    env: {
      ...process.env,
      ...h.env,
      LOG_LEVEL: 'error',
      FLIGHTDECK_TEST_OPTIONS: JSON.stringify({ ...FAST, role: 'bot' }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const output: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output.push(chunk.toString());
      const match = /listening (\d+)/.exec(chunk.toString());
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`the bot process exited (${code}):\n${output.join('')}`)));
  });
  const driver = new SlackDriver({
    eventsUrl: `http://127.0.0.1:${port}/slack/events`,
    signingSecret: SIGNING_SECRET,
    slack: h.slack,
  });
  return { child, driver, exited, startMs: Date.now() - spawnedAt };
}

type KillPlan =
  | { kind: 'delay'; ms: number }
  | { kind: 'ack'; nth: number }
  | { kind: 'slack-write'; nth: number };

function describePlan(plan: KillPlan, lostAnswer: string | undefined): string {
  const when = plan.kind === 'delay' ? `after ${plan.ms} ms` : `at ${plan.kind} #${plan.nth}`;
  return lostAnswer ? `${when}, a post's answer lost (${lostAnswer})` : when;
}

/** One request as Slack sent it, and what became of it. */
interface Action {
  what: string;
  user: string;
  /** HTTP status; 0 when the connection died first (Slack shows the person an error). */
  status: number;
  /** Ephemerals before it was sent: anything after, to its user, tells them. */
  ephemeralsBefore: number;
  /** Its effect is in Redis. */
  effect: () => Promise<boolean>;
  /** Counted already (lost or not). */
  judged?: boolean;
}

interface RoundResult {
  round: number;
  plan: string;
  actions: number;
  acknowledged: number;
  lost: string[];
  duplicates: string[];
  unacknowledgedButDone: number;
  /** The step the kill fell in: start, write, publish, or idle (after the round's last post). */
  killedIn: string;
  ms: number;
  startMs: number;
}

/** Private answers to `user` since an action was sent (the start's own "Starting …" ack aside). */
function told(action: Action): boolean {
  return h.slack.ephemerals
    .slice(action.ephemeralsBefore)
    .some((ephemeral) => ephemeral.user === action.user && !ephemeral.text.startsWith('Starting '));
}

/** Message keys of a deployment that Slack holds more than once (by the metadata the bot attaches). */
function duplicatesOf(deploymentId: string): string[] {
  const perKey = new Map<string, number>();
  for (const message of h.slack.allMessages()) {
    if (message.deleted || message.channel !== CHANNEL) continue;
    const payload = message.metadata?.event_payload as { deployment_id?: string; message_key?: string };
    if (message.metadata?.event_type !== MESSAGE_EVENT_TYPE || payload.deployment_id !== deploymentId)
      continue;
    const key = payload.message_key ?? '?';
    perKey.set(key, (perKey.get(key) ?? 0) + 1);
  }
  return [...perKey].filter(([, count]) => count > 1).map(([key, count]) => `${key}×${count}`);
}

async function inboxEmpty(): Promise<void> {
  await waitUntil(
    async () => (await h.bot.redis.hlen(`${h.prefix}:inbox`)) === 0 || undefined,
    'an empty inbox',
    SETTLE_MS,
  );
}

async function posted(deploymentId: string, key: string): Promise<string> {
  return waitUntil(() => h.bot.store.message(deploymentId, key), `message ${key} to be posted`, SETTLE_MS);
}

async function itemDone(deploymentId: string, itemId: string): Promise<boolean> {
  const loaded = await h.bot.store.load(deploymentId);
  return loaded?.state.items[itemId]?.status === 'done';
}

async function runRound(round: number, victim: Victim, random: () => number): Promise<RoundResult> {
  const draw = random();
  const plan: KillPlan =
    draw < 0.4
      ? { kind: 'delay', ms: Math.floor(random() * KILL_WINDOW_MS) }
      : draw < 0.7
        ? { kind: 'ack', nth: 1 + Math.floor(random() * (2 * PER_PHASE + 3)) }
        : { kind: 'slack-write', nth: 1 + Math.floor(random() * 12) };

  const began = Date.now();
  let step = 'start';
  let killedIn = '';
  // Now and then Slack also loses its answer to the round's next post (stored, answer never heard).
  const lostAnswer = random() < 0.25 ? (random() < 0.5 ? 'http-500' : 'connection-closed') : undefined;
  if (lostAnswer) h.slack.loseAnswer('chat.postMessage', lostAnswer);
  let killed = false;
  const kill = () => {
    if (killed) return;
    killed = true;
    killedIn = `${step}+${Date.now() - began}ms`;
    victim.child.kill('SIGKILL');
  };
  let acks = 0;
  let writes = 0;
  const unwatch = h.slack.watch((change) => {
    // In the fake's handler, before it answers: the bot dies with its post or update in Slack, unheard.
    if (change.type === 'message' && plan.kind === 'slack-write' && ++writes === plan.nth) kill();
  });
  const timer = plan.kind === 'delay' ? setTimeout(kill, plan.ms) : undefined;
  /** Where Slack sends a request now: the victim while it lives, then the standing replica. */
  const receiver = () => (killed ? h.driver : victim.driver);

  const actions: Action[] = [];
  const send = async (
    what: string,
    user: string,
    effect: () => Promise<boolean>,
    request: (driver: SlackDriver) => Promise<{ status: number }>,
  ): Promise<Action> => {
    const toVictim = !killed;
    const action: Action = { what, user, status: 0, ephemeralsBefore: h.slack.ephemerals.length, effect };
    actions.push(action);
    try {
      action.status = (await request(receiver())).status;
    } catch {
      action.status = 0; // connection reset: never acknowledged
    }
    if (toVictim && action.status === 200 && plan.kind === 'ack' && ++acks === plan.nth) kill();
    return action;
  };
  const lost: string[] = [];
  /** Once nothing is left to carry out: acknowledged actions without effect or word to their sender. */
  const judge = async (batch: Action[]) => {
    await inboxEmpty();
    await h.bot.context.presenter.idle();
    for (const action of batch) {
      if (action.judged) continue;
      action.judged = true;
      if (action.status === 200 && !(await action.effect()) && !told(action)) lost.push(action.what);
    }
  };

  try {
    // The start, through the victim.
    const version = `1.${round}.0`;
    let id: string | undefined;
    const active = async () => (await h.bot.store.activeFor('notes', 'production')) !== undefined;
    const start = await send(`start ${version}`, 'U0DEPLOYER', active, (driver) =>
      driver.slash('U0DEPLOYER', CHANNEL, '/deploy', `start notes ${version}`),
    );
    if (start.status === 200) id = await h.bot.store.activeFor('notes', 'production');
    if (!id) {
      await judge([start]);
      id = await h.bot.store.activeFor('notes', 'production');
    }
    if (!id) {
      // Never recorded (or lost, counted above): the deployer types it again.
      const again = await h.driver.slash('U0DEPLOYER', CHANNEL, '/deploy', `start notes ${version}`);
      expect(again.status).toBe(200);
      id = await waitUntil(() => h.bot.store.activeFor('notes', 'production'), 'the deployment', SETTLE_MS);
    }
    const deploymentId = id;

    // Two bursts of Done clicks (each item once, and one item twice, as a double tap), phase by phase.
    for (const [burstIndex, phase] of ['write', 'publish'].entries()) {
      step = phase;
      const crew = CREW.slice(burstIndex * (PER_PHASE + 1));
      const ts = await posted(deploymentId, `phase:${phase}:0`);
      const where = { channel: CHANNEL, ts };
      const targets = Array.from({ length: PER_PHASE }, (_, index) => `${phase}-${index}`);
      targets.push(targets[Math.floor(random() * PER_PHASE)] as string);
      const burst = await Promise.all(
        targets.map((itemId, index) =>
          send(
            `${phase}: Done on ${itemId} by ${crew[index]}`,
            crew[index] as string,
            () => itemDone(deploymentId, itemId),
            (driver) =>
              driver.clickButton(crew[index] as string, where, {
                actionId: 'item.done',
                value: `${deploymentId}|${itemId}`,
              }),
          ),
        ),
      );
      await judge(burst);
      // What was never acknowledged (Slack showed an error), or lost: the person clicks again.
      for (const itemId of new Set(targets)) {
        if (await itemDone(deploymentId, itemId)) continue;
        const again = await h.driver.clickButton('U0DEPLOYER', where, {
          actionId: 'item.done',
          value: `${deploymentId}|${itemId}`,
        });
        expect(again.status).toBe(200);
        await waitUntil(() => itemDone(deploymentId, itemId), `${itemId} to be done`, SETTLE_MS);
      }
    }
    step = 'hold';
    await posted(deploymentId, 'phase:hold:0');
    step = 'idle';

    // Whatever moment was drawn, the victim dies by the end of its round (an idle kill is a moment too).
    kill();
    await victim.exited;
    await judge(actions);
    for (const key of [CARD_KEY, 'phase:write:0', 'phase:publish:0', 'phase:hold:0'])
      await posted(deploymentId, key);
    await h.bot.context.presenter.idle();
    const duplicates = duplicatesOf(deploymentId);

    // Next round's deployment needs the lock; the report is one more post to count.
    await h.bot.deployments.execute(deploymentId, {
      type: 'abort',
      actor: 'flightdeck',
      actorRoles: [],
      reason: 'next round',
      at: Date.now(),
    });
    await posted(deploymentId, REPORT_KEY);
    await h.bot.context.presenter.idle();
    for (const key of duplicatesOf(deploymentId)) if (!duplicates.includes(key)) duplicates.push(key);

    let unacknowledgedButDone = 0;
    for (const action of actions)
      if (action.status !== 200 && (await action.effect())) unacknowledgedButDone++;
    return {
      round,
      plan: describePlan(plan, lostAnswer),
      actions: actions.length,
      acknowledged: actions.filter((action) => action.status === 200).length,
      lost,
      duplicates,
      unacknowledgedButDone,
      killedIn,
      ms: Date.now() - began,
      startMs: victim.startMs,
    };
  } finally {
    unwatch();
    clearTimeout(timer);
    kill();
  }
}

describe('kill -9 at random moments', () => {
  it(`loses no acknowledged action and posts nothing twice over ${ROUNDS} rounds`, async () => {
    console.log(`kill-at-random: seed=${SEED} (replay with FLIGHTDECK_KILL_SEED=${SEED})`);
    const random = generator(SEED);
    const results: RoundResult[] = [];
    const started = Date.now();
    // The next rounds' processes start while this round runs: starting one takes 2 s or more, a round
    // about as long when its process is killed mid-way (the heartbeat runs out, claims go stale).
    const ahead = [startVictim(), startVictim()];
    for (let round = 1; round <= ROUNDS; round++) {
      const victim = await (ahead.shift() as Promise<Victim>);
      if (round + ahead.length < ROUNDS) ahead.push(startVictim());
      const result = await runRound(round, victim, random);
      results.push(result);
      if (process.env.FLIGHTDECK_KILL_VERBOSE)
        console.log(
          `round ${round}: ${result.plan}, killed in ${result.killedIn}, ${result.acknowledged}/${result.actions} acknowledged, ${result.ms} ms (its process started in ${result.startMs} ms)`,
        );
      if (result.lost.length > 0 || result.duplicates.length > 0)
        console.log(
          `kill-at-random: round ${round} (${result.plan}, seed=${SEED}): lost [${result.lost.join('; ')}], duplicates [${result.duplicates.join(', ')}]`,
        );
    }
    for (const spare of ahead) (await spare).child.kill('SIGKILL');

    // How often the paths this is about were taken here, in the standing replica (victims log errors only).
    const logged = (msg: string) => h.logs.filter((line) => line.includes(`"msg":"${msg}"`)).length;
    const takenOver = logged('carrying out a request a dead process left');
    const adopted = logged('adopted a message Slack already had');
    const sum = (pick: (result: RoundResult) => number) => results.reduce((total, r) => total + pick(r), 0);
    const lost = sum((r) => r.lost.length);
    const duplicates = sum((r) => r.duplicates.length);
    console.log(
      `kill-at-random: rounds=${results.length} clicks=${sum((r) => r.actions)} acknowledged=${sum((r) => r.acknowledged)} lost=${lost} duplicates=${duplicates} seed=${SEED}` +
        ` (requests taken over from a dead process: ${takenOver}; posts adopted from the thread: ${adopted};` +
        ` unacknowledged but carried out: ${sum((r) => r.unacknowledgedButDone)}; ${Math.round((Date.now() - started) / 1_000)} s)`,
    );
    expect({ lost, duplicates }).toEqual({ lost: 0, duplicates: 0 });
  }, 300_000);
});
