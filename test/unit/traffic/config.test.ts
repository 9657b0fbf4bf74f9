import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeKube } from '../../../src/sandbox/kube/fake-kube.js';
import { createStrategy, trafficConfigSchema } from '../../../src/traffic/index.js';
import { trafficFailure } from './support.js';

let kube: FakeKube;
beforeAll(async () => {
  kube = await FakeKube.start();
});
afterAll(() => kube.stop());

describe('the traffic: block of flightdeck.yaml', () => {
  it('parses each strategy with its defaults', () => {
    expect(trafficConfigSchema.parse({ strategy: 'blue-green', service: 'api-gateway' })).toEqual({
      strategy: 'blue-green',
      service: 'api-gateway',
      slot_label: 'slot',
    });
    expect(
      trafficConfigSchema.parse({
        strategy: 'canary',
        provider: 'gateway-api',
        httproute: 'checkout',
        stable_service: 'checkout-stable',
        canary_service: 'checkout-canary',
      }),
    ).toMatchObject({ rule: 0 });
    expect(
      trafficConfigSchema.parse({ strategy: 'rolling', deployment: 'api', rollout_timeout: '5m' }),
    ).toEqual({
      strategy: 'rolling',
      deployment: 'api',
      rollout_timeout: 300_000,
    });
  });

  it.each([
    [{ strategy: 'canary', provider: 'istio', virtual_service: 'x' }, ['provider']],
    [{ strategy: 'canary', provider: 'ingress-nginx' }, ['canary_ingress']],
    [{ strategy: 'blue-green', service: 'Api_Gateway' }, ['service']],
    [{ strategy: 'blue-green', service: 'api', weight: 5 }, []],
    [
      {
        strategy: 'canary',
        provider: 'gateway-api',
        httproute: 'r',
        stable_service: 'same',
        canary_service: 'same',
      },
      ['canary_service'],
    ],
    [{ strategy: 'rolling', deployment: 'api', rollout_timeout: 'soon' }, ['rollout_timeout']],
  ])('refuses %j', (input, path) => {
    const result = trafficConfigSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(path);
  });

  it('creates the strategy the block names, in the service namespace unless the block names one', () => {
    const clients = kube.clients();
    const make = (input: unknown) =>
      createStrategy(trafficConfigSchema.parse(input), clients, { namespace: 'shop' }).describe();
    expect(make({ strategy: 'blue-green', service: 'web', slot_label: 'color' })).toBe(
      'blue-green on Service shop/web (label color)',
    );
    expect(
      make({
        strategy: 'canary',
        provider: 'ingress-nginx',
        canary_ingress: 'web-canary',
        namespace: 'edge',
      }),
    ).toBe('canary on Ingress edge/web-canary (ingress-nginx canary-weight)');
    expect(
      make({
        strategy: 'canary',
        provider: 'gateway-api',
        httproute: 'web',
        stable_service: 'a',
        canary_service: 'b',
      }),
    ).toBe('canary on HTTPRoute shop/web rule 0 (stable a, canary b)');
    expect(make({ strategy: 'rolling', deployment: 'web' })).toBe(
      'rolling Deployment shop/web (rollback: rollout undo)',
    );
  });

  it("uses the block's rollout_timeout for a rolling rollback", async () => {
    kube.put({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop', annotations: { 'deployment.kubernetes.io/revision': '1' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'web:1' }] },
        },
      },
      // The new generation is never observed: the wait can only end by the timeout.
      status: { observedGeneration: 0 },
    });
    const strategy = createStrategy(
      trafficConfigSchema.parse({ strategy: 'rolling', deployment: 'web', rollout_timeout: '80ms' }),
      kube.clients(),
      { namespace: 'shop' },
      { pollMs: 10 },
    );
    const error = await trafficFailure(strategy.rollback(undefined, { to: { revision: 1 } }));
    expect(error.code).toBe('timeout');
    expect(error.message).toContain('did not complete within 80ms');
  });
});
