/**
 * When to send a message update, within Slack's limits. Each message waits at least `intervalMs` from the
 * answer to its previous update (a burst of changes folds into one trailing update), and the workspace
 * stays within a chat.update budget of `perMinute` with bursts of `burst` (chat.update is a Tier 3 method,
 * ~50 a minute per workspace). When the budget is short, messages go by priority (0 first; the presenter
 * says what each level means) and the rest wait, their changes folding together; within a level, first
 * come (to that level) is first served, so a busy deployment cannot starve a quiet one. A 429 holds every
 * update for its Retry-After (the limit is per method) and nothing else. The update renders the newest
 * state when it is finally sent, so waiting never shows anything stale.
 */

export interface UpdateBudget {
  /** Per message: the least time from the answer to one update until the next is sent. */
  intervalMs: number;
  /** Across all messages: sustained updates per minute… */
  perMinute: number;
  /** …and how many may go at once after a quiet spell. */
  burst: number;
}

/** Under Tier 3's 50 a minute even counting the burst, so no minute ever holds more than 50. */
export const DEFAULT_UPDATE_BUDGET: UpdateBudget = { intervalMs: 1_000, perMinute: 45, burst: 5 };

/**
 * What became of one update: `sent` (Slack has it, or refused it for good), `skipped` (nothing to send: no
 * message yet, or it already shows this; its budget is given back), `again` (no answer: send it again after
 * the interval), or Slack's 429 with its Retry-After (every update waits that long, then this one goes again).
 */
export type UpdateOutcome = 'sent' | 'skipped' | 'again' | { retryAfterMs: number };

export class UpdateScheduler {
  /** Messages with changes not yet sent, with their priority. */
  private readonly dirty = new Map<string, { priority: number }>();
  /**
   * The same messages in line per priority, in the order they came to it. A pump walks only the front of
   * a line (messages being sent or updated within the interval, then one per token): with thousands
   * waiting on the budget, a walk over all of them on every change held the event loop for seconds.
   */
  private readonly lines = new Map<number, Set<string>>();
  private readonly lastDone = new Map<string, number>();
  private readonly sending = new Map<string, Promise<void>>();
  private tokens: number;
  private refilledAt: number;
  private heldUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly budget: UpdateBudget,
    private readonly send: (slot: string) => Promise<UpdateOutcome>,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = budget.burst;
    this.refilledAt = now();
  }

  /** The message behind `slot` changed; `priority` 0 goes first when the budget is short. */
  mark(slot: string, priority = 0): void {
    // Already waiting: its turn is already arranged (a timer, or the end of its current send), and the
    // send renders the newest state, so there is nothing to do unless it became more urgent. A phase's
    // checks finishing together mark the same few messages thousands of times.
    const waiting = this.dirty.get(slot);
    if (waiting && waiting.priority <= priority) return;
    this.enqueue(slot, priority);
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
    if (now < this.heldUntil) {
      this.wakeAt(this.heldUntil);
      return;
    }
    this.forgetOld(now);
    if (this.dirty.size === 0) return;
    const refilled = now + ((1 - this.tokens) * 60_000) / this.budget.perMinute;
    // Nothing can go before the next token: look again then, not at every change meanwhile.
    if (this.tokens < 1) {
      this.wakeAt(refilled);
      return;
    }
    let nextReady = Number.POSITIVE_INFINITY;
    let budgetLeft = true;
    for (const priority of [...this.lines.keys()].sort((a, b) => a - b)) {
      const line = this.lines.get(priority) as Set<string>;
      for (const slot of line) {
        if (this.sending.has(slot)) continue; // re-sent after its current send
        const readyAt = (this.lastDone.get(slot) ?? Number.NEGATIVE_INFINITY) + this.budget.intervalMs;
        if (readyAt > now) {
          nextReady = Math.min(nextReady, readyAt);
          continue;
        }
        if (this.tokens < 1) {
          nextReady = Math.min(nextReady, now + ((1 - this.tokens) * 60_000) / this.budget.perMinute);
          budgetLeft = false;
          break;
        }
        this.tokens -= 1;
        this.remove(slot);
        this.start(slot, priority);
      }
      if (!budgetLeft) break;
    }
    if (nextReady < Number.POSITIVE_INFINITY) this.wakeAt(nextReady);
  }

  private start(slot: string, priority: number): void {
    const sending = this.send(slot)
      .catch((): UpdateOutcome => 'sent') // the sender logs its own failures; do not hammer Slack
      .then((outcome) => this.finish(slot, priority, outcome))
      .finally(() => {
        this.sending.delete(slot);
        this.pump();
      });
    this.sending.set(slot, sending);
  }

  private finish(slot: string, priority: number, outcome: UpdateOutcome): void {
    const now = this.now();
    if (outcome === 'skipped') {
      this.tokens = Math.min(this.budget.burst, this.tokens + 1);
      return;
    }
    this.lastDone.set(slot, now);
    if (outcome === 'sent') return;
    if (outcome !== 'again') {
      this.heldUntil = Math.max(this.heldUntil, now + outcome.retryAfterMs);
      this.tokens = Math.min(this.tokens, 0);
    }
    if ((this.dirty.get(slot)?.priority ?? Number.POSITIVE_INFINITY) > priority) this.enqueue(slot, priority);
  }

  /** Puts a message in line at `priority`, behind those already there: its place counts from now. */
  private enqueue(slot: string, priority: number): void {
    this.remove(slot);
    this.dirty.set(slot, { priority });
    let line = this.lines.get(priority);
    if (!line) {
      line = new Set();
      this.lines.set(priority, line);
    }
    line.add(slot);
  }

  private remove(slot: string): void {
    const waiting = this.dirty.get(slot);
    if (!waiting) return;
    this.dirty.delete(slot);
    const line = this.lines.get(waiting.priority);
    line?.delete(slot);
    if (line?.size === 0) this.lines.delete(waiting.priority);
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.refilledAt);
    this.tokens = Math.min(this.budget.burst, this.tokens + (elapsed * this.budget.perMinute) / 60_000);
    this.refilledAt = now;
  }

  /** A message last updated longer ago than the interval is as good as never updated. */
  private forgetOld(now: number): void {
    if (this.lastDone.size < 1_000) return;
    for (const [slot, at] of this.lastDone) if (now - at > this.budget.intervalMs) this.lastDone.delete(slot);
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
