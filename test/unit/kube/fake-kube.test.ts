import {
  ApiException,
  type KubernetesObject,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1Ingress,
  type V1Service,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { KubeClients } from '../../../src/kube/client.js';
import { FakeKube } from '../../../src/sandbox/kube/fake-kube.js';
import { HTTPROUTE } from '../../../src/sandbox/kube/kinds.js';
import { labelsMatch, parseLabelSelector } from '../../../src/sandbox/kube/selectors.js';
import type { KubeObject, KubeStatus } from '../../../src/sandbox/kube/types.js';

/**
 * The fake is only worth something if it answers like the API server. Every test here goes through the
 * real `@kubernetes/client-node` with the kubeconfig the fake generated.
 */

let kube: FakeKube;
let k: KubeClients;

beforeAll(async () => {
  kube = await FakeKube.start({ namespace: 'checkout' });
  k = kube.clients();
});
afterAll(() => kube.stop());
beforeEach(() => kube.reset());

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The ApiException a call fails with, its body parsed back into the Status the server sent. */
async function apiError(call: Promise<unknown>): Promise<{ code: number; status: KubeStatus }> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const body = typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
    return { code: error.code, status: body as KubeStatus };
  }
  throw new Error('expected the call to fail');
}

function pod(name: string, labels: Record<string, string>, namespace = 'checkout'): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels }, spec: { containers: [] } };
}

function deploymentBody(name: string, templateLabels: Record<string, string> = { app: name }): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: templateLabels },
        spec: { containers: [{ name: 'app', image: `registry.example.com/${name}:1.0.0` }] },
      },
    },
  };
}

function httpRoute(blue: number, green: number): KubeObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'checkout', namespace: 'checkout' },
    spec: {
      parentRefs: [{ name: 'public' }],
      rules: [
        {
          backendRefs: [
            { name: 'checkout-blue', port: 80, weight: blue },
            { name: 'checkout-green', port: 80, weight: green },
          ],
        },
      ],
    },
  };
}

function weights(route: KubeObject): number[] {
  const spec = route.spec as { rules: { backendRefs: { weight: number }[] }[] };
  return spec.rules.flatMap((rule) => rule.backendRefs.map((ref) => ref.weight));
}

describe('label and field selectors', () => {
  beforeEach(() => {
    kube.put(pod('blue-1', { app: 'checkout', slot: 'blue', track: 'stable' }));
    kube.put(pod('blue-2', { app: 'checkout', slot: 'blue' }));
    kube.put(pod('green-1', { app: 'checkout', slot: 'green', track: 'canary' }));
    kube.put(pod('worker-1', { app: 'worker' }));
    kube.put(pod('blue-elsewhere', { app: 'checkout', slot: 'blue' }, 'other'));
  });

  // biome-ignore format: a table reads best one row per line
  it.each([
    ['', ['blue-1', 'blue-2', 'green-1', 'worker-1']],
    ['app=checkout', ['blue-1', 'blue-2', 'green-1']],
    ['app==checkout,slot=blue', ['blue-1', 'blue-2']],
    ['app=checkout,slot!=blue', ['green-1']],
    ['track!=canary', ['blue-1', 'blue-2', 'worker-1']], // != also matches pods without the label
    ['slot in (blue, green)', ['blue-1', 'blue-2', 'green-1']],
    ['app=checkout,track notin (canary)', ['blue-1', 'blue-2']],
    ['track', ['blue-1', 'green-1']],
    ['!track', ['blue-2', 'worker-1']],
    ['app in (checkout),!track,slot', ['blue-2']],
  ])('labelSelector %j', async (labelSelector, names) => {
    const list = await k.core.listNamespacedPod({ namespace: 'checkout', labelSelector });
    expect(list.items.map((p) => p.metadata?.name)).toEqual(names);
  });

  it('rejects a selector it cannot parse with 400 BadRequest', async () => {
    const { code, status } = await apiError(
      k.core.listNamespacedPod({ namespace: 'checkout', labelSelector: 'app=(' }),
    );
    expect(code).toBe(400);
    expect(status).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'BadRequest', code: 400 });
    expect(status.message).toMatch(/^unable to parse requirement/);
  });

  it('filters by metadata.name and lists across namespaces', async () => {
    const one = await k.core.listNamespacedPod({
      namespace: 'checkout',
      fieldSelector: 'metadata.name=green-1',
    });
    expect(one.items.map((p) => p.metadata?.name)).toEqual(['green-1']);
    const all = await k.core.listPodForAllNamespaces({ labelSelector: 'slot=blue' });
    expect(all.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`)).toEqual([
      'checkout/blue-1',
      'checkout/blue-2',
      'other/blue-elsewhere',
    ]);
  });

  it('pages with limit and continue', async () => {
    const first = await k.core.listNamespacedPod({ namespace: 'checkout', limit: 3 });
    expect(first.items).toHaveLength(3);
    expect(first.metadata?.remainingItemCount).toBe(1);
    const second = await k.core.listNamespacedPod({
      namespace: 'checkout',
      limit: 3,
      _continue: first.metadata?._continue,
    });
    expect(second.items.map((p) => p.metadata?.name)).toEqual(['worker-1']);
    expect(second.metadata?._continue).toBeUndefined();
  });

  it('matches selectors the way apimachinery does, also outside the server', () => {
    expect(labelsMatch('env notin (prod)', {})).toBe(true);
    expect(labelsMatch('env in (prod)', {})).toBe(false);
    expect(parseLabelSelector('a=b, c notin (d,e), !f')).toEqual([
      { key: 'a', operator: 'in', values: ['b'] },
      { key: 'c', operator: 'notin', values: ['d', 'e'] },
      { key: 'f', operator: '!exists', values: [] },
    ]);
  });
});

describe('writes', () => {
  it('merge-patches a Service selector, bumping resourceVersion and generation, and records history', async () => {
    const created = await k.core.createNamespacedService({
      namespace: 'checkout',
      body: {
        metadata: { name: 'checkout' },
        spec: { selector: { app: 'checkout', slot: 'blue' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    expect(created.spec?.clusterIP).toMatch(/^10\.96\./);
    expect(created.spec?.ports?.[0]?.protocol).toBe('TCP');

    const patched = await k.core.patchNamespacedService(
      { name: 'checkout', namespace: 'checkout', body: { spec: { selector: { slot: 'green' } } } },
      merge,
    );

    expect(patched.spec?.selector).toEqual({ app: 'checkout', slot: 'green' });
    expect(Number(patched.metadata?.resourceVersion)).toBeGreaterThan(
      Number(created.metadata?.resourceVersion),
    );
    expect(patched.metadata?.generation).toBe(2);
    expect(patched.metadata?.uid).toBe(created.metadata?.uid);
    expect(kube.requests.at(-1)).toMatchObject({
      verb: 'patch',
      contentType: 'application/merge-patch+json',
    });
    const history = kube.history<V1Service>('Service/checkout/checkout');
    expect(history.map((s) => s.spec?.selector?.slot)).toEqual(['blue', 'green']);

    const removed = await k.core.patchNamespacedService(
      { name: 'checkout', namespace: 'checkout', body: { spec: { selector: { slot: null } } } },
      merge,
    );
    expect(removed.spec?.selector).toEqual({ app: 'checkout' });
  });

  it('JSON-patches an Ingress annotation (the client default), without a generation bump', async () => {
    kube.put({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: 'checkout-canary',
        namespace: 'checkout',
        annotations: { 'nginx.ingress.kubernetes.io/canary': 'true' },
      },
      spec: { rules: [] },
    });

    const patched = await k.networking.patchNamespacedIngress({
      name: 'checkout-canary',
      namespace: 'checkout',
      body: [
        { op: 'add', path: '/metadata/annotations/nginx.ingress.kubernetes.io~1canary-weight', value: '20' },
      ],
    });

    expect(kube.requests.at(-1)?.contentType).toBe('application/json-patch+json');
    expect(patched.metadata?.annotations).toEqual({
      'nginx.ingress.kubernetes.io/canary': 'true',
      'nginx.ingress.kubernetes.io/canary-weight': '20',
    });
    expect(patched.metadata?.generation).toBe(1);
    expect(kube.history<V1Ingress>('Ingress/checkout/checkout-canary')).toHaveLength(2);

    const failedTest = await apiError(
      k.networking.patchNamespacedIngress({
        name: 'checkout-canary',
        namespace: 'checkout',
        body: [
          {
            op: 'test',
            path: '/metadata/annotations/nginx.ingress.kubernetes.io~1canary-weight',
            value: '50',
          },
          {
            op: 'replace',
            path: '/metadata/annotations/nginx.ingress.kubernetes.io~1canary-weight',
            value: '60',
          },
        ],
      }),
    );
    expect(failedTest).toMatchObject({ code: 422, status: { reason: 'Invalid' } });
    expect(kube.history('Ingress/checkout/checkout-canary')).toHaveLength(2);
  });

  it('answers a PUT with a stale resourceVersion 409 Conflict, through ApiException', async () => {
    const created = await k.apps.createNamespacedDeployment({
      namespace: 'checkout',
      body: deploymentBody('api'),
    });
    const stale = structuredClone(created);
    await k.apps.replaceNamespacedDeployment({
      name: 'api',
      namespace: 'checkout',
      body: { ...created, spec: { ...created.spec!, replicas: 4 } },
    });

    const { code, status } = await apiError(
      k.apps.replaceNamespacedDeployment({
        name: 'api',
        namespace: 'checkout',
        body: { ...stale, spec: { ...stale.spec!, replicas: 5 } },
      }),
    );

    expect(code).toBe(409);
    expect(status).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'Operation cannot be fulfilled on deployments.apps "api": the object has been modified; please apply your changes to the latest version and try again',
      reason: 'Conflict',
      details: { name: 'api', group: 'apps', kind: 'deployments' },
      code: 409,
    });
    expect(kube.get<V1Deployment>('Deployment/checkout/api')?.spec?.replicas).toBe(4);
  });

  it('keeps status out of object writes and spec out of /status writes', async () => {
    kube.put({
      ...deploymentBody('api'),
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api', namespace: 'checkout' },
      status: { observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3 },
    });
    const live = await k.apps.readNamespacedDeployment({ name: 'api', namespace: 'checkout' });

    const replaced = await k.apps.replaceNamespacedDeployment({
      name: 'api',
      namespace: 'checkout',
      body: { ...live, status: { availableReplicas: 0 } },
    });
    expect(replaced.status?.availableReplicas).toBe(3);
    expect(replaced.metadata?.generation).toBe(1);

    const status = await k.apps.patchNamespacedDeploymentStatus(
      {
        name: 'api',
        namespace: 'checkout',
        body: { spec: { replicas: 9 }, status: { availableReplicas: 2 } },
      },
      merge,
    );
    expect(status.status?.availableReplicas).toBe(2);
    expect(status.spec?.replicas).toBe(3);
  });

  it('answers create of an existing name 409 AlreadyExists and a missing object 404 NotFound', async () => {
    await k.core.createNamespacedConfigMap({ namespace: 'checkout', body: { metadata: { name: 'flags' } } });
    expect(
      await apiError(
        k.core.createNamespacedConfigMap({ namespace: 'checkout', body: { metadata: { name: 'flags' } } }),
      ),
    ).toEqual({
      code: 409,
      status: expect.objectContaining({
        reason: 'AlreadyExists',
        message: 'configmaps "flags" already exists',
      }),
    });
    expect(await apiError(k.apps.readNamespacedDeployment({ name: 'nope', namespace: 'checkout' }))).toEqual({
      code: 404,
      status: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'deployments.apps "nope" not found',
        reason: 'NotFound',
        details: { name: 'nope', group: 'apps', kind: 'deployments' },
        code: 404,
      },
    });
  });

  it.each([
    [
      'a Deployment whose selector does not match its template',
      () =>
        k.apps.createNamespacedDeployment({
          namespace: 'checkout',
          body: deploymentBody('api', { app: 'web' }),
        }),
      'Deployment.apps "api" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
      ['spec.template.metadata.labels'],
    ],
    [
      'a Deployment without a selector or image',
      () =>
        k.apps.createNamespacedDeployment({
          namespace: 'checkout',
          body: {
            metadata: { name: 'api' },
            spec: { template: { spec: { containers: [{ name: 'app' }] } } } as never,
          },
        }),
      'Deployment.apps "api" is invalid: [spec.selector: Required value, spec.template.spec.containers[0].image: Required value]',
      ['spec.selector', 'spec.template.spec.containers[0].image'],
    ],
    [
      'a Service with an invalid port',
      () =>
        k.core.createNamespacedService({
          namespace: 'checkout',
          body: { metadata: { name: 'web' }, spec: { ports: [{ port: 0 }] } },
        }),
      // targetPort defaults to port, so the API reports both
      'Service "web" is invalid: [spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive, spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive]',
      ['spec.ports[0].port', 'spec.ports[0].targetPort'],
    ],
    [
      'a name that is not DNS-1123',
      () =>
        k.core.createNamespacedConfigMap({ namespace: 'checkout', body: { metadata: { name: 'Flags_V2' } } }),
      'ConfigMap "Flags_V2" is invalid: metadata.name: Invalid value: "Flags_V2": a lowercase RFC 1123 subdomain',
      ['metadata.name'],
    ],
  ])('answers 422 Invalid with causes for %s', async (_, call, message, fields) => {
    const { code, status } = await apiError(call());
    expect(code).toBe(422);
    expect(status.reason).toBe('Invalid');
    expect(status.message?.startsWith(message)).toBe(true);
    expect(status.details?.causes?.map((c) => c.field)).toEqual(fields);
    expect(kube.requests.at(-1)?.status).toBe(422);
  });

  it('deletes, or only marks for deletion while finalizers remain', async () => {
    kube.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'checkout' } });
    kube.put({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'b', namespace: 'checkout', finalizers: ['example.com/keep'] },
    });
    await k.core.deleteNamespacedConfigMap({ name: 'a', namespace: 'checkout', dryRun: 'All' });
    expect(kube.get('ConfigMap/checkout/a')).toBeDefined();
    await k.core.deleteNamespacedConfigMap({ name: 'a', namespace: 'checkout' });
    await k.core.deleteNamespacedConfigMap({ name: 'b', namespace: 'checkout' });
    expect(kube.get('ConfigMap/checkout/a')).toBeUndefined();
    expect(kube.get('ConfigMap/checkout/b')?.metadata?.deletionTimestamp).toBeDefined();
    expect(
      (await apiError(k.core.deleteNamespacedConfigMap({ name: 'a', namespace: 'checkout' }))).code,
    ).toBe(404);
  });
});

describe('KubernetesObjectApi (discovery, create, read, apply)', () => {
  it('maps kind to resource through discovery and reads, creates and patches', async () => {
    const created = await k.objects.create({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'api', namespace: 'checkout' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' }, maxReplicas: 5 },
    } as KubernetesObject);
    expect(created.metadata?.uid).toBeDefined();
    const read = await k.objects.read({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'api', namespace: 'checkout' },
    });
    expect(read.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
    expect(kube.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /apis/autoscaling/v2',
      'POST /apis/autoscaling/v2/namespaces/checkout/horizontalpodautoscalers',
      'GET /apis/autoscaling/v2/namespaces/checkout/horizontalpodautoscalers/api',
    ]);
  });

  it('server-side applies: dry runs store nothing, real applies create and then merge', async () => {
    const manifest = () => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'flags', namespace: 'checkout' },
      data: { checkout_v2: 'on' },
    });
    const apply = PatchStrategy.ServerSideApply;
    const dry = await k.objects.patch(manifest(), undefined, 'All', 'flightdeck', undefined, apply);
    expect(dry.metadata?.name).toBe('flags');
    expect(kube.get('ConfigMap/checkout/flags')).toBeUndefined();

    await k.objects.patch(manifest(), undefined, undefined, 'flightdeck', undefined, apply);
    await k.objects.patch(
      { ...manifest(), data: { search_v3: 'off' } },
      undefined,
      undefined,
      'flightdeck',
      true,
      apply,
    );
    expect(kube.get('ConfigMap/checkout/flags')?.data).toEqual({ checkout_v2: 'on', search_v3: 'off' });

    const { code, status } = await apiError(
      k.objects.patch(manifest(), undefined, undefined, undefined, undefined, apply),
    );
    expect(code).toBe(422);
    expect(status.message).toBe(
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
  });

  it('refuses a strategic merge patch on a custom resource with 415, as CRDs do', async () => {
    kube.register(HTTPROUTE);
    kube.put(httpRoute(100, 0));
    const { code, status } = await apiError(k.objects.patch(httpRoute(90, 10) as KubernetesObject));
    expect(code).toBe(415);
    expect(status).toMatchObject({
      reason: 'UnsupportedMediaType',
      message:
        'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
    });
    const service = await k.objects.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'checkout' },
      spec: { ports: [{ port: 80 }] },
    } as KubernetesObject);
    expect(service.metadata?.name).toBe('web');
    await k.objects.patch({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'checkout' },
      spec: { selector: { app: 'web' } },
    } as KubernetesObject);
    expect(kube.get<V1Service>('Service/checkout/web')?.spec?.selector).toEqual({ app: 'web' });
  });

  it('answers paths it does not serve 404 NotFound', async () => {
    const unknownKind = await apiError(
      k.objects.read({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }),
    );
    expect(unknownKind.code).toBe(404);
    await expect(
      k.objects.read({ apiVersion: 'apps/v1', kind: 'Widget', metadata: { name: 'w' } }),
    ).rejects.toThrow('Unrecognized API version and kind: apps/v1 Widget');
  });
});

describe('Gateway API HTTPRoute through CustomObjectsApi', () => {
  const where = {
    group: 'gateway.networking.k8s.io',
    version: 'v1',
    namespace: 'checkout',
    plural: 'httproutes',
  };

  beforeEach(() => kube.register(HTTPROUTE));

  it('creates, gets and merge-patches weights; history shows every version summing to 100', async () => {
    await k.custom.createNamespacedCustomObject({ ...where, body: httpRoute(100, 0) });
    const got = (await k.custom.getNamespacedCustomObject({ ...where, name: 'checkout' })) as KubeObject;
    expect(weights(got)).toEqual([100, 0]);

    for (const [blue, green] of [
      [90, 10],
      [50, 50],
      [0, 100],
    ] as const) {
      await k.custom.patchNamespacedCustomObject(
        { ...where, name: 'checkout', body: { spec: (httpRoute(blue, green) as { spec: unknown }).spec } },
        merge,
      );
    }
    expect(kube.requests.filter((r) => r.verb === 'patch').map((r) => r.contentType)).toEqual([
      'application/merge-patch+json',
      'application/merge-patch+json',
      'application/merge-patch+json',
    ]);

    const history = kube.history('HTTPRoute/checkout/checkout');
    expect(history.map(weights)).toEqual([
      [100, 0],
      [90, 10],
      [50, 50],
      [0, 100],
    ]);
    expect(history.every((v) => weights(v).reduce((a, b) => a + b, 0) === 100)).toBe(true);
    expect(history.map((v) => v.metadata?.generation)).toEqual([1, 2, 3, 4]);
  });

  it("takes JSON Patch too (the client's default for custom objects) and validates weights", async () => {
    kube.put(httpRoute(100, 0));
    await k.custom.patchNamespacedCustomObject({
      ...where,
      name: 'checkout',
      body: [
        { op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 80 },
        { op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 20 },
      ],
    });
    expect(weights(kube.get('HTTPRoute/checkout/checkout')!)).toEqual([80, 20]);

    const { code, status } = await apiError(
      k.custom.patchNamespacedCustomObject({
        ...where,
        name: 'checkout',
        body: [{ op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: -1 }],
      }),
    );
    expect(code).toBe(422);
    expect(status.details?.causes?.[0]?.field).toBe('spec.rules[0].backendRefs[0].weight');
    expect(kube.history('HTTPRoute/checkout/checkout')).toHaveLength(2);
  });
});

describe('Deployments and ReplicaSets for rollout undo', () => {
  it('lists ReplicaSets by selector with their revision annotations', async () => {
    for (const [name, revision, app] of [
      ['api-5d8f', '1', 'api'],
      ['api-7f9c', '2', 'api'],
      ['web-1a2b', '1', 'web'],
    ] as const) {
      kube.put({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name,
          namespace: 'checkout',
          labels: { app, 'pod-template-hash': name.split('-')[1]! },
          annotations: { 'deployment.kubernetes.io/revision': revision },
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'Deployment', name: app, uid: 'x', controller: true },
          ],
        },
        spec: {
          selector: { matchLabels: { app } },
          template: {
            metadata: { labels: { app } },
            spec: { containers: [{ name: 'app', image: `${app}:${revision}` }] },
          },
        },
      });
    }
    const list = await k.apps.listNamespacedReplicaSet({ namespace: 'checkout', labelSelector: 'app=api' });
    expect(
      list.items.map((rs) => [
        rs.metadata?.name,
        rs.metadata?.annotations?.['deployment.kubernetes.io/revision'],
      ]),
    ).toEqual([
      ['api-5d8f', '1'],
      ['api-7f9c', '2'],
    ]);
    expect(list.items[0]?.metadata?.ownerReferences?.[0]?.kind).toBe('Deployment');
  });

  it('lets a test play the controller: onChange sees the spec change, update reports progress', async () => {
    kube.onChange((event) => {
      if (event.type !== 'MODIFIED' || event.object.kind !== 'Deployment') return;
      const generation = event.object.metadata?.generation;
      if (generation === event.old?.metadata?.generation) return;
      kube.update<V1Deployment>('Deployment/checkout/api', (d) => {
        d.status = { ...d.status, observedGeneration: generation, updatedReplicas: 0 };
      });
    });
    await k.apps.createNamespacedDeployment({ namespace: 'checkout', body: deploymentBody('api') });
    await k.apps.patchNamespacedDeployment(
      { name: 'api', namespace: 'checkout', body: { metadata: { labels: { team: 'pay' } } } },
      merge,
    );
    expect(kube.get<V1Deployment>('Deployment/checkout/api')?.metadata?.generation).toBe(1);

    await k.apps.patchNamespacedDeployment(
      {
        name: 'api',
        namespace: 'checkout',
        body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'api:2' }] } } } },
      },
      merge,
    );
    const live = kube.get<V1Deployment>('Deployment/checkout/api')!;
    expect(live.metadata?.generation).toBe(2);
    expect(live.status).toEqual({ observedGeneration: 2, updatedReplicas: 0 });
  });
});

describe('faults and inspection', () => {
  it('forbids until lifted, with the RBAC message', async () => {
    const lift = kube.forbid(['get', 'patch'], 'deployments.apps');
    kube.put({
      ...deploymentBody('api'),
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api', namespace: 'checkout' },
    });
    const { code, status } = await apiError(
      k.apps.readNamespacedDeployment({ name: 'api', namespace: 'checkout' }),
    );
    expect(code).toBe(403);
    expect(status).toMatchObject({
      reason: 'Forbidden',
      message:
        'deployments.apps "api" is forbidden: User "system:serviceaccount:flightdeck:flightdeck" cannot get resource "deployments" in API group "apps" in the namespace "checkout"',
      details: { name: 'api', group: 'apps', kind: 'deployments' },
    });
    await k.apps.listNamespacedDeployment({ namespace: 'checkout' }); // list is not forbidden
    lift();
    await k.apps.readNamespacedDeployment({ name: 'api', namespace: 'checkout' });
  });

  it('fails the next N matching requests, then recovers', async () => {
    kube.failNext('list', '/api/v1/namespaces/checkout/pods', 503, 2);
    expect((await apiError(k.core.listNamespacedPod({ namespace: 'checkout' }))).status.reason).toBe(
      'ServiceUnavailable',
    );
    expect((await apiError(k.core.listNamespacedPod({ namespace: 'checkout' }))).code).toBe(503);
    await k.core.listNamespacedPod({ namespace: 'checkout' });
    expect(kube.requests.map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it('stores the next matching write and then loses its answer: a reset, or a 500 after storing', async () => {
    kube.put({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'flags', namespace: 'checkout' },
      data: { a: '1' },
    });
    const patch = (a: string) =>
      k.core.patchNamespacedConfigMap({ name: 'flags', namespace: 'checkout', body: { data: { a } } }, merge);

    kube.applyThenDrop('patch', 'configmaps');
    await expect(
      k.core.readNamespacedConfigMap({ name: 'flags', namespace: 'checkout' }),
    ).resolves.toBeDefined();
    const lost = await patch('2').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(lost).toBeInstanceOf(Error);
    expect(lost).not.toBeInstanceOf(ApiException); // no answer at all: the connection was dropped
    expect(kube.get('ConfigMap/checkout/flags')?.data).toEqual({ a: '2' });

    kube.applyThenDrop('patch', 'configmaps', 500);
    expect((await apiError(patch('3'))).code).toBe(500);
    expect(kube.get('ConfigMap/checkout/flags')?.data).toEqual({ a: '3' });

    // Spent: the next write is answered as usual.
    await patch('4');
    expect(kube.requests.filter((r) => r.verb === 'patch').map((r) => r.status)).toEqual([0, 500, 200]);
    expect(kube.history('ConfigMap/checkout/flags').map((c) => c.data)).toEqual([
      { a: '1' },
      { a: '2' },
      { a: '3' },
      { a: '4' },
    ]);
  });

  it('answers the next write 409 Conflict and stores nothing', async () => {
    kube.put({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'flags', namespace: 'checkout' },
      data: { a: '1' },
    });
    kube.conflictNext('configmaps');
    await k.core.readNamespacedConfigMap({ name: 'flags', namespace: 'checkout' }); // reads are not writes
    const { status } = await apiError(
      k.core.patchNamespacedConfigMap(
        { name: 'flags', namespace: 'checkout', body: { data: { a: '2' } } },
        merge,
      ),
    );
    expect(status.reason).toBe('Conflict');
    expect(kube.get('ConfigMap/checkout/flags')?.data).toEqual({ a: '1' });
    await k.core.patchNamespacedConfigMap(
      { name: 'flags', namespace: 'checkout', body: { data: { a: '2' } } },
      merge,
    );
    expect(kube.history('ConfigMap/checkout/flags')).toHaveLength(2);
  });

  it('logs method, path, query, content type and status', async () => {
    await apiError(k.core.readNamespacedService({ name: 'missing', namespace: 'checkout' }));
    expect(kube.requests).toEqual([
      expect.objectContaining({
        method: 'GET',
        path: '/api/v1/namespaces/checkout/services/missing',
        verb: 'get',
        resource: 'services',
        namespace: 'checkout',
        name: 'missing',
        status: 404,
      }),
    ]);
  });

  it('rejects a wrong bearer token with 401', async () => {
    const config = kube.kubeConfig();
    config.users = [{ name: 'fake-user', token: 'wrong' }];
    const core = (await import('../../../src/kube/client.js')).createKubeClients(config).core;
    expect((await apiError(core.listNamespacedPod({ namespace: 'checkout' }))).code).toBe(401);
  });

  it('writes a kubeconfig the client loads: http with insecure-skip-tls-verify and a token', () => {
    const config = kube.kubeConfig();
    expect(config.getCurrentCluster()).toMatchObject({ server: kube.url, skipTLSVerify: true });
    expect(config.getCurrentUser()?.token).toBe(kube.token);
    expect(config.getContextObject(config.getCurrentContext())?.namespace).toBe('checkout');
  });
});
