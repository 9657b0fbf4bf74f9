import type { Redis } from 'ioredis';
import { luaScript } from './lua.js';

/**
 * Which Slack message shows which part of a deployment, and who may post one that is not posted yet.
 *
 * Keys, under `<prefix>:` (see store.ts for the rest):
 *   dep:<id>:slack   hash  message key -> the message's Slack ts, or `posting:<ms>` while a poster holds
 *                    the claim it made at that time
 *   dep:<id>:shown   hash  message key -> digest of the content Slack shows (updates that change nothing
 *                    are not sent, whichever replica sent the last one)
 *   dep:<id>:layout  string  how the thread shows the phases (ThreadLayout), chosen once before the card
 *
 * A message is posted once across replicas: a poster first claims its key (scripts/claim-message.lua, one
 * compare-and-set), then records the ts Slack gave it (setMessage) or gives the claim up (release).
 */

/**
 * How a deployment's thread shows its phases: `threaded`, a message per phase under the card; `folded`,
 * the open phase inside the card itself (a busy channel: fewer posts where Slack allows about one a
 * second). Chosen once, before the card is posted, and kept for the deployment's life.
 */
export type ThreadLayout = 'threaded' | 'folded';

/** What a claim to post a message got: see scripts/claim-message.lua. */
export type MessageClaim = 'new' | 'taken-over';

const CLAIM_SCRIPT = luaScript('claim-message');
const RELEASE_SCRIPT = luaScript('release-message');
const RECORD_SCRIPT = luaScript('record-message');

interface ClaimingRedis extends Redis {
  fdClaim(key: string, field: string, staleBefore: number, now: number): Promise<MessageClaim | null>;
  fdRelease(key: string, field: string, claim: string, unsure: '0' | '1'): Promise<0 | 1>;
  fdRecord(key: string, field: string, ts: string): Promise<0 | 1>;
}

/** The value a claim made at `claimedAt` holds (see scripts/claim-message.lua). */
function claimValue(claimedAt: number): string {
  return `posting:${claimedAt}`;
}

export class MessageClaims {
  /** A claim to post a message older than this was left by a process that died while posting. */
  static readonly STALE_CLAIM_MS = 60_000;
  private readonly redis: ClaimingRedis;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    /** Must stay well above the longest a live post can take, its wait in the channel's queue included. */
    private readonly staleClaimMs = MessageClaims.STALE_CLAIM_MS,
  ) {
    this.redis = redis as ClaimingRedis;
    if (!('fdClaim' in redis)) redis.defineCommand('fdClaim', { numberOfKeys: 1, lua: CLAIM_SCRIPT });
    if (!('fdRelease' in redis)) redis.defineCommand('fdRelease', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
    if (!('fdRecord' in redis)) redis.defineCommand('fdRecord', { numberOfKeys: 1, lua: RECORD_SCRIPT });
  }

  private slackKey(id: string): string {
    return `${this.prefix}:dep:${id}:slack`;
  }

  private shownKey(id: string): string {
    return `${this.prefix}:dep:${id}:shown`;
  }

  private layoutKey(id: string): string {
    return `${this.prefix}:dep:${id}:layout`;
  }

  /** The thread's layout as first chosen: `wanted` unless a replica (or an earlier try) chose already. */
  async chooseLayout(id: string, wanted: ThreadLayout): Promise<ThreadLayout> {
    const set = await this.redis.set(this.layoutKey(id), wanted, 'NX');
    return set === 'OK' ? wanted : ((await this.layout(id)) ?? wanted);
  }

  /** The thread's layout, once chosen (threads from before layouts were chosen have none: threaded). */
  async layout(id: string): Promise<ThreadLayout | undefined> {
    const value = await this.redis.get(this.layoutKey(id));
    return value === 'threaded' || value === 'folded' ? value : undefined;
  }

  /**
   * Claims the right to post a message once across replicas; false when it is posted or someone holds a
   * fresh claim. A claim older than `staleClaimMs` is taken to be from a process that died mid-post and may
   * be taken over ('taken-over'): that poster may have got the message into Slack, so look there first.
   */
  async claim(id: string, messageKey: string, now = Date.now()): Promise<MessageClaim | false> {
    const claim = await this.redis.fdClaim(this.slackKey(id), messageKey, now - this.staleClaimMs, now);
    return claim ?? false;
  }

  /**
   * Gives up a claim whose post failed, so a later attempt may post. `unsure`: Slack may have stored the
   * message (its answer was lost), so the claim is left stale and the next poster looks in Slack first.
   * `claimedAt` (the `now` of the claim): only while the claim is still that one — a poster that was slow
   * past `staleClaimMs` must not free the claim of whoever took it over. Without it: whatever is there.
   */
  async release(
    id: string,
    messageKey: string,
    options: { unsure?: boolean; claimedAt?: number } = {},
  ): Promise<void> {
    if (options.claimedAt !== undefined) {
      await this.redis.fdRelease(
        this.slackKey(id),
        messageKey,
        claimValue(options.claimedAt),
        options.unsure ? '1' : '0',
      );
      return;
    }
    if (options.unsure) await this.redis.hset(this.slackKey(id), messageKey, 'posting:0');
    else await this.redis.hdel(this.slackKey(id), messageKey);
  }

  /**
   * The message is in Slack; `shown`: a digest of what it shows (see shownContent). `claimedAt`: it was
   * posted under the claim made then, and is recorded unless another message has been recorded for the
   * key since (false: this one is a second copy, for the caller to delete). Without it: recorded as is
   * (a message adopted from the thread).
   */
  async setMessage(
    id: string,
    messageKey: string,
    ts: string,
    shown?: string,
    claimedAt?: number,
  ): Promise<boolean> {
    if (claimedAt !== undefined && (await this.redis.fdRecord(this.slackKey(id), messageKey, ts)) === 0)
      return false;
    await Promise.all([
      claimedAt === undefined ? this.redis.hset(this.slackKey(id), messageKey, ts) : undefined,
      shown === undefined ? undefined : this.setShownContent(id, messageKey, shown),
    ]);
    return true;
  }

  /** A digest of the content the message last got (posted or updated), if known. */
  async shownContent(id: string, messageKey: string): Promise<string | undefined> {
    return (await this.redis.hget(this.shownKey(id), messageKey)) ?? undefined;
  }

  async setShownContent(id: string, messageKey: string, digest: string): Promise<void> {
    await this.redis.hset(this.shownKey(id), messageKey, digest);
  }

  /** Every field of the deployment's message hash: posted messages' ts and claims (`posting:<ms>`). */
  async messages(id: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.slackKey(id));
  }

  /** The message's ts once it is posted (not while it is only claimed). */
  async message(id: string, messageKey: string): Promise<string | undefined> {
    const ts = await this.redis.hget(this.slackKey(id), messageKey);
    return ts && !ts.startsWith('posting:') ? ts : undefined;
  }
}
