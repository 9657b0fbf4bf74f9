/**
 * A fake Kubernetes API server on loopback, used only through the real `@kubernetes/client-node` with a
 * generated kubeconfig (plain http + `insecure-skip-tls-verify: true`, the one way the client accepts
 * http, and a bearer token user).
 *
 * It is a generic in-memory object store that speaks the API's paths (core `/api/v1/...`, groups
 * `/apis/<group>/<version>/...`, namespaced and cluster-scoped, a `/status` subresource), discovery (so
 * `KubernetesObjectApi` can map kind -> resource), label and field selectors, JSON Patch, merge patch,
 * strategic merge patch (as merge — enough for our kinds), server-side apply (as a merge of the applied
 * configuration; no field ownership), `dryRun=All`, resourceVersion conflicts, generation bumps on spec
 * changes, and errors as real `Status` objects (404, 409, 403, 422 with causes, 415…).
 *
 * Tests seed and mutate objects directly (`put`, `update`) to play the controllers — a Deployment's status
 * progressing, pods turning Ready, nodes going NotReady — inject faults (`forbid`, `failNext`,
 * `applyThenDrop`, `conflictNext`, `delay`) and inspect what the code under test did (`requests`, `history`).
 *
 * This file is the server and the test-facing API; the parts live beside it: object-store.ts (objects,
 * history, change events), api-handlers.ts (the verbs), routes.ts (paths and discovery), kinds.ts (built-in
 * kinds), selectors.ts, patches.ts, faults.ts, status.ts, field-errors.ts, types.ts.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { createKubeClients, type KubeClients } from '../../kube/client.js';
import { ApiHandlers, PATCH_TYPES, type Reply } from './api-handlers.js';
import { type Fault, forbiddenStatus, injectedStatus, matchesTarget, verbMatches } from './faults.js';
import { ObjectStore } from './object-store.js';
import { type Route, routeRequest } from './routes.js';
import { ApiError, fail, statusObject } from './status.js';
import type {
  ChangeEvent,
  FakeKubeOptions,
  FakeKubeRequest,
  KubeObject,
  KubeStatus,
  ObjectRef,
  RequestInfo,
  RequestTarget,
  ResourceDefinition,
  VerbMatch,
} from './types.js';

export class FakeKube {
  /** Every request, oldest first. Clear it with `requests.length = 0`. */
  readonly requests: FakeKubeRequest[] = [];
  private readonly objects = new ObjectStore();
  private readonly handlers = new ApiHandlers(this.objects);
  private faults: Fault[] = [];
  private delays: { ms: number; target?: RequestTarget }[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly token: string,
    readonly user: string,
    readonly namespace: string,
    private readonly dir: string,
    readonly kubeconfigPath: string,
  ) {}

  static async start(options: FakeKubeOptions = {}): Promise<FakeKube> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}`;
    const token = options.token ?? `fake-token-${randomUUID()}`;
    const namespace = options.namespace ?? 'default';
    const dir = await mkdtemp(join(tmpdir(), 'flightdeck-kube-'));
    const kubeconfigPath = join(dir, 'kubeconfig.yaml');
    await writeFile(
      kubeconfigPath,
      stringifyYaml({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'fake', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'fake-user', user: { token } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake-user', namespace } }],
        'current-context': 'fake',
      }),
      { mode: 0o600 },
    );
    const kube = new FakeKube(
      server,
      url,
      token,
      options.user ?? 'system:serviceaccount:flightdeck:flightdeck',
      namespace,
      dir,
      kubeconfigPath,
    );
    for (const def of options.resources ?? []) kube.register(def);
    server.on('request', (req, res) => {
      kube.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify(statusObject(500, `fake-kube crashed: ${(error as Error).message}`)));
      });
    });
    return kube;
  }

  /** A KubeConfig loaded from the generated kubeconfig file. */
  kubeConfig(): KubeConfig {
    const config = new KubeConfig();
    config.loadFromFile(this.kubeconfigPath);
    return config;
  }

  /** The project's client bundle, pointed at this server. */
  clients(): KubeClients {
    return createKubeClients(this.kubeConfig());
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }

  // ----- resources -----

  /** Serves another resource (typically a custom resource such as `HTTPROUTE`), discovery included. */
  register(definition: ResourceDefinition): void {
    this.objects.register(definition);
  }

  resources(): ResourceDefinition[] {
    return this.objects.resources();
  }

  // ----- direct access for tests (no faults, no validation, but metadata, defaults and history) -----

  /** Creates or replaces an object as a controller would; keeps a given generation, else tracks spec changes. */
  put<T extends object>(object: T): T {
    return this.objects.put(object);
  }

  get<T extends object = KubeObject>(ref: ObjectRef): T | undefined {
    return this.objects.get<T>(ref);
  }

  /** Objects of a kind (all namespaces unless one is given), sorted by namespace and name. */
  list<T extends object = KubeObject>(kind: string, namespace?: string): T[] {
    return this.objects.list<T>(kind, namespace);
  }

  /** Mutates a copy of a stored object and stores it (status included), e.g. to play a controller. */
  update<T extends object = KubeObject>(ref: ObjectRef, mutate: (object: T) => void): T {
    return this.objects.update<T>(ref, mutate);
  }

  remove(ref: ObjectRef): boolean {
    return this.objects.remove(ref);
  }

  /** Every stored version of an object, oldest first (dry runs are never stored). */
  history<T extends object = KubeObject>(ref: ObjectRef): T[] {
    return this.objects.history<T>(ref);
  }

  /** Called after every stored change (API writes and `put`/`update`); returns an unsubscribe. */
  onChange(listener: (event: ChangeEvent) => void): () => void {
    return this.objects.onChange(listener);
  }

  // ----- faults -----

  /** Answers matching requests 403 Forbidden (RBAC's wording) until the returned function is called. */
  forbid(verbs: VerbMatch, target?: RequestTarget): () => void {
    const fault: Fault = {
      verbs,
      target,
      remaining: Number.POSITIVE_INFINITY,
      respond: (info) => forbiddenStatus(this.user, info),
    };
    this.faults.push(fault);
    return () => {
      this.faults = this.faults.filter((f) => f !== fault);
    };
  }

  /** Answers the next `times` matching requests with `status` (a Status body), or resets the connection. */
  failNext(
    verbs: VerbMatch,
    target: RequestTarget | undefined,
    status: number | 'reset',
    times = 1,
    message?: string,
  ): void {
    this.faults.push({
      verbs,
      target,
      remaining: times,
      respond: (info) => (status === 'reset' ? 'reset' : this.injected(status, info, message)),
    });
  }

  /**
   * Carries out the next `times` matching requests, then loses their answer: the connection is reset, or
   * `status` is answered (a 500 after storing) — a write that was applied although its caller cannot know.
   */
  applyThenDrop(
    verbs: VerbMatch,
    target: RequestTarget | undefined,
    status: number | 'reset' = 'reset',
    times = 1,
  ): void {
    this.faults.push({
      verbs,
      target,
      remaining: times,
      applyFirst: true,
      respond: (info) => (status === 'reset' ? 'reset' : this.injected(status, info)),
    });
  }

  /** Answers the next `times` matching writes 409 Conflict, as if someone else had just written. */
  conflictNext(target?: RequestTarget, times = 1): void {
    this.faults.push({
      verbs: ['create', 'update', 'patch', 'delete'],
      target,
      remaining: times,
      respond: (info) => this.injected(409, info),
    });
  }

  /** Delays every matching response by `ms` (0 removes all delays). */
  delay(ms: number, target?: RequestTarget): void {
    if (ms <= 0) this.delays = [];
    else this.delays.push({ ms, target });
  }

  clearFaults(): void {
    this.faults = [];
    this.delays = [];
  }

  /** Empties the store, history, request log, faults and listeners; registered resources stay. */
  reset(): void {
    this.objects.clear();
    this.requests.length = 0;
    this.clearFaults();
  }

  // ----- internals: HTTP -----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake-kube');
    const raw = await readBody(req);
    const method = req.method ?? 'GET';
    const query = Object.fromEntries(url.searchParams);
    const contentType = req.headers['content-type']?.split(';')[0]?.trim();
    const entry: FakeKubeRequest = {
      method,
      path: url.pathname,
      query,
      verb: 'get',
      contentType,
      status: 0,
      at: Date.now(),
    };
    this.requests.push(entry);

    let reply: Reply | 'reset';
    try {
      // Authentication comes before routing, as in the real server.
      if (req.headers.authorization !== `Bearer ${this.token}`) fail(401, 'Unauthorized');
      const route = routeRequest(this.objects.definitions, method, url.pathname, query);
      Object.assign(entry, route.info);
      let body: unknown;
      if (raw.length > 0) {
        try {
          body = contentType === PATCH_TYPES.apply ? parseYaml(raw) : JSON.parse(raw);
        } catch (error) {
          fail(400, `the body of the request could not be decoded: ${(error as Error).message}`);
        }
        entry.body = body;
      }
      const wait = this.delays
        .filter((d) => matchesTarget(d.target, route.info))
        .reduce((a, d) => a + d.ms, 0);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const fault = this.faults.find(
        (f) =>
          f.remaining > 0 && verbMatches(f.verbs, route.info.verb) && matchesTarget(f.target, route.info),
      );
      if (fault) {
        fault.remaining--;
        if (fault.applyFirst) this.dispatchLosingTheAnswer(route, body, contentType);
        const answer = fault.respond(route.info);
        if (answer === 'reset') reply = 'reset';
        else throw new ApiError(answer);
      } else reply = this.handlers.dispatch(route, body, contentType);
    } catch (error) {
      if (error instanceof ApiError) reply = { status: error.status.code, body: error.status };
      else throw error;
    }

    if (reply === 'reset') {
      entry.status = 0;
      req.socket.destroy();
      return;
    }
    entry.status = reply.status;
    if (res.destroyed) return;
    res.writeHead(reply.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(reply.body));
  }

  /** Carries a request out as usual (stored, or refused) for a fault that then answers in its place. */
  private dispatchLosingTheAnswer(route: Route, body: unknown, contentType: string | undefined): void {
    try {
      this.handlers.dispatch(route, body, contentType);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
    }
  }

  private injected(code: number, info: RequestInfo, message?: string): KubeStatus {
    return injectedStatus(this.objects.definitions, this.user, code, info, message);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
