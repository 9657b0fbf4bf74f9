import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceSchema } from '../../../src/config/schema.js';
import { type Change, DeploymentService } from '../../../src/deployments/service.js';
import { DeploymentStore } from '../../../src/deployments/store.js';
import { smallChecklist, wideChecklist } from '../../support/checklists.js';
import { connectTestRedis, uniquePrefix } from '../../support/redis.js';

/** Two "replicas": separate Redis connections and services over the same keys. */
const connections: Redis[] = [];
function replica(prefix: string, services = catalogue()) {
  const redis = connectTestRedis();
  connections.push(redis);
  const store = new DeploymentStore(redis, prefix);
  const changes: Change[] = [];
  const service = new DeploymentService(store, services);
  service.subscribe({ onChange: (change) => changes.push(change) });
  return { redis, store, service, changes };
}

function catalogue() {
  const checklists = new Map([
    ['small', smallChecklist()],
    ['wide', wideChecklist(50)],
  ]);
  const svc = (checklist: string) =>
    serviceSchema.parse({ checklist, channel: 'C0TEST', namespace: 'prod', deployers: ['deployer'] });
  return { services: { checkout: svc('small'), wide: svc('wide') }, checklists };
}

afterAll(async () => {
  await Promise.all(connections.map((redis) => redis.quit()));
});

describe('DeploymentStore with real Redis', () => {
  let prefix: string;
  beforeAll(() => {
    prefix = uniquePrefix('store');
  });

  it('takes one lock per service+environment and names the holder', async () => {
    const a = replica(prefix);
    const first = await a.service.start({ service: 'checkout', version: '1.0.0', actor: 'U0A' });
    expect(first.ok).toBe(true);
    const second = await a.service.start({ service: 'checkout', version: '1.0.1', actor: 'U0B' });
    expect(second).toMatchObject({
      ok: false,
      code: 'locked',
      activeId: first.ok ? first.deployment.id : '',
    });
    // The refused start left nothing behind: still one deployment in history, one active.
    expect(await a.store.history('checkout')).toHaveLength(1);
    expect(await a.store.activeIds()).toHaveLength(1);

    // Finishing (here: aborting) releases the lock, so the next start goes through.
    if (!first.ok) return;
    await a.service.execute(first.deployment.id, {
      type: 'abort',
      actor: 'U0A',
      actorRoles: ['deployer'],
      reason: 'test',
      at: 1,
    });
    expect(await a.store.activeFor('checkout', 'production')).toBeUndefined();
    expect(await a.store.activeIds()).toEqual([]);
    const third = await a.service.start({ service: 'checkout', version: '1.0.2', actor: 'U0B' });
    expect(third.ok).toBe(true);
  });

  it('lands 50 concurrent clicks on 50 different items from two replicas, each once', async () => {
    const prefixHere = uniquePrefix('wide');
    const a = replica(prefixHere);
    const b = replica(prefixHere);
    const started = await a.service.start({ service: 'wide', version: '2.0.0', actor: 'U0A' });
    if (!started.ok) throw new Error(started.message);
    const id = started.deployment.id;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        (index % 2 === 0 ? a : b).service.execute(id, {
          type: 'resolve-item',
          itemId: `item-${index}`,
          resolution: 'done',
          actor: `U0USER${index}`,
          actorRoles: ['deployer'],
          at: 1_000 + index,
        }),
      ),
    );
    expect(results.filter((result) => !result.ok)).toEqual([]);
    const loaded = await a.store.load(id);
    expect(Object.values(loaded?.state.items ?? {}).filter((item) => item.status === 'done')).toHaveLength(
      50,
    );
    expect(loaded?.state.status).toBe('completed');
    // Created at 1; each compare-and-set adds one. Clicks that queue up on a replica while it writes go
    // in together, so at least one write per replica and at most one per click.
    expect(loaded?.rev).toBeGreaterThanOrEqual(3);
    expect(loaded?.rev).toBeLessThanOrEqual(51);
    const audit = await a.store.audit(id);
    const resolved = audit.filter((entry) => entry.event.type === 'item.resolved');
    expect(resolved).toHaveLength(50);
    expect(
      new Set(resolved.map((entry) => (entry.event.type === 'item.resolved' ? entry.event.itemId : ''))),
    ).toHaveProperty('size', 50);
    expect(audit.filter((entry) => entry.event.type === 'deployment.completed')).toHaveLength(1);
    // Listeners heard each change exactly once, on the replica that made it.
    expect(a.changes.length + b.changes.length).toBe(51);
  });

  it('applies commands that arrive together as one batch: one write, a decision and a change for each', async () => {
    const a = replica(uniquePrefix('batch'));
    const started = await a.service.start({ service: 'wide', version: '2.1.0', actor: 'U0A' });
    if (!started.ok) throw new Error(started.message);
    const id = started.deployment.id;
    a.changes.length = 0;
    const click = (itemId: string, at: number) =>
      a.service.execute(id, {
        type: 'resolve-item',
        itemId,
        resolution: 'done',
        actor: 'U0USER',
        actorRoles: ['deployer'],
        at,
      });
    // Issued in one tick, as a phase's checks finishing together are: one turn takes them all.
    const results = await Promise.all([
      click('item-0', 1_000),
      click('item-1', 1_001),
      click('item-0', 1_002), // already done by the first: refused alone, the rest still apply
      click('no-such-item', 1_003),
      click('item-2', 1_004),
    ]);
    expect(results.map((result) => (result.ok ? 'ok' : result.code))).toEqual([
      'ok',
      'ok',
      'unchanged',
      'unknown_item',
      'ok',
    ]);
    // Each decision is the state right after its own command, decided on the one before it.
    const done = (result: (typeof results)[number]) =>
      result.ok ? Object.values(result.state.items).filter((item) => item.status === 'done').length : -1;
    expect(results.map(done)).toEqual([1, 2, -1, -1, 3]);
    const loaded = await a.store.load(id);
    expect(loaded?.rev).toBe(2);
    expect(a.changes.map((change) => change.events.map((event) => event.type))).toEqual([
      ['item.resolved'],
      ['item.resolved'],
      ['item.resolved'],
    ]);
    const audit = await a.store.audit(id);
    expect(
      audit
        .filter((entry) => entry.event.type === 'item.resolved')
        .map((entry) => (entry.event.type === 'item.resolved' ? entry.event.itemId : '')),
    ).toEqual(['item-0', 'item-1', 'item-2']);
  });

  it('with gatherMs, also takes commands arriving a moment apart into one write', async () => {
    const a = replica(uniquePrefix('gather'));
    const started = await a.service.start({ service: 'wide', version: '2.1.1', actor: 'U0A' });
    if (!started.ok) throw new Error(started.message);
    const id = started.deployment.id;
    const click = (itemId: string) =>
      a.service.execute(
        id,
        {
          type: 'resolve-item',
          itemId,
          resolution: 'done',
          actor: 'U0USER',
          actorRoles: ['deployer'],
          at: 1,
        },
        { gatherMs: 50 },
      );
    const first = click('item-0');
    await new Promise((resolve) => setTimeout(resolve, 10));
    const results = await Promise.all([first, click('item-1')]);
    expect(results.every((result) => result.ok)).toBe(true);
    expect((await a.store.load(id))?.rev).toBe(2); // created at 1, one write for both
  });

  it('decides first on what it last saw, and never acts on it once another replica has moved on', async () => {
    const prefixHere = uniquePrefix('stale');
    const a = replica(prefixHere);
    const b = replica(prefixHere);
    const started = await a.service.start({ service: 'wide', version: '2.2.0', actor: 'U0A' });
    if (!started.ok) throw new Error(started.message);
    const id = started.deployment.id;
    const resolve = (on: typeof a, itemId: string, actor: string) =>
      on.service.execute(id, {
        type: 'resolve-item',
        itemId,
        resolution: 'done',
        actor,
        actorRoles: ['deployer'],
        at: 1,
      });
    const reopen = (on: typeof a, itemId: string) =>
      on.service.execute(id, { type: 'reopen-item', itemId, actor: 'U0B', actorRoles: ['deployer'], at: 2 });

    // A's cache says item-0 is open; B has done it since. A's write is refused, it loads, and refuses too.
    await a.store.load(id); // A has seen the deployment, as any replica that has shown it
    expect((await resolve(b, 'item-0', 'U0B')).ok).toBe(true);
    expect(a.store.cached(id)?.state.items['item-0']?.status).toBe('pending');
    expect(await resolve(a, 'item-0', 'U0A')).toMatchObject({ ok: false, code: 'unchanged' });
    const resolvedBy = async () =>
      (await a.store.audit(id)).flatMap((entry) =>
        entry.event.type === 'item.resolved' && entry.event.itemId === 'item-0' ? [entry.event.actor] : [],
      );
    expect(await resolvedBy()).toEqual(['U0B']);

    // The other way round: A's cache says item-0 is done, but B has reopened it. A refusal decided on the
    // stale state is checked against Redis first, so the click lands.
    expect((await reopen(b, 'item-0')).ok).toBe(true);
    expect(a.store.cached(id)?.state.items['item-0']?.status).toBe('done');
    expect((await resolve(a, 'item-0', 'U0A')).ok).toBe(true);
    expect(await resolvedBy()).toEqual(['U0B', 'U0A']);
    expect((await a.store.load(id))?.state.items['item-0']).toMatchObject({ status: 'done', by: 'U0A' });
  });

  it('turns 20 concurrent clicks on one item into exactly one transition and one audit event', async () => {
    const prefixHere = uniquePrefix('one');
    const replicas = [replica(prefixHere), replica(prefixHere), replica(prefixHere)];
    const started = await replicas[0]!.service.start({ service: 'checkout', version: '3.0.0', actor: 'U0A' });
    if (!started.ok) throw new Error(started.message);
    const id = started.deployment.id;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        replicas[index % 3]!.service.execute(id, {
          type: 'resolve-item',
          itemId: 'tag',
          resolution: 'done',
          actor: `U0USER${index}`,
          actorRoles: ['deployer'],
          at: 5_000,
        }),
      ),
    );
    expect(results.filter((result) => result.ok)).toHaveLength(1);
    expect(results.filter((result) => !result.ok && result.code === 'unchanged')).toHaveLength(19);
    const audit = await replicas[0]!.store.audit(id);
    expect(audit.filter((entry) => entry.event.type === 'item.resolved')).toHaveLength(1);
    expect((await replicas[0]!.store.load(id))?.rev).toBe(2);
  });

  it('keeps state across a restart: a fresh connection and service see the same deployment', async () => {
    const prefixHere = uniquePrefix('restart');
    const before = replica(prefixHere);
    const started = await before.service.start({ service: 'checkout', version: '4.0.0', actor: 'U0A' });
    if (!started.ok) throw new Error(started.message);
    await before.service.execute(started.deployment.id, {
      type: 'resolve-item',
      itemId: 'backup',
      resolution: 'done',
      actor: 'U0DBA',
      actorRoles: ['dba'],
      at: 10,
    });
    await before.redis.quit();
    connections.splice(connections.indexOf(before.redis), 1);

    const after = replica(prefixHere);
    const loaded = await after.store.load(started.deployment.id);
    expect(loaded?.state.items.backup).toEqual({ status: 'done', by: 'U0DBA', at: 10 });
    expect(loaded?.checklist.phases.map((phase) => phase.id)).toEqual(['prepare', 'ship']);
    expect(await after.store.activeFor('checkout', 'production')).toBe(started.deployment.id);
    const next = await after.service.execute(started.deployment.id, {
      type: 'resolve-item',
      itemId: 'tag',
      resolution: 'done',
      actor: 'U0A',
      actorRoles: ['deployer'],
      at: 11,
    });
    expect(next.ok && next.state.currentPhase).toBe(1);
  });

  it('records a check verdict and forgets its run was started in the same write', async () => {
    const { store, service } = replica(uniquePrefix('started'));
    const started = await service.start({ service: 'checkout', version: '4.1.0', actor: 'U0A' });
    if (!started.ok) throw new Error(started.message);
    const id = started.deployment.id;
    for (const [itemId, actor, roles] of [
      ['backup', 'U0DBA', ['dba']],
      ['tag', 'U0A', []],
    ] as const)
      await service.execute(id, {
        type: 'resolve-item',
        itemId,
        resolution: 'done',
        actor,
        actorRoles: roles,
        at: 20,
      });
    const before = await store.load(id);
    expect(before?.state.items['error-rate']).toMatchObject({ status: 'running', run: 1 });
    // Unchanged since this store last read it: Redis sends no state and the same object comes back.
    expect((await store.load(id))?.state).toBe(before?.state);
    // Without asking Redis: what this store last read; a store that never read it has nothing.
    expect(store.cached(id)?.state).toBe(before?.state);
    const other = replica(uniquePrefix('unused'));
    expect(other.store.cached(id)).toBeUndefined();

    await store.markCheckStarted(id, 'error-rate', 1);
    await store.markCheckStarted(id, 'unrelated', 7);
    expect(await store.startedChecks(id)).toEqual({ 'error-rate': 1, unrelated: 7 });
    const result = {
      outcome: 'passed' as const,
      summary: 'error rate 0.01% < 0.1%',
      attempts: 1,
      durationMs: 3,
      at: 30,
    };
    const recorded = await service.execute(id, {
      type: 'check-result',
      itemId: 'error-rate',
      run: 1,
      result,
    });
    expect(recorded.ok).toBe(true);
    expect(await store.startedChecks(id)).toEqual({ unrelated: 7 });
    expect(await store.checkResult(id, 'error-rate', 1)).toEqual(result);
    const after = await store.load(id);
    expect(after?.rev).toBe((before?.rev ?? 0) + 1);
    expect(after?.state.items['error-rate']).toMatchObject({ status: 'passed', run: 1 });
    // The commit itself updated what this store holds.
    expect(store.cached(id)?.rev).toBe(after?.rev);
  });

  it("lists a service's deployments newest first, trimmed to the newest `historyKept`", async () => {
    const redis = connectTestRedis();
    connections.push(redis);
    const store = new DeploymentStore(redis, uniquePrefix('history'), { historyKept: 3 });
    let clock = 1_000;
    const service = new DeploymentService(store, catalogue(), () => clock);
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) {
      clock += 1_000;
      const started = await service.start({ service: 'checkout', version: `1.0.${index}`, actor: 'U0A' });
      if (!started.ok) throw new Error(started.message);
      ids.push(started.deployment.id);
      const aborted = await service.execute(started.deployment.id, {
        type: 'abort',
        actor: 'U0A',
        actorRoles: ['deployer'],
        reason: 'next',
        at: clock + 1,
      });
      expect(aborted.ok).toBe(true);
    }
    expect(await store.history('checkout')).toEqual([ids[4], ids[3], ids[2]]);
    expect(await store.history('checkout', 2)).toEqual([ids[4], ids[3]]);
    // Only the index is trimmed: an older deployment is still there by id.
    expect((await store.load(ids[0]!))?.state.version).toBe('1.0.0');
  });

  it('claims a Slack message once, and lets a stale claim be taken over', async () => {
    const { store } = replica(uniquePrefix('claim'));
    expect(await store.claimMessage('d1', 'card', 1_000)).toBe('new');
    expect(await store.claimMessage('d1', 'card', 1_500)).toBe(false);
    expect(await store.message('d1', 'card')).toBeUndefined();
    expect(await store.claimMessage('d1', 'card', 1_000 + 61_000)).toBe('taken-over');
    await store.setMessage('d1', 'card', '123.456');
    expect(await store.claimMessage('d1', 'card', 999_999_999)).toBe(false);
    expect(await store.message('d1', 'card')).toBe('123.456');
  });

  it('a late poster whose claim was taken over neither frees the new claim nor overwrites the message recorded since', async () => {
    const { store } = replica(uniquePrefix('late'));
    expect(await store.claimMessage('d1', 'card', 1_000)).toBe('new');
    const stale = 1_000 + DeploymentStore.STALE_CLAIM_MS + 1;
    expect(await store.claimMessage('d1', 'card', stale)).toBe('taken-over');
    // The first poster wakes up: its post failed, it gives up its claim — which is no longer its own.
    await store.releaseMessage('d1', 'card', { claimedAt: 1_000 });
    expect(await store.claimMessage('d1', 'card', stale + 1)).toBe(false);
    // The second poster records its message; the first one's post had reached Slack after all.
    expect(await store.setMessage('d1', 'card', '200.000', undefined, stale)).toBe(true);
    expect(await store.setMessage('d1', 'card', '100.000', undefined, 1_000)).toBe(false);
    expect(await store.message('d1', 'card')).toBe('200.000');
    // Giving up a claim that is still one's own frees it.
    expect(await store.claimMessage('d1', 'phase:a:0', 5_000)).toBe('new');
    await store.releaseMessage('d1', 'phase:a:0', { claimedAt: 5_000 });
    expect(await store.claimMessage('d1', 'phase:a:0', 5_001)).toBe('new');
  });

  it('lets exactly one replica take over a stale claim, and tells it so (it must look in Slack first)', async () => {
    const prefix = uniquePrefix('takeover');
    const replicas = Array.from({ length: 5 }, () => replica(prefix).store);
    expect(await replicas[0]!.claimMessage('d1', 'phase:release:0', 1_000)).toBe('new');
    const stale = 1_000 + DeploymentStore.STALE_CLAIM_MS + 1;
    const claims = await Promise.all(
      replicas.map((store) => store.claimMessage('d1', 'phase:release:0', stale)),
    );
    expect(claims.filter((claim) => claim !== false)).toEqual(['taken-over']);
  });
});
