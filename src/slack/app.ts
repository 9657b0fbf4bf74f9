import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AnyMiddlewareArgs, App, type CustomRoute } from '@slack/bolt';
import type { Redis } from 'ioredis';
import { type Inbox, type InboxEntry, runForRequest } from '../deployments/inbox.js';
import { boltLogger } from '../observability/bolt-logger.js';
import type { Logger } from '../observability/logger.js';
import { serializeError } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { registerCheckActions } from './actions/check-actions.js';
import { registerDeploymentActions } from './actions/deployment-actions.js';
import { registerItemActions } from './actions/item-actions.js';
import { registerOperationActions } from './actions/operation-actions.js';
import { registerReportActions } from './actions/report-actions.js';
import { registerDeployCommand } from './commands/deploy-command.js';
import type { SlackContext } from './context.js';
import { HttpDrain, InFlightWork } from './graceful-stop.js';
import { InteractionRouter } from './router.js';

/**
 * The Slack side of Flightdeck: a Bolt app with its listeners registered by feature. HTTP mode serves
 * Slack at POST /slack/events plus GET /healthz and GET /metrics on the same port; Socket Mode when an
 * app-level token is given.
 */

export interface SlackAppOptions {
  botToken: string;
  signingSecret?: string;
  appToken?: string;
  /** Base URL of the Web API (ends with "/"); tests and the sandbox point it at a fake. */
  apiUrl?: string;
  redis: Redis;
  /** The parts listeners use, wired once in flightdeck.ts (the presenter is shared with check workers). */
  context: SlackContext;
  /** Where every request is recorded before its ack (durable before acknowledged). */
  inbox: Inbox;
  logger: Logger;
  metrics: Metrics;
}

export interface SlackApp {
  app: App;
  context: SlackContext;
  /** Starts listening; in HTTP mode resolves with the bound port. */
  start(listen?: { port: number; host?: string }): Promise<{ port?: number }>;
  /** Carries out a request a dead process had recorded and acknowledged (see Inbox.recover). */
  replay(entry: InboxEntry): Promise<void>;
  /** Tells the sender of a request that came back too late that it was not carried out. */
  tellNotApplied(entry: InboxEntry): Promise<void>;
  stop(): Promise<void>;
}

export async function createSlackApp(options: SlackAppOptions): Promise<SlackApp> {
  const socketMode = Boolean(options.appToken);
  const logger = options.logger.child({ component: 'slack' });
  const routes = healthRoutes(options.redis, options.metrics);
  const app = new App({
    token: options.botToken,
    ...(socketMode
      ? { socketMode: true, appToken: options.appToken }
      : { signingSecret: options.signingSecret }),
    logger: boltLogger(options.logger),
    clientOptions: options.apiUrl ? { slackApiUrl: options.apiUrl } : {},
    ...(socketMode ? {} : { customRoutes: routes }),
    // Bolt calls auth.test here; we do it in init() below so a bad token is one clear error.
    deferInitialization: true,
    // Flightdeck keeps its own state in Redis; Bolt's conversation store is only per-request overhead.
    convoStore: false,
  });
  await app.init();
  // First, so it spans every middleware and listener: stop() waits for what a listener does after ack().
  const listenerWork = new InFlightWork();
  app.use(({ next }) => listenerWork.track(next()));

  const { context, inbox } = options;

  // Durable before acknowledged: the request is in Redis before any listener acks it (in HTTP and in
  // Socket Mode alike: listeners ack, and they run after this). One write, on the fail-fast connection;
  // when it fails the person is told at once and nothing is carried out later.
  app.use(async (args) => {
    const replayed = (args.context as { inboxReplay?: string }).inboxReplay;
    if (replayed) {
      await runForRequest(replayed, args.next);
      return;
    }
    let id: string;
    try {
      id = await inbox.record(args.body as Record<string, unknown>);
    } catch (error) {
      logger.warn({ err: serializeError(error), kind: requestKind(args.body) }, 'request not recorded');
      await answerNotRecorded(args);
      return;
    }
    try {
      await runForRequest(id, args.next);
    } finally {
      await inbox.done(id);
    }
  });

  app.use(async ({ body, next }) => {
    const kind = 'command' in body ? 'command' : ((body as { type?: string }).type ?? 'other');
    options.metrics.slackRequests.inc({ kind });
    await next();
  });
  registerDeployCommand(app, context);
  const router = new InteractionRouter();
  registerItemActions(router, context);
  registerDeploymentActions(router, context);
  registerCheckActions(router, context);
  registerOperationActions(router, context);
  registerReportActions(router, context);
  router.install(app);
  app.error(async (error) => {
    logger.error({ err: serializeError(error) }, 'unhandled error in a Slack listener');
  });

  let server: Server | undefined;
  let drain: HttpDrain | undefined;
  return {
    app,
    context,
    async replay(entry) {
      await app.processEvent({
        body: entry.body,
        ack: async () => {}, // acknowledged long ago, by the process that recorded it
        customProperties: { inboxReplay: entry.id },
      });
    },
    async tellNotApplied(entry) {
      await tellNotApplied(app, entry, logger);
    },
    async start(listen) {
      if (socketMode) {
        await app.start();
        // Socket Mode has no HTTP receiver; serve /healthz and /metrics on PORT anyway for probes.
        server = await serveRoutes(routes, listen?.port ?? 3000, listen?.host ?? '0.0.0.0');
        drain = new HttpDrain(server);
        return { port: (server.address() as AddressInfo).port };
      }
      server = (await app.start({ port: listen?.port ?? 3000, host: listen?.host ?? '0.0.0.0' })) as Server;
      drain = new HttpDrain(server);
      return { port: (server.address() as AddressInfo).port };
    },
    async stop() {
      const deadline = Date.now() + STOP_LIMIT_MS;
      // Socket Mode: closing the socket stops Slack sending. HTTP mode: the server drains instead of Bolt's
      // app.stop(), whose server.close() resets a click arriving on an open keep-alive socket.
      if (socketMode) await app.stop().catch(() => undefined);
      await drain?.close(KEEP_ALIVE_GRACE_MS, deadline);
      // Requests are answered; what listeners do after ack() must land before Redis is closed.
      const unfinished = await listenerWork.settled(deadline);
      if (unfinished > 0) logger.warn({ unfinished }, 'stopped with Slack listeners still running');
    },
  };
}

/**
 * How long sockets Slack keeps open stay open once stopping: a click sent just before is served (Slack's
 * requests take well under a second to arrive), and stopping is not held up by idle sockets much longer.
 */
const KEEP_ALIVE_GRACE_MS = 1_000;
/**
 * Bound on stop(): Slack waits 3 s for an ack, listeners' work after it is a few Redis and Slack calls.
 * Under main.ts's forced exit (15 s), itself under docker-compose's stop_grace_period (20 s).
 */
const STOP_LIMIT_MS = 10_000;

function healthRoutes(redis: Redis, metrics: Metrics): CustomRoute[] {
  return [
    {
      path: '/healthz',
      method: ['GET'],
      handler: async (_req, res) => {
        let redisOk = false;
        try {
          redisOk =
            (await Promise.race([
              redis.ping(),
              new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 1_000)),
            ])) === 'PONG';
        } catch {
          redisOk = false;
        }
        res.writeHead(redisOk ? 200 : 503, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({ status: redisOk ? 'ok' : 'degraded', redis: redisOk ? 'ok' : 'unreachable' }),
        );
      },
    },
    {
      path: '/metrics',
      method: ['GET'],
      handler: async (_req, res) => {
        res.writeHead(200, { 'Content-Type': metrics.registry.contentType });
        res.end(await metrics.registry.metrics());
      },
    },
  ];
}

function serveRoutes(routes: CustomRoute[], port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    const route = routes.find(
      (candidate) =>
        candidate.path === req.url?.split('?')[0] && [candidate.method].flat().includes(req.method ?? ''),
    );
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    void route.handler(req as Parameters<CustomRoute['handler']>[0], res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

const NOT_RECORDED =
  '⚠️ Not recorded: Flightdeck could not reach its store (Redis), so nothing happened. Press again in a moment.';

function requestKind(body: unknown): string {
  return 'command' in (body as object) ? 'command' : ((body as { type?: string }).type ?? 'other');
}

/** Acknowledges a request that could not be recorded, telling its sender privately that nothing happened. */
async function answerNotRecorded(args: AnyMiddlewareArgs): Promise<void> {
  const ack = 'ack' in args ? (args.ack as (response?: unknown) => Promise<void>) : undefined;
  const body = args.body as {
    command?: string;
    type?: string;
    view?: { blocks?: Array<{ type?: string; block_id?: string }> };
  };
  if (body.command) {
    await ack?.({ response_type: 'ephemeral', text: NOT_RECORDED });
    return;
  }
  if (body.type === 'view_submission') {
    // The dialog stays open, the message under its first field, so pressing again is one click.
    const field = body.view?.blocks?.find((block) => block.type === 'input')?.block_id;
    await ack?.(field ? { response_action: 'errors', errors: { [field]: NOT_RECORDED } } : undefined);
    return;
  }
  await ack?.();
  if ('respond' in args && typeof args.respond === 'function')
    await args
      .respond({ response_type: 'ephemeral', replace_original: false, text: NOT_RECORDED })
      .catch(() => undefined);
}

/** Privately, where the request came from: what was not carried out, and when it was asked. */
async function tellNotApplied(app: App, entry: InboxEntry, logger: Logger): Promise<void> {
  const body = entry.body as {
    response_url?: string;
    user_id?: string;
    channel_id?: string;
    text?: string;
    user?: { id?: string };
    channel?: { id?: string };
    actions?: Array<{ text?: { text?: string } }>;
    view?: { private_metadata?: string; title?: { text?: string } };
  };
  const at = new Date(entry.receivedAt).toISOString().slice(11, 19);
  const what = body.text
    ? `\`/deploy ${body.text}\``
    : body.actions?.[0]?.text?.text
      ? `“${body.actions[0].text.text}”`
      : body.view?.title?.text
        ? `“${body.view.title.text}”`
        : 'request';
  const text = `⚠️ Your ${what} at ${at} UTC was not carried out: Flightdeck stopped before it could, and it is too late to do it now. Nothing changed — do it again if you still mean it.`;
  let channel = body.channel_id ?? body.channel?.id;
  if (!channel && body.view?.private_metadata) {
    try {
      channel = (JSON.parse(body.view.private_metadata) as { channel?: string }).channel;
    } catch {
      channel = undefined;
    }
  }
  const user = body.user_id ?? body.user?.id;
  if (!channel || !user) {
    logger.warn({ request: entry.id }, 'could not tell the sender of a request that came too late');
    return;
  }
  await app.client.chat
    .postEphemeral({ channel, user, text })
    .catch((error: unknown) =>
      logger.warn(
        { request: entry.id, err: serializeError(error) },
        'could not tell a request was not applied',
      ),
    );
}
