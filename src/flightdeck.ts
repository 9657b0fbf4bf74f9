import { LogLevel, webApi } from '@slack/bolt';
import type { Redis } from 'ioredis';
import { checkModules as defaultCheckModules } from './checks/index.js';
import { CheckQueue } from './checks/queue.js';
import type { CheckModules, RunOptions } from './checks/runner.js';
import { CheckWorker } from './checks/worker.js';
import type { Config } from './config/load.js';
import { FollowUpIndex } from './deployments/follow-up-index.js';
import { Inbox, type InboxOptions } from './deployments/inbox.js';
import { DeploymentService, type LiveStateReader } from './deployments/service.js';
import { DeploymentStore } from './deployments/store.js';
import { Sweeper } from './deployments/sweep.js';
import { TimerQueue, TimerWorker } from './deployments/timers.js';
import { createPager, type Pager } from './escalations/pager.js';
import { PagingQueue, PagingWorker } from './escalations/paging.js';
import { type KubeClients, lazyKubeClients } from './kube/client.js';
import { boltLogger } from './observability/bolt-logger.js';
import { createLogger, type Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import {
  closeRedis,
  connectOrExplain,
  parseSentinels,
  RedisHealth,
  type RedisSettings,
  redisClient,
} from './redis/connection.js';
import { bullConnection, queuePrefix } from './redis/job-queue.js';
import { RoleDirectory, type RoleDirectoryOptions } from './roles/directory.js';
import { RollbackTriggerQueue } from './rollback-triggers/queue.js';
import { RollbackTriggerWorker } from './rollback-triggers/worker.js';
import { createSlackApp, type SlackApp } from './slack/app.js';
import type { SlackContext } from './slack/context.js';
import { type PresenterOptions, SlackPresenter } from './slack/presenter.js';
import { createStrategy, type TrafficOptions } from './traffic/index.js';
import { OperationQueue, OperationWorker } from './traffic/operations.js';

/**
 * Wires one Flightdeck process from a validated configuration. `main.ts` (the bot, which also runs
 * check workers unless told not to), `worker.ts` (workers only), the end-to-end tests and the benchmarks
 * all come through here, so they run the wiring production does.
 */

export interface StartOptions {
  logger?: Logger;
  listen?: { port: number; host?: string };
  presenter?: PresenterOptions;
  roleDirectory?: RoleDirectoryOptions;
  metrics?: Metrics;
  /** `bot` serves Slack; `worker` runs checks; `all` does both (the default for `npm start`). */
  role?: 'all' | 'bot' | 'worker';
  checkModules?: CheckModules;
  worker?: { concurrency?: number; lockDurationMs?: number; run?: RunOptions };
  /** Kubernetes access for checks and traffic; default: KUBECONFIG or the in-cluster account. */
  kube?: () => Promise<KubeClients>;
  /** Where pages go; default: built from flightdeck.yaml `paging:` (NoPager without it). */
  pager?: Pager;
  /** The clock decisions and jobs are stamped with; Date.now by default (tests may pin it). */
  now?: () => number;
  /** Tuning for traffic operations (tests shorten rollout waits). */
  traffic?: TrafficOptions;
  /** How often the queues' jobs are re-derived from the stored state (see below); default 60 s. */
  sweepIntervalMs?: number;
  /** Where Redis outages are told (tests watch it); default: one per process, into the log. */
  redisHealth?: RedisHealth;
  /** The inbox's timing (tests shorten the heartbeat so a killed process is taken over sooner). */
  inbox?: InboxOptions;
  /** How often requests left by dead processes are looked for; default 5 s. */
  inboxRecoveryMs?: number;
  /** How long a stop waits for queued Slack posts and updates before leaving them to the next process. */
  stopFlushMs?: number;
  /**
   * After how long a claim to post a thread message, left by a process that died mid-post, is taken over
   * (the thread is looked at first); default 60 s. See DeploymentStore.staleClaimMs.
   */
  staleClaimMs?: number;
}

export interface Flightdeck {
  port?: number;
  slack?: SlackApp;
  context: SlackContext;
  store: DeploymentStore;
  deployments: DeploymentService;
  checks: CheckQueue;
  worker?: CheckWorker;
  redis: Redis;
  logger: Logger;
  stop(): Promise<void>;
}

export async function startFlightdeck(config: Config, options: StartOptions = {}): Promise<Flightdeck> {
  const { env, file } = config;
  const role = options.role ?? 'all';
  const logger = options.logger ?? createLogger({ level: env.LOG_LEVEL });
  // One health for every connection: Redis going away is said once, its return once.
  const health = options.redisHealth ?? new RedisHealth(logger.child({ component: 'redis' }));
  const settings: RedisSettings = {
    url: env.REDIS_URL,
    ...(env.REDIS_SENTINELS
      ? { sentinels: parseSentinels(env.REDIS_SENTINELS), masterName: env.REDIS_MASTER_NAME ?? 'mymaster' }
      : {}),
  };
  const redis = redisClient(settings, 'flightdeck', 'state', health);
  await connectOrExplain(
    redis,
    settings.sentinels
      ? `master "${settings.masterName}" through the sentinels ${env.REDIS_SENTINELS}`
      : redactUrl(env.REDIS_URL),
  );
  const stopProbing = health.probe(redis);
  const store = new DeploymentStore(
    redis,
    env.REDIS_PREFIX,
    options.staleClaimMs === undefined ? {} : { staleClaimMs: options.staleClaimMs },
  );
  const catalogue = {
    services: file.services,
    checklists: config.checklists,
    timeScale: file.time_scale,
    escalation: file.escalation,
  };
  const kube = options.kube ?? lazyKubeClients();
  // What is live as a deployment starts is where its rollback returns: read through its traffic strategy.
  const readLive: LiveStateReader = async (_name, service) => {
    if (!service.traffic) throw new Error('no traffic strategy');
    const strategy = createStrategy(
      service.traffic,
      await kube(),
      { namespace: service.namespace },
      options.traffic,
    );
    return strategy.live(AbortSignal.timeout(10_000));
  };
  const now = options.now ?? Date.now;
  const deployments = new DeploymentService(store, catalogue, now, readLive);

  // One Web API client for everything the bot says on its own (posts, updates, role lookups).
  const client = new webApi.WebClient(env.SLACK_BOT_TOKEN, {
    logger: boltLogger(logger),
    logLevel: LogLevel.WARN,
    ...(env.SLACK_API_URL ? { slackApiUrl: env.SLACK_API_URL } : {}),
  });
  const roles = new RoleDirectory(file.roles, client, logger, options.roleDirectory);
  // The thread's posts and updates: paced per channel and per method by the presenter, which must see each
  // failure as it is — a retried post is a second post, and a client-wide 429 pause would stop everything.
  const poster = new webApi.WebClient(env.SLACK_BOT_TOKEN, {
    logger: boltLogger(logger),
    logLevel: LogLevel.WARN,
    ...(env.SLACK_API_URL ? { slackApiUrl: env.SLACK_API_URL } : {}),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: 30_000,
  });
  const presenter = new SlackPresenter(poster, store, catalogue, logger.child({ component: 'presenter' }), {
    mentions: (name, except) => roles.mentions(name, except),
    foldWhenPostsWaiting:
      file.fold_when_posts_waiting === 'never' ? Number.POSITIVE_INFINITY : file.fold_when_posts_waiting,
    ...options.presenter,
  });
  deployments.subscribe(presenter);
  const context: SlackContext = { deployments, store, presenter, roles, catalogue, logger };

  const prefix = queuePrefix(env.REDIS_PREFIX);
  const queueOptions = (name: string) => ({
    connection: bullConnection(settings, name, health),
    prefix,
    logger,
    now,
  });
  // No `paging:` in flightdeck.yaml: a NoPager, and no page is queued.
  const pager = options.pager ?? createPager(file.paging);
  // Effects of decisions, as BullMQ jobs: checks to run, cluster operations, timers, trigger schedules, pages.
  const checks = new CheckQueue(queueOptions('queue'));
  const operations = new OperationQueue(queueOptions('operations'));
  const timers = new TimerQueue(queueOptions('timers'));
  // 'guards': the rollback trigger queue's Redis connection name (from when triggers were called guards), kept.
  const rollbackTriggers = new RollbackTriggerQueue(queueOptions('guards'));
  const paging = new PagingQueue({ ...queueOptions('paging'), pager });
  const effects = [checks, operations, timers, rollbackTriggers, paging];
  for (const effect of effects) deployments.subscribe(effect);
  deployments.subscribe(new FollowUpIndex(store, logger));

  // Requests people make, recorded before their ack (see deployments/inbox.ts), on a connection of their
  // own: the write an ack waits for never queues behind the store's pipelined work.
  const requests = redisClient(settings, 'requests', 'request', health);
  await connectOrExplain(requests, 'the same Redis (a second connection)');
  const inbox = new Inbox(requests, env.REDIS_PREFIX, logger.child({ component: 'inbox' }), options.inbox);
  await inbox.start();

  let slack: SlackApp | undefined;
  let port: number | undefined;
  if (role !== 'worker') {
    slack = await createSlackApp({
      inbox,
      botToken: env.SLACK_BOT_TOKEN as string,
      signingSecret: env.SLACK_SIGNING_SECRET,
      appToken: env.SLACK_APP_TOKEN,
      apiUrl: env.SLACK_API_URL,
      redis,
      context,
      logger,
      metrics: options.metrics ?? new Metrics(),
    });
    ({ port } = await slack.start(options.listen ?? { port: env.PORT }));
  } else {
    await client.auth.test(); // a bad token is one clear error at start, not a failed post later
  }

  const workers: Array<{ close(): Promise<void> }> = [];
  let worker: CheckWorker | undefined;
  if (role !== 'bot') {
    const workerOptions = (name: string, component: string) => ({
      connection: bullConnection(settings, name, health),
      prefix,
      logger: logger.child({ component }),
      now,
    });
    const modules = options.checkModules ?? defaultCheckModules;
    worker = new CheckWorker({
      ...workerOptions('worker', 'checks'),
      store,
      deployments,
      catalogue,
      modules,
      kube,
      concurrency: options.worker?.concurrency ?? env.CHECK_CONCURRENCY,
      lockDurationMs: options.worker?.lockDurationMs ?? env.CHECK_LOCK_MS,
      ...(options.worker?.run ? { run: options.worker.run } : {}),
      onStarted: (job, loaded) => void presenter.noteCheckStarted(job.deploymentId, job.itemId, loaded),
    });
    workers.push(
      worker,
      new OperationWorker({
        ...workerOptions('operations-worker', 'traffic'),
        store,
        deployments,
        catalogue,
        kube,
        ...(options.traffic ? { traffic: options.traffic } : {}),
      }),
      new TimerWorker({ ...workerOptions('timers-worker', 'timers'), deployments, timers }),
      new PagingWorker({ ...workerOptions('paging-worker', 'paging'), store, pager }),
      new RollbackTriggerWorker({
        // 'guards-worker': the rollback trigger worker's connection name, kept like the queue's above.
        ...workerOptions('guards-worker', 'rollback-triggers'),
        store,
        deployments,
        catalogue,
        queue: rollbackTriggers,
        modules,
      }),
    );
  }

  // Catch up on anything a previous process left half-done: unposted messages, unqueued checks.
  void presenter
    .reconcile()
    .catch((error: Error) => logger.error({ err: error.message }, 'reconcile failed'));
  // Every process re-derives the effects' jobs from the stored state now and then every sweepIntervalMs
  // (see deployments/sweep.ts: a change and its job are two writes). Job ids name what they are for, so
  // re-adding one that exists is a no-op, and the workers skip a job whose run is no longer current.
  // The thread likewise: a message whose poster died mid-post is posted once its claim is stale (the
  // start-up reconcile above already covers the first round). One round loads each deployment once.
  const sweeper = new Sweeper(store, effects, logger, now);
  let sweeping: Promise<void> | undefined;
  const sweep = (thread: boolean) => {
    sweeping ??= (async () => {
      const round = await sweeper.round();
      if (thread && round)
        await presenter
          .catchUp(round.active)
          .catch((error: Error) => logger.error({ err: error.message }, 'thread catch-up failed'));
    })().finally(() => {
      sweeping = undefined;
    });
    return sweeping;
  };
  void sweep(false);
  const sweepTimer = setInterval(() => void sweep(true), options.sweepIntervalMs ?? 60_000);
  sweepTimer.unref();

  // Requests a dead process acknowledged but did not carry out: taken over within seconds, by whichever
  // bot process looks first. Not while Redis has just come back — a live process's heartbeat may have run
  // out during the outage, and its requests are its own.
  let recovering: Promise<void> | undefined;
  const recover = () => {
    if (!slack || recovering || !health.steadyFor(options.inbox?.heartbeatTtlMs ?? 15_000)) return;
    const app = slack;
    recovering = inbox
      .recover({
        carryOut: (entry) => app.replay(entry),
        tellNotApplied: (entry) => app.tellNotApplied(entry),
      })
      .catch((error: Error) => logger.warn({ err: error.message }, 'inbox recovery failed'))
      .finally(() => {
        recovering = undefined;
      });
  };
  const recoverer = setInterval(recover, options.inboxRecoveryMs ?? 5_000);
  recoverer.unref();

  return {
    port,
    slack,
    context,
    store,
    deployments,
    checks,
    worker,
    redis,
    logger,
    async stop() {
      // Stop taking work first (Slack requests, check jobs), then flush what is queued, then disconnect.
      clearInterval(sweepTimer);
      clearInterval(recoverer);
      stopProbing();
      await Promise.all([slack?.stop(), ...workers.map((each) => each.close()), sweeping]);
      presenter.close();
      // Slack's pace (45 updates a minute) could hold a stop for minutes; what is still waiting after a
      // few seconds is re-rendered from Redis by the next process (its start-up reconcile).
      let flushed: NodeJS.Timeout | undefined;
      await Promise.race([
        presenter.idle(),
        new Promise((resolve) => {
          flushed = setTimeout(resolve, options.stopFlushMs ?? 5_000);
        }),
      ]);
      clearTimeout(flushed);
      await Promise.all(effects.map((effect) => effect.close()));
      await recovering;
      await inbox.stop();
      await closeRedis(requests);
      await closeRedis(redis);
    },
  };
}

/** A Redis URL without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*):([^@/]*)@/, '//$1:[redacted]@');
}
