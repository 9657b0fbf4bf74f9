import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSpecSchema } from '../../src/checklists/schema.js';
import { checkModules } from '../../src/checks/index.js';
import { runCheck } from '../../src/checks/runner.js';
import { type FileConfig, fileConfigSchema } from '../../src/config/schema.js';
import { type SimulatedInfra, startSimulatedInfra } from '../../src/sandbox/infra/simulated-infra.js';
import type { KubeObject } from '../../src/sandbox/kube/types.js';
import { instantQuery, waitForSamples } from '../../src/sandbox/metrics/prometheus.js';
import { createStrategy, TrafficError, trafficConfigSchema } from '../../src/traffic/index.js';

/**
 * The simulation the seed walk-through runs against: what the checks see of it, through the real check
 * modules, a real Prometheus and the fake API server.
 */

const catalogue: FileConfig = fileConfigSchema.parse({
  checklists_dir: 'checklists',
  services: {
    shop: {
      checklist: 'any',
      channel: 'C0SHOP',
      namespace: 'store',
      kubernetes: {
        deployment: 'shop-green',
        service: 'shop',
        hpa: 'shop',
        ingress: 'shop',
        selector: 'app=shop',
      },
      prometheus_url: 'http://prometheus.monitoring:9090',
      health_url: 'https://shop.example.com/healthz?deep=1',
      base_url: 'https://shop.example.com',
      deployers: ['anyone'],
    },
    // Same namespace, no Deployment: bare pods found by a part-of selector.
    platform: {
      checklist: 'any',
      channel: 'C0PLATFORM',
      namespace: 'store',
      kubernetes: { selector: 'app.kubernetes.io/part-of=platform' },
      deployers: ['anyone'],
    },
  },
});

let infra: SimulatedInfra;
beforeAll(async () => {
  infra = await startSimulatedInfra({
    file: catalogue,
    configDir: '/srv/flightdeck',
    scrapeIntervalMs: 500,
    controllerDelayMs: 20,
  });
});
afterAll(async () => {
  await infra?.stop();
});

function check(service: 'shop' | 'platform', spec: Record<string, unknown>) {
  const config = infra.file.services[service]!;
  return runCheck(
    checkModules,
    checkSpecSchema.parse(spec),
    {
      namespace: config.namespace,
      ...(config.prometheus_url ? { prometheusUrl: config.prometheus_url } : {}),
      ...(config.manifests_dir ? { manifestsDir: config.manifests_dir } : {}),
      kube: infra.kube,
      now: Date.now,
    },
    { backoffMs: 20 },
  );
}

describe('the catalogue it returns', () => {
  it('points URLs, Prometheus and manifests at the simulation, and checklists_dir at the original', () => {
    expect(infra.notes).toEqual([]);
    const shop = infra.file.services.shop!;
    expect(shop.base_url).toBe(`${infra.http.url}/shop`);
    expect(shop.health_url).toBe(`${infra.http.url}/shop/healthz?deep=1`);
    expect(shop.prometheus_url).toBe(infra.prometheusUrl);
    expect(infra.file.services.platform!.prometheus_url).toBe(infra.prometheusUrl);
    expect(infra.file.checklists_dir).toBe('/srv/flightdeck/checklists');
    expect(catalogue.services.shop!.health_url).toBe('https://shop.example.com/healthz?deep=1'); // a copy
  });
});

describe('metrics', () => {
  it('scrapes each service as its own job, with its namespace and service, keeping the series’ labels', async () => {
    const up = await instantQuery(infra.prometheusUrl!, 'up');
    expect(up.map((sample) => sample.metric).sort((a, b) => a.job!.localeCompare(b.job!))).toEqual([
      {
        __name__: 'up',
        job: 'platform',
        instance: infra.exporter.target,
        namespace: 'store',
        service: 'platform',
      },
      { __name__: 'up', job: 'shop', instance: infra.exporter.target, namespace: 'store', service: 'shop' },
    ]);
    // honor_labels: the exporter's own `service` label stays `service`.
    expect(await instantQuery(infra.prometheusUrl!, 'count({exported_service!=""})')).toEqual([]);
    // Each job scrapes only its service's series, so nothing is counted twice.
    const shopRequests = await instantQuery(infra.prometheusUrl!, 'http_requests_total{service="shop"}');
    expect(shopRequests.map((sample) => [sample.metric.job, sample.metric.code]).sort()).toEqual([
      ['shop', '200'],
      ['shop', '500'],
    ]);
  });

  it('has hours of healthy history, so rates and hour-long windows pass from the first query', async () => {
    const ratio =
      'sum(rate(http_requests_total{service="shop",code=~"5.."}[5m])) / sum(rate(http_requests_total{service="shop"}[5m]))';
    const windowed = await check('shop', {
      type: 'prometheus',
      query: ratio,
      comparator: '<',
      threshold: 0.001,
      unit: 'ratio',
      label: 'error rate',
      for: '1h',
    });
    expect(windowed).toMatchObject({ outcome: 'passed', summary: 'error rate ≤ 0.02% < 0.1% for all of 1h' });
    const cpu = await check('platform', {
      type: 'prometheus',
      query:
        'max(sum by (pod) (rate(container_cpu_usage_seconds_total{namespace="store",container="platform"}[5m])) / sum by (pod) (container_spec_cpu_quota{namespace="store",container="platform"} / container_spec_cpu_period{namespace="store",container="platform"}))',
      comparator: '<',
      threshold: 0.7,
      unit: 'ratio',
      label: 'CPU / limit',
    });
    expect(cpu).toMatchObject({ outcome: 'passed', summary: 'CPU / limit 25% < 70%' });
  });

  it('changes traffic on request', async () => {
    infra.exporter.setErrorRatio('shop', 0.5);
    const recent =
      'sum(rate(http_requests_total{service="shop",code=~"5.."}[3s])) / sum(rate(http_requests_total{service="shop"}[3s]))';
    await waitForSamples(infra.prometheusUrl!, recent, (samples) => (samples[0]?.value ?? 0) > 0.1);
    infra.exporter.setErrorRatio('shop', 0.0002);
  });
});

describe('cluster', () => {
  it('runs the deployed slot and the live one, with the Service on the live one', async () => {
    expect(
      await check('shop', { type: 'kubernetes', check: 'rollout-complete', deployment: 'shop-green' }),
    ).toMatchObject({ outcome: 'passed', summary: 'deployment "shop-green" successfully rolled out' });
    expect(
      await check('shop', { type: 'kubernetes', check: 'pods-ready', selector: 'app=shop,slot=green' }),
    ).toMatchObject({ outcome: 'passed', summary: '3/3 pods ready' });
    expect(
      await check('shop', { type: 'kubernetes', check: 'endpoints-ready', service: 'shop' }),
    ).toMatchObject({
      outcome: 'passed',
      summary: 'service shop: 3 ready endpoints',
    });
    const service = infra.fakeKube.get<{ spec: { selector: Record<string, string> } }>('Service/store/shop');
    expect(service?.spec.selector).toEqual({ app: 'shop', slot: 'blue' });
    expect(
      await check('shop', {
        type: 'kubernetes',
        check: 'exists',
        api_version: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        name: 'shop',
      }),
    ).toMatchObject({ outcome: 'passed' });
    expect(infra.fakeKube.get('Ingress/store/shop')).toBeDefined();
    expect(await check('shop', { type: 'kubernetes', check: 'nodes-ready' })).toMatchObject({
      outcome: 'passed',
      summary: '3/3 nodes ready',
    });
  });

  it('has pods for a selector without a Deployment, told apart from other services in the namespace', async () => {
    expect(
      await check('platform', {
        type: 'kubernetes',
        check: 'pods-ready',
        selector: 'app.kubernetes.io/part-of=platform',
      }),
    ).toMatchObject({ outcome: 'passed', summary: '3/3 pods ready' });
    expect(infra.pods.platform!.names).toHaveLength(3);
    expect(infra.pods.shop!.names).toHaveLength(6); // green and blue
  });

  it('keeps ReplicaSets of two revisions for the deployed Deployment', () => {
    const replicaSets = infra.fakeKube
      .list<{ metadata: { name: string; annotations: Record<string, string> } }>('ReplicaSet', 'store')
      .filter((rs) => rs.metadata.name.startsWith('shop-green-'));
    expect(
      replicaSets.map((rs) => rs.metadata.annotations['deployment.kubernetes.io/revision']).sort(),
    ).toEqual(['1', '2']);
  });

  it('has manifests the API server accepts in a dry run', async () => {
    const dir = infra.file.services.shop!.manifests_dir!;
    expect(await readFile(join(dir, 'hpa.yaml'), 'utf8')).toContain('HorizontalPodAutoscaler');
    expect(
      await check('shop', {
        type: 'kubernetes',
        check: 'dry-run-apply',
        manifests: ['deployments/kubernetes/'],
      }),
    ).toMatchObject({ outcome: 'passed', summary: '4 objects accepted by server-side dry run' });
    expect(
      await check('shop', {
        type: 'kubernetes',
        check: 'dry-run-apply',
        manifests: ['deployment.yaml', 'service.yaml', 'hpa.yaml'],
      }),
    ).toMatchObject({ outcome: 'passed', summary: '3 objects accepted by server-side dry run' });
  });
});

describe('HTTP', () => {
  it('answers the health URL, and fails it on request', async () => {
    const url = infra.file.services.shop!.health_url!;
    expect(await check('shop', { type: 'http', url })).toMatchObject({ outcome: 'passed' });
    infra.http.setHealth('shop', 503);
    expect((await fetch(url)).status).toBe(503);
    expect(await check('shop', { type: 'http', url, retries: 0 })).toMatchObject({ outcome: 'error' });
    infra.http.setHealth('shop', 200);
    const metrics = await (await fetch(`${infra.file.services.shop!.base_url}/metrics`)).text();
    expect(metrics).toContain('http_requests_total{service="shop",code="200"}');
    expect(metrics).not.toContain('platform');
  });
});

describe('the Deployment controller', () => {
  const REF = 'Deployment/store/shop-green';
  const REVISION = 'deployment.kubernetes.io/revision';
  type Workload = KubeObject & {
    spec: { replicas: number; template: { spec: { containers: { image: string }[] } } };
    status: {
      observedGeneration?: number;
      conditions?: { type: string; status: string; reason: string }[];
    } & Record<string, unknown>;
  };
  type Pod = KubeObject & {
    spec: { containers: { image: string }[] };
    status: { podIP: string; conditions: { type: string; status: string }[] };
  };

  const deployment = () => infra.fakeKube.get<Workload>(REF)!;
  const revision = (object: KubeObject) => object.metadata?.annotations?.[REVISION];
  const replicaSets = () =>
    infra.fakeKube
      .list<Workload>('ReplicaSet', 'store')
      .filter((rs) => rs.metadata?.name?.startsWith('shop-green-'));
  const greenPods = () =>
    infra.fakeKube
      .list<Pod>('Pod', 'store')
      .filter((pod) => pod.metadata?.labels?.slot === 'green' && pod.metadata?.labels?.app === 'shop');
  const ready = (pod: Pod) => pod.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True');
  const rolling = () =>
    createStrategy(
      trafficConfigSchema.parse({ strategy: 'rolling', deployment: 'shop-green' }),
      infra.fakeKube.clients(),
      { namespace: 'store' },
      { pollMs: 20, rolloutTimeoutMs: 5_000, backoffMs: 5 },
    );
  const rolledOut = () =>
    check('shop', { type: 'kubernetes', check: 'rollout-complete', deployment: 'shop-green' });

  async function until(condition: () => boolean, what: string, ms = 3_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it('rolls out a changed template: a new ReplicaSet with the next revision, its pods Ready, the old ones gone', async () => {
    const before = greenPods().map((pod) => pod.metadata?.name);
    // `kubectl set image` through the API.
    await infra.fakeKube.clients().apps.patchNamespacedDeployment({
      name: 'shop-green',
      namespace: 'store',
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'shop:next' }],
    });
    expect((await rolledOut()).outcome).not.toBe('passed'); // not before the controller has acted
    await until(
      () => deployment().status.observedGeneration === deployment().metadata?.generation,
      'the rollout',
    );
    expect(await rolledOut()).toMatchObject({
      outcome: 'passed',
      summary: 'deployment "shop-green" successfully rolled out',
    });
    expect(revision(deployment())).toBe('3');
    const sets = replicaSets();
    expect(sets.map((rs) => [revision(rs), rs.spec.replicas]).sort()).toEqual([
      ['1', 0],
      ['2', 0],
      ['3', 3],
    ]);
    const pods = greenPods();
    expect(pods).toHaveLength(3);
    expect(pods.every(ready)).toBe(true);
    expect(pods.map((pod) => pod.spec.containers[0]!.image)).toEqual(['shop:next', 'shop:next', 'shop:next']);
    expect(pods.some((pod) => before.includes(pod.metadata?.name))).toBe(false);
    const newest = sets.find((rs) => revision(rs) === '3')!;
    expect(pods[0]!.metadata?.labels?.['pod-template-hash']).toBe(
      newest.metadata?.labels?.['pod-template-hash'],
    );
  });

  it('completes `kubectl rollout undo` through the real client: the earlier ReplicaSet reused and renumbered', async () => {
    const change = await rolling().rollback(undefined, { to: { revision: 2 } });
    expect(change.before).toMatchObject({ revision: 3, image: 'shop:next' });
    expect(change.after).toMatchObject({ revision: 4, image: 'shop:current' });
    expect(change.after.description).toContain('rolled out');
    // The revision-2 ReplicaSet is the one running again, as revision 4; nothing new was created.
    const sets = replicaSets();
    expect(sets).toHaveLength(3);
    const reused = sets.find((rs) => revision(rs) === '4')!;
    expect(reused.metadata?.annotations?.['deployment.kubernetes.io/revision-history']).toBe('2');
    expect(reused.spec.replicas).toBe(3);
    expect(sets.filter((rs) => rs !== reused).map((rs) => rs.spec.replicas)).toEqual([0, 0]);
    expect(greenPods().map((pod) => pod.spec.containers[0]!.image)).toEqual([
      'shop:current',
      'shop:current',
      'shop:current',
    ]);
    expect((await rolledOut()).outcome).toBe('passed');
  });

  it('holds a stalled rollout at ProgressDeadlineExceeded, old pods serving, until it is let go', async () => {
    infra.controller.stall('store', 'shop-green');
    const failure = await rolling()
      .rollback(undefined, { to: { revision: 3 }, key: 'deployment-1' })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(TrafficError);
    expect(failure).toMatchObject({
      code: 'timeout',
      retryable: false,
      message: 'rolled back to revision 3, but deployment "shop-green" exceeded its progress deadline',
      state: { revision: 5, image: 'shop:next' },
    });
    expect(deployment().status.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
    });
    expect(await rolledOut()).toMatchObject({ outcome: 'failed' });
    // The new pods crash-loop; the old ones keep serving.
    const pods = greenPods();
    expect(pods.filter(ready).map((pod) => pod.spec.containers[0]!.image)).toEqual([
      'shop:current',
      'shop:current',
      'shop:current',
    ]);
    expect(pods.filter((pod) => !ready(pod)).map((pod) => pod.spec.containers[0]!.image)).toEqual([
      'shop:next',
      'shop:next',
      'shop:next',
    ]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await rolledOut()).toMatchObject({ outcome: 'failed' }); // stays stuck

    infra.controller.unstall('store', 'shop-green');
    await until(() => greenPods().length === 3 && greenPods().every(ready), 'the rollout to finish');
    // The same rollback again finds its own undo in place: it waits for it and writes nothing.
    const patches = infra.fakeKube.requests.filter((r) => r.verb === 'patch').length;
    const retried = await rolling().rollback(undefined, { to: { revision: 3 }, key: 'deployment-1' });
    expect(retried).toMatchObject({ attempts: 0, after: { revision: 5, image: 'shop:next' } });
    expect(infra.fakeKube.requests.filter((r) => r.verb === 'patch')).toHaveLength(patches);
    expect((await rolledOut()).outcome).toBe('passed');
    expect(greenPods().map((pod) => pod.spec.containers[0]!.image)).toEqual([
      'shop:next',
      'shop:next',
      'shop:next',
    ]);
    expect(greenPods().every(ready)).toBe(true);
  });

  it('points a Service’s endpoints at the pods its new selector picks (a blue-green switch)', async () => {
    const slice = () =>
      infra.fakeKube
        .list<KubeObject & { endpoints: { addresses: string[] }[] }>('EndpointSlice', 'store')
        .find((candidate) => candidate.metadata?.labels?.['kubernetes.io/service-name'] === 'shop')!;
    const green = greenPods().map((pod) => pod.status.podIP);
    expect(slice().endpoints.map((e) => e.addresses[0])).not.toEqual(expect.arrayContaining(green));
    await infra.fakeKube.clients().core.patchNamespacedService({
      name: 'shop',
      namespace: 'store',
      body: [{ op: 'replace', path: '/spec/selector/slot', value: 'green' }],
    });
    await until(() => slice().endpoints.some((e) => green.includes(e.addresses[0]!)), 'the endpoints');
    expect(
      slice()
        .endpoints.map((e) => e.addresses[0])
        .sort(),
    ).toEqual([...green].sort());
    expect(
      await check('shop', { type: 'kubernetes', check: 'endpoints-ready', service: 'shop' }),
    ).toMatchObject({ outcome: 'passed', summary: 'service shop: 3 ready endpoints' });
  });
});

describe('without Prometheus', () => {
  it('leaves prometheus_url unset and says so', async () => {
    const bare = await startSimulatedInfra({ file: catalogue, configDir: '/srv', prometheus: 'off' });
    try {
      expect(bare.prometheusUrl).toBeUndefined();
      expect(bare.file.services.shop!.prometheus_url).toBeUndefined();
      expect(bare.notes).toEqual([
        'Prometheus is off: prometheus_url is left unset, so Prometheus checks report an error',
      ]);
    } finally {
      await bare.stop();
    }
  });
});
