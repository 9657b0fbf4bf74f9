import type { V1Ingress } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeKube } from '../../../src/sandbox/kube/fake-kube.js';
import { createStrategy, type TrafficStrategy, trafficConfigSchema } from '../../../src/traffic/index.js';
import { FAST, trafficFailure } from './support.js';

/** Seed 003: canary 5% -> 50% -> 100%, through an ingress-nginx canary Ingress. */

const REF = 'Ingress/checkout/checkout-canary';
const CANARY = 'nginx.ingress.kubernetes.io/canary';
const WEIGHT = 'nginx.ingress.kubernetes.io/canary-weight';
let kube: FakeKube;
let strategy: TrafficStrategy;

beforeAll(async () => {
  kube = await FakeKube.start({ namespace: 'checkout' });
});
afterAll(() => kube.stop());
beforeEach(() => {
  kube.reset();
  seed({ [CANARY]: 'true', [WEIGHT]: '0' });
  strategy = canary('checkout-canary');
});

function seed(annotations: Record<string, string>): void {
  kube.put<V1Ingress>({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'checkout-canary', namespace: 'checkout', annotations },
    spec: {
      ingressClassName: 'nginx',
      rules: [
        {
          host: 'checkout.example.com',
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: 'checkout-canary', port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  });
}

function canary(name: string): TrafficStrategy {
  const config = trafficConfigSchema.parse({
    strategy: 'canary',
    provider: 'ingress-nginx',
    canary_ingress: name,
  });
  return createStrategy(config, kube.clients(), { namespace: 'checkout' }, FAST);
}

const weights = () => kube.history<V1Ingress>(REF).map((i) => i.metadata?.annotations?.[WEIGHT]);

describe('canary through ingress-nginx', () => {
  it('shifts 5% -> 50% -> 100%, then rolls back to 0%', async () => {
    expect(strategy.describe()).toBe(
      'canary on Ingress checkout/checkout-canary (ingress-nginx canary-weight)',
    );
    expect(await strategy.current()).toEqual({
      weight: 0,
      description: 'canary 0% (stable 100%) via Ingress checkout-canary',
    });

    for (const [weight, from] of [
      [5, 0],
      [50, 5],
      [100, 50],
    ] as const) {
      const change = await strategy.shift({ weight });
      expect(change).toMatchObject({ before: { weight: from }, after: { weight }, attempts: 1 });
      expect(kube.get<V1Ingress>(REF)?.metadata?.annotations).toEqual({
        [CANARY]: 'true',
        [WEIGHT]: String(weight),
      });
    }
    expect((await strategy.current()).description).toBe(
      'canary 100% (stable 0%) via Ingress checkout-canary',
    );

    const back = await strategy.rollback(undefined, { to: { weight: 0 } });
    expect(back).toMatchObject({ before: { weight: 100 }, after: { weight: 0 }, attempts: 1 });
    expect(weights()).toEqual(['0', '5', '50', '100', '0']);
    expect(kube.requests.filter((r) => r.verb === 'patch').map((r) => r.contentType)).toEqual(
      Array(4).fill('application/merge-patch+json'),
    );
  });

  it('refuses an Ingress that is not a canary Ingress, changing nothing', async () => {
    kube.reset();
    seed({ [WEIGHT]: '0' });
    const error = await trafficFailure(strategy.shift({ weight: 5 }));
    expect(error).toMatchObject({ code: 'invalid', retryable: false });
    expect(error.message).toBe(
      'Ingress checkout/checkout-canary is not a canary Ingress (nginx.ingress.kubernetes.io/canary is null, not "true")',
    );
    expect(error.state?.description).toBe('Ingress checkout-canary is not a canary Ingress');
    expect(kube.history(REF)).toHaveLength(1);
    expect(kube.requests.filter((r) => r.verb === 'patch')).toHaveLength(0);
  });

  it('refuses a slot and a weight outside 0–100', async () => {
    expect((await trafficFailure(strategy.shift({ slot: 'green' }))).code).toBe('invalid');
    expect((await trafficFailure(strategy.shift({ weight: 101 }))).message).toBe(
      'a canary weight is a whole number from 0 to 100, not 101',
    );
    expect(kube.history(REF)).toHaveLength(1);
  });

  it('scales to canary-weight-total when the Ingress sets one', async () => {
    kube.reset();
    seed({ [CANARY]: 'true', 'nginx.ingress.kubernetes.io/canary-weight-total': '1000' });
    const change = await strategy.shift({ weight: 5 });
    expect(change.after.weight).toBe(5);
    expect(kube.get<V1Ingress>(REF)?.metadata?.annotations?.[WEIGHT]).toBe('50');
  });

  it('treats a missing weight annotation as 0', async () => {
    kube.reset();
    seed({ [CANARY]: 'true' });
    expect((await strategy.current()).weight).toBe(0);
    expect((await strategy.rollback(undefined, { to: { weight: 0 } })).attempts).toBe(0);
  });

  it('409 then success: retried, attempts reported', async () => {
    kube.conflictNext('ingresses', 2);
    const change = await strategy.shift({ weight: 5 });
    expect(change.attempts).toBe(3);
    expect(weights()).toEqual(['0', '5']);
  });

  it('a mutating admission that rewrites the weight: mismatch carrying the stored weight', async () => {
    kube.onChange((event) => {
      const ingress = event.object as V1Ingress;
      if (event.object.kind === 'Ingress' && Number(ingress.metadata?.annotations?.[WEIGHT]) > 20)
        kube.update<V1Ingress>(REF, (i) => {
          i.metadata!.annotations![WEIGHT] = '20';
        });
    });
    const error = await trafficFailure(strategy.shift({ weight: 50 }));
    expect(error).toMatchObject({ code: 'mismatch', state: { weight: 20 } });
    expect(error.message).toBe(
      'asked for canary 50%, but Ingress checkout/checkout-canary reads back canary 20% (stable 80%) via Ingress checkout-canary',
    );
  });

  it('403: forbidden, nothing stored', async () => {
    kube.forbid('patch', 'ingresses');
    const error = await trafficFailure(strategy.shift({ weight: 5 }));
    expect(error).toMatchObject({ code: 'forbidden', state: { weight: 0 } });
    expect(error.message).toMatch(
      /^no permission to patch Ingress checkout\/checkout-canary: .* cannot patch/,
    );
    expect(kube.history(REF)).toHaveLength(1);
  });

  it('404: not_found naming the Ingress', async () => {
    const error = await trafficFailure(canary('checkout-canery').rollback(undefined, { to: { weight: 0 } }));
    expect(error.code).toBe('not_found');
    expect(error.message).toBe('Ingress checkout/checkout-canery not found');
  });

  it('a connection reset on the patch: unavailable, with what the cluster shows', async () => {
    kube.failNext('patch', 'ingresses', 'reset');
    const error = await trafficFailure(strategy.shift({ weight: 5 }));
    expect(error).toMatchObject({ code: 'unavailable', retryable: true, state: { weight: 0 } });
    expect(error.message).toMatch(
      /^cannot reach the Kubernetes API \(patch Ingress checkout\/checkout-canary\)/,
    );
  });

  it('an already aborted signal sends nothing', async () => {
    const error = await trafficFailure(strategy.shift({ weight: 5 }, AbortSignal.abort()));
    expect(error.code).toBe('aborted');
    expect(kube.requests).toHaveLength(0);
  });
});
