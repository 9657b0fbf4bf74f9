import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { kubernetesCheck } from '../../../src/checks/kubernetes/index.js';
import type { CheckContext, SpecOf } from '../../../src/checks/types.js';
import { createKubeClients } from '../../../src/kube/client.js';
import { freePort } from '../../../src/sandbox/infra/redis-server.js';
import { FakeKube } from '../../../src/sandbox/kube/fake-kube.js';
import { HTTPROUTE } from '../../../src/sandbox/kube/kinds.js';
import type { KubeObject } from '../../../src/sandbox/kube/types.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/k8s');

let kube: FakeKube;

beforeAll(async () => {
  kube = await FakeKube.start();
});
afterAll(() => kube.stop());
beforeEach(() => kube.reset());

type Spec = SpecOf<'kubernetes'>;

function context(overrides: Partial<CheckContext> = {}): CheckContext {
  const clients = kube.clients();
  return {
    signal: new AbortController().signal,
    namespace: 'checkout',
    manifestsDir: FIXTURES,
    kube: async () => clients,
    now: Date.now,
    ...overrides,
  };
}

function run(spec: Spec, overrides: Partial<CheckContext> = {}) {
  return kubernetesCheck(spec, context(overrides));
}

// ----- builders: objects as the controllers would have left them -----

interface PodOptions {
  namespace?: string;
  labels?: Record<string, string>;
  ready?: boolean;
  restarts?: number;
  waiting?: { reason: string; message?: string };
  phase?: string;
  terminating?: boolean;
}

function pod(name: string, options: PodOptions = {}): V1Pod {
  const ready = options.ready ?? true;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: options.namespace ?? 'checkout',
      labels: options.labels ?? { app: 'checkout' },
      ...(options.terminating ? { deletionTimestamp: new Date(), finalizers: ['example.com/drain'] } : {}),
    },
    spec: { containers: [{ name: 'app', image: 'registry.example.com/checkout:1.4.2' }] },
    status: {
      phase: options.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      containerStatuses: [
        {
          name: 'app',
          image: 'registry.example.com/checkout:1.4.2',
          imageID: '',
          ready,
          restartCount: options.restarts ?? 0,
          state: options.waiting ? { waiting: options.waiting } : { running: {} },
        },
      ],
    },
  };
}

function node(name: string, ready: 'True' | 'False' | 'Unknown' = 'True', extra: Partial<KubeObject> = {}) {
  const reason = { True: 'KubeletReady', False: 'KubeletNotReady', Unknown: 'NodeStatusUnknown' }[ready];
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name },
    status: { conditions: [{ type: 'Ready', status: ready, reason }] },
    ...extra,
  };
}

function deployment(status: Record<string, unknown>, generation = 1): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', namespace: 'checkout', generation },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'api' } },
      template: {
        metadata: { labels: { app: 'api' } },
        spec: { containers: [{ name: 'api', image: 'registry.example.com/api:1.4.2' }] },
      },
    },
    status: status as V1Deployment['status'],
  };
}

function service(name = 'checkout', namespace = 'checkout') {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  };
}

function slice(
  name: string,
  endpoints: { ip: string; ready?: boolean; pod?: string }[],
  serviceName = 'checkout',
  addressType = 'IPv4',
) {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'checkout', labels: { 'kubernetes.io/service-name': serviceName } },
    addressType,
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      ...(e.ready === undefined ? {} : { conditions: { ready: e.ready } }),
      ...(e.pod ? { targetRef: { kind: 'Pod', name: e.pod, namespace: 'checkout' } } : {}),
    })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

// ---------------------------------------------------------------------------------------------------

describe('pods-ready', () => {
  const spec: Spec = { type: 'kubernetes', check: 'pods-ready', selector: 'app=checkout' };

  it('passes when every selected pod is Ready, counting restarts, and asks the server to select', async () => {
    kube.put(pod('checkout-1'));
    kube.put(pod('checkout-2', { restarts: 2 }));
    kube.put(pod('checkout-3'));
    kube.put(pod('worker-1', { labels: { app: 'worker' }, ready: false }));
    kube.put(pod('checkout-elsewhere', { namespace: 'other', ready: false }));

    const result = await run(spec);

    expect(result).toMatchObject({ outcome: 'passed', summary: '3/3 pods ready (2 restarts)', value: 3 });
    const list = kube.requests.find((r) => r.resource === 'pods');
    expect(list).toMatchObject({
      verb: 'list',
      path: '/api/v1/namespaces/checkout/pods',
      query: { labelSelector: 'app=checkout' },
    });
  });

  it('fails naming the pod that is not ready and why', async () => {
    kube.put(pod('api-7f9c-a1'));
    kube.put(pod('api-7f9c-b7'));
    kube.put(
      pod('api-7f9c-x2', {
        ready: false,
        restarts: 5,
        waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s restarting failed container' },
      }),
    );

    const result = await run(spec);

    expect(result).toMatchObject({
      outcome: 'failed',
      summary: '2/3 pods ready: api-7f9c-x2 CrashLoopBackOff (5 restarts)',
      value: 2,
    });
  });

  it.each([
    ['a terminating pod', pod('old-1', { terminating: true }), '1/2 pods ready: old-1 Terminating'],
    [
      'a pod still being created',
      pod('new-1', { ready: false, phase: 'Pending', waiting: { reason: 'ContainerCreating' } }),
      '1/2 pods ready: new-1 ContainerCreating',
    ],
    ['a running pod failing readiness', pod('slow-1', { ready: false }), '1/2 pods ready: slow-1 not ready'],
  ])('fails with %s', async (_, odd, summary) => {
    kube.put(pod('fine-1'));
    kube.put(odd);
    expect(await run(spec)).toMatchObject({ outcome: 'failed', summary });
  });

  it('fails when nothing matches the selector', async () => {
    kube.put(pod('worker-1', { labels: { app: 'worker' } }));
    expect(await run(spec)).toMatchObject({
      outcome: 'failed',
      summary: 'no pods match app=checkout in checkout',
    });
  });

  it('uses the spec namespace and set-based selectors', async () => {
    kube.put(pod('blue-1', { namespace: 'shop', labels: { app: 'checkout', slot: 'blue' } }));
    kube.put(pod('blue-2', { namespace: 'shop', labels: { app: 'checkout', slot: 'blue' } }));
    kube.put(pod('green-1', { namespace: 'shop', labels: { app: 'checkout', slot: 'green' }, ready: false }));

    const result = await run({
      type: 'kubernetes',
      check: 'pods-ready',
      selector: 'app=checkout,slot notin (green)',
      namespace: 'shop',
    });

    expect(result).toMatchObject({ outcome: 'passed', summary: '2/2 pods ready' });
  });

  it('lists across a long tail of not-ready pods without overflowing the summary', async () => {
    kube.put(pod('ok-1'));
    for (let i = 0; i < 40; i++) kube.put(pod(`crashing-pod-with-a-long-name-${i}`, { ready: false }));
    const result = await run(spec);
    expect(result.outcome).toBe('failed');
    expect(result.summary.length).toBeLessThanOrEqual(300);
    expect(result.summary).toMatch(
      /^1\/41 pods ready: crashing-pod-with-a-long-name-0 not ready, .*, and \d+ more$/,
    );
    expect(result.detail?.length).toBeLessThanOrEqual(1_000);
  });
});

describe('rollout-complete', () => {
  const spec: Spec = { type: 'kubernetes', check: 'rollout-complete', deployment: 'api' };
  const progressing = (reason: string) => ({
    conditions: [
      { type: 'Progressing', status: reason === 'ProgressDeadlineExceeded' ? 'False' : 'True', reason },
    ],
  });

  // biome-ignore format: a table reads best one row per line
  it.each([
    ['generation not yet observed', 2, { observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3 }, 'failed', 'Waiting for deployment spec update to be observed...'],
    ['progress deadline exceeded', 1, { observedGeneration: 1, replicas: 3, updatedReplicas: 1, availableReplicas: 1, ...progressing('ProgressDeadlineExceeded') }, 'failed', 'deployment "api" exceeded its progress deadline'],
    ['new replicas not all updated', 1, { observedGeneration: 1, replicas: 3, updatedReplicas: 1, availableReplicas: 3, ...progressing('ReplicaSetUpdated') }, 'failed', 'Waiting for deployment "api" rollout to finish: 1 out of 3 new replicas have been updated...'],
    ['old replicas pending termination', 1, { observedGeneration: 1, replicas: 4, updatedReplicas: 3, availableReplicas: 3 }, 'failed', 'Waiting for deployment "api" rollout to finish: 1 old replicas are pending termination...'],
    ['updated replicas not available', 1, { observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 1 }, 'failed', 'Waiting for deployment "api" rollout to finish: 1 of 3 updated replicas are available...'],
    ['complete', 1, { observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3, ...progressing('NewReplicaSetAvailable') }, 'passed', 'deployment "api" successfully rolled out'],
  ])('%s', async (_, generation, status, outcome, summary) => {
    kube.put(deployment(status, generation));
    expect(await run(spec)).toMatchObject({ outcome, summary });
  });

  it("appends kubectl's warning about a crash-looping pod", async () => {
    kube.put(deployment({ observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 2 }));
    kube.put(
      pod('api-5d8f-q1', {
        labels: { app: 'api' },
        ready: false,
        waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s restarting failed container=api' },
      }),
    );
    const result = await run(spec);
    expect(result).toMatchObject({
      outcome: 'failed',
      summary:
        'Waiting for deployment "api" rollout to finish: 2 of 3 updated replicas are available... (Warning: CrashLoopBackOff - back-off 5m0s restarting failed container=api)',
    });
  });

  it('follows a rollout: a spec change through the API, then the controller catching up', async () => {
    kube.put(deployment({ observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3 }));
    expect((await run(spec)).outcome).toBe('passed');

    const { apps } = kube.clients();
    await apps.patchNamespacedDeployment({
      name: 'api',
      namespace: 'checkout',
      body: [
        {
          op: 'replace',
          path: '/spec/template/spec/containers/0/image',
          value: 'registry.example.com/api:1.4.3',
        },
      ],
    });
    expect(await run(spec)).toMatchObject({
      outcome: 'failed',
      summary: 'Waiting for deployment spec update to be observed...',
    });

    kube.update<V1Deployment>('Deployment/checkout/api', (d) => {
      d.status = { observedGeneration: 2, replicas: 4, updatedReplicas: 1, availableReplicas: 3 };
    });
    expect((await run(spec)).summary).toBe(
      'Waiting for deployment "api" rollout to finish: 1 out of 3 new replicas have been updated...',
    );

    kube.update<V1Deployment>('Deployment/checkout/api', (d) => {
      d.status = { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 };
    });
    expect(await run(spec)).toMatchObject({ outcome: 'passed', value: 3 });
  });

  it('fails when the deployment does not exist', async () => {
    expect(await run(spec)).toMatchObject({
      outcome: 'failed',
      summary: 'deployment api not found in checkout',
    });
  });
});

describe('nodes-ready', () => {
  const spec: Spec = { type: 'kubernetes', check: 'nodes-ready' };

  it('passes when every node is Ready', async () => {
    for (let i = 1; i <= 5; i++) kube.put(node(`node-${i}`));
    expect(await run(spec)).toMatchObject({ outcome: 'passed', summary: '5/5 nodes ready', value: 5 });
  });

  it('passes with cordoned nodes but says so', async () => {
    kube.put(node('node-1'));
    kube.put(node('node-2', 'True', { spec: { unschedulable: true } }));
    kube.put(node('node-3'));
    expect(await run(spec)).toMatchObject({
      outcome: 'passed',
      summary: '3/3 nodes ready (1 cordoned: node-2)',
    });
  });

  it('fails naming NotReady and unknown nodes', async () => {
    kube.put(node('node-1'));
    kube.put(node('node-2', 'False'));
    kube.put(node('node-3', 'Unknown'));
    expect(await run(spec)).toMatchObject({
      outcome: 'failed',
      summary: '1/3 nodes ready: node-2 NotReady (KubeletNotReady), node-3 NotReady (NodeStatusUnknown)',
      value: 1,
    });
  });

  it('follows a node going NotReady', async () => {
    kube.put(node('node-1'));
    kube.put(node('node-2'));
    expect((await run(spec)).outcome).toBe('passed');
    kube.update('Node/node-2', (n) => {
      n.status = { conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady' }] };
    });
    expect(await run(spec)).toMatchObject({
      outcome: 'failed',
      summary: '1/2 nodes ready: node-2 NotReady (KubeletNotReady)',
    });
  });

  it('fails for a cluster without nodes', async () => {
    expect(await run(spec)).toMatchObject({ outcome: 'failed', summary: 'no nodes in the cluster' });
  });

  it('is an error, not a failure, without permission to list nodes', async () => {
    kube.put(node('node-1'));
    kube.forbid('list', 'nodes');
    expect(await run(spec)).toMatchObject({
      outcome: 'error',
      summary:
        'cannot evaluate: no permission: nodes is forbidden: User "system:serviceaccount:flightdeck:flightdeck" cannot list resource "nodes" in API group "" at the cluster scope',
    });
  });
});

describe('endpoints-ready', () => {
  const spec: Spec = { type: 'kubernetes', check: 'endpoints-ready', service: 'checkout' };

  it('counts ready endpoints from EndpointSlices, once per pod across address families', async () => {
    kube.put(service());
    kube.put(
      slice('checkout-v4', [
        { ip: '10.0.0.1', ready: true, pod: 'checkout-1' },
        { ip: '10.0.0.2', pod: 'checkout-2' }, // no conditions: the API says that means ready
        { ip: '10.0.0.3', ready: true, pod: 'checkout-3' },
        { ip: '10.0.0.4', ready: false, pod: 'checkout-4' },
      ]),
    );
    kube.put(slice('checkout-v6', [{ ip: 'fd00::1', ready: true, pod: 'checkout-1' }], 'checkout', 'IPv6'));
    kube.put(slice('other-v4', [{ ip: '10.0.9.9', ready: true, pod: 'other-1' }], 'other'));

    const result = await run(spec);

    expect(result).toMatchObject({
      outcome: 'passed',
      summary: 'service checkout: 3 ready endpoints (1 not ready)',
    });
    expect(kube.requests.find((r) => r.resource === 'endpointslices')?.query.labelSelector).toBe(
      'kubernetes.io/service-name=checkout',
    );
  });

  it('fails when no endpoint is ready', async () => {
    kube.put(service());
    kube.put(
      slice('checkout-v4', [
        { ip: '10.0.0.1', ready: false, pod: 'checkout-1' },
        { ip: '10.0.0.2', ready: false, pod: 'checkout-2' },
      ]),
    );
    expect(await run(spec)).toMatchObject({
      outcome: 'failed',
      summary: 'service checkout: no ready endpoints (2 not ready)',
      value: 0,
    });
  });

  const endpoints = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'checkout', namespace: 'checkout' },
    subsets: [
      { addresses: [{ ip: '10.0.0.1' }], notReadyAddresses: [{ ip: '10.0.0.2' }], ports: [{ port: 8080 }] },
    ],
  };

  it('falls back to v1 Endpoints when the Service has no slices', async () => {
    kube.put(service());
    kube.put(endpoints);
    expect(await run(spec)).toMatchObject({
      outcome: 'passed',
      summary: 'service checkout: 1 ready endpoint (1 not ready)',
    });
  });

  it('falls back to v1 Endpoints when the cluster does not serve EndpointSlices', async () => {
    kube.put(service());
    kube.put(slice('checkout-v4', [{ ip: '10.0.0.1', ready: false, pod: 'checkout-1' }]));
    kube.put(endpoints);
    kube.failNext('list', 'endpointslices', 404);
    expect(await run(spec)).toMatchObject({
      outcome: 'passed',
      summary: 'service checkout: 1 ready endpoint (1 not ready)',
    });
  });

  it('fails when the Service has neither slices nor Endpoints', async () => {
    kube.put(service());
    expect(await run(spec)).toMatchObject({
      outcome: 'failed',
      summary: 'service checkout: no ready endpoints',
    });
  });

  it('fails when the Service does not exist', async () => {
    expect(await run(spec)).toMatchObject({
      outcome: 'failed',
      summary: 'service checkout not found in checkout',
    });
  });
});

describe('exists', () => {
  const hpa: Spec = {
    type: 'kubernetes',
    check: 'exists',
    api_version: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    name: 'marketplace-api',
    namespace: 'marketplace',
  };

  it('passes when the object is there', async () => {
    kube.put({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'marketplace-api', namespace: 'marketplace' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' }, maxReplicas: 5 },
    });
    expect(await run(hpa)).toMatchObject({
      outcome: 'passed',
      summary: 'HorizontalPodAutoscaler marketplace-api exists in marketplace',
    });
    expect(kube.requests.map((r) => r.path)).toEqual([
      '/apis/autoscaling/v2',
      '/apis/autoscaling/v2/namespaces/marketplace/horizontalpodautoscalers/marketplace-api',
    ]);
  });

  it('fails when it is not', async () => {
    expect(await run(hpa)).toMatchObject({
      outcome: 'failed',
      summary: 'HorizontalPodAutoscaler marketplace-api not found in marketplace',
    });
  });

  it('handles cluster-scoped kinds and custom resources', async () => {
    kube.register(HTTPROUTE);
    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'checkout' } });
    kube.put({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'checkout', namespace: 'checkout' },
      spec: { rules: [] },
    });
    expect(
      await run({
        type: 'kubernetes',
        check: 'exists',
        api_version: 'v1',
        kind: 'Namespace',
        name: 'checkout',
      }),
    ).toMatchObject({ outcome: 'passed', summary: 'Namespace checkout exists' });
    expect(
      await run({
        type: 'kubernetes',
        check: 'exists',
        api_version: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        name: 'checkout',
      }),
    ).toMatchObject({ outcome: 'passed', summary: 'HTTPRoute checkout exists in checkout' });
  });

  it.each([
    ['an unknown kind in a served group', 'apps/v1', 'Widget'],
    ['a group the server does not serve', 'example.com/v1', 'Widget'],
  ])('fails for %s', async (_, apiVersion, kind) => {
    const result = await run({
      type: 'kubernetes',
      check: 'exists',
      api_version: apiVersion,
      kind,
      name: 'w',
    });
    expect(result).toMatchObject({
      outcome: 'failed',
      summary: `${kind} w not found in checkout: the server does not serve ${kind} in ${apiVersion}`,
    });
  });
});

describe('dry-run-apply', () => {
  const spec = (...manifests: string[]): Spec => ({ type: 'kubernetes', check: 'dry-run-apply', manifests });

  it('server-side applies every object of a directory with dryRun=All and stores nothing', async () => {
    const result = await run(spec('valid/'));

    expect(result).toMatchObject({
      outcome: 'passed',
      summary: '7 objects accepted by server-side dry run',
      value: 7,
    });
    const applies = kube.requests.filter((r) => r.method === 'PATCH');
    expect(applies.map((r) => r.path)).toEqual([
      '/api/v1/namespaces/checkout/configmaps/api-config',
      '/apis/apps/v1/namespaces/checkout/deployments/api',
      '/api/v1/namespaces/checkout/services/api',
      '/apis/autoscaling/v2/namespaces/checkout/horizontalpodautoscalers/api',
      '/apis/networking.k8s.io/v1/namespaces/checkout/ingresses/api',
      '/api/v1/namespaces/checkout/serviceaccounts/api',
      '/api/v1/namespaces/checkout',
    ]);
    for (const request of applies) {
      expect(request).toMatchObject({
        contentType: 'application/apply-patch+yaml',
        query: { dryRun: 'All', fieldManager: 'flightdeck' },
        status: 201,
      });
    }
    expect(kube.list('Deployment')).toEqual([]);
    expect(kube.list('Namespace')).toEqual([]);
  });

  it('accepts manifests for objects that already exist, leaving them untouched', async () => {
    const live = kube.put({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'api-config', namespace: 'checkout' },
      data: { LOG_LEVEL: 'debug' },
    });
    expect(await run(spec('valid/app.yaml'))).toMatchObject({
      outcome: 'passed',
      summary: '3 objects accepted by server-side dry run',
    });
    expect(kube.get('ConfigMap/checkout/api-config')).toEqual(live);
    expect(kube.history('ConfigMap/checkout/api-config')).toHaveLength(1);
  });

  it("fails naming the object and quoting the server's 422", async () => {
    const result = await run(spec('invalid/deployment.yaml'));
    expect(result.outcome).toBe('failed');
    expect(result.summary).toBe(
      'rejected by server-side dry run: Deployment api-bad (invalid/deployment.yaml): Deployment.apps "api-bad" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
    );
    expect(kube.list('Deployment')).toEqual([]);
  });

  it('reports every rejected object in the detail', async () => {
    const result = await run(spec('valid/app.yaml', 'invalid/', 'unknown-kind.yaml'));
    expect(result).toMatchObject({ outcome: 'failed', value: 3 });
    expect(result.summary).toMatch(/^2 of 5 objects rejected by server-side dry run: Deployment api-bad/);
    expect(result.detail).toContain(
      'Widget gadget (unknown-kind.yaml): no matches for kind "Widget" in version "example.com/v1"',
    );
  });

  it('fails on a manifest that is not YAML', async () => {
    const result = await run(spec('broken.yaml'));
    expect(result.outcome).toBe('failed');
    expect(result.summary).toMatch(/^broken\.yaml: not valid YAML: /);
    expect(kube.requests).toEqual([]);
  });

  it('is an error when a manifest path cannot be read', async () => {
    const result = await run(spec('valid/', 'missing/deployment.yaml'));
    expect(result.outcome).toBe('error');
    expect(result.summary).toMatch(/^cannot read manifests: ENOENT: no such file or directory/);
    expect(kube.requests).toEqual([]);
  });

  it('is an error when the server forbids the dry run', async () => {
    kube.forbid('patch', 'deployments');
    const result = await run(spec('valid/app.yaml'));
    expect(result.outcome).toBe('error');
    expect(result.summary).toContain('cannot evaluate: no permission: deployments.apps "api" is forbidden');
  });
});

describe('when the API cannot answer', () => {
  const pods: Spec = { type: 'kubernetes', check: 'pods-ready', selector: 'app=checkout' };

  it('a 500 is an error with the server message', async () => {
    kube.failNext('list', 'pods', 500);
    expect(await run(pods)).toMatchObject({
      outcome: 'error',
      summary: 'cannot evaluate: Kubernetes API answered 500: Internal error occurred: injected by fake-kube',
    });
  });

  it('a 403 is an error, never a failure', async () => {
    kube.forbid('list', 'pods');
    const result = await run(pods);
    expect(result.outcome).toBe('error');
    expect(result.summary).toContain(
      'cannot evaluate: no permission: pods is forbidden: User "system:serviceaccount:flightdeck:flightdeck" cannot list resource "pods" in API group "" in the namespace "checkout"',
    );
  });

  it('a wrong token is an error', async () => {
    const config = kube.kubeConfig();
    config.users = [{ name: 'fake-user', token: 'wrong' }];
    const clients = createKubeClients(config);
    expect(await run(pods, { kube: async () => clients })).toMatchObject({
      outcome: 'error',
      summary: 'cannot evaluate: unauthorized (401)',
    });
  });

  it('a reset connection is an error', async () => {
    kube.failNext('list', 'pods', 'reset');
    const result = await run(pods);
    expect(result.outcome).toBe('error');
    expect(result.summary).toMatch(/^cannot reach the Kubernetes API/);
  });

  it('a refused connection is an error', async () => {
    // A port this test reserved and closed: refused whatever this machine runs on its well-known ports.
    const closed = await freePort();
    const config = new KubeConfig();
    config.loadFromClusterAndUser(
      { name: 'gone', server: `http://127.0.0.1:${closed}`, skipTLSVerify: true },
      { name: 'u', token: 't' },
    );
    const clients = createKubeClients(config);
    const result = await run(pods, { kube: async () => clients });
    expect(result.outcome).toBe('error');
    expect(result.summary).toMatch(/^cannot reach the Kubernetes API \(ECONNREFUSED\)/);
  });

  it.each<[string, Spec]>([
    ['a typed API call', pods],
    [
      'a KubernetesObjectApi call',
      { type: 'kubernetes', check: 'exists', api_version: 'v1', kind: 'Service', name: 'x' },
    ],
  ])('the signal aborts %s in flight', async (_, spec) => {
    kube.delay(5_000);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('timed out after 50ms')), 50);
    const started = Date.now();
    const result = await run(spec, { signal: controller.signal });
    expect(result).toMatchObject({ outcome: 'error', summary: 'timed out after 50ms' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('without Kubernetes access configured it is an error', async () => {
    expect(await run(pods, { kube: undefined })).toMatchObject({
      outcome: 'error',
      summary: 'cannot evaluate: no Kubernetes access configured',
    });
  });

  it('when the clients cannot be created it is an error', async () => {
    const result = await run(pods, {
      kube: async () => {
        throw new Error(
          'no Kubernetes cluster configured (set KUBECONFIG, or run in a pod with a service account)',
        );
      },
    });
    expect(result).toMatchObject({
      outcome: 'error',
      summary:
        'cannot evaluate: no Kubernetes cluster configured (set KUBECONFIG, or run in a pod with a service account)',
    });
  });
});
