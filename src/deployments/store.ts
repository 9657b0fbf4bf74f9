import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Checklist } from '../checklists/schema.js';
import { fillTemplates, type TemplateValues } from '../checklists/templating.js';
import type { CheckRun } from '../checks/types.js';
import { decodeAuditEvent, encodeAuditEvent } from './audit-codec.js';
import type { DeploymentEvent } from './engine.js';
import { luaScript } from './lua.js';
import { type MessageClaim, MessageClaims, type ThreadLayout } from './message-claims.js';
import { type Deployment, isRollingBack, isTerminal } from './model.js';

/**
 * Deployments in Redis. Every write is one Lua script, so a transition (state, revision, audit events,
 * lock release) lands whole or not at all, and a stale revision is refused (compare-and-set).
 *
 * Keys, under `<prefix>:`:
 *   dep:<id>             hash  state (JSON), rev, checklist (content hash), values (template values JSON)
 *   dep:<id>:audit       stream of events (append-only), one entry each, laid out by ./audit-codec.ts
 *   dep:<id>:slack       hash  Slack message timestamps by message key (card, phase parts, summary), and
 *                        claims to post them (./message-claims.ts)
 *   dep:<id>:shown       hash  message key -> digest of the content Slack shows (./message-claims.ts)
 *   dep:<id>:layout      string  the thread's layout, threaded or folded (./message-claims.ts)
 *   dep:<id>:started     hash  item id -> the check run a worker has started
 *   dep:<id>:guards      hash  rollback trigger id -> since when its HTTP condition has been failing
 *                        (`guards`: its stored name from when triggers were called guards, kept)
 *   checklist:<sha>      the checklist as loaded (unfilled), shared by every deployment that used it
 *   lock:<service>:<env> the active deployment's id; one active deployment per service+environment (a
 *                        completed one rolling back holds it too)
 *   active               set of active deployment ids (and of completed ones rolling back)
 *   watching             sorted set of completed deployment ids whose rollback triggers still watch, by until
 *   history:<service>    sorted set of deployment ids by start time, trimmed to the newest `historyKept`
 *   followups            sorted set of "<deployment>|<phase>" follow-ups not yet open, by due time
 *   inbox                hash  requests recorded before their ack and not carried out yet (./inbox.ts)
 */

/** Loaded at start from ./scripts/ (see lua.ts); each file's header names its KEYS and ARGV. */
const CREATE_SCRIPT = luaScript('create');
const COMMIT_SCRIPT = luaScript('commit');
const LOAD_SCRIPT = luaScript('load');

export type { MessageClaim, ThreadLayout } from './message-claims.js';

export interface LoadedDeployment {
  state: Deployment;
  rev: number;
  checklist: Checklist;
}

export interface AuditEntry {
  /** The stream entry id; its first part is the Redis time in ms. */
  id: string;
  event: DeploymentEvent;
}

type CreateResult = { ok: true } | { ok: false; activeId: string };

/** `stale`: someone wrote since (decide again); `locked`: another deployment holds the service's lock. */
export type CommitResult = 'ok' | 'stale' | 'locked' | 'superseded';

interface ScriptedRedis extends Redis {
  fdCreate(...args: Array<string | number>): Promise<[number, string]>;
  fdCommit(...args: Array<string | number>): Promise<number>;
  fdLoad(key: string, rev: string): Promise<Array<string | null>>;
}

/** Script arguments for audit entries: per event, how many field strings follow, then the fields. */
function auditArgs(events: DeploymentEvent[]): string[] {
  return events.flatMap((event) => {
    const fields = encodeAuditEvent(event);
    return [String(fields.length), ...fields];
  });
}

export class DeploymentStore {
  private readonly redis: ScriptedRedis;
  /** Filled checklists by deployment id: immutable once a deployment starts, so safe to keep. */
  private readonly checklists = new Map<string, Checklist>();
  /** The last state read or written per deployment and its revision (see parsed()); as many as checklists. */
  private readonly states = new Map<string, { rev: number; state: Deployment }>();
  private static readonly CHECKLIST_CACHE_SIZE = 2_000;
  /** A claim to post a message older than this was left by a process that died while posting. */
  static readonly STALE_CLAIM_MS = MessageClaims.STALE_CLAIM_MS;
  /** Which Slack message shows what, and who may post one (message-claims.ts). */
  private readonly claims: MessageClaims;

  /** Deployments listed per service (`/deploy history`, `/deploy report <service>`); older ones drop off. */
  private readonly historyKept: number;
  /**
   * A claim to post a message older than this was left by a process that died while posting (or lost
   * Slack's answer): it is taken over. Must be well above the longest a live post takes (Slack's 30 s
   * timeout plus its wait in the channel's pace), or a slow post could be posted a second time.
   */
  readonly staleClaimMs: number;

  constructor(
    redis: Redis,
    readonly prefix = 'fd',
    options: { historyKept?: number; staleClaimMs?: number } = {},
  ) {
    this.historyKept = options.historyKept ?? 200;
    this.staleClaimMs = options.staleClaimMs ?? DeploymentStore.STALE_CLAIM_MS;
    this.redis = redis as ScriptedRedis;
    if (!('fdCreate' in redis)) {
      redis.defineCommand('fdCreate', { numberOfKeys: 7, lua: CREATE_SCRIPT });
      redis.defineCommand('fdCommit', { numberOfKeys: 8, lua: COMMIT_SCRIPT });
      redis.defineCommand('fdLoad', { numberOfKeys: 1, lua: LOAD_SCRIPT });
    }
    this.claims = new MessageClaims(redis, prefix, this.staleClaimMs);
  }

  private key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }

  lockKey(service: string, environment: string): string {
    return this.key('lock', service, environment);
  }

  /** Creates a deployment and takes its service+environment lock, or reports who holds the lock. */
  async create(
    state: Deployment,
    checklist: Checklist,
    values: TemplateValues,
    events: DeploymentEvent[],
    /** The requests this start carries out: they leave the inbox in the same write. */
    requests: readonly string[] = [],
  ): Promise<CreateResult> {
    const raw = JSON.stringify(checklist);
    const sha = createHash('sha256').update(raw).digest('hex').slice(0, 32);
    const [created, id] = await this.redis.fdCreate(
      this.lockKey(state.service, state.environment),
      this.key('dep', state.id),
      this.key('dep', state.id, 'audit'),
      this.key('active'),
      this.key('history', state.service),
      this.key('checklist', sha),
      this.key('inbox'),
      state.id,
      JSON.stringify(state),
      sha,
      JSON.stringify(values),
      raw,
      state.createdAt,
      this.historyKept,
      requests.length,
      ...requests,
      ...auditArgs(events),
    );
    return created === 1 ? { ok: true } : { ok: false, activeId: id };
  }

  async load(id: string): Promise<LoadedDeployment | undefined> {
    const cached = this.states.get(id);
    const [rev, raw, sha, values] = await this.redis.fdLoad(this.key('dep', id), String(cached?.rev ?? ''));
    if (!rev || !sha || !values) return undefined;
    const state = this.parsed(id, Number(rev), raw ?? undefined, cached);
    return { state, rev: Number(rev), checklist: await this.checklist(id, sha, values) };
  }

  /** The deployment's current revision (every write bumps it), without its state; undefined if none. */
  async revision(id: string): Promise<number | undefined> {
    const rev = await this.redis.hget(this.key('dep', id), 'rev');
    return rev === null ? undefined : Number(rev);
  }

  /**
   * What this store last read or wrote of a deployment, without asking Redis; possibly behind it (another
   * replica may have written since). For a hint only: anything that decides must load().
   */
  cached(id: string): LoadedDeployment | undefined {
    const state = this.states.get(id);
    const checklist = this.checklists.get(id);
    return state && checklist ? { state: state.state, rev: state.rev, checklist } : undefined;
  }

  /**
   * The state at `rev`: the last one this store read or wrote when Redis still holds that revision (it then
   * sends no state at all: a phase's checks each load their deployment before running and again to record
   * their verdict, bench:checks), else `raw` parsed. Every write bumps the revision (CREATE and COMMIT
   * are the only writers). Safe to share because states are never mutated: the engine copies first.
   */
  private parsed(
    id: string,
    rev: number,
    raw: string | undefined,
    cached: { rev: number; state: Deployment } | undefined,
  ): Deployment {
    if (raw === undefined) {
      if (cached?.rev !== rev) throw new Error(`deployment ${id}: Redis sent no state for revision ${rev}`);
      return cached.state;
    }
    const state = JSON.parse(raw) as Deployment;
    this.remember(id, rev, state);
    return state;
  }

  private remember(id: string, rev: number, state: Deployment): void {
    this.states.delete(id); // re-inserted last: the map's order is least recently written first
    if (this.states.size >= DeploymentStore.CHECKLIST_CACHE_SIZE) {
      const oldest = this.states.keys().next().value;
      if (oldest !== undefined) this.states.delete(oldest);
    }
    this.states.set(id, { rev, state });
  }

  private async checklist(id: string, sha: string, values: string): Promise<Checklist> {
    const cached = this.checklists.get(id);
    if (cached) return cached;
    const raw = await this.redis.get(this.key('checklist', sha));
    if (!raw) throw new Error(`deployment ${id}: checklist ${sha} is missing from Redis`);
    const checklist = fillTemplates(JSON.parse(raw) as Checklist, JSON.parse(values) as TemplateValues);
    if (this.checklists.size >= DeploymentStore.CHECKLIST_CACHE_SIZE) {
      const oldest = this.checklists.keys().next().value;
      if (oldest !== undefined) this.checklists.delete(oldest);
    }
    this.checklists.set(id, checklist);
    return checklist;
  }

  /**
   * Writes a transition if nobody else wrote since `expectedRev` (`stale` means reload and decide again),
   * holding or releasing the service's lock as the new state needs it.
   */
  async commit(
    state: Deployment,
    expectedRev: number,
    events: DeploymentEvent[],
    /** The requests this transition carries out: they leave the inbox in the same write. */
    requests: readonly string[] = [],
  ): Promise<CommitResult> {
    // A run with a verdict is no longer running: its started mark goes in the same write.
    const finished = events.flatMap((event) =>
      event.type === 'check.completed' ? [event.itemId, String(event.run)] : [],
    );
    const lock = isRollingBack(state) || !isTerminal(state) ? 'hold' : 'release';
    const written = await this.redis.fdCommit(
      this.key('dep', state.id),
      this.key('dep', state.id, 'audit'),
      this.lockKey(state.service, state.environment),
      this.key('active'),
      this.key('dep', state.id, 'started'),
      this.key('history', state.service),
      this.key('watching'),
      this.key('inbox'),
      String(expectedRev),
      JSON.stringify(state),
      lock,
      state.id,
      finished.length / 2,
      state.status === 'completed' && state.watchUntil !== undefined ? String(state.watchUntil) : '',
      requests.length,
      ...requests,
      ...finished,
      ...auditArgs(events),
    );
    if (written === 1) this.remember(state.id, expectedRev + 1, state);
    return written === 1 ? 'ok' : written === -1 ? 'locked' : written === -2 ? 'superseded' : 'stale';
  }

  /** Audit entries that change nothing (a refused attempt): appended without touching the state. */
  async appendAudit(id: string, events: DeploymentEvent[]): Promise<void> {
    const key = this.key('dep', id, 'audit');
    const pipeline = this.redis.pipeline();
    for (const event of events) pipeline.xadd(key, '*', ...encodeAuditEvent(event));
    await pipeline.exec();
  }

  /** Completed deployments whose rollback triggers still watch, and until when. */
  async watching(): Promise<Array<{ id: string; until: number }>> {
    const raw = await this.redis.zrange(this.key('watching'), '0', '-1', 'WITHSCORES');
    const watched: Array<{ id: string; until: number }> = [];
    for (let index = 0; index + 1 < raw.length; index += 2)
      watched.push({ id: raw[index] as string, until: Number(raw[index + 1]) });
    return watched;
  }

  async audit(id: string): Promise<AuditEntry[]> {
    const entries = await this.redis.xrange(this.key('dep', id, 'audit'), '-', '+');
    return entries.map(([entryId, fields]) => ({
      id: entryId,
      event: decodeAuditEvent(fields),
    }));
  }

  /** The result of one run of a check, from the audit stream (the item keeps only its latest run). */
  async checkResult(id: string, itemId: string, run: number): Promise<CheckRun | undefined> {
    const entries = await this.audit(id);
    for (const { event } of entries) {
      if (event.type === 'check.completed' && event.itemId === itemId && event.run === run)
        return event.result;
    }
    return undefined;
  }

  async activeIds(): Promise<string[]> {
    return this.redis.smembers(this.key('active'));
  }

  async activeFor(service: string, environment: string): Promise<string | undefined> {
    return (await this.redis.get(this.lockKey(service, environment))) ?? undefined;
  }

  /** Most recent first. */
  async history(service: string, limit = 10): Promise<string[]> {
    return this.redis.zrevrange(this.key('history', service), 0, limit - 1);
  }

  // --- Check runs: which current runs a worker has picked up (shown as "running", not "queued") ---

  async markCheckStarted(id: string, itemId: string, run: number): Promise<void> {
    await this.redis.hset(this.key('dep', id, 'started'), itemId, String(run));
  }

  /** Item id -> the run a worker has started. */
  async startedChecks(id: string): Promise<Record<string, number>> {
    const raw = await this.redis.hgetall(this.key('dep', id, 'started'));
    return Object.fromEntries(Object.entries(raw).map(([itemId, run]) => [itemId, Number(run)]));
  }

  // --- Rollback triggers: since when an HTTP rollback condition has been failing (Prometheus keeps its own
  // history). The key part 'guards' is the stored name of this hash (from when triggers were called guards), kept. ---

  async triggerBreaches(id: string): Promise<Record<string, number>> {
    const raw = await this.redis.hgetall(this.key('dep', id, 'guards'));
    return Object.fromEntries(Object.entries(raw).map(([triggerId, since]) => [triggerId, Number(since)]));
  }

  async setTriggerBreach(id: string, triggerId: string, since: number | undefined): Promise<void> {
    if (since === undefined) await this.redis.hdel(this.key('dep', id, 'guards'), triggerId);
    else await this.redis.hset(this.key('dep', id, 'guards'), triggerId, String(since));
  }

  // --- Follow-up phases due, across deployments (for /deploy status) ---

  async noteFollowUpDue(id: string, phaseId: string, dueAt: number): Promise<void> {
    await this.redis.zadd(this.key('followups'), dueAt, `${id}|${phaseId}`);
  }

  async forgetFollowUp(id: string, phaseId: string): Promise<void> {
    await this.redis.zrem(this.key('followups'), `${id}|${phaseId}`);
  }

  /** The next follow-ups still to open, soonest first. */
  async followUpsDue(limit = 20): Promise<Array<{ deploymentId: string; phaseId: string; dueAt: number }>> {
    const raw = await this.redis.zrangebyscore(
      this.key('followups'),
      '-inf',
      '+inf',
      'WITHSCORES',
      'LIMIT',
      0,
      limit,
    );
    const due: Array<{ deploymentId: string; phaseId: string; dueAt: number }> = [];
    for (let index = 0; index + 1 < raw.length; index += 2) {
      const [deploymentId = '', phaseId = ''] = (raw[index] as string).split('|');
      due.push({ deploymentId, phaseId, dueAt: Number(raw[index + 1]) });
    }
    return due;
  }

  // --- Slack message references: which message shows which part of a deployment (message-claims.ts) ---

  /** See MessageClaims.claim. */
  claimMessage(id: string, messageKey: string, now = Date.now()): Promise<MessageClaim | false> {
    return this.claims.claim(id, messageKey, now);
  }

  /** See MessageClaims.setMessage. */
  setMessage(
    id: string,
    messageKey: string,
    ts: string,
    shown?: string,
    claimedAt?: number,
  ): Promise<boolean> {
    return this.claims.setMessage(id, messageKey, ts, shown, claimedAt);
  }

  /** See MessageClaims.chooseLayout. */
  chooseThreadLayout(id: string, wanted: ThreadLayout): Promise<ThreadLayout> {
    return this.claims.chooseLayout(id, wanted);
  }

  threadLayout(id: string): Promise<ThreadLayout | undefined> {
    return this.claims.layout(id);
  }

  shownContent(id: string, messageKey: string): Promise<string | undefined> {
    return this.claims.shownContent(id, messageKey);
  }

  setShownContent(id: string, messageKey: string, digest: string): Promise<void> {
    return this.claims.setShownContent(id, messageKey, digest);
  }

  /** See MessageClaims.release. */
  releaseMessage(
    id: string,
    messageKey: string,
    options: { unsure?: boolean; claimedAt?: number } = {},
  ): Promise<void> {
    return this.claims.release(id, messageKey, options);
  }

  messages(id: string): Promise<Record<string, string>> {
    return this.claims.messages(id);
  }

  message(id: string, messageKey: string): Promise<string | undefined> {
    return this.claims.message(id, messageKey);
  }
}
