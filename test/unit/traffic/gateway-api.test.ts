import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeKube } from '../../../src/sandbox/kube/fake-kube.js';
import { HTTPROUTE } from '../../../src/sandbox/kube/kinds.js';
import type { KubeObject } from '../../../src/sandbox/kube/types.js';
import { createStrategy, type TrafficStrategy, trafficConfigSchema } from '../../../src/traffic/index.js';
import { FAST, trafficFailure, until } from './support.js';

/** Seed 003's canary 5% -> 50% -> 100% through a Gateway API HTTPRoute. */

const REF = 'HTTPRoute/checkout/checkout';
let kube: FakeKube;
let strategy: TrafficStrategy;

interface Ref {
  name: string;
  port?: number;
  weight?: number;
}
type Route = KubeObject & { spec: { rules: { backendRefs: Ref[] }[] } };

beforeAll(async () => {
  kube = await FakeKube.start({ namespace: 'checkout', resources: [HTTPROUTE] });
});
afterAll(() => kube.stop());
beforeEach(() => {
  kube.reset();
  seed([
    { name: 'checkout-stable', port: 80, weight: 100 },
    { name: 'checkout-canary', port: 80, weight: 0 },
  ]);
  strategy = canary({});
});

function seed(backendRefs: Ref[]): void {
  kube.put({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'checkout', namespace: 'checkout' },
    spec: {
      parentRefs: [{ name: 'public' }],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/admin' } }],
          backendRefs: [{ name: 'admin', port: 80 }],
        },
        { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs },
      ],
    },
  });
}

function canary(extra: Record<string, unknown>, on = kube): TrafficStrategy {
  const config = trafficConfigSchema.parse({
    strategy: 'canary',
    provider: 'gateway-api',
    httproute: 'checkout',
    stable_service: 'checkout-stable',
    canary_service: 'checkout-canary',
    rule: 1,
    ...extra,
  });
  return createStrategy(config, on.clients(), { namespace: 'checkout' }, FAST);
}

/** [stable, canary] of rule 1, as stored. */
const split = (route: KubeObject) => (route as Route).spec.rules[1]!.backendRefs.map((ref) => ref.weight);
const history = () => kube.history(REF).map(split);
const sumsTo100 = (weights: (number | undefined)[]) =>
  weights.reduce<number>((a, w) => a + (w ?? 1), 0) === 100;

describe('canary through a Gateway API HTTPRoute', () => {
  it('shifts 5/50/100 and rolls back, every stored version summing to 100', async () => {
    expect(strategy.describe()).toBe(
      'canary on HTTPRoute checkout/checkout rule 1 (stable checkout-stable, canary checkout-canary)',
    );
    for (const weight of [5, 50, 100]) {
      const change = await strategy.shift({ weight });
      expect(change.after).toEqual({
        weight,
        description: `canary ${weight}% (stable ${100 - weight}%) via HTTPRoute checkout`,
      });
      expect(split(kube.get(REF)!)).toEqual([100 - weight, weight]);
    }
    const back = await strategy.rollback(undefined, { to: { weight: 0 } });
    expect(back).toMatchObject({ before: { weight: 100 }, after: { weight: 0 }, attempts: 1 });
    expect(await strategy.current()).toMatchObject({ weight: 0 });

    expect(history()).toEqual([
      [100, 0],
      [95, 5],
      [50, 50],
      [0, 100],
      [100, 0],
    ]);
    expect(history().every(sumsTo100)).toBe(true);
    // One JSON Patch per shift, pinned to the names and the resourceVersion it read.
    const patches = kube.requests.filter((r) => r.verb === 'patch');
    expect(patches.map((r) => r.contentType)).toEqual(Array(4).fill('application/json-patch+json'));
    expect(patches[0]?.body).toEqual([
      { op: 'test', path: '/spec/rules/1/backendRefs/0/name', value: 'checkout-stable' },
      { op: 'test', path: '/spec/rules/1/backendRefs/1/name', value: 'checkout-canary' },
      {
        op: 'replace',
        path: '/metadata/resourceVersion',
        value: kube.history(REF)[0]?.metadata?.resourceVersion,
      },
      { op: 'add', path: '/spec/rules/1/backendRefs/0/weight', value: 95 },
      { op: 'add', path: '/spec/rules/1/backendRefs/1/weight', value: 5 },
    ]);
    // The other rule is untouched.
    expect((kube.get(REF) as Route).spec.rules[0]?.backendRefs).toEqual([{ name: 'admin', port: 80 }]);
  });

  it('a concurrent change between our read and our write fails it; we re-read and never mix weights', async () => {
    // An injected 409 on the first write; then, while the retry is on its way, someone else moves the
    // split to 70/30, so the retry carries a stale resourceVersion.
    kube.conflictNext('httproutes');
    let competed = false;
    const patches = () => kube.requests.filter((r) => r.verb === 'patch');
    kube.delay(30, (request) => request.verb === 'patch' && patches().length === 2 && !competed);
    const shifting = strategy.shift({ weight: 50 });
    await until(() => patches().length === 2);
    competed = true;
    kube.update<Route>(REF, (route) => {
      route.spec.rules[1]!.backendRefs = [
        { name: 'checkout-stable', port: 80, weight: 70 },
        { name: 'checkout-canary', port: 80, weight: 30 },
      ];
    });
    const change = await shifting;

    expect(change).toMatchObject({ before: { weight: 30 }, after: { weight: 50 }, attempts: 3 });
    expect(history()).toEqual([
      [100, 0],
      [70, 30],
      [50, 50],
    ]);
    expect(history().every(sumsTo100)).toBe(true);
    expect(kube.requests.filter((r) => r.verb === 'patch').map((r) => r.status)).toEqual([409, 409, 200]);
  });

  it('backends reordered under us: the test ops fail the write, we re-read and write the new indices', async () => {
    let reordered = false;
    kube.delay(30, (request) => request.verb === 'patch' && !reordered);
    const shifting = strategy.shift({ weight: 5 });
    await until(() => kube.requests.some((r) => r.verb === 'patch'));
    reordered = true;
    kube.update<Route>(REF, (route) => {
      route.spec.rules[1]!.backendRefs.reverse();
    });
    const change = await shifting;
    expect(change.attempts).toBe(2);
    expect(kube.requests.filter((r) => r.verb === 'patch').map((r) => r.status)).toEqual([422, 200]);
    expect((kube.get(REF) as Route).spec.rules[1]?.backendRefs).toEqual([
      { name: 'checkout-canary', port: 80, weight: 5 },
      { name: 'checkout-stable', port: 80, weight: 95 },
    ]);
  });

  it("retries kube-apiserver's own answer to a JSON Patch that no longer applies (422, generic message)", async () => {
    kube.failNext(
      'patch',
      'httproutes',
      422,
      1,
      'the server rejected our request due to an error in our request',
    );
    expect((await strategy.shift({ weight: 5 })).attempts).toBe(2);
    // Any other 422 is the API refusing the value: reported as invalid, not retried.
    kube.failNext(
      'patch',
      'httproutes',
      422,
      1,
      'HTTPRoute.gateway.networking.k8s.io "checkout" is invalid: …',
    );
    const error = await trafficFailure(strategy.shift({ weight: 50 }));
    expect(error).toMatchObject({ code: 'invalid', state: { weight: 5 } });
  });

  it('reads default weights (1 each) as 50%, and writes both weights explicitly', async () => {
    kube.reset();
    seed([
      { name: 'checkout-stable', port: 80 },
      { name: 'checkout-canary', port: 80 },
    ]);
    expect(await strategy.current()).toEqual({
      weight: 50,
      description: 'canary 50% (stable 50%) via HTTPRoute checkout (weights 1/1)',
    });
    await strategy.shift({ weight: 50 });
    expect(history().at(-1)).toEqual([50, 50]);
  });

  it('refuses a rule that also sends traffic elsewhere, or lacks one of the Services', async () => {
    kube.reset();
    seed([
      { name: 'checkout-stable', port: 80, weight: 90 },
      { name: 'checkout-canary', port: 80, weight: 0 },
      { name: 'checkout-legacy', port: 80, weight: 10 },
    ]);
    const elsewhere = await trafficFailure(strategy.shift({ weight: 5 }));
    expect(elsewhere.code).toBe('invalid');
    expect(elsewhere.message).toBe(
      'rule 1 of HTTPRoute checkout/checkout also sends traffic to checkout-legacy: Flightdeck splits between checkout-stable and checkout-canary only',
    );
    const missing = await trafficFailure(canary({ canary_service: 'checkout-next' }).shift({ weight: 5 }));
    expect(missing.message).toBe(
      'rule 1 of HTTPRoute checkout/checkout has no backendRef to Service checkout-next',
    );
    const noRule = await trafficFailure(canary({ rule: 5 }).rollback(undefined, { to: { weight: 0 } }));
    expect(noRule.message).toBe(
      'HTTPRoute checkout/checkout has no rule 5 with backendRefs (it has 2 rules)',
    );
    expect(kube.history(REF)).toHaveLength(1);
  });

  it('403: forbidden with the RBAC message, the route unchanged', async () => {
    kube.forbid('patch', 'httproutes');
    const error = await trafficFailure(strategy.shift({ weight: 5 }));
    expect(error).toMatchObject({ code: 'forbidden', state: { weight: 0 } });
    expect(error.message).toContain(
      'cannot patch resource "httproutes" in API group "gateway.networking.k8s.io" in the namespace "checkout"',
    );
    expect(kube.history(REF)).toHaveLength(1);
  });

  it('404: the route, and a cluster without the Gateway API', async () => {
    const missing = await trafficFailure(canary({ httproute: 'checkout-v2' }).current());
    expect(missing).toMatchObject({ code: 'not_found', message: 'HTTPRoute checkout/checkout-v2 not found' });

    const bare = await FakeKube.start({ namespace: 'checkout' });
    try {
      const error = await trafficFailure(canary({}, bare).shift({ weight: 5 }));
      expect(error.code).toBe('not_found');
      expect(error.message).toBe(
        'HTTPRoute checkout/checkout not found (the API answered: the server could not find the requested resource)',
      );
    } finally {
      await bare.stop();
    }
  });

  it('a controller that resets the weights: mismatch with the stored split', async () => {
    kube.onChange((event) => {
      if (event.object.kind !== 'HTTPRoute' || split(event.object)[1] === 0) return;
      kube.update<Route>(REF, (route) => {
        route.spec.rules[1]!.backendRefs[0]!.weight = 100;
        route.spec.rules[1]!.backendRefs[1]!.weight = 0;
      });
    });
    const error = await trafficFailure(strategy.shift({ weight: 5 }));
    expect(error).toMatchObject({ code: 'mismatch', state: { weight: 0 } });
    expect(error.message).toBe(
      'asked for canary 5% (stable 95%), but HTTPRoute checkout/checkout reads back canary 0% (stable 100%) via HTTPRoute checkout',
    );
    expect(history().every(sumsTo100)).toBe(true);
  });

  it('a slow API past the request timeout while writing: timeout, retryable', async () => {
    kube.delay(200, (request) => request.verb === 'patch');
    const slow = createStrategy(
      trafficConfigSchema.parse({
        strategy: 'canary',
        provider: 'gateway-api',
        httproute: 'checkout',
        stable_service: 'checkout-stable',
        canary_service: 'checkout-canary',
        rule: 1,
      }),
      kube.clients(),
      { namespace: 'checkout' },
      { ...FAST, requestTimeoutMs: 60 },
    );
    const error = await trafficFailure(slow.shift({ weight: 5 }));
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
    // The write was slow, not refused: the error shows what the cluster holds (the fake stores it late).
    expect(error.state?.weight).toBe(0);
  });
});
