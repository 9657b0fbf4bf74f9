import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Checklist, Item } from '../../src/checklists/schema.js';
import { loadConfig } from '../../src/config/load.js';
import { startFlightdeck } from '../../src/flightdeck.js';
import { createLogger } from '../../src/observability/logger.js';
import { freePort } from '../../src/sandbox/infra/redis-server.js';
import { ACTION } from '../../src/slack/action-ids.js';
import { CARD_KEY } from '../../src/slack/render/status-card.js';
import { type Harness, startHarness } from '../support/harness.js';
import { type SentinelSetup, startSentinelSetup } from '../support/sentinel.js';
import { messageOf, resolveItem, settledCheck, startDeployment, waitUntil, watchedOut } from './walk.js';

/**
 * Redis that fails over in the middle of a deployment. The bot finds its master through three sentinels
 * (REDIS_SENTINELS, REDIS_MASTER_NAME); people keep clicking while the master is killed (SIGKILL), or
 * stalls and wakes up later, and the sentinels promote its replica. What people see:
 *
 *   - a click the bot could not record (no master yet) is answered privately, "not recorded", and is
 *     never carried out later;
 *   - every other acknowledged click is carried out — except, at most, those acknowledged in the last
 *     second before the kill: what the master had not yet written to its AOF (appendfsync everysec) or
 *     passed to its replica may die with it. That is the durability Redis promises, and the test allows
 *     exactly that much;
 *   - nothing in the thread is posted twice; the watch window and the checks (BullMQ jobs) carry on;
 *   - the same process does all this: it finds the new master by itself, no restart.
 */

const TIME_SCALE = 0.0005; // the 4 h watch window lasts 7.2 s: it ends around the failover
const NOTES = 80;
const CLICK_EVERY_MS = 150;
/** appendfsync everysec: what was acknowledged in the last second before a crash may be lost. */
const FSYNC_WINDOW_MS = 1_000;

/** `/slow` answers only once the test lets it: its check's verdict then arrives while no master is reachable. */
let releaseSlow: () => void = () => {};
const slowAnswer = new Promise<void>((resolve) => {
  releaseSlow = resolve;
});
const health = createServer((req, res) => {
  if (req.url === '/slow') void slowAnswer.then(() => res.writeHead(200).end('ok'));
  else res.writeHead(200).end('ok');
});
let redis: SentinelSetup;
let h: Harness;
/** flightdeck.yaml and the checklists of this test. */
let configDir: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => health.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(health.address() as AddressInfo).port}`;
  const check = { type: 'http', url: `${url}/health`, timeout: '2s' };
  redis = await startSentinelSetup();
  const dir = await mkdtemp(join(tmpdir(), 'fd-sentinel-'));
  configDir = dir;
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
            { id: 'health', kind: 'check', title: 'Health endpoint answers', check },
            {
              id: 'slow-health',
              kind: 'check',
              title: 'Slow endpoint answers',
              check: { type: 'http', url: `${url}/slow`, timeout: '30s' },
            },
            { id: 'watch', kind: 'wait', title: 'Watch the release', wait: { duration: '4h' } },
            ...Array.from({ length: NOTES }, (_, index) => ({
              id: `note-${index}`,
              kind: 'manual',
              title: `Note ${index}`,
              owner: 'anyone',
              required: false, // more notes than anyone clicks: the phase waits for none of them
            })),
          ],
        },
        {
          id: 'verify',
          title: 'Verify',
          items: [
            { id: 'health-after', kind: 'check', title: 'Still healthy', check },
            { id: 'confirm', kind: 'manual', title: 'Release confirmed' },
          ],
        },
      ],
    }),
  );
  await writeFile(
    join(dir, 'checklists', 'steps.yaml'),
    stringify({
      id: 'steps',
      title: 'Two steps',
      phases: [
        { id: 'first', title: 'First', items: [{ id: 'go', kind: 'manual', title: 'Go', owner: 'anyone' }] },
        { id: 'second', title: 'Second', items: [{ id: 'done', kind: 'manual', title: 'Done' }] },
      ],
    }),
  );
  const configPath = join(dir, 'flightdeck.yaml');
  await writeFile(
    configPath,
    stringify({
      time_scale: TIME_SCALE,
      escalation: { levels: [] },
      services: {
        notes: { checklist: 'notes', channel: 'C0NOTES', deployers: ['deployer'] },
        steps: { checklist: 'steps', channel: 'C0STEPS', deployers: ['deployer'] },
      },
      roles: {
        deployer: { users: ['U0DEPLOYER'] },
        // The people who click the notes: members of the workspace, so the bot can answer them privately.
        readers: { users: Array.from({ length: NOTES }, (_, index) => clicker(index)) },
      },
    }),
  );
  h = await startHarness({
    configPath,
    sentinels: { list: redis.sentinelList, masterName: redis.masterName },
    // With sentinels REDIS_URL only carries credentials; a closed port here shows that the master is
    // really found through the sentinels.
    redisUrl: 'redis://127.0.0.1:1',
    // A job whose add was lost with the old master is re-derived from the stored state by the sweep.
    sweepIntervalMs: 1_000,
  });
}, 90_000);

afterAll(async () => {
  releaseSlow();
  await h?.stop();
  await redis?.stop();
  health.close();
  if (configDir) await rm(configDir, { recursive: true, force: true });
});

/** Each note is clicked by someone else, so what each was told privately is theirs alone. */
function clicker(index: number): string {
  return `U0CLICK${index}`;
}

interface SentClick {
  itemId: string;
  user: string;
  sentAt: number;
  /** When the HTTP answer (Slack's ack) came back, and its status; 0 when the request itself failed. */
  answeredAt?: number;
  status?: number;
}

/** People clicking Done on one note after another, every CLICK_EVERY_MS, without waiting for the answers. */
function startClicking(deploymentId: string, notes: Item[], places: Array<{ channel: string; ts: string }>) {
  const clicks: SentClick[] = [];
  // What the bot says privately from now on is about these clicks (the people are the same in each test).
  const repliesFrom = h.slack.ephemerals.length;
  const answers: Array<Promise<void>> = [];
  let clicking = true;
  const sending = (async () => {
    for (let index = 0; clicking; index++) {
      const note = notes[index];
      const where = places[index];
      if (!note || !where) throw new Error(`ran out of notes to click after ${index} clicks`);
      const click: SentClick = { itemId: note.id, user: clicker(index), sentAt: Date.now() };
      clicks.push(click);
      const answered = (status: number) => {
        click.status = status;
        click.answeredAt = Date.now();
      };
      answers.push(
        h.driver
          .clickButton(click.user, where, { actionId: ACTION.itemDone, value: `${deploymentId}|${note.id}` })
          .then(
            (response) => answered(response.status),
            () => answered(0),
          ),
      );
      await new Promise((resolve) => setTimeout(resolve, CLICK_EVERY_MS));
    }
  })();
  return {
    clicks,
    repliesFrom,
    async stop() {
      clicking = false;
      await sending;
      await Promise.all(answers);
    },
  };
}

/**
 * The deployment's thread, message by message, named by the key the store records for it (card, phase
 * parts, replies). A message the store does not name is a post it lost track of: one that would be
 * posted again, or already was.
 */
async function threadByKey(deploymentId: string, channel: string) {
  const posted = await h.bot.store.messages(deploymentId);
  const keyOf = new Map(Object.entries(posted).map(([key, ts]) => [ts, key]));
  const cardTs = posted[CARD_KEY] as string;
  const perKey = new Map<string, number>();
  for (const message of h.slack.thread(channel, cardTs)) {
    const key = keyOf.get(message.ts) ?? `not recorded: ${message.text}`;
    perKey.set(key, (perKey.get(key) ?? 0) + 1);
  }
  return {
    cards: h.slack.messages(channel).map((message) => message.ts),
    cardTs,
    perKey,
    /** Keys claimed for a post whose ts was never recorded. */
    unfinished: Object.keys(posted).filter((key) => posted[key]?.startsWith('posting:')),
  };
}

/** The port of the Redis server a connection is talking to (asks that server). */
async function serverPort(connection: Harness['bot']['redis']): Promise<number> {
  const info = await connection.info('server');
  return Number(/tcp_port:(\d+)/.exec(info)?.[1]);
}

/** The notes of a deployment of `notes`, and the message each is on (to click it). */
async function notesOf(deploymentId: string) {
  const { checklist } = (await h.bot.store.load(deploymentId)) as { checklist: Checklist };
  const notes = checklist.phases[0]?.items.filter((item) => item.id.startsWith('note-')) ?? [];
  const places = await Promise.all(notes.map((note) => messageOf(h, deploymentId, checklist, note)));
  return { checklist, notes, places };
}

/** Waits until at least five clicks sent after `since` have been carried out: the bot records clicks again. */
async function clicksLandAgain(deploymentId: string, clicks: SentClick[], since: number): Promise<void> {
  await waitUntil(
    async () => {
      const state = (await h.bot.store.load(deploymentId).catch(() => undefined))?.state;
      const landed = clicks.filter(
        (click) => click.sentAt > since && state?.items[click.itemId]?.status === 'done',
      );
      return landed.length >= 5 || undefined;
    },
    'clicks to land again after the failover',
    30_000,
  );
}

/**
 * What became of each click, by what its sender was told: "not recorded" (privately, either way the bot
 * says it), or acknowledged with nothing more; and whether it was carried out.
 */
async function sortClicks(deploymentId: string, { clicks, repliesFrom }: ReturnType<typeof startClicking>) {
  await h.bot.context.presenter.idle();
  await new Promise((resolve) => setTimeout(resolve, 500)); // room for a late reply or a late change
  const final = (await h.bot.store.load(deploymentId))?.state;
  const toldNotRecorded = new Set(
    h.slack.ephemerals
      .slice(repliesFrom)
      .filter((ephemeral) => /Not recorded|could not be recorded/.test(ephemeral.text))
      .map((ephemeral) => ephemeral.user),
  );
  const applied = (click: SentClick) => final?.items[click.itemId]?.status === 'done';
  const acknowledged = clicks.filter((click) => click.status === 200 && !toldNotRecorded.has(click.user));
  const notRecorded = clicks.filter((click) => toldNotRecorded.has(click.user));
  return { acknowledged, notRecorded, lost: acknowledged.filter((click) => !applied(click)), applied };
}

/**
 * What a failover may and may not do to clicks: every click is answered at once; what was
 * acknowledged is carried out, except at most what was acknowledged in the last second before the master
 * failed (appendfsync everysec); what was answered "not recorded" is never carried out, then or later.
 */
function expectClicksKept(
  clicks: SentClick[],
  sorted: Awaited<ReturnType<typeof sortClicks>>,
  failedAt: number,
) {
  expect(sorted.notRecorded.length).toBeGreaterThan(0); // the master really was away while people clicked
  // Answered at once: Redis gets 1.5 s (the store connection's command timeout), never Slack's whole 3 s.
  const slow = clicks.filter(
    (click) => (click.answeredAt ?? Number.POSITIVE_INFINITY) - click.sentAt > 2_000,
  );
  expect(slow.map((click) => click.itemId)).toEqual([]);
  for (const click of clicks) expect(click.status).toBe(200);
  // Acknowledged and lost: only in the last second before the master failed, never after.
  const lostOutsideWindow = sorted.lost.filter(
    (click) => (click.answeredAt ?? 0) < failedAt - FSYNC_WINDOW_MS || (click.answeredAt ?? 0) > failedAt,
  );
  expect(lostOutsideWindow.map((click) => click.itemId)).toEqual([]);
  expect(sorted.notRecorded.filter(sorted.applied).map((click) => click.itemId)).toEqual([]);
}

describe('Redis Sentinel: the master fails mid-deployment', () => {
  it('loses no acknowledged click beyond the fsync window, posts nothing twice, and carries on by itself', async () => {
    const bot = h.bot;
    expect(await serverPort(bot.redis)).toBe(await redis.masterPort());

    const { id, channel } = await startDeployment(h, 'notes', '1.0.0', 'U0DEPLOYER');
    expect((await settledCheck(h, id, 'health')).status).toBe('passed');
    const { checklist, notes, places } = await notesOf(id);
    const [write, verify] = checklist.phases;
    const item = (phase: typeof write, itemId: string) =>
      phase?.items.find((candidate) => candidate.id === itemId) as Item;

    // Mid-deployment, with clicks on their way and a check running, the master dies; the check's verdict
    // comes while no master is reachable.
    const clicking = startClicking(id, notes, places);
    const { clicks } = clicking;
    await waitUntil(() => clicks.filter((click) => click.status === 200).length >= 8 || undefined, 'clicks');
    const killedAt = Date.now();
    const old = await redis.killMaster();
    releaseSlow();
    const newMaster = await redis.waitForFailover(old.port);
    const failedOverAt = Date.now();
    // The clicks go on until the bot records them again, on the new master, and a few more after that.
    await clicksLandAgain(id, clicks, failedOverAt);
    await clicking.stop();

    // The old master comes back; the sentinels make it a replica of the new one, and nothing writes to it.
    await redis.restart(old);

    // The rest of the deployment: the watch window (a BullMQ timer) runs out, the deployer clears the hold,
    // the next phase's check runs on a worker, and the deployment completes.
    await watchedOut(h, id, 'watch');
    // The verdict that found no master is recorded once there is one again (its job is tried again).
    expect((await settledCheck(h, id, 'slow-health')).status).toBe('passed');
    expect(h.logs.some((line) => line.includes('check job failed') && line.includes('.slow-health.'))).toBe(
      true,
    );
    await resolveItem(h, id, checklist, item(write, 'hold'), { resolution: 'done', actor: 'U0DEPLOYER' });
    expect((await settledCheck(h, id, 'health-after')).status).toBe('passed');
    await resolveItem(h, id, checklist, item(verify, 'confirm'), { resolution: 'done', actor: 'U0DEPLOYER' });
    await waitUntil(
      async () => (await bot.store.load(id))?.state.status === 'completed' || undefined,
      'the deployment to complete',
    );

    const sorted = await sortClicks(id, clicking);
    console.info(
      `sentinel failover: ${JSON.stringify({
        clicks: clicks.length,
        acknowledged: sorted.acknowledged.length,
        notRecorded: sorted.notRecorded.length,
        lost: sorted.lost.length,
        failoverMs: failedOverAt - killedAt,
      })}`,
    );
    expectClicksKept(clicks, sorted, killedAt);
    expect(sorted.acknowledged.filter((click) => click.sentAt > failedOverAt).length).toBeGreaterThanOrEqual(
      5,
    );

    // Nothing posted twice: one card in the channel, each thread message once and known to the store.
    const thread = await threadByKey(id, channel);
    expect(thread.cards).toEqual([thread.cardTs]);
    expect([...thread.perKey].filter(([key, count]) => count > 1 || key.startsWith('not recorded'))).toEqual(
      [],
    );
    expect(thread.unfinished).toEqual([]);
    expect([...thread.perKey.keys()]).toEqual(expect.arrayContaining(['phase:write:0', 'phase:verify:0']));

    // Each check's verdict landed once.
    const verdicts = (await bot.store.audit(id)).flatMap(({ event }) =>
      event.type === 'check.completed' ? [event.itemId] : [],
    );
    expect(verdicts.sort()).toEqual(['health', 'health-after', 'slow-health']);

    // The same process did it all: its connections follow the new master.
    expect(h.bot).toBe(bot);
    expect(await serverPort(bot.redis)).toBe(newMaster);
    expect(h.logs.some((line) => line.includes('Redis available again'))).toBe(true);
  }, 120_000);

  /**
   * The presenter posts the message and cannot record its ts (no master): it keeps its claim and records
   * the ts once a master takes writes again, instead of posting it a second time (presenter.recordPosted).
   */
  it('records a thread message that was on its way to Slack when the master died, and posts it once', async () => {
    const { id, channel } = await startDeployment(h, 'steps', '1.0.0', 'U0DEPLOYER');
    const { checklist } = (await h.bot.store.load(id)) as { checklist: Checklist };
    // Slack holds the next post back for a second (429, Retry-After: 1): the second phase's message is on
    // its way when the master dies, and reaches the thread while no master is reachable.
    h.slack.rateLimit('chat.postMessage', { times: 1, retryAfterSeconds: 1 });
    const [first, second] = checklist.phases;
    await resolveItem(h, id, checklist, first?.items[0] as Item, { resolution: 'done', actor: 'U0DEPLOYER' });
    // The change that opens the second phase is on the replica before the master dies (replication is
    // asynchronous: on a busy machine it could otherwise be lost with the master, and this test is about
    // the post, not about that window, which the first test covers).
    expect(await h.bot.redis.call('WAIT', 1, 1_000)).toBe(1);
    const old = await redis.killMaster();
    await redis.waitForFailover(old.port);
    await redis.restart(old);

    // The message is in the thread once, and the bot knows which it is: it updates that one from now on.
    await waitUntil(
      () => h.bot.store.message(id, 'phase:second:0').catch(() => undefined),
      'the second phase message to be recorded',
    );
    const thread = await threadByKey(id, channel);
    expect([...thread.perKey].filter(([key, count]) => count > 1 || key.startsWith('not recorded'))).toEqual(
      [],
    );
    expect(thread.unfinished).toEqual([]);
    await resolveItem(h, id, checklist, second?.items[0] as Item, {
      resolution: 'done',
      actor: 'U0DEPLOYER',
    });
    expect((await h.bot.store.load(id))?.state.status).toBe('completed');
  }, 60_000);

  it('leaves a master that stalled the moment the sentinels replace it, and never replays what it was sent', async () => {
    const { id } = await startDeployment(h, 'notes', '2.0.0', 'U0DEPLOYER');
    const { notes, places } = await notesOf(id);
    const clicking = startClicking(id, notes, places);
    const { clicks } = clicking;
    await waitUntil(() => clicks.filter((click) => click.status === 200).length >= 8 || undefined, 'clicks');

    // The master stalls: it keeps the bot's connections and answers nothing, so what the bot sends it waits
    // there unanswered (the senders are told "not recorded"). The sentinels replace it; then it wakes up and
    // would take writes again until they demote it — writes that its demotion throws away.
    const stalledAt = Date.now();
    const stalled = await redis.stallMaster();
    const newMaster = await redis.waitForFailover(stalled.port);
    const failedOverAt = Date.now();
    stalled.resume();
    await clicksLandAgain(id, clicks, failedOverAt);
    await clicking.stop();
    await redis.waitUntilReplica(stalled.port);

    const sorted = await sortClicks(id, clicking);
    expectClicksKept(clicks, sorted, stalledAt);
    expect(await serverPort(h.bot.redis)).toBe(newMaster);
  }, 90_000);
});

describe('Sentinel settings that are wrong at start', () => {
  /** Starts a bot with these settings instead of the harness's; resolves with why it would not start. */
  async function startWith(sentinels: { REDIS_SENTINELS: string; REDIS_MASTER_NAME: string }) {
    const loaded = await loadConfig({ ...h.env, ...sentinels });
    if (!loaded.ok) throw new Error('config');
    return startFlightdeck(loaded.config, {
      logger: createLogger({ level: 'silent' }),
      listen: { port: 0, host: '127.0.0.1' },
    }).then(
      async (bot) => {
        await bot.stop();
        return undefined;
      },
      (failure: Error) => failure.message,
    );
  }

  it('names a master the sentinels do not know', async () => {
    const why = await startWith({ REDIS_SENTINELS: redis.sentinelList, REDIS_MASTER_NAME: 'no-such-master' });
    expect(why).toMatch(
      /^cannot reach Redis at master "no-such-master" through the sentinels 127\.0\.0\.1:\d+,.*: the sentinels know no master by that name \(REDIS_MASTER_NAME\)$/,
    );
  });

  it('says when no sentinel answers', async () => {
    const nowhere = `127.0.0.1:${await freePort()}`;
    const why = await startWith({ REDIS_SENTINELS: nowhere, REDIS_MASTER_NAME: redis.masterName });
    expect(why).toBe(
      `cannot reach Redis at master "${redis.masterName}" through the sentinels ${nowhere}: no sentinel answers: is Redis Sentinel running there?`,
    );
  });
});
