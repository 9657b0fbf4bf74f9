import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Checklist } from '../../src/checklists/schema.js';
import { SlackDriver } from '../../src/sandbox/slack/slack-driver.js';
import { ACTION } from '../../src/slack/action-ids.js';
import { type Harness, SIGNING_SECRET, startHarness } from '../support/harness.js';
import { messageOf, startDeployment, waitUntil } from './walk.js';

/**
 * A bot killed with SIGKILL (no shutdown, nothing flushed) loses no click it had acknowledged: each is in
 * Redis before its ack, and another process takes it over once the dead one's heartbeat runs out. The
 * victim is a real process (test/support/bot-process.ts); the survivor runs in this one. Both share Redis
 * and the fake Slack.
 */

const FAST_INBOX = { inbox: { heartbeatTtlMs: 1_000, heartbeatEveryMs: 250 }, inboxRecoveryMs: 200 };
const ITEMS = 12;

let h: Harness;
let checklist: Checklist;
const victims: ChildProcess[] = [];

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fd-crash-'));
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
            ...Array.from({ length: ITEMS }, (_, index) => ({
              id: `note-${index}`,
              kind: 'manual',
              title: `Note ${index}`,
              owner: 'anyone',
            })),
          ],
        },
      ],
    }),
  );
  const configPath = join(dir, 'flightdeck.yaml');
  await writeFile(
    configPath,
    stringify({
      escalation: { levels: [] },
      services: { notes: { checklist: 'notes', channel: 'C0NOTES', deployers: ['deployer'] } },
      roles: { deployer: { users: ['U0DEPLOYER'] } },
    }),
  );
  h = await startHarness({ configPath, ...FAST_INBOX });
  checklist = h.bot.context.catalogue.checklists.get('notes') as Checklist;
}, 60_000);

afterAll(async () => {
  for (const victim of victims) if (victim.exitCode === null) victim.kill('SIGKILL');
  await h?.stop();
});

afterEach(async () => {
  const id = await h.bot.store.activeFor('notes', 'production');
  if (id)
    await h.bot.deployments.execute(id, {
      type: 'abort',
      actor: 'flightdeck',
      actorRoles: [],
      reason: 'next test',
      at: Date.now(),
    });
  await h.bot.context.presenter.idle();
});

/** A bot process on the harness's Redis keys and fake Slack; resolves with a driver for its receiver. */
async function startVictim(): Promise<{ child: ChildProcess; driver: SlackDriver }> {
  // One process (node with tsx's loader), so SIGKILL really kills the bot, not a wrapper around it.
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/bot-process.ts'], {
    env: { ...process.env, ...h.env, LOG_LEVEL: 'warn', FLIGHTDECK_TEST_OPTIONS: JSON.stringify(FAST_INBOX) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  victims.push(child);
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
  return { child, driver };
}

describe('a bot killed with SIGKILL', () => {
  it('loses no acknowledged click: the clicks it acknowledged are carried out by another process', async () => {
    const victim = await startVictim();
    const { id } = await startDeployment(h, 'notes', '1.0.0', 'U0DEPLOYER');
    const items = checklist.phases[0]!.items.filter((item) => item.id !== 'hold').slice(0, 6);
    const where = await messageOf(h, id, checklist, items[0]!);

    // Six Done clicks at once; the bot dies the moment the first answer (an ack) arrives.
    let killed = false;
    const clicks = items.map((item, index) =>
      victim.driver
        .clickButton(`U0PERSON${index}`, where, { actionId: ACTION.itemDone, value: `${id}|${item.id}` })
        .then(
          (response) => {
            if (!killed && response.status === 200) {
              killed = true;
              victim.child.kill('SIGKILL');
            }
            return { item: item.id, status: response.status };
          },
          () => ({ item: item.id, status: 0 }), // connection reset: never acknowledged; Slack shows an error
        ),
    );
    const answers = await Promise.all(clicks);
    const acknowledged = answers.filter((answer) => answer.status === 200).map((answer) => answer.item);
    expect(acknowledged.length).toBeGreaterThan(0);

    // The survivor takes the dead process's requests over and carries them out.
    await waitUntil(
      async () => {
        const { state } = (await h.bot.store.load(id))!;
        return acknowledged.every((itemId) => state.items[itemId]?.status === 'done') || undefined;
      },
      `the ${acknowledged.length} acknowledged clicks to be carried out`,
      15_000,
    );
    // …and nothing is left in the inbox.
    await waitUntil(
      async () => (await h.bot.redis.hlen(`${h.prefix}:inbox`)) === 0 || undefined,
      'an empty inbox',
    );
  }, 60_000);
});
