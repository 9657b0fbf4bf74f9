import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { rolloutStatus } from '../../checks/kubernetes.js';
import type { FileConfig, ServiceConfig } from '../../config/schema.js';
import type { KubeClients } from '../../kube/client.js';
import { REVISION, SERVICE_ANNOTATION, SimulatedControllers, shortHash } from '../kube/controllers.js';
import { FakeKube } from '../kube/fake-kube.js';
import { parseLabelSelector } from '../kube/selectors.js';
import type { KubeObject } from '../kube/types.js';
import { type Exporter, startExporter } from '../metrics/metrics-exporter.js';
import { type MetricsSource, startMetricsSource } from '../metrics/metrics-source.js';
import {
  PROMETHEUS_BIN,
  PROMTOOL_BIN,
  type PrometheusServer,
  prometheusInstalled,
  promtoolInstalled,
  type ScrapeJob,
  startPrometheus,
  waitForSamples,
} from '../metrics/prometheus.js';

/**
 * Simulated infrastructure for a service catalogue, on loopback: everything the catalogue's checks look
 * at, healthy, so a checklist can run with its checks really running — without a cluster, a Prometheus
 * or the services themselves.
 *
 * - metrics: one exporter with every service's traffic and container series, scraped by a real
 *   Prometheus (when installed) as one job per service with `namespace`/`service` labels, so `up` is per
 *   service. Its storage is backfilled with `historyMs` of the same traffic, so `rate()` and `for:`
 *   windows have data from the first query. With `prometheus: 'builtin'` the built-in metrics source
 *   (metrics-source.ts, a PromQL subset) scrapes and answers instead.
 * - cluster: a FakeKube seeded with the namespaces, Ready nodes, and per service its Deployment(s)
 *   rolled out (ReplicaSets with revisions, Ready pods), Service with ready EndpointSlices, HPA and
 *   Ingresses, as the catalogue's `kubernetes` entries name them; with a Deployment and an endpoints
 *   controller (`controller`), so a changed template rolls out and a rollback completes (or stalls on request).
 * - HTTP: one server answering every service's health URL (and anything else under its base URL).
 * - manifests: per service a directory of manifests the fake API server accepts.
 *
 * The catalogue it returns points `health_url`, `base_url`, `prometheus_url` and `manifests_dir` at
 * these. Hosts outside this machine (TLS, DNS) and fixed ports (TCP) are left alone: nothing here can
 * answer for them.
 */

export interface SimulatedInfraOptions {
  /** The catalogue, as flightdeck.yaml gives it (validated). */
  file: FileConfig;
  /** The directory flightdeck.yaml is in: relative `checklists_dir` is resolved against it. */
  configDir: string;
  /**
   * `auto` (default): a real Prometheus when the binary is installed. `builtin`: the in-process metrics
   * source (metrics-source.ts), for machines without Prometheus. `off`: none.
   */
  prometheus?: 'auto' | 'builtin' | 'off';
  /** Default 1000 ms. */
  scrapeIntervalMs?: number;
  /** How long the services have been up: the history Prometheus is backfilled with. Default 2 h (the
   * longest `for:` window in the seed checklists is 1 h, plus the 5 m rate range). */
  historyMs?: number;
  /** How long the simulated controllers take to act on a change (a rollout, a selector switch). Default 200 ms. */
  controllerDelayMs?: number;
}

/** How a service behaves; every service starts healthy. */
export interface ServiceHealth {
  /** Share of requests answered 500. Default 0.0002 (0.02%). */
  errorRatio: number;
  /** Seconds; p95 comes out just under it. Default 0.05. */
  latency: number;
  /** Memory working set / limit. Default 0.4. */
  memoryRatio: number;
  /** CPU used / limit. Default 0.25. */
  cpuRatio: number;
}

export const HEALTHY: ServiceHealth = { errorRatio: 0.0002, latency: 0.05, memoryRatio: 0.4, cpuRatio: 0.25 };

export interface SimulatedHttp {
  /** Base URL of the server; service `x` lives under `<url>/x`. */
  url: string;
  /** What the service's health URL answers from now on (default 200). */
  setHealth(service: string, status: number, body?: string): void;
}

export interface SimulatedInfra {
  /** The catalogue, pointed at the simulation (URLs, `manifests_dir`, absolute `checklists_dir`). */
  file: FileConfig;
  /** Kubernetes clients for the fake cluster (what `startFlightdeck`'s `kube` option takes). */
  kube: () => Promise<KubeClients>;
  fakeKube: FakeKube;
  /** The cluster's Deployment and endpoints controllers: `stall`/`unstall` a Deployment's rollouts. */
  controller: Pick<SimulatedControllers, 'delayMs' | 'stall' | 'unstall'>;
  /** A kubeconfig for the fake cluster, for processes that read KUBECONFIG. */
  kubeconfigPath: string;
  exporter: Exporter;
  /** Prometheus, or the built-in metrics source; unset when there is neither (see `notes`). */
  prometheusUrl?: string;
  http: SimulatedHttp;
  /** Per service: its pods' names and the namespace they are in. */
  pods: Record<string, { namespace: string; names: string[] }>;
  /** What the simulation could not provide, and what that means for checks. */
  notes: string[];
  /**
   * What a team's CI/CD does before Flightdeck verifies it: the service's new workload (the slot being
   * deployed, the canary, or the rolling Deployment; the pods of a service without a Deployment) runs
   * `<service>:<version>`, rolled out by the cluster's controller. Resolves once it runs.
   */
  release(service: string, version: string): Promise<void>;
  stop(): Promise<void>;
}

const REPLICAS = 3;
const CANARY_REPLICAS = 1;
const CONTAINER_PORT = 8080;
const NODES = ['sandbox-node-1', 'sandbox-node-2', 'sandbox-node-3'];

export async function startSimulatedInfra(options: SimulatedInfraOptions): Promise<SimulatedInfra> {
  const cleanup: Array<() => Promise<unknown>> = [];
  // Last started, first stopped; each step once, however often stop() is called.
  const stop = async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
  };
  try {
    return await start(options, cleanup, stop);
  } catch (error) {
    await stop();
    throw error;
  }
}

async function start(
  options: SimulatedInfraOptions,
  cleanup: Array<() => Promise<unknown>>,
  stop: () => Promise<void>,
): Promise<SimulatedInfra> {
  const notes: string[] = [];
  const services = Object.entries(options.file.services);
  const historyMs = options.historyMs ?? 2 * 60 * 60 * 1_000;

  // The cluster first: the metrics name its pods.
  const fakeKube = await FakeKube.start();
  cleanup.push(() => fakeKube.stop());
  seedCluster(fakeKube, options.file);
  // After seeding: the seeded objects are already as their controllers would leave them.
  const controller = new SimulatedControllers(fakeKube, { delayMs: options.controllerDelayMs ?? 200 });
  cleanup.push(async () => controller.stop());
  const pods: SimulatedInfra['pods'] = {};
  for (const [name, service] of services) {
    const names = fakeKube
      .list<KubeObject>('Pod', service.namespace)
      .filter((pod) => pod.metadata?.annotations?.[SERVICE_ANNOTATION] === name)
      .map((pod) => pod.metadata?.name as string);
    pods[name] = { namespace: service.namespace, names };
  }

  const builtin = options.prometheus === 'builtin';
  const wantPrometheus = options.prometheus !== 'off' && !builtin;
  const withPrometheus = wantPrometheus && prometheusInstalled();
  const withHistory = withPrometheus && promtoolInstalled();
  if (wantPrometheus && !withPrometheus)
    notes.push(
      `no Prometheus (${PROMETHEUS_BIN} is missing): prometheus_url is left unset, so Prometheus checks report an error`,
    );
  if (options.prometheus === 'off')
    notes.push('Prometheus is off: prometheus_url is left unset, so Prometheus checks report an error');
  if (withPrometheus && !withHistory)
    notes.push(
      `no history for Prometheus (${PROMTOOL_BIN} is missing): rates need a few scrapes, and checks with a long \`for:\` window report too little data`,
    );

  const exporter = await startExporter({
    requestsPerTick: 20,
    upForMs: withHistory || builtin ? historyMs : 0,
    services: Object.fromEntries(
      services.map(([name]) => [
        name,
        { ...HEALTHY, namespace: pods[name]!.namespace, pods: pods[name]!.names },
      ]),
    ),
  });
  cleanup.push(() => exporter.stop());

  let prometheus: PrometheusServer | undefined;
  if (withPrometheus) {
    const targetLabels = (name: string) => ({
      namespace: options.file.services[name]?.namespace ?? 'default',
      service: name,
    });
    const jobs: ScrapeJob[] = services.map(([name]) => ({
      name,
      targets: [exporter.target],
      params: { service: [name] },
      labels: targetLabels(name),
      // The series' own `service` label must stay `service`, not become `exported_service`.
      honorLabels: true,
    }));
    prometheus = await startPrometheus({
      jobs,
      scrapeIntervalMs: options.scrapeIntervalMs ?? 1_000,
      ...(withHistory
        ? {
            backfill: exporter.history({
              stepMs: 30_000,
              targetLabels: (name) => ({ job: name, instance: exporter.target, ...targetLabels(name) }),
            }),
          }
        : {}),
    });
    cleanup.push(() => prometheus!.stop());
    // Every job scraped for real once (Prometheus hands static targets to its scrapers after ~5 s).
    await waitForSamples(
      prometheus.url,
      `count(up{instance="${exporter.target}"} == 1)`,
      (samples) => samples[0]?.value === services.length,
      30_000,
    );
  }

  let metricsSource: MetricsSource | undefined;
  if (builtin) {
    metricsSource = await startMetricsSource({
      exporter,
      services: Object.fromEntries(services.map(([name, service]) => [name, service.namespace])),
      scrapeIntervalMs: options.scrapeIntervalMs ?? 1_000,
    });
    cleanup.push(() => metricsSource!.stop());
    notes.push(
      'metrics come from the built-in metrics source (a PromQL subset; see src/sandbox/metrics/promql.ts), not Prometheus',
    );
  }
  const prometheusUrl = prometheus?.url ?? metricsSource?.url;

  const http = await startHttp(options.file, exporter);
  cleanup.push(() => http.close());

  const manifestsRoot = await mkdtemp(join(tmpdir(), 'flightdeck-manifests-'));
  cleanup.push(() => rm(manifestsRoot, { recursive: true, force: true }));
  const file: FileConfig = structuredClone(options.file);
  file.checklists_dir = resolve(options.configDir, options.file.checklists_dir);
  for (const [name, service] of Object.entries(file.services)) {
    const dir = join(manifestsRoot, name);
    await writeManifests(dir, name, service);
    service.manifests_dir = dir;
    const base = `${http.url}/${name}`;
    service.base_url = base;
    service.health_url = `${base}${healthPath(options.file.services[name]!)}`;
    if (prometheusUrl) service.prometheus_url = prometheusUrl;
    else delete service.prometheus_url;
  }

  const clients = fakeKube.clients();
  return {
    file,
    kube: () => Promise.resolve(clients),
    fakeKube,
    controller,
    kubeconfigPath: fakeKube.kubeconfigPath,
    exporter,
    ...(prometheusUrl ? { prometheusUrl } : {}),
    http: { url: http.url, setHealth: http.setHealth },
    pods,
    notes,
    release: (service, version) => release(fakeKube, options.file, service, version),
    stop,
  };
}

async function release(kube: FakeKube, file: FileConfig, name: string, version: string): Promise<void> {
  const service = file.services[name];
  if (!service) throw new Error(`no service ${name} in the simulation`);
  const image = `${name}:${version}`;
  const deployment = service.kubernetes.deployment;
  if (!deployment) {
    // Pods without a Deployment (a platform restarted in order): their containers run the new image.
    for (const pod of kube.list<KubeObject>('Pod', service.namespace)) {
      if (pod.metadata?.annotations?.[SERVICE_ANNOTATION] !== name) continue;
      kube.update<
        KubeObject & { spec: PodImages; status: { containerStatuses?: Array<{ image?: string }> } }
      >(`Pod/${service.namespace}/${pod.metadata?.name}`, (running) => {
        for (const container of running.spec.containers) container.image = image;
        for (const status of running.status.containerStatuses ?? []) status.image = image;
      });
    }
    return;
  }
  // Through the API, as CI/CD's `kubectl set image` would; the Deployment controller rolls it out.
  const ref = `Deployment/${service.namespace}/${deployment}`;
  const containers = kube.get<KubeObject & { spec: { template: { spec: PodImages } } }>(ref)?.spec.template
    .spec.containers;
  await kube.clients().apps.patchNamespacedDeployment({
    name: deployment,
    namespace: service.namespace,
    body: (containers ?? []).map((_, index) => ({
      op: 'replace',
      path: `/spec/template/spec/containers/${index}/image`,
      value: image,
    })),
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const current = kube.get<KubeObject>(ref);
    if (current && rolloutStatus(current as never).done) return;
    if (Date.now() > deadline) throw new Error(`${image} did not roll out in the simulation`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface PodImages {
  containers: Array<{ image?: string }>;
}

// ---------------------------------------------------------------------------------------------------
// HTTP: the services' own endpoints

/** The path of a service's health URL (with its query), `/health` when it has none. */
function healthPath(service: ServiceConfig): string {
  if (!service.health_url) return '/health';
  const url = new URL(service.health_url);
  return `${url.pathname}${url.search}`;
}

async function startHttp(file: FileConfig, exporter: Exporter) {
  const health = new Map<string, { status: number; body?: string }>();
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://simulated');
    const [, name = '', ...rest] = url.pathname.split('/');
    const service = file.services[name];
    if (!service) {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end(`no service "${name}" here\n`);
      return;
    }
    const path = `/${rest.join('/')}${url.search}`;
    if (path === healthPath(service)) {
      const answer = health.get(name) ?? { status: 200 };
      const body =
        answer.body ?? JSON.stringify({ status: answer.status < 400 ? 'ok' : 'failing', service: name });
      response.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(body);
      return;
    }
    if (url.pathname === `/${name}/metrics`) {
      response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(exporter.metrics(name));
      return;
    }
    response.writeHead(200, { 'Content-Type': 'text/plain' }).end(`${name}: ok\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setHealth(service: string, status: number, body?: string) {
      if (!file.services[service]) throw new Error(`no service ${service} in the catalogue`);
      health.set(service, { status, ...(body !== undefined ? { body } : {}) });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------------
// The cluster

interface Workload {
  /** The Deployment, or undefined for bare pods (a selector without a deployment). */
  deployment?: string;
  /** Labels of its pods (and its selector). */
  labels: Record<string, string>;
  replicas: number;
}

/** What a catalogue entry says runs in the cluster. */
function workloadsOf(
  name: string,
  service: ServiceConfig,
): {
  workloads: Workload[];
  serviceSelector?: Record<string, string>;
  canaryService?: { name: string; selector: Record<string, string> };
} {
  const k = service.kubernetes;
  const base = selectorLabels(k.selector) ?? { app: name };
  const deployment = k.deployment;
  if (!deployment) return { workloads: [{ labels: base, replicas: REPLICAS }], serviceSelector: base };
  const slot = /-(blue|green)$/.exec(deployment)?.[1];
  if (slot) {
    // Blue-green: the slot being deployed and the live one, which the Service selects until the switch.
    const live = slot === 'green' ? 'blue' : 'green';
    return {
      workloads: [
        { deployment, labels: { ...base, slot }, replicas: REPLICAS },
        {
          deployment: deployment.replace(/-(blue|green)$/, `-${live}`),
          labels: { ...base, slot: live },
          replicas: REPLICAS,
        },
      ],
      serviceSelector: { ...base, slot: live },
    };
  }
  if (k.stable_deployment) {
    const canary = { ...base, track: 'canary' };
    const stable = { ...base, track: 'stable' };
    return {
      workloads: [
        { deployment, labels: canary, replicas: CANARY_REPLICAS },
        { deployment: k.stable_deployment, labels: stable, replicas: REPLICAS },
      ],
      serviceSelector: stable,
      ...(k.canary_ingress ? { canaryService: { name: deployment, selector: canary } } : {}),
    };
  }
  return { workloads: [{ deployment, labels: base, replicas: REPLICAS }], serviceSelector: base };
}

/** `app=web,tier=api` as labels; set-based terms cannot be turned into labels and are left out. */
function selectorLabels(selector: string | undefined): Record<string, string> | undefined {
  if (!selector) return undefined;
  const labels: Record<string, string> = {};
  for (const requirement of parseLabelSelector(selector))
    if (requirement.operator === 'in' && requirement.values.length === 1)
      labels[requirement.key] = requirement.values[0]!;
  return Object.keys(labels).length > 0 ? labels : undefined;
}

function seedCluster(kube: FakeKube, file: FileConfig): void {
  const created = new Date(Date.now() - 24 * 60 * 60 * 1_000).toISOString().replace(/\.\d+Z$/, 'Z');
  NODES.forEach((node, index) => {
    kube.put({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: node, labels: { 'kubernetes.io/hostname': node, 'kubernetes.io/os': 'linux' } },
      spec: {},
      status: {
        conditions: [
          { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory' },
          { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure' },
          { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID' },
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
          },
        ],
        addresses: [{ type: 'InternalIP', address: `10.0.0.${index + 10}` }],
        capacity: { cpu: '4', memory: '16Gi', pods: '110' },
        allocatable: { cpu: '4', memory: '15Gi', pods: '110' },
        nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'Flightdeck sandbox', architecture: 'amd64' },
      },
    });
  });
  let podIndex = 0;
  const namespaces = new Set(Object.values(file.services).map((service) => service.namespace));
  for (const namespace of namespaces)
    kube.put({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace, labels: { 'kubernetes.io/metadata.name': namespace } },
      status: { phase: 'Active' },
    });

  for (const [name, service] of Object.entries(file.services)) {
    const { namespace } = service;
    const { workloads, serviceSelector, canaryService } = workloadsOf(name, service);
    const podsByLabels: KubeObject[] = [];
    for (const workload of workloads) {
      const podLabels = (hash?: string) => ({
        ...workload.labels,
        ...(hash ? { 'pod-template-hash': hash } : {}),
      });
      const podSpec = (image: string) => ({
        containers: [{ name, image, ports: [{ name: 'http', containerPort: CONTAINER_PORT }] }],
      });
      const podTemplate = (image: string, hash?: string) => ({
        metadata: { labels: podLabels(hash) },
        spec: podSpec(image),
      });
      let owner: Record<string, unknown> | undefined;
      let prefix = `${name}-`;
      let hash: string | undefined;
      if (workload.deployment) {
        const deployment = kube.put<KubeObject>({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: {
            name: workload.deployment,
            namespace,
            generation: 2,
            labels: workload.labels,
            annotations: { [REVISION]: '2' },
            creationTimestamp: created,
          },
          spec: {
            replicas: workload.replicas,
            selector: { matchLabels: workload.labels },
            template: podTemplate(`${name}:current`),
          },
          status: {
            observedGeneration: 2,
            replicas: workload.replicas,
            updatedReplicas: workload.replicas,
            readyReplicas: workload.replicas,
            availableReplicas: workload.replicas,
            conditions: [
              { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
              { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
            ],
          },
        });
        const deploymentRef = {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: workload.deployment,
          uid: deployment.metadata?.uid,
          controller: true,
          blockOwnerDeletion: true,
        };
        // Two revisions, so a rollback has a previous ReplicaSet to go back to.
        for (const revision of [1, 2]) {
          const image = `${name}:${revision === 2 ? 'current' : 'previous'}`;
          const rsHash = shortHash(`${namespace}/${workload.deployment}/${revision}`, 10);
          const replicas = revision === 2 ? workload.replicas : 0;
          const replicaSet = kube.put<KubeObject>({
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            metadata: {
              name: `${workload.deployment}-${rsHash}`,
              namespace,
              generation: 1,
              labels: { ...workload.labels, 'pod-template-hash': rsHash },
              annotations: { [REVISION]: String(revision) },
              ownerReferences: [deploymentRef],
              creationTimestamp: created,
            },
            spec: {
              replicas,
              selector: { matchLabels: { ...workload.labels, 'pod-template-hash': rsHash } },
              template: podTemplate(image, rsHash),
            },
            status: {
              observedGeneration: 1,
              replicas,
              fullyLabeledReplicas: replicas,
              readyReplicas: replicas,
              availableReplicas: replicas,
            },
          });
          if (revision === 2) {
            hash = rsHash;
            prefix = `${workload.deployment}-${rsHash}-`;
            owner = {
              apiVersion: 'apps/v1',
              kind: 'ReplicaSet',
              name: replicaSet.metadata?.name,
              uid: replicaSet.metadata?.uid,
              controller: true,
              blockOwnerDeletion: true,
            };
          }
        }
      }
      for (let index = 0; index < workload.replicas; index++) {
        const podName = workload.deployment
          ? `${prefix}${shortHash(`${prefix}${index}`, 5)}`
          : `${prefix}${index}`;
        const node = NODES[podIndex % NODES.length]!;
        const ip = `10.244.${Math.floor(podIndex / 250)}.${(podIndex % 250) + 2}`;
        podIndex++;
        podsByLabels.push(
          kube.put({
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: {
              name: podName,
              namespace,
              labels: podLabels(hash),
              annotations: { [SERVICE_ANNOTATION]: name },
              ...(owner ? { ownerReferences: [owner] } : {}),
              creationTimestamp: created,
            },
            spec: { ...podSpec(`${name}:current`), nodeName: node },
            status: {
              phase: 'Running',
              podIP: ip,
              podIPs: [{ ip }],
              hostIP: `10.0.0.${NODES.indexOf(node) + 10}`,
              startTime: created,
              qosClass: 'Burstable',
              conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
                type,
                status: 'True',
                lastTransitionTime: created,
              })),
              containerStatuses: [
                {
                  name,
                  ready: true,
                  started: true,
                  restartCount: 0,
                  image: `${name}:current`,
                  imageID: `sandbox://${name}@sha256:${shortHash(name, 64)}`,
                  containerID: `containerd://${shortHash(podName, 64)}`,
                  state: { running: { startedAt: created } },
                },
              ],
            },
          }),
        );
      }
    }

    const k = service.kubernetes;
    const exposed: Array<{ name: string; selector: Record<string, string> }> = [];
    if (k.service && serviceSelector) exposed.push({ name: k.service, selector: serviceSelector });
    if (canaryService) exposed.push(canaryService);
    for (const { name: serviceName, selector } of exposed) {
      kube.put({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: serviceName, namespace, labels: selectorLabels(k.selector) ?? { app: name } },
        spec: {
          type: 'ClusterIP',
          selector,
          ports: [{ name: 'http', port: 80, targetPort: CONTAINER_PORT, protocol: 'TCP' }],
        },
      });
      const selected = podsByLabels.filter((pod) =>
        Object.entries(selector).every(([key, value]) => pod.metadata?.labels?.[key] === value),
      );
      kube.put({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: `${serviceName}-${shortHash(`${namespace}/${serviceName}`, 5)}`,
          namespace,
          labels: {
            'kubernetes.io/service-name': serviceName,
            'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
          },
        },
        addressType: 'IPv4',
        endpoints: selected.map((pod) => {
          const status = pod.status as { podIP: string };
          return {
            addresses: [status.podIP],
            conditions: { ready: true, serving: true, terminating: false },
            nodeName: (pod.spec as { nodeName: string }).nodeName,
            targetRef: { kind: 'Pod', namespace, name: pod.metadata?.name, uid: pod.metadata?.uid },
          };
        }),
        ports: [{ name: 'http', port: CONTAINER_PORT, protocol: 'TCP' }],
      });
    }

    if (k.hpa && k.deployment)
      kube.put({
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: k.hpa, namespace },
        spec: hpaSpec(k.deployment),
        status: { currentReplicas: REPLICAS, desiredReplicas: REPLICAS },
      });

    const host = service.base_url ? new URL(service.base_url).hostname : `${name}.sandbox.local`;
    const ingress = (ingressName: string, backend: string, annotations?: Record<string, string>) =>
      kube.put({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: ingressName, namespace, ...(annotations ? { annotations } : {}) },
        spec: {
          ingressClassName: 'nginx',
          rules: [
            {
              host,
              http: {
                paths: [
                  {
                    path: '/',
                    pathType: 'Prefix',
                    backend: { service: { name: backend, port: { number: 80 } } },
                  },
                ],
              },
            },
          ],
        },
        status: { loadBalancer: { ingress: [{ ip: '127.0.0.1' }] } },
      });
    if (k.ingress && k.service) ingress(k.ingress, k.service);
    if (k.canary_ingress && canaryService)
      ingress(k.canary_ingress, canaryService.name, {
        'nginx.ingress.kubernetes.io/canary': 'true',
        'nginx.ingress.kubernetes.io/canary-weight': '0',
      });
  }
}

function hpaSpec(deployment: string) {
  return {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment },
    minReplicas: REPLICAS,
    maxReplicas: 10,
    metrics: [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------------
// Manifests for dry-run-apply checks

/**
 * The service's manifests, as a repository would hold them: `deployments/kubernetes/` (namespace,
 * deployment, service, hpa) and the same files at the top level (`deployment.yaml`, `service.yaml`,
 * `hpa.yaml`), each only for what the catalogue names.
 */
async function writeManifests(dir: string, name: string, service: ServiceConfig): Promise<void> {
  const k = service.kubernetes;
  const { workloads } = workloadsOf(name, service);
  const labels = workloads[0]?.labels ?? { app: name };
  const files: Record<string, KubeObject> = {
    namespace: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: service.namespace } },
  };
  if (k.deployment)
    files.deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: k.deployment, namespace: service.namespace, labels },
      spec: {
        replicas: REPLICAS,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name,
                image: `${name}:next`,
                ports: [{ name: 'http', containerPort: CONTAINER_PORT }],
                resources: {
                  limits: { cpu: '500m', memory: '512Mi' },
                  requests: { cpu: '100m', memory: '128Mi' },
                },
              },
            ],
          },
        },
      },
    };
  if (k.service)
    files.service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: k.service, namespace: service.namespace },
      spec: {
        selector: labels,
        ports: [{ name: 'http', port: 80, targetPort: CONTAINER_PORT, protocol: 'TCP' }],
      },
    };
  if (k.hpa && k.deployment)
    files.hpa = {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: k.hpa, namespace: service.namespace },
      spec: hpaSpec(k.deployment),
    };
  await mkdir(join(dir, 'deployments', 'kubernetes'), { recursive: true });
  for (const [file, object] of Object.entries(files)) {
    const text = stringify(object);
    await writeFile(join(dir, 'deployments', 'kubernetes', `${file}.yaml`), text);
    if (file !== 'namespace') await writeFile(join(dir, `${file}.yaml`), text);
  }
}
