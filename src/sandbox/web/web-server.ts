import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isObject, type JsonObject } from '../slack/block-kit-rules.js';
import type { FakeSlack } from '../slack/fake-slack.js';
import type { SlackDriver, ViewValues } from '../slack/slack-driver.js';
import type { FakeEphemeral, FakeMessage, FakeSlackChange, FakeView } from '../slack/types.js';

/**
 * The sandbox's web page and its API, on loopback. The page is plain HTML, CSS and JavaScript from
 * `page/`; it shows what the bot put in the Slack emulator and sends what a person does — a typed
 * `/deploy`, a button, an overflow option, a modal — through SlackDriver, which builds and signs the
 * payload Slack would send and POSTs it into the bot's Bolt receiver. Changes reach the page as
 * server-sent events (`GET /api/events`): a snapshot first, then each message, ephemeral, view, page and
 * incident change as it happens.
 */

// The page's own files (HTML, CSS, browser JavaScript), kept apart from this server's code.
const WEB_DIR = fileURLToPath(new URL('./page/', import.meta.url));
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface Person {
  id: string;
  name: string;
  realName: string;
  roles: string[];
  /** One of the demo people (listed first in the switcher). */
  demo: boolean;
  /** What this person is for in the tour. */
  about?: string;
}

export interface ChannelInfo {
  id: string;
  name: string;
  service: string;
  checklists: string[];
  strategy?: string;
}

export interface Workspace {
  team: { id: string; domain: string; name: string };
  bot: { id: string; name: string };
  channels: ChannelInfo[];
  people: Person[];
  defaultUser: string;
  /** What the sandbox could not provide and what it uses instead (no Prometheus, a private Redis…). */
  notes: string[];
}

export type IncidentAction = 'error-rate' | 'latency' | 'health' | 'restore';

export interface IncidentState {
  errorRatio: number;
  /** Seconds; p95 comes out just under it. */
  latency: number;
  healthStatus: number;
}

export interface ReceivedPage {
  at: number;
  body: unknown;
}

/** What the page works with, once the sandbox has started. */
export interface WebBackend {
  slack: FakeSlack;
  driver: SlackDriver;
  workspace: Workspace;
  incidents(): Record<string, IncidentState>;
  incident(service: string, action: IncidentAction): IncidentState;
}

export interface WebServer {
  url: string;
  port: number;
  /** Where the sandbox's flightdeck.yaml sends pages (a `paging: webhook`). */
  pagesUrl: string;
  attach(backend: WebBackend): void;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startWebServer(options: { port: number; host?: string }): Promise<WebServer> {
  const host = options.host ?? '127.0.0.1';
  const files = new Set((await readdir(WEB_DIR)).filter((name) => CONTENT_TYPES[extname(name)]));
  let backend: WebBackend | undefined;
  const pages: ReceivedPage[] = [];
  const streams = new Set<ServerResponse>();
  let unwatch: (() => void) | undefined;

  const broadcast = (event: string, data: unknown) => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const stream of streams) stream.write(frame);
  };

  const need = (): WebBackend => {
    if (!backend) throw new HttpError(503, 'the sandbox is still starting');
    return backend;
  };

  const routes: Record<string, (request: IncomingMessage, body: JsonObject) => Promise<unknown>> = {
    'GET /api/workspace': async () => need().workspace,
    'POST /api/command': async (_request, body) => command(need(), body),
    'POST /api/action': async (_request, body) => action(need(), body),
    'POST /api/view/submit': async (_request, body) => submitView(need(), body),
    'POST /api/view/close': async (_request, body) => {
      const b = need();
      const view = b.slack.view(text(body, 'viewId'));
      if (!view || view.user !== text(body, 'user')) throw new HttpError(404, 'no such open view for you');
      await b.driver.closeView(view.user, view.id);
      return { ok: true };
    },
    'POST /api/incident': async (_request, body) => {
      const b = need();
      const service = text(body, 'service');
      const kind = text(body, 'action') as IncidentAction;
      if (!['error-rate', 'latency', 'health', 'restore'].includes(kind))
        throw new HttpError(400, `unknown incident action ${kind}`);
      if (!b.incidents()[service]) throw new HttpError(404, `no service ${service}`);
      const state = b.incident(service, kind);
      broadcast('incident', { service, state });
      return { ok: true, state };
    },
    'POST /sandbox/pages': async (_request, body) => {
      const page = { at: Date.now(), body };
      pages.push(page);
      broadcast('page', page);
      return { status: 'success' };
    },
  };

  const server: Server = createServer((request, response) => {
    void handle(request, response).catch((error: Error) => {
      const status = error instanceof HttpError ? error.status : 500;
      if (!response.headersSent) response.writeHead(status, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ ok: false, error: error.message }));
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://sandbox');
    // Only this machine's browser, by name: another site cannot reach the API through DNS rebinding,
    // and a JSON content type forces a CORS preflight, which this server never answers.
    const hostname = (request.headers.host ?? '').replace(/:\d+$/, '');
    if (!['127.0.0.1', 'localhost', '[::1]', host].includes(hostname))
      throw new HttpError(403, `not served to host ${hostname}`);
    if (request.method === 'POST' && !(request.headers['content-type'] ?? '').startsWith('application/json'))
      throw new HttpError(415, 'send JSON');
    if (request.method === 'GET' && url.pathname === '/api/events') return events(response);
    const route = routes[`${request.method} ${url.pathname}`];
    if (route) {
      const body = request.method === 'POST' ? await readJson(request) : {};
      const result = await route(request, body);
      response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      response.end(JSON.stringify(result));
      return;
    }
    if (request.method !== 'GET') throw new HttpError(404, `no ${request.method} ${url.pathname}`);
    const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
    // Only the files in page/ by name: no path from the URL reaches the file system.
    if (!files.has(name)) throw new HttpError(404, `no ${url.pathname}`);
    const content = await readFile(`${WEB_DIR}${name}`);
    response.writeHead(200, { 'Content-Type': CONTENT_TYPES[extname(name)]!, 'Cache-Control': 'no-cache' });
    response.end(content);
  }

  function events(response: ServerResponse): void {
    response.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
    });
    // Until the sandbox is up the page waits; it reconnects by itself (EventSource) and gets a snapshot.
    if (!backend) {
      response.write('retry: 500\nevent: starting\ndata: {}\n\n');
      response.end();
      return;
    }
    const b = backend;
    const snapshot = {
      messages: b.slack.allMessages().map(messageJson),
      ephemerals: b.slack.ephemerals.map(ephemeralJson),
      views: b.slack.views.filter((view) => view.state === 'open').map(viewJson),
      pages,
      incidents: b.incidents(),
    };
    response.write(`retry: 1000\nevent: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
    streams.add(response);
    response.on('close', () => streams.delete(response));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`port ${options.port} on ${host} is in use; start with PORT=<another port> npm start`)
          : error,
      ),
    );
    server.listen(options.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  // Keep-alive pings so proxies and browsers do not drop a quiet stream.
  const ping = setInterval(() => {
    for (const stream of streams) stream.write(': ping\n\n');
  }, 15_000);

  return {
    url,
    port,
    pagesUrl: `${url}/sandbox/pages`,
    attach(next) {
      backend = next;
      unwatch = next.slack.watch((change: FakeSlackChange) => {
        if (change.type === 'message') broadcast('message', messageJson(change.message));
        else if (change.type === 'ephemeral') broadcast('ephemeral', ephemeralJson(change.ephemeral));
        else broadcast('view', viewJson(change.view));
      });
    },
    async close() {
      clearInterval(ping);
      unwatch?.();
      for (const stream of streams) stream.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// What the page sends

async function command(b: WebBackend, body: JsonObject): Promise<unknown> {
  const user = person(b, text(body, 'user'));
  const channel = text(body, 'channel');
  const typed = text(body, 'text').trim();
  const threadTs = typeof body.threadTs === 'string' ? body.threadTs : undefined;
  const slash = /^(\/\S+)\s*([\s\S]*)$/.exec(typed);
  if (!slash) {
    if (typed === '') throw new HttpError(400, 'nothing to send');
    b.slack.postAsUser(user, channel, typed, threadTs);
    return { ok: true };
  }
  const [, name, args = ''] = slash;
  // Slack itself answers unknown commands; the only one this app registers is /deploy.
  if (name !== '/deploy') return { ok: false, error: `${name} is not a valid command. Try /deploy help.` };
  const result = await b.driver.slash(user, channel, '/deploy', args.trim());
  if (result.status !== 200) return { ok: false, error: `the bot answered HTTP ${result.status}` };
  return { ok: result.delivery === 'ok', ...(result.delivery === 'ok' ? {} : { error: result.delivery }) };
}

async function action(b: WebBackend, body: JsonObject): Promise<unknown> {
  const user = person(b, text(body, 'user'));
  const where = { channel: text(body, 'channel'), ts: text(body, 'ts') };
  const actionId = text(body, 'actionId');
  const blockId = typeof body.blockId === 'string' ? body.blockId : undefined;
  try {
    const result =
      body.type === 'overflow'
        ? await b.driver.selectOverflow(user, where, {
            actionId,
            value: text(body, 'option'),
            ...(blockId ? { blockId } : {}),
          })
        : await b.driver.clickButton(user, where, {
            actionId,
            ...(typeof body.value === 'string' ? { value: body.value } : {}),
            ...(blockId ? { blockId } : {}),
          });
    if (result.status !== 200) return { ok: false, error: `the bot answered HTTP ${result.status}` };
    return { ok: true };
  } catch (error) {
    // The driver refuses what Slack's client could not send (a button that is no longer there).
    return { ok: false, error: (error as Error).message };
  }
}

async function submitView(b: WebBackend, body: JsonObject): Promise<unknown> {
  const user = person(b, text(body, 'user'));
  const values = isObject(body.values) ? (body.values as ViewValues) : {};
  try {
    const result = await b.driver.submitView(user, text(body, 'viewId'), values);
    if (result.status !== 200) return { ok: false, error: `the bot answered HTTP ${result.status}` };
    const answer = isObject(result.body) ? result.body : {};
    if (answer.response_action === 'errors' && isObject(answer.errors))
      return { ok: false, errors: answer.errors };
    return { ok: true };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

function person(b: WebBackend, id: string): string {
  if (!b.workspace.people.some((candidate) => candidate.id === id))
    throw new HttpError(400, `no person ${id} in the sandbox`);
  return id;
}

function text(body: JsonObject, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '') throw new HttpError(400, `missing ${name}`);
  return value;
}

async function readJson(request: IncomingMessage): Promise<JsonObject> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 1_000_000) throw new HttpError(413, 'request too large');
    chunks.push(chunk as Buffer);
  }
  const raw = Buffer.concat(chunks).toString('utf8');
  if (raw === '') return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    if (isObject(parsed)) return parsed;
  } catch {
    // answered below
  }
  throw new HttpError(400, 'the body must be a JSON object');
}

// ---------------------------------------------------------------------------------------------------
// What the page is sent

function messageJson(message: FakeMessage) {
  return {
    channel: message.channel,
    ts: message.ts,
    ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}),
    user: message.user,
    bot: message.bot_id !== undefined,
    text: message.text,
    blocks: message.blocks,
    edited: message.updates > 0,
    deleted: message.deleted,
  };
}

function ephemeralJson(ephemeral: FakeEphemeral) {
  return {
    channel: ephemeral.channel,
    user: ephemeral.user,
    ts: ephemeral.message_ts,
    ...(ephemeral.thread_ts ? { thread_ts: ephemeral.thread_ts } : {}),
    text: ephemeral.text,
    blocks: ephemeral.blocks,
  };
}

function viewJson(view: FakeView) {
  return { id: view.id, user: view.user, state: view.state, hash: view.hash, view: view.view };
}
