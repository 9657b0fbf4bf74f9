import { createHash } from 'node:crypto';
import type { webApi } from '@slack/bolt';
import { walkedPhases } from '../checklists/phases.js';
import type { Checklist, Item } from '../checklists/schema.js';
import { findItem, ownerRole } from '../deployments/engine.js';
import { type Deployment, isResolved, isTerminal } from '../deployments/model.js';
import type { Catalogue, Change, ChangeListener } from '../deployments/service.js';
import type { DeploymentStore, LoadedDeployment, MessageClaim, ThreadLayout } from '../deployments/store.js';
import { splitKey } from '../escalations/describe.js';
import type { Logger } from '../observability/logger.js';
import { serializeError } from '../observability/logger.js';
import { buildReport } from '../reports/report.js';
import { callFailure } from './call-failure.js';
import { findPostedMessage, type LookupResult, messageMetadata } from './message-metadata.js';
import { DEFAULT_POST_PACE, PostQueue } from './post-queue.js';
import { parseFailureMessageKey, renderCheckFailure } from './render/check-failure.js';
import {
  escalationMessageKey,
  levelStillWanted,
  parseEscalationMessageKey,
  renderEscalation,
} from './render/escalation.js';
import { canFold, renderFoldedCard } from './render/folded-card.js';
import { mention, type SlackMessage } from './render/format.js';
import {
  parseRollbackMessageKey,
  parseTrafficUnknownKey,
  parseTriggerAlertKey,
  renderCommandShift,
  renderRollback,
  renderTrafficFailure,
  renderTrafficUnknown,
  renderTriggerAlert,
} from './render/operations.js';
import { partitionPhase, phaseMessageKey, renderPhasePart } from './render/phase-message.js';
import { REPORT_KEY, renderReportMessage } from './render/report.js';
import { CARD_KEY, renderStatusCard } from './render/status-card.js';
import {
  expectedMessages,
  foldIntoCard,
  itemMessageKey,
  keysToUpdate,
  planChange,
  postedPhases,
  type ReplyMessage,
  type ThreadStep,
  updatePriority,
} from './thread-plan.js';
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
   * A new deployment's phases fold into its card (ThreadLayout `folded`) when its channel already has this
   * many posts in line, about as many seconds of Slack's pace (default 8; Infinity: never; 0: always).
   * From flightdeck.yaml's `fold_when_posts_waiting`.
   */
  foldWhenPostsWaiting?: number;
  /**
   * Mentions that notify a role's people (failure replies, alerts), leaving out the people in `except`;
   * undefined for a role not defined.
   */
  mentions?: (role: string, except?: ReadonlySet<string>) => string | undefined;
}

type StartOutcome = { ok: true; ts: string } | { ok: false; error: string };

/** See PresenterOptions.foldWhenPostsWaiting. */
export const DEFAULT_FOLD_WHEN_POSTS_WAITING = 8;
/** Layouts remembered per deployment (each is one Redis read to learn again). */
const LAYOUTS_REMEMBERED = 10_000;

/** Posts tried per message before it is left to the next catch-up (each unanswered one is looked for). */
const POST_ATTEMPTS = 3;
/** Waits for our own side (Redis) before a post, 250 ms growing to 2 s apart: about a minute in all. */
const OUR_SIDE_RETRIES = 40;

export class SlackPresenter implements ChangeListener {
  private readonly updates: UpdateScheduler;
  private readonly posts: PostQueue;
  /** Per-deployment chain of posts, so a thread's messages appear in order. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly starts = new Map<string, Promise<StartOutcome>>();
  /** Each deployment's thread layout, once read or chosen (it never changes). */
  private readonly layouts = new Map<string, ThreadLayout>();
  private readonly foldWhenPostsWaiting: number;

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
    this.foldWhenPostsWaiting = options.foldWhenPostsWaiting ?? DEFAULT_FOLD_WHEN_POSTS_WAITING;
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

  /**
   * After a restart: post what is missing and refresh everything for active deployments, and for those
   * that ended lately without their report in the thread (the process that ended them died before it told
   * Slack: the card would say "in progress" for ever).
   */
  async reconcile(): Promise<void> {
    for (const id of await this.deploymentsToCatchUp()) await this.reconcileOne(id, true);
  }

  /** How long after its end a deployment's thread is still completed by a catch-up. */
  private static readonly ENDED_CATCH_UP_MS = 24 * 60 * 60_000;
  /** Per service, how many of its newest deployments a catch-up looks at for a missing report. */
  private static readonly ENDED_PER_SERVICE = 3;

  /**
   * Active deployments, then the newest few per service whose report is not in the thread; a thread that is
   * complete costs one read of its report's ts. Which of them ended too long ago is told once loaded.
   */
  private async deploymentsToCatchUp(): Promise<string[]> {
    const active = await this.store.activeIds();
    return [...active, ...(await this.endedWithoutReport(new Set(active)))];
  }

  /** The newest few deployments per service, not in `skip`, whose report is not in the thread. */
  private async endedWithoutReport(skip: ReadonlySet<string>): Promise<string[]> {
    const found: string[] = [];
    for (const service of Object.keys(this.catalogue.services))
      for (const id of await this.store.history(service, SlackPresenter.ENDED_PER_SERVICE)) {
        if (skip.has(id) || found.includes(id) || (await this.store.message(id, REPORT_KEY))) continue;
        found.push(id);
      }
    return found;
  }

  /** An ended deployment is caught up only for a day after its end; an active one always. */
  private stillCaughtUp(state: Deployment): boolean {
    return !isTerminal(state) || (state.endedAt ?? 0) > Date.now() - SlackPresenter.ENDED_CATCH_UP_MS;
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
    if (!loaded || !this.stillCaughtUp(loaded.state)) return;
    let missing = false;
    await this.enqueue(id, async () => {
      missing = await this.postMissing(loaded);
    });
    await this.markDirty(loaded.state, loaded.checklist, 'all');
    // Still missing: a process that died while posting holds the claim. Once it is stale, post.
    if (missing && retry && !this.closed) {
      const timer = setTimeout(() => {
        this.retries.delete(timer);
        if (this.closed) return;
        void this.reconcileOne(id, false).catch((error: unknown) =>
          this.logger.error({ deploymentId: id, err: serializeError(error) }, 'reconcile failed'),
        );
      }, this.store.staleClaimMs + 1_000);
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
    const given = new Map((active ?? []).map((loaded) => [loaded.state.id, loaded]));
    const ids = active
      ? [...given.keys(), ...(await this.endedWithoutReport(new Set(given.keys())))]
      : await this.deploymentsToCatchUp();
    for (const id of ids) {
      if (this.closed) return;
      const loaded = given.get(id) ?? (await this.store.load(id));
      if (!loaded || !this.stillCaughtUp(loaded.state)) continue;
      // One read of the thread's message ids tells whether anything is missing (the usual answer: no).
      const posted = await this.store.messages(id);
      const layout = (await this.layoutOf(id)) === 'folded' ? 'folded' : 'threaded';
      const missing = expectedMessages(loaded.state, loaded.checklist, layout).some(
        (key) => !posted[key] || posted[key].startsWith('posting:'),
      );
      if (missing)
        await this.enqueue(id, async () => {
          await this.postMissing(loaded);
        });
    }
  }

  /** Posts the card, the phases so far and the escalation levels reached, where missing; true if some
   * escalation message is still missing (another process holds its claim). */
  private async postMissing(loaded: LoadedDeployment): Promise<boolean> {
    const card = await this.ensureCard(loaded);
    if (!card.ok) return false;
    if ((await this.layoutOf(loaded.state.id)) === 'threaded')
      for (const { index } of postedPhases(loaded.state, loaded.checklist))
        await this.ensurePhase(loaded, index);
    // The report of a deployment that ended while the process that ended it died before posting it.
    if (isTerminal(loaded.state))
      await this.ensurePosted(loaded.state.id, REPORT_KEY, (fresh) => this.report(fresh), {
        broadcast: loaded.state.status !== 'rolled_back',
      });
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

  /** Carries out the plan of a change (./thread-plan.ts): posts in order, updates coalesced. */
  private async apply(change: Change): Promise<StartOutcome | undefined> {
    const { deployment, checklist } = change;
    let outcome: StartOutcome | undefined;
    const loaded: LoadedDeployment = { state: deployment, checklist, rev: 0 };
    for (const step of planChange(change)) {
      switch (step.kind) {
        case 'card':
          outcome = await this.ensureCard(loaded);
          if (!outcome.ok) return outcome;
          break;
        case 'phase':
          // Rendered from the newest state (ensurePosted loads it): the phase may have moved on while
          // earlier posts were queued.
          if ((await this.layoutOf(deployment.id)) === 'folded')
            await this.markKeys(deployment, checklist, [CARD_KEY]);
          else await this.ensurePhase(loaded, step.index);
          break;
        case 'update':
          await this.markKeys(deployment, checklist, step.keys);
          break;
        case 'refresh':
          await this.refresh(deployment, checklist, step);
          break;
        case 'escalation':
          await this.postEscalationLevel(loaded, step.key, step.chain, step.level, step.notify);
          break;
        case 'post': {
          const message = step.message;
          await this.ensurePosted(
            deployment.id,
            step.key,
            (fresh) => this.renderReply(fresh, message, change),
            {
              broadcast: step.broadcast,
            },
          );
          break;
        }
      }
    }
    return outcome;
  }

  /** A reply the plan posts, from the newest state. */
  private renderReply(
    fresh: LoadedDeployment,
    message: ReplyMessage,
    change: Change,
  ): SlackMessage | Promise<SlackMessage> {
    switch (message.kind) {
      case 'check-failure':
        return renderCheckFailure(
          fresh.state,
          fresh.checklist,
          message.item,
          message.run,
          message.result,
          this.ownerMentions(fresh.state, message.item),
        );
      case 'traffic-unknown':
        return this.trafficUnknown(fresh, message.run);
      case 'traffic-failure':
        return renderTrafficFailure(message.event);
      case 'command-shift':
        return renderCommandShift(message.event, fresh.checklist, change.events);
      case 'rollback':
        return renderRollback(fresh.state, message.run, this.deployerMentions(fresh.state));
      case 'report':
        return this.report(fresh);
      case 'trigger-alert':
        return renderTriggerAlert(
          fresh.state,
          fresh.checklist,
          message.triggerId,
          message.at,
          message.measured,
          this.onCallMentions(fresh.state),
        );
    }
  }

  private async ensureCard(loaded: LoadedDeployment): Promise<StartOutcome> {
    const { state } = loaded;
    const existing = await this.store.message(state.id, CARD_KEY);
    if (existing) return { ok: true, ts: existing };
    await this.chooseLayout(loaded);
    const at = Date.now();
    const claim = await this.store.claimMessage(state.id, CARD_KEY, at);
    if (!claim) {
      const ts = await this.waitForMessage(state.id, CARD_KEY);
      return ts ? { ok: true, ts } : { ok: false, error: 'another replica is posting the card' };
    }
    return this.postOnce(state.id, CARD_KEY, { kind: claim, at }, (fresh) => this.card(fresh));
  }

  /**
   * Chooses the thread's layout before its card is posted, once across replicas: folded when the channel
   * has so many posts in line that a message per phase would keep threads behind (Slack takes about one
   * post a second per channel), and the checklist's phases fit in the card.
   */
  private async chooseLayout({ state, checklist }: LoadedDeployment): Promise<void> {
    if (this.layouts.has(state.id)) return;
    const waiting = this.posts.waiting(state.channel);
    const wanted = waiting >= this.foldWhenPostsWaiting && canFold(checklist) ? 'folded' : 'threaded';
    const layout =
      (await this.store.threadLayout(state.id)) ?? (await this.store.chooseThreadLayout(state.id, wanted));
    if (layout === 'folded')
      this.logger.info(
        { deploymentId: state.id, channel: state.channel, postsWaiting: waiting },
        'busy channel: the phases show in the status card',
      );
    this.remember(state.id, layout);
  }

  /** The thread's layout; 'unknown' when Redis could not say (both are then updated, see markKeys). */
  private async layoutOf(id: string): Promise<ThreadLayout | 'unknown'> {
    const known = this.layouts.get(id);
    if (known) return known;
    try {
      const stored = await this.store.threadLayout(id);
      if (stored) this.remember(id, stored);
      // None stored: the card is not posted yet, or was before layouts were chosen.
      return stored ?? 'threaded';
    } catch {
      return 'unknown';
    }
  }

  private remember(id: string, layout: ThreadLayout): void {
    if (this.layouts.size >= LAYOUTS_REMEMBERED) this.layouts.clear();
    this.layouts.set(id, layout);
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
    const at = Date.now();
    const claim = await this.store.claimMessage(id, key, at);
    if (claim)
      await this.postOnce(id, key, { kind: claim, at }, render, {
        ts: cardTs,
        broadcast: options.broadcast ?? false,
      });
  }

  /**
   * Records the ts of a message Slack has, trying again while Redis is away (a failover, an outage) for
   * about a minute. If it never is, the claim stays and goes stale: the next catch-up looks in the thread,
   * finds this message by its metadata and adopts it — it is never posted again. 'second copy': our claim
   * was taken over while we were slow and the taker recorded a message of its own first.
   */
  private async recordPosted(
    id: string,
    key: string,
    ts: string,
    digest: string,
    claimedAt: number,
  ): Promise<'recorded' | 'unrecorded' | 'second copy'> {
    // About a minute, at most 2 s apart: a failover takes seconds, and the thread should not wait longer.
    for (let attempt = 0, wait = 250; attempt < 40; attempt++, wait = Math.min(wait * 1.5, 2_000)) {
      try {
        return (await this.store.setMessage(id, key, ts, digest, claimedAt)) ? 'recorded' : 'second copy';
      } catch (error) {
        if (attempt === 0)
          this.logger.warn(
            { deploymentId: id, message: key, ts, err: serializeError(error) },
            'posted, but could not record it yet; trying again',
          );
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
    return 'unrecorded';
  }

  /** Deletes a message of ours that is a second copy of one the thread already shows (and the store names). */
  private async deleteSecondCopy(
    channel: string,
    id: string,
    key: string,
    ts: string,
  ): Promise<string | undefined> {
    const kept = await this.store.message(id, key);
    this.logger.warn(
      { deploymentId: id, message: key, ts, kept },
      'posted a second copy of a message; deleting it',
    );
    await this.client.chat
      .delete({ channel, ts })
      .catch((error: unknown) =>
        this.logger.error(
          { deploymentId: id, message: key, ts, err: serializeError(error) },
          'could not delete a second copy',
        ),
      );
    return kept;
  }

  /**
   * Posts a claimed message, or adopts the copy Slack already has. A taken-over claim (its poster died
   * mid-post) and a post Slack did not answer may have reached Slack: it is looked for there, by its
   * metadata, before it is posted (again). The message is rendered when its turn in the channel comes.
   */
  private async postOnce(
    id: string,
    key: string,
    claim: { kind: MessageClaim; at: number },
    render: (fresh: LoadedDeployment) => SlackMessage | Promise<SlackMessage>,
    thread?: { ts: string; broadcast: boolean },
  ): Promise<StartOutcome> {
    const loaded = await this.store.load(id);
    if (!loaded) {
      await this.store.releaseMessage(id, key, { claimedAt: claim.at });
      return { ok: false, error: 'deployment_not_found' };
    }
    const { channel } = loaded.state;
    const log = { deploymentId: id, channel, message: key };
    let unsure = claim.kind === 'taken-over';
    // Failures on our side before Slack was called (Redis failing over under the fresh load, a render that
    // could not read) leave nothing in Slack: they are waited out, the claim kept, not counted as attempts.
    let ourSide = 0;
    for (let attempt = 1; attempt <= POST_ATTEMPTS; attempt++) {
      if (unsure) {
        const found = await this.lookFor(loaded, key, thread?.ts);
        if (found === 'unknown') break;
        if (found !== 'absent') {
          this.logger.warn({ ...log, ts: found.found }, 'adopted a message Slack already had');
          await this.store.setMessage(id, key, found.found);
          // It shows what its poster rendered back then.
          await this.markDirty(loaded.state, loaded.checklist, [key]);
          return { ok: true, ts: found.found };
        }
      }
      let shown = loaded;
      let digest = '';
      let ts: string;
      let called = false;
      try {
        const posted = await this.posts.run(channel, async () => {
          called = false; // the queue runs this again after a 429: only the last run counts
          shown = (await this.store.load(id)) ?? loaded;
          const message = await render(shown);
          digest = contentDigest(message);
          const args = { channel, ...message, metadata: messageMetadata(id, key) };
          called = true;
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
        if (!called && ourSide < OUR_SIDE_RETRIES) {
          if (ourSide === 0)
            this.logger.warn(
              { ...log, err: serializeError(error) },
              'could not prepare the post yet; trying again',
            );
          await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 1.5 ** ourSide, 2_000)));
          ourSide++;
          attempt--;
          continue;
        }
        const failure = callFailure(error);
        this.logger.error({ ...log, attempt, err: serializeError(error) }, 'could not post message');
        // (A 429 never gets here: the post queue waits it out and posts again.)
        if (failure.kind === 'refused') {
          await this.store.releaseMessage(id, key, { claimedAt: claim.at });
          return { ok: false, error: failure.error };
        }
        unsure = true;
        continue;
      }
      // Slack has it: from here on it is recorded, never posted again (Redis may be failing over).
      const recorded = await this.recordPosted(id, key, ts, digest, claim.at);
      if (recorded === 'unrecorded') return { ok: true, ts };
      if (recorded === 'second copy') {
        const kept = await this.deleteSecondCopy(channel, id, key, ts);
        return kept ? { ok: true, ts: kept } : { ok: false, error: 'second_copy' };
      }
      // A change may have landed while we posted (here or on another replica, whose update found no
      // message yet): make sure the message catches up. Only the revision is read to find out.
      if ((await this.store.revision(id)) !== shown.rev)
        await this.markDirty(shown.state, shown.checklist, [key]);
      return { ok: true, ts };
    }
    // Slack may hold it: the claim stays stale, so whoever posts next (the catch-up) looks first.
    await this.store.releaseMessage(id, key, { unsure: true, claimedAt: claim.at });
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

  /**
   * Posted messages of a family: escalation messages about one cause,
   * re-rendered as the chain climbs, is acknowledged or resolves; rollback trigger alerts, when a trigger clears or it
   * rolls back; messages about shifts whose outcome went unknown, when nobody will read for them any more.
   */
  private async refresh(
    deployment: Deployment,
    checklist: Checklist,
    step: Extract<ThreadStep, { kind: 'refresh' }>,
  ): Promise<void> {
    const belongs =
      step.family === 'escalation'
        ? (key: string) => key.startsWith(`escalation:${step.cause}:`)
        : step.family === 'trigger-alert'
          ? (key: string) => parseTriggerAlertKey(key) !== undefined
          : (key: string) => parseTrafficUnknownKey(key) !== undefined;
    const keys = Object.keys(await this.store.messages(deployment.id)).filter(belongs);
    if (keys.length > 0) await this.markDirty(deployment, checklist, keys);
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

  /** The status card; in a folded thread with the open phase inside it. */
  private async card({ state, checklist }: LoadedDeployment): Promise<SlackMessage> {
    const service = this.catalogue.services[state.service];
    const context = { namespace: service?.namespace, links: service?.links };
    const layout = this.layouts.get(state.id) ?? (await this.store.threadLayout(state.id));
    if (layout !== 'folded') return renderStatusCard(state, checklist, context);
    const checking = walkedPhases(checklist).some(
      (phase) =>
        state.phases[phase.id]?.status === 'active' && phase.items.some((item) => item.kind === 'check'),
    );
    const startedChecks = checking ? await this.store.startedChecks(state.id) : {};
    return renderFoldedCard(state, checklist, context, { startedChecks, mentions: this.mentionsIfDefined });
  }

  // --- coalesced updates ---

  private async markDirty(
    deployment: Deployment,
    checklist: Checklist,
    keys: string[] | 'all',
  ): Promise<void> {
    await this.markKeys(deployment, checklist, keysToUpdate(deployment, checklist, keys));
  }

  /**
   * Queues updates of exactly these messages (see keysToUpdate for which a change touches); in a folded
   * thread a phase's changes update the card. Layout unknown: both (an unposted message is skipped).
   */
  private async markKeys(
    deployment: Deployment,
    checklist: Checklist,
    keys: readonly string[],
  ): Promise<void> {
    const layout = await this.layoutOf(deployment.id);
    const shown =
      layout === 'threaded'
        ? keys
        : layout === 'folded'
          ? foldIntoCard(keys)
          : [...keys, ...foldIntoCard(keys)];
    for (const key of new Set(shown))
      this.updates.mark(`${deployment.id}|${key}`, updatePriority(deployment, checklist, key));
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
    if (key === CARD_KEY) return this.card(loaded);
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
    const alert = parseTriggerAlertKey(key);
    if (alert) {
      const measured = (await this.store.audit(loaded.state.id)).find(
        ({ event }) =>
          event.type === 'guard.fired' && event.triggerId === alert.triggerId && event.at === alert.firedAt,
      )?.event;
      const text = measured?.type === 'guard.fired' ? measured.measured : '';
      return renderTriggerAlert(
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
    if (loaded)
      await this.markDirty(loaded.state, loaded.checklist, [itemMessageKey(loaded.checklist, itemId)]);
  }
}

/** What a message shows, as a short digest: an update that would not change it is not sent. */
function contentDigest(message: SlackMessage): string {
  return createHash('sha256').update(JSON.stringify(message)).digest('base64url').slice(0, 22);
}

/** Mentions joined once each: someone in two of the roles called (or the requester in one) is named once. */
function uniqueMentions(parts: readonly string[]): string {
  return [...new Set(parts.flatMap((part) => part.split(/\s+/)).filter(Boolean))].join(' ');
}
