import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, type CustomRoute } from '@slack/bolt';
import type { Redis } from 'ioredis';
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
  logger: Logger;
  metrics: Metrics;
}

export interface SlackApp {
  app: App;
  context: SlackContext;
  /** Starts listening; in HTTP mode resolves with the bound port. */
  start(listen?: { port: number; host?: string }): Promise<{ port?: number }>;
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

  const { context } = options;

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
  return {
    app,
    context,
    async start(listen) {
      if (socketMode) {
        await app.start();
        // Socket Mode has no HTTP receiver; serve /healthz and /metrics on PORT anyway for probes.
        server = await serveRoutes(routes, listen?.port ?? 3000, listen?.host ?? '0.0.0.0');
        return { port: (server.address() as AddressInfo).port };
      }
      server = (await app.start({ port: listen?.port ?? 3000, host: listen?.host ?? '0.0.0.0' })) as Server;
      return { port: (server.address() as AddressInfo).port };
    },
    async stop() {
      // Stop taking requests, let queued Slack posts finish, then close keep-alive sockets.
      const stopping = app.stop();
      await context.presenter.idle();
      server?.closeIdleConnections();
      await stopping.catch(() => undefined);
      if (socketMode && server) await new Promise((resolve) => server?.close(resolve));
    },
  };
}

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
