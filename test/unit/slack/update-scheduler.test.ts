import { describe, expect, it } from 'vitest';
import { type UpdateOutcome, UpdateScheduler } from '../../../src/slack/update-scheduler.js';

/** The scheduler's two limits with real timers on small numbers. */

function recorder() {
  const sent: Array<{ slot: string; at: number }> = [];
  const started = Date.now();
  return {
    sent,
    send: async (slot: string): Promise<UpdateOutcome> => {
      sent.push({ slot, at: Date.now() - started });
      return 'sent';
    },
  };
}

describe('UpdateScheduler', () => {
  it('sends a message at once, folds a burst of its changes into one trailing update, and remembers the last send', async () => {
    const { sent, send } = recorder();
    const scheduler = new UpdateScheduler({ intervalMs: 100, perMinute: 60_000, burst: 1_000 }, send);
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
    const scheduler = new UpdateScheduler({ intervalMs: 1_000, perMinute: 1_200, burst: 3 }, send);
    for (const slot of ['a', 'b', 'c', 'd', 'e', 'f']) scheduler.mark(slot);
    await scheduler.idle();
    expect(sent.map((entry) => entry.slot)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    // Three at once (the burst), then one every 50 ms (20 a second).
    expect(sent[2]!.at).toBeLessThan(20);
    expect(sent[3]!.at).toBeGreaterThanOrEqual(40);
    // Three more tokens take 150 ms from the burst, however late a timer fires (a late one lets the next go
    // sooner after it: the budget is counted over time, not between sends).
    expect(sent[5]!.at).toBeGreaterThanOrEqual(140);
  });

  it('re-sends a message that changed while its update was in flight', async () => {
    const sent: string[] = [];
    let release: () => void = () => {};
    const scheduler = new UpdateScheduler(
      { intervalMs: 10, perMinute: 60_000, burst: 1_000 },
      async (slot) => {
        sent.push(slot);
        if (sent.length === 1) await new Promise<void>((resolve) => (release = resolve));
        return 'sent';
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

  it('measures a message’s interval from the answer to its previous update, not from its sending', async () => {
    const sent: Array<{ at: number; answeredAt?: number }> = [];
    const scheduler = new UpdateScheduler({ intervalMs: 100, perMinute: 60_000, burst: 1_000 }, async () => {
      const entry: { at: number; answeredAt?: number } = { at: Date.now() };
      sent.push(entry);
      await new Promise((resolve) => setTimeout(resolve, 300)); // a slow answer (or one retried)
      entry.answeredAt = Date.now();
      return 'sent';
    });
    scheduler.mark('card');
    await new Promise((resolve) => setTimeout(resolve, 20));
    scheduler.mark('card');
    await scheduler.idle();
    expect(sent).toHaveLength(2);
    expect(sent[1]!.at - sent[0]!.answeredAt!).toBeGreaterThanOrEqual(95);
  });

  it('serves higher priorities first when the budget is short, first come first served within each', async () => {
    const { sent, send } = recorder();
    const scheduler = new UpdateScheduler({ intervalMs: 1_000, perMinute: 1_200, burst: 1 }, send);
    scheduler.mark('old-phase', 2); // the burst: sent at once
    scheduler.mark('report', 2);
    scheduler.mark('failure-reply', 2);
    scheduler.mark('card', 1);
    scheduler.mark('failure-reply', 1); // more urgent now: in line at its new level from now
    scheduler.mark('open-phase', 1);
    scheduler.mark('ended-card', 0);
    scheduler.mark('card', 2); // less urgent marks change nothing
    await scheduler.idle();
    expect(sent.map((entry) => entry.slot)).toEqual([
      'old-phase',
      'ended-card',
      'card',
      'failure-reply',
      'open-phase',
      'report',
    ]);
  });

  it('gives the budget back for an update that had nothing to send', async () => {
    const sent: string[] = [];
    const scheduler = new UpdateScheduler({ intervalMs: 1_000, perMinute: 60, burst: 2 }, async (slot) => {
      if (slot.startsWith('same')) return 'skipped';
      sent.push(slot);
      return 'sent';
    });
    for (const slot of ['same-1', 'same-2', 'same-3', 'a', 'b']) scheduler.mark(slot);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sent).toEqual(['a', 'b']); // one a second after the burst: both only because the skips cost nothing
  });

  it('holds every update for a 429’s Retry-After, then sends the refused one again', async () => {
    const sent: Array<{ slot: string; at: number }> = [];
    const started = Date.now();
    let limited = false;
    const scheduler = new UpdateScheduler(
      { intervalMs: 10, perMinute: 60_000, burst: 1_000 },
      async (slot): Promise<UpdateOutcome> => {
        sent.push({ slot, at: Date.now() - started });
        if (slot === 'card' && !limited) {
          limited = true;
          return { retryAfterMs: 300 };
        }
        return 'sent';
      },
    );
    scheduler.mark('card');
    await new Promise((resolve) => setTimeout(resolve, 20));
    scheduler.mark('phase');
    await scheduler.idle();
    // The refused one went back in line when it was refused, before the other changed.
    expect(sent.map((entry) => entry.slot)).toEqual(['card', 'card', 'phase']);
    expect(sent[1]!.at).toBeGreaterThanOrEqual(290);
    expect(sent[2]!.at).toBeGreaterThanOrEqual(290);
  });

  it('sends an update again after the interval when Slack did not answer', async () => {
    const sent: number[] = [];
    const started = Date.now();
    const scheduler = new UpdateScheduler({ intervalMs: 100, perMinute: 60_000, burst: 1_000 }, async () => {
      sent.push(Date.now() - started);
      return sent.length === 1 ? 'again' : 'sent';
    });
    scheduler.mark('card');
    await scheduler.idle();
    expect(sent).toHaveLength(2);
    expect(sent[1]! - sent[0]!).toBeGreaterThanOrEqual(95);
  });
});
