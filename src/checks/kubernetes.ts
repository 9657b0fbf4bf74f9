import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative, resolve } from 'node:path';
import {
  ApiException,
  type ConfigurationOptions,
  createConfiguration,
  DiscoveryV1Api,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  loadAllYaml,
  Observable,
  type ObservableMiddleware,
  PatchStrategy,
  ServerConfiguration,
  type V1Deployment,
  type V1EndpointSlice,
  type V1LabelSelector,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import type { KubeClients } from '../kube/client.js';
import { runsImage } from './kubernetes-image.js';
import type { CheckContext, CheckModule, CheckResult, SpecOf } from './types.js';

/**
 * Kubernetes checks through the official client: pods ready, a Deployment rolled out (kubectl's
 * rollout-status logic), nodes ready, a Service with ready endpoints, an object exists, the version runs
 * (./kubernetes-image.ts), and manifests accepted by a server-side dry run. One attempt per call; the runner adds retries and the timeout.
 *
 * Outcomes: what the cluster says about the target is `passed`/`failed` (a missing object, a pod in
 * CrashLoopBackOff, a manifest the server rejects). What stops us from asking is `error`: no permission
 * (401/403), a 5xx, a timeout, no connection, an unreadable manifest file.
 *
 * Cancellation: the typed APIs take per-call middleware, which puts `context.signal` on the request.
 * `KubernetesObjectApi` ignores per-call middleware, so `exists` and `dry-run-apply` build a per-run
 * instance whose configuration carries it (its discovery cache then lives for one run).
 */

type KubernetesSpec = SpecOf<'kubernetes'>;
type Spec<C extends KubernetesSpec['check']> = Extract<KubernetesSpec, { check: C }>;

const SUMMARY_MAX = 300;
const DETAIL_MAX = 1_000;
const FIELD_MANAGER = 'flightdeck';

export const kubernetesCheck: CheckModule<'kubernetes'> = async (spec, context) => {
  if (!context.kube) return { outcome: 'error', summary: 'cannot evaluate: no Kubernetes access configured' };
  let clients: KubeClients;
  try {
    clients = await context.kube();
  } catch (error) {
    return { outcome: 'error', summary: clip(`cannot evaluate: ${messageOf(error)}`) };
  }
  const namespace = 'namespace' in spec && spec.namespace ? spec.namespace : context.namespace;
  try {
    switch (spec.check) {
      case 'pods-ready':
        return await podsReady(spec, clients, namespace, context.signal);
      case 'rollout-complete':
        return await rolloutComplete(spec, clients, namespace, context.signal);
      case 'nodes-ready':
        return await nodesReady(clients, context.signal);
      case 'endpoints-ready':
        return await endpointsReady(spec, clients, namespace, context.signal);
      case 'exists':
        return await exists(spec, clients, namespace, context.signal);
      case 'image':
        return await runsImage(spec, clients, namespace, context.signal);
      case 'dry-run-apply':
        return await dryRunApply(spec, clients, namespace, context);
    }
  } catch (error) {
    return errorResult(error, context.signal);
  }
};

// ---------------------------------------------------------------------------------------------------
// pods-ready

async function podsReady(
  spec: Spec<'pods-ready'>,
  clients: KubeClients,
  namespace: string,
  signal: AbortSignal,
): Promise<CheckResult> {
  const { items } = await clients.core.listNamespacedPod(
    { namespace, labelSelector: spec.selector },
    withSignal(signal),
  );
  if (items.length === 0)
    return {
      outcome: 'failed',
      summary: clip(`no pods match ${spec.selector} in ${namespace}`),
      value: 0,
      unit: 'number',
    };
  const restarts = items.reduce((sum, pod) => sum + restartsOf(pod), 0);
  const notReady = items.filter((pod) => !isPodReady(pod) || pod.metadata?.deletionTimestamp);
  const ready = items.length - notReady.length;
  const counts = `${ready}/${items.length} pods ready`;
  if (notReady.length === 0) {
    return {
      outcome: 'passed',
      summary: restarts > 0 ? `${counts} (${plural(restarts, 'restart')})` : counts,
      value: ready,
      unit: 'number',
    };
  }
  const problems = notReady.map(describePod);
  return {
    outcome: 'failed',
    summary: listSummary(`${counts}: `, problems),
    detail: clip(problems.join('\n'), DETAIL_MAX),
    value: ready,
    unit: 'number',
  };
}

function isPodReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function restartsOf(pod: V1Pod): number {
  return (pod.status?.containerStatuses ?? []).reduce((sum, c) => sum + (c.restartCount ?? 0), 0);
}

/** `api-7f9c-x2 CrashLoopBackOff (5 restarts)`: the reason kubectl's STATUS column would show. */
function describePod(pod: V1Pod): string {
  const restarts = restartsOf(pod);
  const suffix = restarts > 0 ? ` (${plural(restarts, 'restart')})` : '';
  return `${pod.metadata?.name ?? '?'} ${podReason(pod)}${suffix}`;
}

function podReason(pod: V1Pod): string {
  if (pod.metadata?.deletionTimestamp) return 'Terminating';
  const status = pod.status;
  for (const init of status?.initContainerStatuses ?? []) {
    const reason = init.state?.waiting?.reason ?? init.state?.terminated?.reason;
    if (reason && init.state?.terminated?.exitCode !== 0) return `Init:${reason}`;
  }
  for (const container of status?.containerStatuses ?? []) {
    const reason = container.state?.waiting?.reason ?? container.state?.terminated?.reason;
    if (reason) return reason;
  }
  if (status?.reason) return status.reason;
  if (status?.phase && status.phase !== 'Running') return status.phase;
  return 'not ready';
}

// ---------------------------------------------------------------------------------------------------
// rollout-complete: kubectl's DeploymentStatusViewer, message for message

async function rolloutComplete(
  spec: Spec<'rollout-complete'>,
  clients: KubeClients,
  namespace: string,
  signal: AbortSignal,
): Promise<CheckResult> {
  let deployment: V1Deployment;
  try {
    deployment = await clients.apps.readNamespacedDeployment(
      { name: spec.deployment, namespace },
      withSignal(signal),
    );
  } catch (error) {
    if (isStatus(error, 404))
      return { outcome: 'failed', summary: clip(`deployment ${spec.deployment} not found in ${namespace}`) };
    throw error;
  }
  const verdict = rolloutStatus(deployment);
  const value = deployment.status?.availableReplicas ?? 0;
  if (verdict.done) return { outcome: 'passed', summary: clip(verdict.message), value, unit: 'number' };
  if (verdict.deadlineExceeded) {
    const condition = deployment.status?.conditions?.find((c) => c.type === 'Progressing');
    return {
      outcome: 'failed',
      summary: clip(verdict.message),
      detail: clipDetail(condition?.message),
      value,
      unit: 'number',
    };
  }
  const warning = await rolloutWarning(clients, deployment, namespace, signal);
  const message = warning ? `${verdict.message} (Warning: ${warning})` : verdict.message;
  return { outcome: 'failed', summary: clip(message), detail: clipDetail(warning), value, unit: 'number' };
}

export interface RolloutVerdict {
  done: boolean;
  deadlineExceeded: boolean;
  message: string;
}

/** kubectl rollout status for a Deployment (polymorphichelpers.DeploymentStatusViewer.Status). */
export function rolloutStatus(deployment: V1Deployment): RolloutVerdict {
  const name = deployment.metadata?.name ?? '';
  const status = deployment.status ?? {};
  const waiting = (message: string): RolloutVerdict => ({ done: false, deadlineExceeded: false, message });
  if ((deployment.metadata?.generation ?? 0) > (status.observedGeneration ?? 0))
    return waiting('Waiting for deployment spec update to be observed...');
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded')
    return {
      done: false,
      deadlineExceeded: true,
      message: `deployment "${name}" exceeded its progress deadline`,
    };
  const updated = status.updatedReplicas ?? 0;
  const desired = deployment.spec?.replicas;
  if (desired !== undefined && updated < desired)
    return waiting(
      `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${desired} new replicas have been updated...`,
    );
  const replicas = status.replicas ?? 0;
  if (replicas > updated)
    return waiting(
      `Waiting for deployment "${name}" rollout to finish: ${replicas - updated} old replicas are pending termination...`,
    );
  const available = status.availableReplicas ?? 0;
  if (available < updated)
    return waiting(
      `Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...`,
    );
  return { done: true, deadlineExceeded: false, message: `deployment "${name}" successfully rolled out` };
}

/** kubectl's appendWarning: the first unschedulable pod or container stuck in a bad waiting state. */
async function rolloutWarning(
  clients: KubeClients,
  deployment: V1Deployment,
  namespace: string,
  signal: AbortSignal,
): Promise<string | undefined> {
  const selector = deployment.spec?.selector;
  if (!selector) return undefined;
  let pods: V1Pod[];
  try {
    pods = (
      await clients.core.listNamespacedPod(
        { namespace, labelSelector: selectorString(selector) },
        withSignal(signal),
      )
    ).items;
  } catch {
    return undefined; // kubectl also keeps the plain message when it cannot list pods
  }
  const bad = [
    'ImagePullBackOff',
    'ErrImagePull',
    'CrashLoopBackOff',
    'CreateContainerConfigError',
    'CreateContainerError',
  ];
  for (const pod of pods) {
    for (const condition of pod.status?.conditions ?? []) {
      if (
        condition.type === 'PodScheduled' &&
        condition.status === 'False' &&
        condition.reason === 'Unschedulable'
      )
        return condition.message ?? 'Unschedulable';
    }
    for (const container of pod.status?.containerStatuses ?? []) {
      const waiting = container.state?.waiting;
      if (waiting?.reason && bad.includes(waiting.reason))
        return `${waiting.reason} - ${waiting.message ?? ''}`.trim();
    }
  }
  return undefined;
}

/** A LabelSelector as the string `labelSelector=` takes (`app=web,tier in (a,b),!canary`). */
export function selectorString(selector: V1LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const expression of selector.matchExpressions ?? []) {
    const values = (expression.values ?? []).join(',');
    if (expression.operator === 'In') parts.push(`${expression.key} in (${values})`);
    else if (expression.operator === 'NotIn') parts.push(`${expression.key} notin (${values})`);
    else if (expression.operator === 'Exists') parts.push(expression.key);
    else if (expression.operator === 'DoesNotExist') parts.push(`!${expression.key}`);
  }
  return parts.join(',');
}

// ---------------------------------------------------------------------------------------------------
// nodes-ready

async function nodesReady(clients: KubeClients, signal: AbortSignal): Promise<CheckResult> {
  const { items } = await clients.core.listNode({}, withSignal(signal));
  if (items.length === 0)
    return { outcome: 'failed', summary: 'no nodes in the cluster', value: 0, unit: 'number' };
  const notReady = items.filter((node) => readyCondition(node)?.status !== 'True');
  const cordoned = items.filter((node) => node.spec?.unschedulable).map((node) => node.metadata?.name ?? '?');
  const ready = items.length - notReady.length;
  const counts = `${ready}/${items.length} nodes ready`;
  const cordonNote = cordoned.length > 0 ? ` (${cordoned.length} cordoned: ${cordoned.join(', ')})` : '';
  if (notReady.length === 0)
    return { outcome: 'passed', summary: clip(`${counts}${cordonNote}`), value: ready, unit: 'number' };
  const problems = notReady.map((node) => {
    const condition = readyCondition(node);
    const why = condition ? (condition.reason ?? condition.status) : 'no Ready condition';
    return `${node.metadata?.name ?? '?'} NotReady (${why})`;
  });
  return {
    outcome: 'failed',
    summary: listSummary(`${counts}: `, problems),
    detail: clip(
      [...problems, ...(cordoned.length ? [`cordoned: ${cordoned.join(', ')}`] : [])].join('\n'),
      DETAIL_MAX,
    ),
    value: ready,
    unit: 'number',
  };
}

function readyCondition(node: V1Node) {
  return node.status?.conditions?.find((c) => c.type === 'Ready');
}

// ---------------------------------------------------------------------------------------------------
// endpoints-ready

async function endpointsReady(
  spec: Spec<'endpoints-ready'>,
  clients: KubeClients,
  namespace: string,
  signal: AbortSignal,
): Promise<CheckResult> {
  const service = spec.service;
  try {
    const found = await clients.core.readNamespacedService({ name: service, namespace }, withSignal(signal));
    if (found.spec?.type === 'ExternalName')
      return {
        outcome: 'failed',
        summary: clip(`service ${service} is an ExternalName service: it has no endpoints`),
      };
  } catch (error) {
    if (isStatus(error, 404))
      return { outcome: 'failed', summary: clip(`service ${service} not found in ${namespace}`) };
    throw error;
  }
  const counted =
    (await countFromSlices(clients, service, namespace, signal)) ??
    (await countFromEndpoints(clients, service, namespace, signal));
  const { ready, notReady } = counted;
  const notReadyNote = notReady > 0 ? ` (${notReady} not ready)` : '';
  if (ready === 0)
    return {
      outcome: 'failed',
      summary: clip(`service ${service}: no ready endpoints${notReadyNote}`),
      value: 0,
      unit: 'number',
    };
  return {
    outcome: 'passed',
    summary: clip(`service ${service}: ${plural(ready, 'ready endpoint')}${notReadyNote}`),
    value: ready,
    unit: 'number',
  };
}

interface EndpointCount {
  ready: number;
  notReady: number;
}

/** EndpointSlices (discovery.k8s.io/v1); undefined when the API is not served or has no slice yet. */
async function countFromSlices(
  clients: KubeClients,
  service: string,
  namespace: string,
  signal: AbortSignal,
): Promise<EndpointCount | undefined> {
  let slices: V1EndpointSlice[];
  try {
    const discovery = clients.config.makeApiClient(DiscoveryV1Api);
    slices = (
      await discovery.listNamespacedEndpointSlice(
        { namespace, labelSelector: `kubernetes.io/service-name=${service}` },
        withSignal(signal),
      )
    ).items;
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
  if (slices.length === 0) return undefined;
  // A dual-stack Service lists each pod once per address family: count pods, not addresses.
  const ready = new Set<string>();
  const notReady = new Set<string>();
  for (const slice of slices) {
    for (const endpoint of slice.endpoints ?? []) {
      const ref = endpoint.targetRef;
      const id = ref?.uid ?? (ref?.name ? `${ref.kind}/${ref.name}` : endpoint.addresses.join(','));
      // The API says a nil `ready` means ready.
      if (endpoint.conditions?.ready === false) notReady.add(id);
      else ready.add(id);
    }
  }
  for (const id of ready) notReady.delete(id);
  return { ready: ready.size, notReady: notReady.size };
}

/** The v1 Endpoints object: clusters without EndpointSlices, or Services whose slices are not there yet. */
async function countFromEndpoints(
  clients: KubeClients,
  service: string,
  namespace: string,
  signal: AbortSignal,
): Promise<EndpointCount> {
  try {
    const endpoints = await clients.core.readNamespacedEndpoints(
      { name: service, namespace },
      withSignal(signal),
    );
    const subsets = endpoints.subsets ?? [];
    return {
      ready: subsets.reduce((sum, s) => sum + (s.addresses?.length ?? 0), 0),
      notReady: subsets.reduce((sum, s) => sum + (s.notReadyAddresses?.length ?? 0), 0),
    };
  } catch (error) {
    if (isStatus(error, 404)) return { ready: 0, notReady: 0 };
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------
// exists

async function exists(
  spec: Spec<'exists'>,
  clients: KubeClients,
  namespace: string,
  signal: AbortSignal,
): Promise<CheckResult> {
  const objects = ObjectsApi.forRun(clients.config, signal);
  const resource = await objects.served(spec.api_version, spec.kind);
  const where = resource?.namespaced === false ? '' : ` in ${namespace}`;
  const subject = `${spec.kind} ${spec.name}`;
  if (!resource)
    return {
      outcome: 'failed',
      summary: clip(
        `${subject} not found${where}: the server does not serve ${spec.kind} in ${spec.api_version}`,
      ),
    };
  try {
    await objects.read({
      apiVersion: spec.api_version,
      kind: spec.kind,
      metadata: { name: spec.name, namespace },
    });
    return { outcome: 'passed', summary: clip(`${subject} exists${where}`) };
  } catch (error) {
    if (isStatus(error, 404)) return { outcome: 'failed', summary: clip(`${subject} not found${where}`) };
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------
// dry-run-apply

class ManifestError extends Error {}

interface Manifest {
  file: string;
  object: KubernetesObject;
}

async function dryRunApply(
  spec: Spec<'dry-run-apply'>,
  clients: KubeClients,
  namespace: string,
  context: CheckContext,
): Promise<CheckResult> {
  const base = context.manifestsDir ?? process.cwd();
  let manifests: Manifest[];
  try {
    manifests = [];
    for (const path of spec.manifests) manifests.push(...(await readManifests(base, path)));
  } catch (error) {
    if (error instanceof ManifestError) return { outcome: 'failed', summary: clip(error.message) };
    return { outcome: 'error', summary: clip(`cannot read manifests: ${messageOf(error)}`) };
  }
  if (manifests.length === 0)
    return { outcome: 'failed', summary: clip(`no Kubernetes objects in ${spec.manifests.join(', ')}`) };

  const objects = ObjectsApi.forRun(clients.config, context.signal);
  const rejected: string[] = [];
  for (const { file, object } of manifests) {
    const label = `${object.kind} ${object.metadata?.name ?? '(no name)'}`;
    const resource = await objects.served(object.apiVersion ?? '', object.kind ?? '');
    if (!resource) {
      rejected.push(
        `${label} (${file}): no matches for kind "${object.kind}" in version "${object.apiVersion}"`,
      );
      continue;
    }
    const target = structuredClone(object);
    target.metadata ??= {};
    if (resource.namespaced && !target.metadata.namespace) target.metadata.namespace = namespace;
    try {
      // force: ownership conflicts with other field managers are not what this check is about.
      await objects.patch(target, undefined, 'All', FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    } catch (error) {
      const code = error instanceof ApiException ? error.code : 0;
      if (code >= 400 && code < 500 && code !== 401 && code !== 403) {
        rejected.push(`${label} (${file}): ${statusMessage(error) ?? `HTTP ${code}`}`);
        continue;
      }
      throw error;
    }
  }
  if (rejected.length === 0)
    return {
      outcome: 'passed',
      summary: `${plural(manifests.length, 'object')} accepted by server-side dry run`,
      value: manifests.length,
      unit: 'number',
    };
  const head =
    rejected.length === 1 && manifests.length === 1
      ? 'rejected by server-side dry run: '
      : `${rejected.length} of ${plural(manifests.length, 'object')} rejected by server-side dry run: `;
  return {
    outcome: 'failed',
    summary: clip(`${head}${rejected[0]}`),
    detail: clip(rejected.join('\n'), DETAIL_MAX),
    value: manifests.length - rejected.length,
    unit: 'number',
  };
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** A file, or a directory's .yaml/.yml/.json files (not recursive, sorted — as `kubectl apply -f dir`). */
async function readManifests(base: string, path: string): Promise<Manifest[]> {
  const absolute = resolve(base, path);
  const files = (await stat(absolute)).isDirectory()
    ? (await readdir(absolute, { withFileTypes: true }))
        .filter((entry) => entry.isFile() && MANIFEST_EXTENSIONS.has(extname(entry.name)))
        .map((entry) => join(absolute, entry.name))
        .sort()
    : [absolute];
  const manifests: Manifest[] = [];
  for (const file of files) {
    const shown = relative(base, file) || path;
    const text = await readFile(file, 'utf8');
    let documents: unknown[];
    try {
      documents = loadAllYaml(text);
    } catch (error) {
      throw new ManifestError(`${shown}: not valid YAML: ${firstLine(messageOf(error))}`);
    }
    documents.forEach((document, index) => {
      if (document === null || document === undefined) return; // empty documents between `---`
      for (const object of expandLists(document)) {
        if (
          typeof object !== 'object' ||
          object === null ||
          typeof object.apiVersion !== 'string' ||
          typeof object.kind !== 'string'
        )
          throw new ManifestError(`${shown}: document ${index + 1} has no apiVersion or kind`);
        manifests.push({ file: shown, object });
      }
    });
  }
  return manifests;
}

function expandLists(document: unknown): KubernetesObject[] {
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    return [document as KubernetesObject];
  const object = document as KubernetesObject & { items?: unknown[] };
  if (object.kind?.endsWith('List') && Array.isArray(object.items)) return object.items as KubernetesObject[];
  return [object];
}

// ---------------------------------------------------------------------------------------------------
// Client plumbing and error wording

/** Per-call options that tie the request to the run's AbortSignal. */
export function withSignal(signal: AbortSignal): ConfigurationOptions {
  return { middleware: [signalMiddleware(signal)], middlewareMergeStrategy: 'append' };
}

function signalMiddleware(signal: AbortSignal): ObservableMiddleware {
  return {
    pre: (request) => {
      request.setSignal(signal);
      return new Observable(Promise.resolve(request));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
}

/**
 * A KubernetesObjectApi whose every request carries the signal (the class ignores per-call middleware),
 * with its protected discovery lookup opened up: `exists` and the dry run need to know whether a kind is
 * served, and whether it is namespaced, before they touch an object.
 */
class ObjectsApi extends KubernetesObjectApi {
  static forRun(config: KubeConfig, signal: AbortSignal): ObjectsApi {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('no Kubernetes cluster configured');
    const api = new ObjectsApi(
      createConfiguration({
        baseServer: new ServerConfiguration(cluster.server, {}),
        authMethods: { default: config },
        middleware: [signalMiddleware(signal)],
      }),
    );
    api.setDefaultNamespace(config);
    return api;
  }

  /** The API resource serving apiVersion/kind, or undefined when the server has no such kind. */
  async served(apiVersion: string, kind: string) {
    try {
      return await this.resource(apiVersion, kind);
    } catch (error) {
      if (isStatus(error, 404)) return undefined; // the whole group/version is not served
      throw error;
    }
  }
}

export function isStatus(error: unknown, code: number): boolean {
  return error instanceof ApiException && error.code === code;
}

/** The `message` of the Status an ApiException carries (its body is the JSON text, or parsed). */
function statusMessage(error: unknown): string | undefined {
  if (!(error instanceof ApiException)) return undefined;
  let body: unknown = error.body;
  if (typeof body === 'string') {
    const text = body;
    try {
      body = JSON.parse(text);
    } catch {
      return text.trim() ? firstLine(text) : undefined;
    }
  }
  if (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { message?: unknown }).message === 'string'
  )
    return (body as { message: string }).message;
  return undefined;
}

function errorResult(error: unknown, signal: AbortSignal): CheckResult {
  if (signal.aborted || (error instanceof Error && error.name === 'AbortError')) {
    const reason = signal.reason instanceof Error ? signal.reason.message : 'cancelled';
    return { outcome: 'error', summary: clip(reason) };
  }
  if (error instanceof ApiException) {
    const message = statusMessage(error);
    const code = error.code;
    if (code === 401)
      return {
        outcome: 'error',
        summary: clip(`cannot evaluate: unauthorized (401)${message ? `: ${message}` : ''}`),
      };
    if (code === 403)
      return {
        outcome: 'error',
        summary: clip(`cannot evaluate: no permission: ${message ?? 'forbidden (403)'}`),
      };
    return {
      outcome: 'error',
      summary: clip(`cannot evaluate: Kubernetes API answered ${code}${message ? `: ${message}` : ''}`),
    };
  }
  const code = (error as { code?: unknown }).code;
  if (error instanceof Error && error.name === 'FetchError')
    return {
      outcome: 'error',
      summary: clip(
        `cannot reach the Kubernetes API${typeof code === 'string' ? ` (${code})` : ''}: ${error.message}`,
      ),
    };
  return { outcome: 'error', summary: clip(`cannot evaluate: ${messageOf(error)}`) };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

export function clip(text: string, max = SUMMARY_MAX): string {
  const line = text.replace(/\s*\n\s*/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

function clipDetail(text: string | undefined): string | undefined {
  return text ? text.slice(0, DETAIL_MAX) : undefined;
}

/** `prefix` + as many items as fit in a summary, then `, and N more`. */
export function listSummary(prefix: string, items: string[]): string {
  const shown: string[] = [];
  for (const [index, item] of items.entries()) {
    const rest = items.length - index - 1;
    const candidate = `${prefix}${[...shown, item].join(', ')}${rest > 0 ? `, and ${rest} more` : ''}`;
    if (candidate.length > SUMMARY_MAX && shown.length > 0) break;
    shown.push(item);
  }
  const hidden = items.length - shown.length;
  return clip(`${prefix}${shown.join(', ')}${hidden > 0 ? `, and ${hidden} more` : ''}`);
}
