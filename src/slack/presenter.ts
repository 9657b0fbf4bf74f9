import { createHash } from 'node:crypto';
import type { webApi } from '@slack/bolt';
import { type Checklist, type Item, type Phase, walkedPhases } from '../checklists/schema.js';
import { findItem, ownerRole } from '../deployments/engine.js';
import { type Deployment, isResolved, isTerminal, type PhaseStatus } from '../deployments/model.js';
import type { Catalogue, Change, ChangeListener } from '../deployments/service.js';
import { DeploymentStore, type LoadedDeployment, type MessageClaim } from '../deployments/store.js';
import { splitKey } from '../escalations/describe.js';
import type { Logger } from '../observability/logger.js';
import { serializeError } from '../observability/logger.js';
import { buildReport } from '../reports/report.js';
import { callFailure } from './call-failure.js';
import { findPostedMessage, type LookupResult, messageMetadata } from './message-metadata.js';
import { DEFAULT_POST_PACE, PostQueue } from './post-queue.js';
import { failureMessageKey, parseFailureMessageKey, renderCheckFailure } from './render/check-failure.js';
import {
  escalationMessageKey,
  levelStillWanted,
  parseEscalationMessageKey,
  renderEscalation,
} from './render/escalation.js';
import { mention, type SlackMessage } from './render/format.js';
import {
  guardAlertKey,
  parseGuardAlertKey,
  parseRollbackMessageKey,
  parseTrafficUnknownKey,
  renderCommandShift,
  renderGuardAlert,
  renderRollback,
  renderTrafficFailure,
  renderTrafficUnknown,
  rollbackMessageKey,
  trafficFailureKey,
  trafficShiftKey,
  trafficUnknownKey,
} from './render/operations.js';
import { partitionPhase, phaseMessageKey, renderPhasePart } from './render/phase-message.js';
import { REPORT_KEY, renderReportMessage } from './render/report.js';
import { CARD_KEY, renderStatusCard } from './render/status-card.js';
import { DEFAULT_UPDATE_BUDGET, type UpdateOutcome, UpdateScheduler } from './update-scheduler.js';

/**
 * Keeps Slack showing what Redis holds, at Slack's pace. New things (the status card, a phase's messages,
 * the summary, failure replies) are posted once: claimed in Redis so two replicas never both post, tagged
 * with metadata so a post whose outcome is unknown is found and adopted rather than posted again, and
 * queued per channel (PostQueue: about one a second, rendered when their turn comes). Changes to existing
 * messages go through the UpdateScheduler: each message at most once a second, the workspace within
 * chat.update's budget with the card and the open phase first, and every update renders the newest state
 * from Redis when it is sent — so a burst never loses its last change and never floods Slack. An update
 * that would change nothing is not sent.
 *
 * The client must neither retry nor wait out 429s by itself (`retryConfig: { retries: 0 }`,
 * `rejectRateLimitedCalls: true`): a retried post is a second post, and a client-wide pause holds up
 * every method for one method's limit.
 */

export interface PresenterOptions {
  /** Per message: the least time from one update's answer to the next update (default 1 s). */
  minUpdateIntervalMs?: number;
  /** Across the workspace: sustained chat.update calls per minute and burst (defaults 45, 5). */
  updatesPerMinute?: number;
  updateBurst?: number;
  /** Per channel: sustained posts per second and burst (defaults 1, 2). */
  postsPerSecond?: number;
  postBurst?: number;
  /**
   * Mentions that notify a role's people (failure replies, alerts), leaving out the people in `except`;
   * undefined for a role not defined.
   */
  mentions?: (role: string, except?: ReadonlySet<string>) => string | undefined;
}

type StartOutcome = { ok: true; ts: string } | { ok: false; error: string };

/** Posts tried per message before it is left to the next catch-up (each unanswered one is looked for). */
const POST_ATTEMPTS = 3;

export class SlackPresenter implements ChangeListener {
  private readonly updates: UpdateScheduler;
  private readonly posts: PostQueue;
  /** Per-deployment chain of posts, so a thread's messages appear in order. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly starts = new Map<string, Promise<StartOutcome>>();

  constructor(
    private readonly client: webApi.WebClient,
    private readonly store: DeploymentStore,
    private readonly catalogue: Catalogue,
    private readonly logger: Logger,
    options: PresenterOptions = {},
  ) {
    this.updates = new UpdateScheduler(
      {
        intervalMs: options.minUpdateIntervalMs ?? DEFAULT_UPDATE_BUDGET.intervalMs,
        perMinute: options.updatesPerMinute ?? DEFAULT_UPDATE_BUDGET.perMinute,
        burst: options.updateBurst ?? DEFAULT_UPDATE_BUDGET.burst,
      },
      (slot) => {
        const bar = slot.indexOf('|');
        return this.update(slot.slice(0, bar), slot.slice(bar + 1));
      },
    );
    this.posts = new PostQueue({
      perSecond: options.postsPerSecond ?? DEFAULT_POST_PACE.perSecond,
      burst: options.postBurst ?? DEFAULT_POST_PACE.burst,
    });
    const mentions = options.mentions ?? (() => undefined);
    this.mentions = (role) => mentions(role) ?? `*${role}*`;
    this.mentionsIfDefined = mentions;
  }

  private readonly mentions: (role: string) => string;
  private readonly mentionsIfDefined: (role: string, except?: ReadonlySet<string>) => string | undefined;

  onChange(change: Change): void {
    const id = change.deployment.id;
    const started = change.events.some((event) => event.type === 'deployment.started');
    let outcome: StartOutcome | undefined;
    const run = this.enqueue(id, async () => {
      outcome = await this.apply(change);
    });
    if (started)
      this.starts.set(
        id,
        run.then(() => outcome ?? { ok: false, error: 'not posted' }),
      );
  }

  /** Resolves once a new deployment's status card is posted (or could not be). */
  async started(deploymentId: string): Promise<StartOutcome> {
    const outcome = (await this.starts.get(deploymentId)) ?? { ok: false, error: 'unknown deployment' };
    this.starts.delete(deploymentId);
    return outcome;
  }

  /** Waits until every post and update queued so far has been sent (tests and graceful shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      const waiting = [...this.queues.values()];
      await Promise.allSettled(waiting);
      await this.updates.idle();
      if (this.queues.size === 0 && this.updates.waiting === 0) return;
    }
  }

  /** After a restart: post what is missing and refresh everything for active deployments. */
  async reconcile(): Promise<void> {
    for (const id of await this.store.activeIds()) await this.reconcileOne(id, true);
  }

  /** Stops the catch-up scheduled by reconcile() (the process is stopping). */
  close(): void {
    this.closed = true;
    for (const timer of this.retries) clearTimeout(timer);
    this.retries.clear();
  }

  private closed = false;
  private readonly retries = new Set<NodeJS.Timeout>();

  private async reconcileOne(id: string, retry: boolean): Promise<void> {
    const loaded = await this.store.load(id);
    if (!loaded) return;
    let missing = false;
    await this.enqueue(id, async () => {
      missing = await this.postMissing(loaded);
    });
    this.markDirty(loaded.state, loaded.checklist, 'all');
    // Still missing: a process that died while posting holds the claim. Once it is stale, post.
    if (missing && retry && !this.closed) {
      const timer = setTimeout(() => {
        this.retries.delete(timer);
        if (this.closed) return;
        void this.reconcileOne(id, false).catch((error: unknown) =>
          this.logger.error({ deploymentId: id, err: serializeError(error) }, 'reconcile failed'),
        );
      }, DeploymentStore.STALE_CLAIM_MS + 1_000);
      timer.unref();
      this.retries.add(timer);
    }
  }

  /**
   * Every so often (flightdeck.ts's sweep), in every process: posts what a process that died mid-post left
   * unposted, once its claim is stale, so a replica that is not restarted does not leave a thread without
   * its phase or escalation message. Posted messages are left alone (no re-render). `active`: the open
   * deployments as the sweep's round loaded them (each is loaded once per round); loaded here otherwise.
   */
  async catchUp(active?: readonly LoadedDeployment[]): Promise<void> {
    const ids = active ? active.map((loaded) => loaded.state.id) : await this.store.activeIds();
    for (const [index, id] of ids.entries()) {
      if (this.closed) return;
      const loaded = active ? active[index] : await this.store.load(id);
      if (!loaded) continue;
      // One read of the thread's message ids tells whether anything is missing (the usual answer: no).
      const posted = await this.store.messages(id);
      const missing = this.expectedMessages(loaded).some(
        (key) => !posted[key] || posted[key].startsWith('posting:'),
      );
      if (missing)
        await this.enqueue(id, async () => {
          await this.postMissing(loaded);
        });
    }
  }

  /** The messages postMissing() makes sure of: the card, the phases so far, the escalation levels reached. */
  private expectedMessages({ state, checklist }: LoadedDeployment): string[] {
    const phases = postedPhases(state, checklist).flatMap(({ phase }) => phaseKeys(checklist, phase.id));
    const levels = Object.entries(state.escalations ?? {}).flatMap(([key, escalation]) =>
      !levelStillWanted(state, key, escalation.chain)
        ? []
        : Array.from({ length: escalation.level }, (_, index) =>
            escalationMessageKey(key, escalation.chain, index + 1),
          ),
    );
    return [CARD_KEY, ...phases, ...levels];
  }

  /** Posts the card, the phases so far and the escalation levels reached, where missing; true if some
   * escalation message is still missing (another process holds its claim). */
  private async postMissing(loaded: LoadedDeployment): Promise<boolean> {
    const card = await this.ensureCard(loaded);
    if (!card.ok) return false;
    for (const { index } of postedPhases(loaded.state, loaded.checklist))
      await this.ensurePhase(loaded, index);
    // Levels that fired while the process that fired them died before posting them.
    let missing = false;
    for (const [key, escalation] of Object.entries(loaded.state.escalations ?? {})) {
      if (!levelStillWanted(loaded.state, key, escalation.chain)) continue;
      for (let level = 1; level <= escalation.level; level++) {
        const notify = loaded.state.escalationLevels?.[level - 1]?.notify ?? 'owner';
        await this.postEscalationLevel(loaded, key, escalation.chain, level, notify);
        const messageKey = escalationMessageKey(key, escalation.chain, level);
        if (!(await this.store.message(loaded.state.id, messageKey))) missing = true;
      }
    }
    return missing;
  }

  private enqueue(id: string, work: () => Promise<void>): Promise<void> {
    const previous = this.queues.get(id) ?? Promise.resolve();
    const next = previous.then(work).catch((error) => {
      this.logger.error({ deploymentId: id, err: serializeError(error) }, 'slack presentation failed');
    });
    this.queues.set(id, next);
    void next.then(() => {
      if (this.queues.get(id) === next) this.queues.delete(id);
    });
    return next;
  }

  private async apply(change: Change): Promise<StartOutcome | undefined> {
    const { deployment, checklist } = change;
    let outcome: StartOutcome | undefined;
    const loaded: LoadedDeployment = { state: deployment, checklist, rev: 0 };
    for (const event of change.events) {
      switch (event.type) {
        case 'deployment.started':
          outcome = await this.ensureCard(loaded);
          if (!outcome.ok) return outcome;
          break;
        case 'phase.opened': {
          // Rendered from the newest state (ensurePosted loads it): the phase may have moved on while
          // earlier posts were queued.
          const index = walkedPhases(checklist).findIndex((phase) => phase.id === event.phaseId);
          if (index >= 0) await this.ensurePhase(loaded, index);
          break;
        }
        case 'item.resolved':
        case 'item.reopened':
        case 'check.requested':
        case 'check.overridden':
        case 'signoff.signed':
        case 'signoff.withdrawn':
          this.markDirty(deployment, checklist, [
            itemMessageKey(checklist, event.itemId),
            CARD_KEY,
            ...failureKeys(deployment, event.itemId),
          ]);
          break;
        case 'check.completed': {
          this.markDirty(deployment, checklist, [
            itemMessageKey(checklist, event.itemId),
            CARD_KEY,
            ...failureKeys(deployment, event.itemId),
          ]);
          const found = findItem(checklist, event.itemId);
          if (event.outcome !== 'passed' && found?.item.kind === 'check') {
            const item = found.item;
            await this.ensurePosted(deployment.id, failureMessageKey(item.id, event.run), (fresh) =>
              renderCheckFailure(
                fresh.state,
                fresh.checklist,
                item,
                event.run,
                event.result,
                this.ownerMentions(fresh.state, item),
              ),
            );
          }
          break;
        }
        case 'phase.completed':
          this.markDirty(deployment, checklist, [...phaseKeys(checklist, event.phaseId), CARD_KEY]);
          break;
        case 'wait.started':
          this.markDirty(deployment, checklist, [itemMessageKey(checklist, event.itemId)]);
          break;
        case 'traffic.requested':
          this.markDirty(deployment, checklist, [
            ...(event.itemId ? [itemMessageKey(checklist, event.itemId)] : []),
            CARD_KEY,
          ]);
          break;
        case 'traffic.unknown':
        case 'traffic.shifted':
        case 'traffic.failed': {
          const aboutUnknown = event.type === 'traffic.unknown' || event.unknownSince !== undefined;
          this.markDirty(deployment, checklist, [
            ...(event.itemId ? [itemMessageKey(checklist, event.itemId)] : []),
            CARD_KEY,
            // One message for a shift whose outcome went unknown: posted once, then updated in place.
            ...(aboutUnknown ? [trafficUnknownKey(event.run)] : []),
          ]);
          if (event.type === 'traffic.unknown')
            await this.ensurePosted(deployment.id, trafficUnknownKey(event.run), (fresh) =>
              this.trafficUnknown(fresh, event.run),
            );
          else if (event.type === 'traffic.failed' && !aboutUnknown)
            await this.ensurePosted(deployment.id, trafficFailureKey(event.run), () =>
              renderTrafficFailure(event),
            );
          // A shift by /deploy traffic is a message of its own: who, from → to, what the checklist did.
          else if (event.type === 'traffic.shifted' && !event.itemId && !aboutUnknown)
            await this.ensurePosted(deployment.id, trafficShiftKey(event.run), (fresh) =>
              renderCommandShift(event, fresh.checklist, change.events),
            );
          break;
        }
        case 'escalation.level':
          await this.postEscalationLevel(loaded, event.key, event.chain, event.level, event.notify);
          await this.refreshEscalations(deployment, checklist, event.key);
          break;
        case 'escalation.acknowledged':
        case 'escalation.resolved':
          await this.refreshEscalations(deployment, checklist, event.key);
          break;
        case 'phase.scheduled':
          this.markDirty(deployment, checklist, [CARD_KEY]);
          break;
        case 'guards.armed':
        case 'deployment.paused':
        case 'deployment.resumed':
          this.markDirty(deployment, checklist, 'all');
          break;
        case 'rollback.requested':
          // The checklist waits while it rolls back: every message loses its buttons, and a shift whose
          // outcome was unknown will not be read any more (the rollback reads the cluster itself).
          this.markDirty(deployment, checklist, 'all');
          await this.refreshTrafficUnknown(deployment, checklist);
          await this.ensurePosted(
            deployment.id,
            rollbackMessageKey(event.run),
            (fresh) => renderRollback(fresh.state, event.run, this.deployerMentions(fresh.state)),
            { broadcast: true },
          );
          break;
        case 'rollback.unknown':
          this.markDirty(deployment, checklist, [rollbackMessageKey(event.run), CARD_KEY]);
          break;
        case 'rollback.completed':
        case 'rollback.failed':
          this.markDirty(deployment, checklist, 'all');
          this.markDirty(deployment, checklist, [rollbackMessageKey(event.run)]);
          await this.refreshGuardAlerts(deployment, checklist);
          if (event.type === 'rollback.completed')
            await this.ensurePosted(deployment.id, REPORT_KEY, (fresh) => this.report(fresh));
          break;
        case 'guard.fired':
          await this.ensurePosted(
            deployment.id,
            guardAlertKey(event.triggerId, event.at),
            (fresh) =>
              renderGuardAlert(
                fresh.state,
                fresh.checklist,
                event.triggerId,
                event.at,
                event.measured,
                this.onCallMentions(fresh.state),
              ),
            { broadcast: true },
          );
          break;
        case 'guard.cleared':
        case 'guard.overridden':
          await this.refreshGuardAlerts(deployment, checklist);
          this.markDirty(deployment, checklist, [CARD_KEY]);
          break;
        case 'guards.stopped':
        case 'deployment.superseded':
          // Its card loses Roll back… and points at the deployment that runs now.
          this.markDirty(deployment, checklist, [CARD_KEY]);
          break;
        case 'deployment.completed':
        case 'deployment.aborted':
          this.markDirty(deployment, checklist, 'all');
          await this.refreshTrafficUnknown(deployment, checklist);
          await this.ensurePosted(deployment.id, REPORT_KEY, (fresh) => this.report(fresh), {
            broadcast: true,
          });
          break;
        case 'retrospective.recorded':
          this.markDirty(deployment, checklist, [REPORT_KEY]);
          break;
      }
    }
    return outcome;
  }

  private async ensureCard(loaded: LoadedDeployment): Promise<StartOutcome> {
    const { state } = loaded;
    const existing = await this.store.message(state.id, CARD_KEY);
    if (existing) return { ok: true, ts: existing };
    const claim = await this.store.claimMessage(state.id, CARD_KEY);
    if (!claim) {
      const ts = await this.waitForMessage(state.id, CARD_KEY);
      return ts ? { ok: true, ts } : { ok: false, error: 'another replica is posting the card' };
    }
    return this.postOnce(state.id, CARD_KEY, claim, (fresh) => this.card(fresh.state, fresh.checklist));
  }

  private async ensurePhase(loaded: LoadedDeployment, index: number): Promise<void> {
    const phase = walkedPhases(loaded.checklist)[index];
    if (!phase) return;
    const parts = partitionPhase(phase).length;
    for (let part = 0; part < parts; part++) {
      await this.ensurePosted(loaded.state.id, phaseMessageKey(phase.id, part), (fresh) =>
        renderPhasePart(fresh.state, fresh.checklist, index, part, { mentions: this.mentionsIfDefined }),
      );
    }
  }

  /** Posts a thread reply once; afterwards the message is only ever updated. `render` gets the newest
   * state, loaded when the post's turn comes. */
  private async ensurePosted(
    id: string,
    key: string,
    render: (fresh: LoadedDeployment) => SlackMessage | Promise<SlackMessage>,
    options: { broadcast?: boolean } = {},
  ): Promise<void> {
    const cardTs = await this.store.message(id, CARD_KEY);
    if (!cardTs) {
      this.logger.warn({ deploymentId: id, message: key }, 'no status card to thread under; skipping post');
      return;
    }
    const claim = await this.store.claimMessage(id, key);
    if (claim)
      await this.postOnce(id, key, claim, render, { ts: cardTs, broadcast: options.broadcast ?? false });
  }

  /**
   * Posts a claimed message, or adopts the copy Slack already has. A taken-over claim (its poster died
   * mid-post) and a post Slack did not answer may have reached Slack: it is looked for there, by its
   * metadata, before it is posted (again). The message is rendered when its turn in the channel comes.
   */
  /**
   * Records the ts of a message Slack has, trying again while Redis is away (a failover, an outage) for
   * about a minute; true once recorded. If it never is, the claim stays and goes stale: the next catch-up
   * looks in the thread, finds this message by its metadata and adopts it — it is never posted again.
   */
  private async recordPosted(id: string, key: string, ts: string, digest: string): Promise<boolean> {
    // About a minute, at most 2 s apart: a failover takes seconds, and the thread should not wait longer.
    for (let attempt = 0, wait = 250; attempt < 40; attempt++, wait = Math.min(wait * 1.5, 2_000)) {
      try {
        await this.store.setMessage(id, key, ts, digest);
        return true;
      } catch (error) {
        if (attempt === 0)
          this.logger.warn(
            { deploymentId: id, message: key, ts, err: serializeError(error) },
            'posted, but could not record it yet; trying again',
          );
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
    return false;
  }

  private async postOnce(
    id: string,
    key: string,
    claim: MessageClaim,
    render: (fresh: LoadedDeployment) => SlackMessage | Promise<SlackMessage>,
    thread?: { ts: string; broadcast: boolean },
  ): Promise<StartOutcome> {
    const loaded = await this.store.load(id);
    if (!loaded) {
      await this.store.releaseMessage(id, key);
      return { ok: false, error: 'deployment_not_found' };
    }
    const { channel } = loaded.state;
    const log = { deploymentId: id, channel, message: key };
    let unsure = claim === 'taken-over';
    for (let attempt = 1; attempt <= POST_ATTEMPTS; attempt++) {
      if (unsure) {
        const found = await this.lookFor(loaded, key, thread?.ts);
        if (found === 'unknown') break;
        if (found !== 'absent') {
          this.logger.warn({ ...log, ts: found.found }, 'adopted a message Slack already had');
          await this.store.setMessage(id, key, found.found);
          // It shows what its poster rendered back then.
          this.markDirty(loaded.state, loaded.checklist, [key]);
          return { ok: true, ts: found.found };
        }
      }
      let shown = loaded;
      let digest = '';
      let ts: string;
      try {
        const posted = await this.posts.run(channel, async () => {
          shown = (await this.store.load(id)) ?? loaded;
          const message = await render(shown);
          digest = contentDigest(message);
          const args = { channel, ...message, metadata: messageMetadata(id, key) };
          return thread
            ? this.client.chat.postMessage({
                ...args,
                thread_ts: thread.ts,
                reply_broadcast: thread.broadcast,
              })
            : this.client.chat.postMessage(args);
        });
        ts = posted.ts as string;
      } catch (error) {
        const failure = callFailure(error);
        this.logger.error({ ...log, attempt, err: serializeError(error) }, 'could not post message');
        // (A 429 never gets here: the post queue waits it out and posts again.)
        if (failure.kind === 'refused') {
          await this.store.releaseMessage(id, key);
          return { ok: false, error: failure.error };
        }
        unsure = true;
        continue;
      }
      // Slack has it: from here on it is recorded, never posted again (Redis may be failing over).
      if (!(await this.recordPosted(id, key, ts, digest))) return { ok: true, ts };
      // A change may have landed while we posted (here or on another replica, whose update found no
      // message yet): make sure the message catches up. Only the revision is read to find out.
      if ((await this.store.revision(id)) !== shown.rev) this.markDirty(shown.state, shown.checklist, [key]);
      return { ok: true, ts };
    }
    // Slack may hold it: the claim stays stale, so whoever posts next (the catch-up) looks first.
    await this.store.releaseMessage(id, key, { unsure: true });
    return { ok: false, error: 'slack_did_not_answer' };
  }

  /** Looks in Slack for a message whose post may have got there. Without the scope to look, says absent. */
  private async lookFor(
    loaded: LoadedDeployment,
    key: string,
    threadTs: string | undefined,
  ): Promise<LookupResult> {
    const { state } = loaded;
    try {
      return await findPostedMessage(this.client, {
        channel: state.channel,
        deploymentId: state.id,
        key,
        since: state.createdAt,
        ...(threadTs ? { threadTs } : {}),
      });
    } catch (error) {
      // Slack refused the lookup (an installation without channels:history): post, as before it could look.
      this.logger.warn(
        { deploymentId: state.id, message: key, err: serializeError(error) },
        'could not look for the message in Slack (is channels:history granted?); posting it',
      );
      return 'absent';
    }
  }

  private async waitForMessage(id: string, key: string): Promise<string | undefined> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const ts = await this.store.message(id, key);
      if (ts) return ts;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return undefined;
  }

  /** A level's call for help in the thread, once (mentioning whom it calls, so they are notified). */
  private async postEscalationLevel(
    loaded: LoadedDeployment,
    key: string,
    chain: number,
    level: number,
    notify: string,
  ): Promise<void> {
    // A call for help that nobody needs any more is not posted: the timer fired, but by the time its
    // message would go out the wait had ended (or someone took it).
    const latest = await this.store.load(loaded.state.id);
    if (!latest || !levelStillWanted(latest.state, key, chain)) return;
    await this.ensurePosted(loaded.state.id, escalationMessageKey(key, chain, level), (fresh) => {
      const called = this.escalationCallees(fresh.state, fresh.checklist, key, notify);
      return renderEscalation(fresh.state, fresh.checklist, key, chain, level, called, Date.now());
    });
  }

  /** Escalation messages about one cause: re-rendered as the chain climbs, is acknowledged or resolves. */
  private async refreshEscalations(deployment: Deployment, checklist: Checklist, key: string): Promise<void> {
    const prefix = `escalation:${key}:`;
    const keys = Object.keys(await this.store.messages(deployment.id)).filter((candidate) =>
      candidate.startsWith(prefix),
    );
    if (keys.length > 0) this.markDirty(deployment, checklist, keys);
  }

  /** Who a level calls: `owner` means the owners of what waits (falling back to the deployers). */
  private escalationCallees(state: Deployment, checklist: Checklist, key: string, notify: string): string {
    if (notify !== 'owner')
      return uniqueMentions([this.mentionsIfDefined(notify) ?? this.deployerMentions(state)]);
    const [kind, id] = splitKey(key);
    const items =
      kind === 'phase'
        ? (walkedPhases(checklist).find((phase) => phase.id === id)?.items ?? []).filter(
            (item) => item.required && !isResolved(state.items[item.id]),
          )
        : kind === 'check'
          ? walkedPhases(checklist)
              .flatMap((phase) => phase.items)
              .filter((item) => item.id === id)
          : [];
    const roles = [
      ...new Set(items.map((item) => ownerRole(item)).filter((role): role is string => role !== undefined)),
    ];
    const mentions = roles
      .map((role) => this.mentionsIfDefined(role))
      .filter((text): text is string => text !== undefined);
    return mentions.length > 0 ? uniqueMentions(mentions) : this.deployerMentions(state);
  }

  /** Guard alerts already posted for this deployment: re-rendered when a trigger clears or it rolls back. */
  private async refreshGuardAlerts(deployment: Deployment, checklist: Checklist): Promise<void> {
    const keys = Object.keys(await this.store.messages(deployment.id)).filter((key) =>
      parseGuardAlertKey(key),
    );
    if (keys.length > 0) this.markDirty(deployment, checklist, keys);
  }

  /** Messages about shifts whose outcome went unknown: re-rendered when nobody will read for them any more. */
  private async refreshTrafficUnknown(deployment: Deployment, checklist: Checklist): Promise<void> {
    const keys = Object.keys(await this.store.messages(deployment.id)).filter(
      (key) => parseTrafficUnknownKey(key) !== undefined,
    );
    if (keys.length > 0) this.markDirty(deployment, checklist, keys);
  }

  /** The message about a shift whose outcome went unknown, from the newest state and the audit. */
  private async trafficUnknown(fresh: LoadedDeployment, run: number): Promise<SlackMessage> {
    const audit = await this.store.audit(fresh.state.id);
    return renderTrafficUnknown(
      fresh.state,
      run,
      audit.map((entry) => entry.event),
    );
  }

  /** People who may roll back: the deployers' roles, and the requester. */
  private deployerMentions(state: Deployment): string {
    // `anyone` names no one to call: the requester is called.
    const roles = state.deployers.flatMap((role) => this.mentionsIfDefined(role) ?? []);
    return uniqueMentions([...roles, mention(state.requestedBy)]);
  }

  /** Who hears about a trigger that fired: the on-call role when there is one, else the deployers. */
  private onCallMentions(state: Deployment): string {
    return this.mentionsIfDefined('on-call') ?? this.deployerMentions(state);
  }

  /** Who a failure reply notifies: the item's owner role, else the person who started the deployment. */
  private ownerMentions(state: Deployment, item: Item): string {
    const owner = ownerRole(item);
    return owner ? this.mentions(owner) : mention(state.requestedBy);
  }

  /** The report from the newest state and the whole audit stream. */
  private async report(fresh: LoadedDeployment): Promise<SlackMessage> {
    const id = fresh.state.id;
    const audit = await this.store.audit(id);
    return renderReportMessage(
      buildReport(
        fresh.state,
        fresh.checklist,
        audit.map((entry) => entry.event),
        Date.now(),
      ),
    );
  }

  private card(state: Deployment, checklist: Checklist): SlackMessage {
    const service = this.catalogue.services[state.service];
    return renderStatusCard(state, checklist, { namespace: service?.namespace, links: service?.links });
  }

  // --- coalesced updates ---

  private markDirty(deployment: Deployment, checklist: Checklist, keys: string[] | 'all'): void {
    const list =
      keys === 'all'
        ? [
            CARD_KEY,
            ...walkedPhases(checklist)
              .filter((phase) => isShown(deployment.phases[phase.id]?.status))
              .flatMap((phase) => phaseKeys(checklist, phase.id)),
            ...Object.keys(deployment.items).flatMap((itemId) => failureKeys(deployment, itemId)),
          ]
        : keys;
    for (const key of list)
      this.updates.mark(`${deployment.id}|${key}`, updatePriority(deployment, checklist, key));
    // After the end the report is posted, and follow-ups (or a late rollback) still change its figures.
    if (isTerminal(deployment) && !list.includes(REPORT_KEY))
      this.updates.mark(`${deployment.id}|${REPORT_KEY}`, updatePriority(deployment, checklist, REPORT_KEY));
  }

  private async update(id: string, key: string): Promise<UpdateOutcome> {
    try {
      const ts = await this.store.message(id, key);
      if (!ts) return 'skipped'; // not posted yet: the post renders the newest state itself
      const loaded = await this.store.load(id);
      if (!loaded) return 'skipped';
      const message = await this.render(loaded, key);
      if (!message) return 'skipped';
      const digest = contentDigest(message);
      if (digest === (await this.store.shownContent(id, key))) return 'skipped';
      await this.client.chat.update({ channel: loaded.state.channel, ts, ...message });
      await this.store.setShownContent(id, key, digest);
      return 'sent';
    } catch (error) {
      const failure = callFailure(error);
      if (failure.kind === 'rate-limited') return { retryAfterMs: failure.retryAfterMs };
      this.logger.error(
        { deploymentId: id, message: key, err: serializeError(error) },
        'could not update message',
      );
      // Without an answer it may not have landed: an update can safely be sent again.
      return failure.kind === 'unknown' ? 'again' : 'sent';
    }
  }

  private async render(loaded: LoadedDeployment, key: string): Promise<SlackMessage | undefined> {
    if (key === CARD_KEY) return this.card(loaded.state, loaded.checklist);
    if (key === REPORT_KEY) return this.report(loaded);
    const escalation = parseEscalationMessageKey(key);
    if (escalation) {
      const level = loaded.state.escalationLevels?.[escalation.level - 1];
      const called = this.escalationCallees(
        loaded.state,
        loaded.checklist,
        escalation.key,
        level?.notify ?? 'owner',
      );
      return renderEscalation(
        loaded.state,
        loaded.checklist,
        escalation.key,
        escalation.chain,
        escalation.level,
        called,
        Date.now(),
      );
    }
    const unknownRun = parseTrafficUnknownKey(key);
    if (unknownRun !== undefined) return this.trafficUnknown(loaded, unknownRun);
    const rollbackRun = parseRollbackMessageKey(key);
    if (rollbackRun !== undefined)
      return renderRollback(loaded.state, rollbackRun, this.deployerMentions(loaded.state));
    const alert = parseGuardAlertKey(key);
    if (alert) {
      const measured = (await this.store.audit(loaded.state.id)).find(
        ({ event }) =>
          event.type === 'guard.fired' && event.triggerId === alert.triggerId && event.at === alert.firedAt,
      )?.event;
      const text = measured?.type === 'guard.fired' ? measured.measured : '';
      return renderGuardAlert(
        loaded.state,
        loaded.checklist,
        alert.triggerId,
        alert.firedAt,
        text,
        this.onCallMentions(loaded.state),
      );
    }
    const failure = parseFailureMessageKey(key);
    if (failure) {
      const found = findItem(loaded.checklist, failure.itemId);
      if (found?.item.kind !== 'check') return undefined;
      const result = await this.store.checkResult(loaded.state.id, failure.itemId, failure.run);
      if (!result) return undefined;
      return renderCheckFailure(
        loaded.state,
        loaded.checklist,
        found.item,
        failure.run,
        result,
        this.ownerMentions(loaded.state, found.item),
      );
    }
    const match = /^phase:(.+):(\d+)$/.exec(key);
    if (!match) return undefined;
    const phases = walkedPhases(loaded.checklist);
    const index = phases.findIndex((phase) => phase.id === match[1]);
    if (index < 0) return undefined;
    const hasChecks = phases[index]?.items.some((item) => item.kind === 'check');
    const startedChecks = hasChecks ? await this.store.startedChecks(loaded.state.id) : {};
    return renderPhasePart(loaded.state, loaded.checklist, index, Number(match[2]), {
      startedChecks,
      mentions: this.mentionsIfDefined,
    });
  }

  /** A worker picked up a check run: show it as running rather than queued. The update renders from
   * Redis when it is sent, so a deployment the worker has just loaded serves to find the message. */
  async noteCheckStarted(deploymentId: string, itemId: string, known?: LoadedDeployment): Promise<void> {
    const loaded = known ?? (await this.store.load(deploymentId));
    if (loaded) this.markDirty(loaded.state, loaded.checklist, [itemMessageKey(loaded.checklist, itemId)]);
  }
}

/** What a message shows, as a short digest: an update that would not change it is not sent. */
function contentDigest(message: SlackMessage): string {
  return createHash('sha256').update(JSON.stringify(message)).digest('base64url').slice(0, 22);
}

/**
 * Which updates go first when chat.update's budget is short. 0: messages that will not change again — every
 * message of a deployment that has ended, and the message of a completed phase: one update finishes each
 * (until it lands it shows as pending what is done), and nothing supersedes it. 1: what people are looking
 * at in a running deployment, the card and the open phase. 2: the rest, which fold their changes together
 * meanwhile.
 */
function updatePriority(deployment: Deployment, checklist: Checklist, key: string): number {
  if (isTerminal(deployment)) return 0;
  if (key === CARD_KEY) return 1;
  const match = /^phase:(.+):\d+$/.exec(key);
  const phase = match ? walkedPhases(checklist).find((candidate) => candidate.id === match[1]) : undefined;
  const status = phase ? deployment.phases[phase.id]?.status : undefined;
  return status === 'completed' ? 0 : status === 'active' ? 1 : 2;
}

/** Failure replies an item may have (one per failed run so far); unposted ones are skipped on update. */
function failureKeys(deployment: Deployment, itemId: string): string[] {
  const runs = deployment.items[itemId]?.run ?? 0;
  return Array.from({ length: runs }, (_, index) => failureMessageKey(itemId, index + 1));
}

/** The message key of the phase part that shows an item. */
function itemMessageKey(checklist: Checklist, itemId: string): string {
  const found = findItem(checklist, itemId);
  if (!found) return CARD_KEY;
  const part = partitionPhase(found.phase).findIndex((items) => items.some((item) => item.id === itemId));
  return phaseMessageKey(found.phase.id, Math.max(0, part));
}

function phaseKeys(checklist: Checklist, phaseId: string): string[] {
  const phase = walkedPhases(checklist).find((candidate) => candidate.id === phaseId);
  return phase ? partitionPhase(phase).map((_, part) => phaseMessageKey(phaseId, part)) : [];
}

/** A phase whose message is in the thread: it has opened (rollback phases have no state until then). */
function isShown(status: PhaseStatus | undefined): boolean {
  return status !== undefined && status !== 'pending';
}

/** The phases whose messages the thread should hold: those up to the open flow phase, and every rollback
 * phase that has opened. */
function postedPhases(state: Deployment, checklist: Checklist): Array<{ phase: Phase; index: number }> {
  const last = Math.min(state.currentPhase, checklist.phases.length - 1);
  return walkedPhases(checklist)
    .map((phase, index) => ({ phase, index }))
    .filter(
      ({ phase, index }) =>
        index <= last || (index >= checklist.phases.length && isShown(state.phases[phase.id]?.status)),
    );
}

/** Mentions joined once each: someone in two of the roles called (or the requester in one) is named once. */
function uniqueMentions(parts: readonly string[]): string {
  return [...new Set(parts.flatMap((part) => part.split(/\s+/)).filter(Boolean))].join(' ');
}
