/**
 * When to send a message update. Two limits, both Slack's: each message at most once per `intervalMs`
 * (a burst of changes folds into one trailing update), and the whole workspace at most `perSecond`
 * updates on average with bursts of `burst` (chat.update is a Tier 3 method). Messages wait in the order
 * they first changed, so a busy deployment cannot starve a quiet one; the update itself renders the newest
 * state when it is finally sent, so waiting never shows anything stale.
 */

export interface UpdateBudget {
  /** Per message: the least time between two updates of it. */
  intervalMs: number;
  /** Across all messages: sustained updates per second… */
  perSecond: number;
  /** …and how many may go at once after a quiet spell. */
  burst: number;
}

export const DEFAULT_UPDATE_BUDGET: UpdateBudget = { intervalMs: 1_000, perSecond: 2, burst: 20 };

export class UpdateScheduler {
  /** Messages with changes not yet sent, in the order they first changed. */
  private readonly dirty = new Set<string>();
  private readonly lastSent = new Map<string, number>();
  private readonly sending = new Map<string, Promise<void>>();
  private tokens: number;
  private refilledAt: number;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly budget: UpdateBudget,
    private readonly send: (slot: string) => Promise<void>,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = budget.burst;
    this.refilledAt = now();
  }

  /** The message behind `slot` changed. */
  mark(slot: string): void {
    // Already waiting: its turn is already arranged (a timer, or the end of its current send), and the
    // send renders the newest state, so there is nothing to do. A phase's checks finishing together mark
    // the same few messages thousands of times.
    if (this.dirty.has(slot)) return;
    this.dirty.add(slot);
    this.pump();
  }

  /** Resolves when nothing is waiting or being sent. */
  async idle(): Promise<void> {
    while (this.dirty.size > 0 || this.sending.size > 0) {
      await Promise.allSettled([...this.sending.values()]);
      if (this.sending.size === 0 && this.dirty.size > 0)
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  get waiting(): number {
    return this.dirty.size;
  }

  private pump(): void {
    const now = this.now();
    this.refill(now);
    let nextReady = Number.POSITIVE_INFINITY;
    for (const slot of this.dirty) {
      if (this.sending.has(slot)) continue; // re-sent after the current send, with the newest state
      const readyAt = (this.lastSent.get(slot) ?? Number.NEGATIVE_INFINITY) + this.budget.intervalMs;
      if (readyAt > now) {
        nextReady = Math.min(nextReady, readyAt);
        continue;
      }
      if (this.tokens < 1) {
        nextReady = Math.min(nextReady, now + ((1 - this.tokens) / this.budget.perSecond) * 1_000);
        break;
      }
      this.tokens -= 1;
      this.dirty.delete(slot);
      this.lastSent.set(slot, now);
      this.start(slot);
    }
    this.forgetOld(now);
    if (nextReady < Number.POSITIVE_INFINITY) this.wakeAt(nextReady);
  }

  private start(slot: string): void {
    const sending = this.send(slot)
      .catch(() => undefined)
      .finally(() => {
        this.sending.delete(slot);
        if (this.dirty.has(slot)) this.pump();
      });
    this.sending.set(slot, sending);
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.refilledAt) / 1_000;
    this.tokens = Math.min(this.budget.burst, this.tokens + elapsed * this.budget.perSecond);
    this.refilledAt = now;
  }

  /** A message last updated longer ago than the interval is as good as never updated. */
  private forgetOld(now: number): void {
    if (this.lastSent.size < 1_000) return;
    for (const [slot, at] of this.lastSent) if (now - at > this.budget.intervalMs) this.lastSent.delete(slot);
  }

  private wakeAt(at: number): void {
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(0, at - this.now()),
    );
  }
}
