/**
 * Slack's pace, kept by the emulator: 429 + Retry-After for a throttle a test sets (`rateLimit`), a method's
 * calls per sliding minute (Slack's tiers), and chat.postMessage's allowance per channel.
 */
import { stringArg } from './api-call.js';
import type { JsonObject } from './block-kit-rules.js';

export interface FakeSlackLimits {
  /** chat.postMessage per channel: sustained posts per second, and how many may go at once. */
  postsPerChannel?: { perSecond: number; burst: number };
  /** Calls per sliding minute for the whole workspace, by method (Slack's tiers). */
  perMinute?: Record<string, number>;
}

/**
 * Slack's documented pace: about one post per second per channel with short bursts, and Tier 3 (50 a
 * minute) for chat.update and the conversation reads (docs.slack.dev/apis/web-api/rate-limits).
 */
export const SLACK_LIMITS: FakeSlackLimits = {
  postsPerChannel: { perSecond: 1, burst: 3 },
  perMinute: { 'chat.update': 50, 'conversations.history': 50, 'conversations.replies': 50 },
};

interface Throttle {
  times: number;
  retryAfterSeconds: number;
}

interface TierLimit {
  perMinute: number;
  recent: number[];
}

/** A channel's post allowance: tokens refill at `perSecond` up to `burst`; a post takes one. */
interface PostBucket {
  tokens: number;
  refilledAt: number;
}

export class SlackPace {
  private readonly throttles = new Map<string, Throttle>();
  private readonly tierLimits = new Map<string, TierLimit>();
  private readonly postBuckets = new Map<string, PostBucket>();

  constructor(private readonly postsPerChannel: FakeSlackLimits['postsPerChannel']) {}

  /** The next `times` calls to `method` answer HTTP 429 with `Retry-After: retryAfterSeconds`. */
  throttle(method: string, throttle: { times?: number; retryAfterSeconds?: number } = {}): void {
    this.throttles.set(method, {
      times: throttle.times ?? 1,
      retryAfterSeconds: throttle.retryAfterSeconds ?? 1,
    });
  }

  /** An always-on Tier limit: more than `perMinute` calls in a sliding minute answer 429. */
  limitRate(method: string, perMinute: number): void {
    this.tierLimits.set(method, { perMinute, recent: [] });
  }

  /** Seconds to wait when this call goes over a limit (a refused call uses up no allowance). */
  retryAfter(method: string, args: JsonObject): number | undefined {
    const throttle = this.throttles.get(method);
    if (throttle && throttle.times > 0) {
      throttle.times -= 1;
      return throttle.retryAfterSeconds;
    }
    const channel = stringArg(args, 'channel');
    if (method === 'chat.postMessage' && channel !== undefined) {
      const wait = this.channelPostWait(channel);
      if (wait !== undefined) return wait;
    }
    const tier = this.tierLimits.get(method);
    if (!tier) return undefined;
    const now = Date.now();
    tier.recent = tier.recent.filter((at) => now - at < 60_000);
    if (tier.recent.length >= tier.perMinute) {
      const oldest = tier.recent[0] ?? now;
      return Math.max(1, Math.ceil((oldest + 60_000 - now) / 1000));
    }
    tier.recent.push(now);
    return undefined;
  }

  /** Takes a post from the channel's allowance, or says how many seconds until one is there. */
  private channelPostWait(channel: string): number | undefined {
    const limit = this.postsPerChannel;
    if (!limit) return undefined;
    const now = Date.now();
    const bucket = this.postBuckets.get(channel) ?? { tokens: limit.burst, refilledAt: now };
    bucket.tokens = Math.min(
      limit.burst,
      bucket.tokens + ((now - bucket.refilledAt) / 1_000) * limit.perSecond,
    );
    bucket.refilledAt = now;
    this.postBuckets.set(channel, bucket);
    if (bucket.tokens < 1) return Math.max(1, Math.ceil((1 - bucket.tokens) / limit.perSecond));
    bucket.tokens -= 1;
    return undefined;
  }
}
