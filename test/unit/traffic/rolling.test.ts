import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeKube } from '../../../src/sandbox/kube/fake-kube.js';
import {
  createStrategy,
  type TrafficOptions,
  type TrafficStrategy,
  trafficConfigSchema,
} from '../../../src/traffic/index.js';
import { FAST, trafficFailure } from './support.js';

/** Seed 001: `kubectl rollout undo deployment/api-translation-platform`, through the API. */

const REF = 'Deployment/checkout/api';
const REVISION = 'deployment.kubernetes.io/revision';
const CHANGE_CAUSE = 'kubernetes.io/change-cause';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const image = (version: string) => `registry.example.com/api:${version}`;

let kube: FakeKube;
let strategy: TrafficStrategy;
let uid: string;

beforeAll(async () => {
  kube = await FakeKube.start({ namespace: 'checkout' });
});
afterAll(() => kube.stop());
beforeEach(() => {
  kube.reset();
  uid = seedDeployment(2, '1.4.2');
  seedReplicaSet('api-5d8f', 1, '1.4.1', { owner: uid });
  seedReplicaSet('api-7f9c', 2, '1.4.2', { owner: uid });
  // Same labels, another owner, a higher revision: kubectl ignores it, and so must we.
  seedReplicaSet('api-other', 7, '6.6.6', { owner: 'someone-else' });
  strategy = rolling();
});

function rolling(deployment = 'api', options: TrafficOptions = {}): TrafficStrategy {
  const config = trafficConfigSchema.parse({ strategy: 'rolling', deployment });
  return createStrategy(config, kube.clients(), { namespace: 'checkout' }, { ...FAST, ...options });
}

function template(version: string, hash?: string) {
  return {
    metadata: { labels: { app: 'api', ...(hash ? { 'pod-template-hash': hash } : {}) } },
    spec: { containers: [{ name: 'app', image: image(version), ports: [{ containerPort: 8080 }] }] },
  };
}

function seedDeployment(
  revision: number,
  version: string,
  extra: Partial<V1Deployment['spec']> = {},
): string {
  const stored = kube.put<V1Deployment>({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'api',
      namespace: 'checkout',
      annotations: {
        [REVISION]: String(revision),
        [CHANGE_CAUSE]: `deploy ${version}`,
        [LAST_APPLIED]: '{"kind":"Deployment"}',
        'example.com/note': 'added after the revision',
      },
    },
    spec: { replicas: 3, selector: { matchLabels: { app: 'api' } }, template: template(version), ...extra },
    status: {
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    },
  });
  return stored.metadata!.uid!;
}

function seedReplicaSet(name: string, revision: number, version: string, { owner }: { owner: string }): void {
  const hash = name.split('-')[1]!;
  kube.put<V1ReplicaSet>({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name,
      namespace: 'checkout',
      labels: { app: 'api', 'pod-template-hash': hash },
      annotations: { [REVISION]: String(revision), [CHANGE_CAUSE]: `deploy ${version}` },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: 'api',
          uid: owner,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'api', 'pod-template-hash': hash } },
      template: template(version, hash),
    },
  });
}

/**
 * The Deployment controller, as far as an undo needs it: when the template changes, the ReplicaSet with
 * that template is adopted as the new one and gets the next revision (1 becomes 3), then the rollout
 * progresses and completes — or stops at `stopAt`.
 */
function playController(stopAt: 'complete' | 'progressing' | 'deadline' = 'complete'): void {
  kube.onChange((event) => {
    if (event.type !== 'MODIFIED' || event.object.kind !== 'Deployment') return;
    const generation = event.object.metadata?.generation;
    if (generation === event.old?.metadata?.generation) return;
    const deployment = event.object as V1Deployment;
    setTimeout(() => {
      const sets = kube
        .list<V1ReplicaSet>('ReplicaSet', 'checkout')
        .filter((rs) => rs.metadata?.ownerReferences?.[0]?.uid === deployment.metadata?.uid);
      const next = Math.max(...sets.map((rs) => Number(rs.metadata?.annotations?.[REVISION]))) + 1;
      const wanted = JSON.stringify(deployment.spec?.template?.spec);
      // Without a ReplicaSet of that template (pruned from the history) the controller makes a new one;
      // the strategy does not look at it again, so none is simulated.
      const adopted = sets.find((rs) => JSON.stringify(rs.spec?.template?.spec) === wanted);
      if (adopted)
        kube.update<V1ReplicaSet>(`ReplicaSet/checkout/${adopted.metadata?.name}`, (rs) => {
          const old = rs.metadata!.annotations![REVISION]!;
          rs.metadata!.annotations = {
            ...rs.metadata!.annotations,
            [REVISION]: String(next),
            'deployment.kubernetes.io/revision-history': old,
          };
        });
      kube.update<V1Deployment>(REF, (d) => {
        d.metadata!.annotations = { ...d.metadata!.annotations, [REVISION]: String(next) };
        d.status = {
          ...d.status,
          observedGeneration: generation,
          updatedReplicas: 1,
          replicas: 4,
          availableReplicas: 3,
        };
        if (stopAt === 'deadline')
          d.status.conditions = [
            {
              type: 'Progressing',
              status: 'False',
              reason: 'ProgressDeadlineExceeded',
              message: 'ReplicaSet "api-5d8f" has timed out progressing.',
            },
          ];
      });
    }, 10);
    if (stopAt !== 'complete') return;
    setTimeout(() => {
      kube.update<V1Deployment>(REF, (d) => {
        d.status = { ...d.status, updatedReplicas: 3, replicas: 3, readyReplicas: 3, availableReplicas: 3 };
      });
    }, 40);
  });
}

const templates = () =>
  kube.history<V1Deployment>(REF).map((d) => d.spec?.template?.spec?.containers?.[0]?.image);

/** The deployment started while revision 1 (1.4.1) was live; 1.4.2 rolled out during it. */
const STARTED_AT_1 = { to: { revision: 1 } };

describe('rolling: rollout undo through the API', () => {
  it('undoes to the revision live at the start as kubectl does and waits for the rollout to complete', async () => {
    playController();
    expect(strategy.describe()).toBe('rolling Deployment checkout/api (rollback: rollout undo)');
    expect(await strategy.current()).toEqual({
      revision: 2,
      image: image('1.4.2'),
      description: `revision 2 (${image('1.4.2')}) of Deployment api: rolled out`,
    });

    const change = await strategy.rollback(undefined, STARTED_AT_1);

    expect(change).toMatchObject({
      before: { revision: 2, image: image('1.4.2') },
      after: { revision: 3, image: image('1.4.1') },
      attempts: 1,
    });
    expect(change.after.description).toBe(`revision 3 (${image('1.4.1')}) of Deployment api: rolled out`);
    const live = kube.get<V1Deployment>(REF)!;
    // Revision 1's template, without its pod-template-hash label.
    expect(live.spec?.template).toEqual(template('1.4.1'));
    // kubectl's annotations: the Deployment keeps its revision and last-applied ones, the rest come from
    // the ReplicaSet (its change-cause); what only the Deployment had is gone.
    const patched = kube.history<V1Deployment>(REF).find((d) => d.metadata?.generation === 2)!;
    expect(patched.metadata?.annotations).toEqual({
      [REVISION]: '2',
      [LAST_APPLIED]: '{"kind":"Deployment"}',
      [CHANGE_CAUSE]: 'deploy 1.4.1',
    });
    const patch = kube.requests.find((r) => r.verb === 'patch')!;
    expect(patch.contentType).toBe('application/json-patch+json');
    expect((patch.body as { op: string; path: string }[]).map((op) => `${op.op} ${op.path}`)).toEqual([
      'replace /metadata/resourceVersion',
      'replace /spec/template',
      'add /metadata/annotations',
    ]);
    // It polled through the controller's progress until kubectl's rollout status would say done.
    expect(kube.requests.filter((r) => r.verb === 'get').length).toBeGreaterThan(3);
    expect(templates()).toEqual([image('1.4.2'), image('1.4.1'), image('1.4.1'), image('1.4.1')]);
  });

  it('with `to` (the recorded pre-deployment state) a repeated rollback writes nothing', async () => {
    playController();
    const first = await strategy.rollback(undefined, { to: { revision: 1, image: image('1.4.1') } });
    expect(first.after.revision).toBe(3);
    const versions = kube.history(REF).length;

    // Revision 1 is now revision 3; the image says we are already there.
    const again = await strategy.rollback(undefined, { to: { revision: 1, image: image('1.4.1') } });
    expect(again).toMatchObject({ attempts: 0, before: { revision: 3 }, after: { revision: 3 } });
    expect(kube.history(REF)).toHaveLength(versions);
  });

  it('undoes to a named older revision (--to-revision)', async () => {
    kube.update<V1Deployment>(REF, (d) => {
      d.metadata!.annotations![REVISION] = '3';
      d.spec!.template = template('1.5.0');
    });
    seedReplicaSet('api-9a1b', 3, '1.5.0', { owner: uid });
    playController();
    const change = await strategy.rollback(undefined, { to: { revision: 1 } });
    expect(change.after).toMatchObject({ revision: 4, image: image('1.4.1') });
  });

  it('ignores ReplicaSets the Deployment does not control, even with matching labels', async () => {
    kube.reset();
    uid = seedDeployment(3, '1.4.2');
    seedReplicaSet('api-5d8f', 1, '1.4.1', { owner: uid });
    seedReplicaSet('api-6e0a', 2, '6.6.6', { owner: 'another-deployment' });
    seedReplicaSet('api-7f9c', 3, '1.4.2', { owner: uid });
    playController();
    const change = await strategy.rollback(undefined, STARTED_AT_1);
    expect(change.after).toMatchObject({ revision: 4, image: image('1.4.1') });
  });

  it('no record of what was live: invalid, nothing written (never "the previous revision")', async () => {
    const error = await trafficFailure(strategy.rollback(undefined, { to: {} }));
    expect(error).toMatchObject({ code: 'invalid', retryable: false, state: { revision: 2 } });
    expect(error.message).toBe(
      'no record of the revision of Deployment checkout/api that was live when the deployment started',
    );
    expect(kube.requests.filter((r) => r.verb === 'patch')).toHaveLength(0);
  });

  it('live() records the revision and its template; a rollback before anything changed moves nothing', async () => {
    const live = await strategy.live();
    expect(live).toMatchObject({ revision: 2, image: image('1.4.2'), template: template('1.4.2') });
    const change = await strategy.rollback(undefined, { to: live });
    expect(change).toMatchObject({ attempts: 0, before: { revision: 2 }, after: { revision: 2 } });
    expect(kube.history(REF)).toHaveLength(1);
  });

  it('restores the recorded template when its ReplicaSet is gone from the history', async () => {
    const live = await strategy.live(); // revision 2, 1.4.2
    kube.update<V1Deployment>(REF, (d) => {
      d.metadata!.annotations![REVISION] = '3';
      d.spec!.template = template('2.0.0');
    });
    kube.remove(`ReplicaSet/checkout/api-7f9c`);
    playController();
    const change = await strategy.rollback(undefined, { to: live });
    expect(change.attempts).toBe(1);
    expect(kube.get<V1Deployment>(REF)?.spec?.template).toEqual(template('1.4.2'));
  });

  it('a rollout that never completes: timeout carrying the state', async () => {
    // No controller: the new generation is never observed.
    const error = await trafficFailure(
      rolling('api', { rolloutTimeoutMs: 150 }).rollback(undefined, STARTED_AT_1),
    );
    expect(error).toMatchObject({
      code: 'timeout',
      retryable: true,
      state: { revision: 2, image: image('1.4.1') },
    });
    expect(error.message).toBe(
      'rolled back to revision 1, but the rollout did not complete within 150ms: Waiting for deployment spec update to be observed...',
    );
    expect(kube.get<V1Deployment>(REF)?.spec?.template).toEqual(template('1.4.1'));
  });

  it("a rollout past its progress deadline: timeout, not retryable, with kubectl's message", async () => {
    playController('deadline');
    const error = await trafficFailure(strategy.rollback(undefined, STARTED_AT_1));
    expect(error).toMatchObject({ code: 'timeout', retryable: false, state: { revision: 3 } });
    expect(error.message).toBe(
      'rolled back to revision 1, but deployment "api" exceeded its progress deadline',
    );
  });

  it('409 then success: re-read, retried, attempts reported', async () => {
    playController();
    kube.conflictNext('deployments');
    const change = await strategy.rollback(undefined, STARTED_AT_1);
    expect(change.attempts).toBe(2);
    expect(kube.requests.filter((r) => r.verb === 'patch').map((r) => r.status)).toEqual([409, 200]);
  });

  it('an undo stored whose answer was lost, and the read after it fails too: outcome unknown', async () => {
    kube.applyThenDrop('patch', 'deployments');
    kube.failNext(
      'get',
      (request) =>
        request.resource === 'deployments' &&
        kube.get<V1Deployment>(REF)?.spec?.template?.spec?.containers?.[0]?.image === image('1.4.1'),
      503,
    );
    const error = await trafficFailure(strategy.rollback(undefined, STARTED_AT_1));
    expect(error).toMatchObject({ code: 'unknown', retryable: false });
    expect(error.state).toBeUndefined();
    expect(error.message).toMatch(/^outcome unknown: cannot reach the Kubernetes API \(patch Deployment/);
    expect(kube.get<V1Deployment>(REF)?.spec?.template).toEqual(template('1.4.1'));
  });

  it('an undo stored whose answer was lost, read fine afterwards: followed to the end like any undo', async () => {
    playController();
    kube.applyThenDrop('patch', 'deployments', 500);
    const change = await strategy.rollback(undefined, STARTED_AT_1);
    expect(change).toMatchObject({
      before: { revision: 2, image: image('1.4.2') },
      after: { revision: 3, image: image('1.4.1') },
      attempts: 1,
    });
    expect(kube.requests.filter((r) => r.verb === 'patch').map((r) => r.status)).toEqual([500]);
  });

  it('403: forbidden with the API message, the Deployment unchanged', async () => {
    kube.forbid('patch', 'deployments');
    const error = await trafficFailure(strategy.rollback(undefined, STARTED_AT_1));
    expect(error).toMatchObject({ code: 'forbidden', state: { revision: 2, image: image('1.4.2') } });
    expect(error.message).toContain('cannot patch resource "deployments" in API group "apps"');
    expect(kube.history(REF)).toHaveLength(1);
  });

  it('404: not_found naming the Deployment', async () => {
    const error = await trafficFailure(rolling('api-v2').rollback(undefined, STARTED_AT_1));
    expect(error).toMatchObject({ code: 'not_found', message: 'Deployment checkout/api-v2 not found' });
  });

  it('someone else changes the template while we wait: mismatch', async () => {
    kube.onChange((event) => {
      if (event.object.kind !== 'Deployment' || event.old?.metadata?.generation !== 1) return;
      if (event.object.metadata?.generation !== 2) return;
      setTimeout(() => {
        kube.update<V1Deployment>(REF, (d) => {
          d.spec!.template = template('1.4.3');
        });
      }, 10);
    });
    const error = await trafficFailure(strategy.rollback(undefined, STARTED_AT_1));
    expect(error).toMatchObject({ code: 'mismatch', state: { image: image('1.4.3') } });
  });

  it('shift is not applicable; a paused Deployment is refused', async () => {
    const shift = await trafficFailure(strategy.shift({ weight: 50 }));
    expect(shift.message).toBe(
      'a rolling Deployment takes all traffic as it rolls out: Deployment checkout/api has no weight or slot to shift',
    );
    kube.update<V1Deployment>(REF, (d) => {
      d.spec!.paused = true;
    });
    const paused = await trafficFailure(strategy.rollback(undefined, STARTED_AT_1));
    expect(paused).toMatchObject({ code: 'invalid' });
    expect(paused.message).toContain('is paused');
  });

  it('stops waiting when the signal fires, with the state it last saw', async () => {
    // No controller, so the wait would last; the signal fires once the undo is stored and polled a while.
    const controller = new AbortController();
    kube.onChange((event) => {
      if (event.object.kind === 'Deployment' && event.object.metadata?.generation === 2)
        setTimeout(() => controller.abort(new Error('shutting down')), 30);
    });
    const error = await trafficFailure(
      rolling('api', { rolloutTimeoutMs: 5_000 }).rollback(controller.signal, STARTED_AT_1),
    );
    expect(error).toMatchObject({ code: 'aborted', state: { image: image('1.4.1') } });
    expect(error.message).toBe(
      'stopped before we could follow the rollout of Deployment checkout/api: shutting down',
    );
  });
});
