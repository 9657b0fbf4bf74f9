import type { V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeKube } from '../../../src/sandbox/kube/fake-kube.js';
import { createStrategy, type TrafficStrategy, trafficConfigSchema } from '../../../src/traffic/index.js';
import { FAST, trafficFailure, until } from './support.js';

/** Seed 000: `kubectl patch service api-gateway -n production -p '{"spec":{"selector":{"slot":"green"}}}'`. */

const REF = 'Service/production/api-gateway';
let kube: FakeKube;
let strategy: TrafficStrategy;

beforeAll(async () => {
  kube = await FakeKube.start({ namespace: 'production' });
});
afterAll(() => kube.stop());
beforeEach(() => {
  kube.reset();
  kube.put<V1Service>({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'api-gateway', namespace: 'production' },
    spec: { selector: { app: 'api-gateway', slot: 'blue' }, ports: [{ port: 3000 }] },
  });
  strategy = blueGreen('api-gateway');
});

function blueGreen(service: string): TrafficStrategy {
  const config = trafficConfigSchema.parse({ strategy: 'blue-green', service });
  return createStrategy(config, kube.clients(), { namespace: 'production' }, FAST);
}

const slots = () => kube.history<V1Service>(REF).map((s) => s.spec?.selector?.slot);

describe('blue-green', () => {
  it('switches to green and back to blue, read back and verified', async () => {
    expect(strategy.describe()).toBe('blue-green on Service production/api-gateway (label slot)');
    expect(await strategy.current()).toEqual({
      slot: 'blue',
      description: 'blue live via Service api-gateway (selector slot=blue)',
    });
    kube.requests.length = 0;

    const toGreen = await strategy.shift({ slot: 'green' });
    expect(toGreen).toMatchObject({ before: { slot: 'blue' }, after: { slot: 'green' }, attempts: 1 });
    expect(kube.get<V1Service>(REF)?.spec?.selector).toEqual({ app: 'api-gateway', slot: 'green' });
    const patch = kube.requests.find((r) => r.verb === 'patch');
    expect(patch?.contentType).toBe('application/merge-patch+json');
    expect(patch?.body).toEqual({
      metadata: { resourceVersion: kube.history(REF)[0]?.metadata?.resourceVersion },
      spec: { selector: { slot: 'green' } },
    });
    // The patch is followed by a separate read: the verification sees what is stored, not what we sent.
    expect(kube.requests.map((r) => r.verb)).toEqual(['get', 'patch', 'get']);

    const back = await strategy.rollback(undefined, { to: toGreen.before });
    expect(back).toMatchObject({ before: { slot: 'green' }, after: { slot: 'blue' }, attempts: 1 });
    expect(await strategy.current()).toMatchObject({ slot: 'blue' });
    expect(slots()).toEqual(['blue', 'green', 'blue']);
  });

  it('rolls back to the recorded slot idempotently, and never to "the other slot"', async () => {
    await strategy.shift({ slot: 'green' });
    await strategy.rollback(undefined, { to: { slot: 'blue' } });
    const again = await strategy.rollback(undefined, { to: { slot: 'blue' } });
    expect(again).toMatchObject({ before: { slot: 'blue' }, after: { slot: 'blue' }, attempts: 0 });
    expect(slots()).toEqual(['blue', 'green', 'blue']);

    // Without a record of what was live there is nowhere to go: refused, nothing written.
    const unknown = await trafficFailure(strategy.rollback(undefined, { to: {} }));
    expect(unknown).toMatchObject({ code: 'invalid' });
    expect(unknown.message).toContain('no record of which slot');
    expect(slots()).toEqual(['blue', 'green', 'blue']);
  });

  it('does not write when the slot is already live', async () => {
    const change = await strategy.shift({ slot: 'blue' });
    expect(change.attempts).toBe(0);
    expect(slots()).toEqual(['blue']);
  });

  it('refuses a weight, and a Service that does not select on the slot label', async () => {
    expect(await trafficFailure(strategy.shift({ weight: 50 }))).toMatchObject({ code: 'invalid' });

    kube.update<V1Service>(REF, (s) => {
      s.spec!.selector = { app: 'api-gateway' };
    });
    const error = await trafficFailure(strategy.shift({ slot: 'green' }));
    expect(error.code).toBe('invalid');
    expect(error.message).toBe(
      'Service production/api-gateway does not select on the label slot; add slot: blue (or green) to its selector first',
    );
    expect(error.state?.description).toBe('no slot selected: Service api-gateway selects app=api-gateway');
    expect(kube.get<V1Service>(REF)?.spec?.selector).toEqual({ app: 'api-gateway' });
  });

  it('re-reads and retries after 409 Conflict, reporting the attempts', async () => {
    kube.conflictNext('services');
    const change = await strategy.shift({ slot: 'green' });
    expect(change.attempts).toBe(2);
    expect(kube.requests.map((r) => `${r.verb} ${r.status}`)).toEqual([
      'get 200',
      'patch 409',
      'get 200',
      'patch 200',
      'get 200',
    ]);
    expect(slots()).toEqual(['blue', 'green']);
  });

  it('gives up after repeated conflicts with `conflict`, retryable, showing the live slot', async () => {
    kube.conflictNext('services', 10);
    const error = await trafficFailure(strategy.shift({ slot: 'green' }));
    expect(error).toMatchObject({ code: 'conflict', retryable: true, state: { slot: 'blue' } });
    expect(error.message).toContain('4 writes answered 409 Conflict');
    expect(kube.requests.filter((r) => r.verb === 'patch')).toHaveLength(4);
    expect(slots()).toEqual(['blue']);
  });

  it('a stale resourceVersion is a conflict too: a competing edit is re-read, not overwritten', async () => {
    // Someone changes the Service right after our first read; our write carries the old resourceVersion.
    let competed = false;
    kube.delay(30, (request) => request.verb === 'patch' && !competed);
    const shifting = strategy.shift({ slot: 'green' });
    await until(() => kube.requests.some((r) => r.verb === 'patch'));
    competed = true;
    kube.update<V1Service>(REF, (s) => {
      s.metadata!.labels = { team: 'edge' };
    });
    const change = await shifting;
    expect(change.attempts).toBe(2);
    const live = kube.get<V1Service>(REF)!;
    expect(live.metadata?.labels).toEqual({ team: 'edge' });
    expect(live.spec?.selector?.slot).toBe('green');
  });

  it('403: a clear forbidden error with the API message and the live slot, and nothing changed', async () => {
    kube.forbid('patch', 'services');
    const error = await trafficFailure(strategy.shift({ slot: 'green' }));
    expect(error).toMatchObject({ code: 'forbidden', retryable: false, state: { slot: 'blue' } });
    expect(error.message).toBe(
      'no permission to patch Service production/api-gateway: services "api-gateway" is forbidden: User "system:serviceaccount:flightdeck:flightdeck" cannot patch resource "services" in API group "" in the namespace "production"',
    );
    expect(kube.history(REF)).toHaveLength(1);
  });

  it('403 on the read: forbidden without a state', async () => {
    kube.forbid('get', 'services');
    const error = await trafficFailure(strategy.current());
    expect(error.code).toBe('forbidden');
    expect(error.state).toBeUndefined();
  });

  it('404: not_found naming the Service', async () => {
    const error = await trafficFailure(blueGreen('api-gatewey').shift({ slot: 'green' }));
    expect(error).toMatchObject({ code: 'not_found', retryable: false });
    expect(error.message).toBe('Service production/api-gatewey not found');
  });

  it('a read-back that does not show the slot is a mismatch carrying what is live', async () => {
    // An admission policy (or another controller) puts blue back as soon as green is stored.
    kube.onChange((event) => {
      const service = event.object as V1Service;
      if (event.object.kind === 'Service' && service.spec?.selector?.slot === 'green')
        kube.update<V1Service>(REF, (s) => {
          s.spec!.selector!.slot = 'blue';
        });
    });
    const error = await trafficFailure(strategy.shift({ slot: 'green' }));
    expect(error).toMatchObject({ code: 'mismatch', retryable: false, state: { slot: 'blue' } });
    expect(error.message).toBe(
      'asked for the green slot, but Service production/api-gateway reads back blue live via Service api-gateway (selector slot=blue)',
    );
  });

  it('503 on the patch: unavailable and retryable, with the state read afterwards', async () => {
    kube.failNext('patch', 'services', 503);
    const error = await trafficFailure(strategy.shift({ slot: 'green' }));
    expect(error).toMatchObject({ code: 'unavailable', retryable: true, state: { slot: 'blue' } });
    expect(error.message).toContain('the Kubernetes API answered 503');
  });

  describe('a PATCH that was stored but whose answer was lost', () => {
    /** Reads of the Service fail `times` times once green is stored (the API went away after the write). */
    const readsFailOnceGreen = (times: number) =>
      kube.failNext(
        'get',
        (request) =>
          request.resource === 'services' && kube.get<V1Service>(REF)?.spec?.selector?.slot === 'green',
        503,
        times,
      );

    it('and the read after it fails too: outcome unknown, no state claimed; a later read finds green', async () => {
      kube.applyThenDrop('patch', 'services');
      readsFailOnceGreen(3);
      const error = await trafficFailure(strategy.shift({ slot: 'green' }));
      expect(error).toMatchObject({ code: 'unknown', retryable: false });
      expect(error.state).toBeUndefined();
      expect(error.message).toMatch(
        /^outcome unknown: cannot reach the Kubernetes API \(patch Service production\/api-gateway\): .*, and reading it back failed too$/,
      );
      expect(kube.requests.map((r) => `${r.verb} ${r.status}`)).toEqual(['get 200', 'patch 0', 'get 503']);
      // It was applied: green is live, whatever the caller could tell.
      expect(slots()).toEqual(['blue', 'green']);
      expect(await trafficFailure(strategy.current())).toMatchObject({ code: 'unavailable' });
      expect(await trafficFailure(strategy.current())).toMatchObject({ code: 'unavailable' });
      expect(await strategy.current()).toMatchObject({ slot: 'green' });
    });

    it('and the read after it works: the read shows green, so the switch is done and verified', async () => {
      kube.applyThenDrop('patch', 'services', 500);
      const change = await strategy.shift({ slot: 'green' });
      expect(change).toMatchObject({ before: { slot: 'blue' }, after: { slot: 'green' }, attempts: 1 });
      expect(kube.requests.map((r) => `${r.verb} ${r.status}`)).toEqual(['get 200', 'patch 500', 'get 200']);
    });

    it('a rollback whose write may have landed and cannot be read back is unknown as well', async () => {
      kube.put<V1Service>({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'api-gateway', namespace: 'production' },
        spec: { selector: { app: 'api-gateway', slot: 'green' }, ports: [{ port: 3000 }] },
      });
      kube.applyThenDrop('patch', 'services', 504);
      kube.failNext(
        'get',
        (request) =>
          request.resource === 'services' && kube.get<V1Service>(REF)?.spec?.selector?.slot === 'blue',
        'reset',
      );
      const error = await trafficFailure(strategy.rollback(undefined, { to: { slot: 'blue' } }));
      expect(error).toMatchObject({ code: 'unknown' });
      expect(error.state).toBeUndefined();
      expect(kube.get<V1Service>(REF)?.spec?.selector?.slot).toBe('blue');
    });
  });

  it('a read-back that fails after an answered write: outcome unknown, not "refused"', async () => {
    kube.failNext(
      'get',
      (request) =>
        request.resource === 'services' && kube.get<V1Service>(REF)?.spec?.selector?.slot === 'green',
      503,
    );
    const error = await trafficFailure(strategy.shift({ slot: 'green' }));
    expect(error).toMatchObject({ code: 'unknown' });
    expect(error.state).toBeUndefined();
    expect(error.message).toMatch(/^outcome unknown: the Kubernetes API answered 503 \(read back Service/);
    expect(slots()).toEqual(['blue', 'green']);
  });

  it('stops when the signal fires, without writing', async () => {
    kube.delay(500, 'services');
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('deployment aborted')), 20);
    const started = Date.now();
    const error = await trafficFailure(strategy.shift({ slot: 'green' }, controller.signal));
    expect(Date.now() - started).toBeLessThan(400);
    expect(error.code).toBe('aborted');
    expect(error.message).toBe(
      'stopped before we could read Service production/api-gateway: deployment aborted',
    );
    kube.delay(0);
    expect(slots()).toEqual(['blue']);
  });

  it('a request that takes too long is a retryable timeout', async () => {
    kube.delay(300, 'services');
    const slow = createStrategy(
      trafficConfigSchema.parse({ strategy: 'blue-green', service: 'api-gateway' }),
      kube.clients(),
      { namespace: 'production' },
      { ...FAST, requestTimeoutMs: 50 },
    );
    const error = await trafficFailure(slow.current());
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
    expect(error.message).toBe(
      'the Kubernetes API did not answer within 50ms (read Service production/api-gateway)',
    );
  });
});
