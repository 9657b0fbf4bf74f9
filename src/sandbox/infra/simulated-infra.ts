import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { rolloutStatus } from '../../checks/kubernetes/rollout.js';
import type { FileConfig } from '../../config/schema.js';
import type { KubeClients } from '../../kube/client.js';
import { SERVICE_ANNOTATION, SimulatedControllers } from '../kube/controllers.js';
import { FakeKube } from '../kube/fake-kube.js';
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
import { seedCluster } from './cluster.js';
import { writeManifests } from './manifests.js';
import { healthPath, startHttp } from './service-endpoints.js';

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
 * Beside it: cluster.ts (what the cluster holds), service-endpoints.ts (the HTTP server), manifests.ts.
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
