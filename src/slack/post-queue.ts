import { callFailure } from './call-failure.js';

/**
 * Posts into each channel at Slack's pace: one post at a time per channel, in the order asked, at most
 * `perSecond` on average with bursts of `burst` (chat.postMessage allows about one message a second per
 * channel, with short bursts). A 429 holds only that channel for its Retry-After, then the same post goes
 * again (Slack stored nothing). Channels never wait for each other, and nothing else waits for posts.
 */

export interface PostPace {
  perSecond: number;
  burst: number;
}

/** A little under Slack's own allowance, so a post delayed on its way cannot arrive in a burst. */
export const DEFAULT_POST_PACE: PostPace = { perSecond: 1, burst: 2 };

interface Channel {
  tokens: number;
  refilledAt: number;
  /** Slack answered 429: nothing goes to this channel before then. */
  heldUntil: number;
  /** The channel's last post in line; the next one starts when it has settled. */
  tail: Promise<unknown>;
  /** Posts asked for and not settled yet (the one being sent included). */
  inLine: number;
}

export class PostQueue {
  private readonly channels = new Map<string, Channel>();

  constructor(
    private readonly pace: PostPace,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs `post` at the channel's next turn and settles as it does (429s are waited out first). */
  run<T>(channel: string, post: () => Promise<T>): Promise<T> {
    let state = this.channels.get(channel);
    if (!state) {
      state = {
        tokens: this.pace.burst,
        refilledAt: this.now(),
        heldUntil: 0,
        tail: Promise.resolve(),
        inLine: 0,
      };
      this.channels.set(channel, state);
    }
    const current = state;
    current.inLine += 1;
    const turn = current.tail
      .then(() => this.send(current, post))
      .finally(() => {
        current.inLine -= 1;
      });
    current.tail = turn.catch(() => undefined);
    return turn;
  }

  /** How many posts are in line for the channel (the one being sent included): at Slack's pace, about as
   * many seconds before a post asked for now goes out. */
  waiting(channel: string): number {
    return this.channels.get(channel)?.inLine ?? 0;
  }

  private async send<T>(channel: Channel, post: () => Promise<T>): Promise<T> {
    for (;;) {
      const waitMs = this.waitMs(channel);
      if (waitMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        continue;
      }
      channel.tokens -= 1;
      try {
        return await post();
      } catch (error) {
        const failure = callFailure(error);
        if (failure.kind !== 'rate-limited') throw error;
        channel.heldUntil = this.now() + failure.retryAfterMs;
        channel.tokens = Math.min(channel.tokens, 0);
      }
    }
  }

  /** How long until the channel may take the next post. */
  private waitMs(channel: Channel): number {
    const now = this.now();
    channel.tokens = Math.min(
      this.pace.burst,
      channel.tokens + (Math.max(0, now - channel.refilledAt) / 1_000) * this.pace.perSecond,
    );
    channel.refilledAt = now;
    if (now < channel.heldUntil) return channel.heldUntil - now;
    return channel.tokens >= 1 ? 0 : Math.ceil(((1 - channel.tokens) / this.pace.perSecond) * 1_000);
  }
}
