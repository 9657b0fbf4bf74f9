import { describe, expect, it } from 'vitest';
import { UpdateScheduler } from '../../../src/slack/update-scheduler.js';

/** The scheduler's two limits with real timers on small numbers. */

function recorder() {
  const sent: Array<{ slot: string; at: number }> = [];
  const started = Date.now();
  return { sent, send: async (slot: string) => void sent.push({ slot, at: Date.now() - started }) };
}

describe('UpdateScheduler', () => {
  it('sends a message at once, folds a burst of its changes into one trailing update, and remembers the last send', async () => {
    const { sent, send } = recorder();
    const scheduler = new UpdateScheduler({ intervalMs: 100, perSecond: 1_000, burst: 1_000 }, send);
    for (let index = 0; index < 20; index++) {
      scheduler.mark('phase');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await scheduler.idle();
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(sent.length).toBeLessThanOrEqual(3);
    expect(sent[1]!.at - sent[0]!.at).toBeGreaterThanOrEqual(95);
    // A change shortly after the trailing update still waits out the interval (the bug that sent at once).
    scheduler.mark('phase');
    const before = sent.length;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(sent.length).toBe(before);
    await scheduler.idle();
    expect(sent.length).toBe(before + 1);
    expect(sent.at(-1)!.at - sent.at(-2)!.at).toBeGreaterThanOrEqual(95);
  });

  it('keeps the workspace within its budget, first changed first served', async () => {
    const { sent, send } = recorder();
    const scheduler = new UpdateScheduler({ intervalMs: 1_000, perSecond: 20, burst: 3 }, send);
    for (const slot of ['a', 'b', 'c', 'd', 'e', 'f']) scheduler.mark(slot);
    await scheduler.idle();
    expect(sent.map((entry) => entry.slot)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    // Three at once (the burst), then one every 50 ms (20 a second).
    expect(sent[2]!.at).toBeLessThan(20);
    expect(sent[3]!.at).toBeGreaterThanOrEqual(40);
    expect(sent[5]!.at - sent[3]!.at).toBeGreaterThanOrEqual(90);
  });

  it('re-sends a message that changed while its update was in flight', async () => {
    const sent: string[] = [];
    let release: () => void = () => {};
    const scheduler = new UpdateScheduler(
      { intervalMs: 10, perSecond: 1_000, burst: 1_000 },
      async (slot) => {
        sent.push(slot);
        if (sent.length === 1) await new Promise<void>((resolve) => (release = resolve));
      },
    );
    scheduler.mark('card');
    scheduler.mark('card'); // changes during the first send
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(sent).toEqual(['card']);
    release();
    await scheduler.idle();
    expect(sent).toEqual(['card', 'card']);
  });
});
