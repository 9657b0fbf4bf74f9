import { describe, expect, it } from 'vitest';
import { checklistSchema } from '../../../src/checklists/schema.js';
import { type Command, decide, type StartParams, startDeployment } from '../../../src/deployments/engine.js';
import { BOT_ACTOR, type Deployment } from '../../../src/deployments/model.js';
import { buildReport } from '../../../src/reports/report.js';

/** Traffic shifts, watch windows, rollback and pause in the pure engine. */

const canary = checklistSchema.parse({
  id: 'canary',
  title: 'Canary',
  phases: [
    {
      id: 'steps',
      title: 'Steps',
      sequential: true,
      items: [
        { id: 'five', kind: 'traffic', title: 'Canary 5%', traffic: { weight: 5 } },
        { id: 'watch', kind: 'wait', title: 'Watch 10 minutes', wait: { duration: '10m' } },
        { id: 'full', kind: 'traffic', title: 'Full traffic', traffic: { weight: 100 } },
      ],
    },
    { id: 'after', title: 'After', items: [{ id: 'notes', kind: 'manual', title: 'Write notes' }] },
  ],
});

const params: StartParams = {
  id: 'd1',
  service: 'checkout',
  environment: 'production',
  version: '2.0.0',
  channel: 'C1',
  requestedBy: 'U0REQ',
  deployers: ['deployer'],
  trafficStrategy: 'canary',
  timeScale: 0.001,
  at: 1_000,
};

const stable = { weight: 0, description: 'canary 0% (stable 100%)' };
const at5 = { weight: 5, description: 'canary 5% (stable 95%)' };

function run(state: Deployment, command: Command): { state: Deployment; events: string[] } {
  const decision = decide(canary, state, command);
  if (!decision.ok) throw new Error(`${decision.code}: ${decision.message}`);
  return { state: decision.state, events: decision.events.map((event) => event.type) };
}

const shift = (itemId: string, actor = 'U0REQ', actorRoles: string[] = []): Command => ({
  type: 'request-traffic',
  itemId,
  actor,
  actorRoles,
  at: 2_000,
});

/** A deployment whose 5% shift is in flight. */
const state0 = () => run(startDeployment(canary, params).state, shift('five')).state;

describe('traffic steps', () => {
  it('asks a worker to shift, then records the read-back state, arms guards and moves on', () => {
    let { state } = run(startDeployment(canary, params).state, shift('five'));
    expect(state.operation).toMatchObject({ kind: 'traffic', run: 1, target: { weight: 5 }, itemId: 'five' });
    expect(state.items.five).toMatchObject({ status: 'running', run: 1 });
    const result = run(state, {
      type: 'traffic-result',
      run: 1,
      at: 2_500,
      outcome: { ok: true, before: stable, after: at5, attempts: 1, durationMs: 120 },
    });
    state = result.state;
    expect(result.events).toEqual(['traffic.shifted', 'guards.armed', 'wait.started']);
    const raw = decide(canary, state0(), {
      type: 'traffic-result',
      run: 1,
      at: 2_500,
      outcome: { ok: true, before: stable, after: at5, attempts: 1, durationMs: 120 },
    });
    expect(raw.ok && raw.events.find((event) => event.type === 'wait.started')).toMatchObject({
      until: 3_100,
    });
    expect(state.operation).toBeUndefined();
    expect(state.traffic).toMatchObject({
      initial: stable,
      current: at5,
      shifts: [{ by: 'U0REQ', target: { weight: 5 }, durationMs: 120 }],
    });
    expect(state.items.five).toMatchObject({
      status: 'done',
      by: 'U0REQ',
      result: { summary: 'canary 5% (stable 95%)' },
    });
    expect(state.guardsArmedAt).toBe(2_500);
    // The watch window started, scaled by the deployment's time scale (10 min × 0.001 = 600 ms).
    expect(state.items.watch).toMatchObject({ status: 'running', run: 1 });
  });

  it('records a failed shift with what the cluster shows, and allows a retry', () => {
    const { state } = run(startDeployment(canary, params).state, shift('five'));
    const failed = run(state, {
      type: 'traffic-result',
      run: 1,
      at: 3_000,
      outcome: {
        ok: false,
        code: 'forbidden',
        message: 'ingresses "checkout-canary" is forbidden',
        state: stable,
      },
    });
    expect(failed.events).toEqual(['traffic.failed']);
    expect(failed.state.items.five).toMatchObject({
      status: 'failed',
      result: { summary: 'ingresses "checkout-canary" is forbidden' },
    });
    expect(failed.state.traffic?.current).toEqual(stable);
    expect(failed.state.guardsArmedAt).toBeUndefined();
    expect(run(failed.state, shift('five')).state.operation).toMatchObject({ run: 2 });
  });

  it('refuses a second operation in flight, out-of-order steps, outsiders, and Done by hand', () => {
    const begun = startDeployment(canary, params).state;
    const inFlight = run(begun, shift('five')).state;
    expect(
      decide(canary, inFlight, {
        type: 'request-traffic',
        target: { weight: 50 },
        actor: 'U0REQ',
        actorRoles: ['deployer'],
        at: 1,
      }),
    ).toMatchObject({
      ok: false,
      code: 'busy',
    });
    expect(decide(canary, begun, shift('full'))).toMatchObject({ ok: false, code: 'out_of_order' });
    expect(decide(canary, begun, shift('five', 'U0OUTSIDER'))).toMatchObject({
      ok: false,
      code: 'forbidden',
    });
    expect(decide(canary, begun, shift('five', 'U0ONCALL', ['deployer'])).ok).toBe(true);
    expect(
      decide(canary, begun, {
        type: 'resolve-item',
        itemId: 'five',
        resolution: 'done',
        actor: 'U0REQ',
        actorRoles: ['deployer'],
        at: 1,
      }),
    ).toMatchObject({ ok: false, code: 'not_manual' });
  });

  it('ignores a report for an operation that is no longer current', () => {
    const { state } = run(startDeployment(canary, params).state, shift('five'));
    expect(
      decide(canary, state, {
        type: 'traffic-result',
        run: 7,
        at: 1,
        outcome: { ok: true, before: stable, after: at5, attempts: 1, durationMs: 1 },
      }),
    ).toMatchObject({ ok: false, code: 'unchanged' });
  });
});

describe('a shift by command and the checklist', () => {
  const byCommand = (weight: number, confirmed = false): Command => ({
    type: 'request-traffic',
    target: { weight },
    ...(confirmed ? { confirmed } : {}),
    actor: 'U0REQ',
    actorRoles: [],
    at: 2_000,
  });

  it('asks before jumping over a watch window, then marks what it covered done and the watch skipped', () => {
    const begun = startDeployment(canary, params).state;
    expect(decide(canary, begun, byCommand(100))).toMatchObject({ ok: false, code: 'unconfirmed' });
    const requested = run(begun, byCommand(100, true)).state;
    const shifted = run(requested, {
      type: 'traffic-result',
      run: 1,
      at: 3_000,
      outcome: {
        ok: true,
        before: { weight: 0, description: 'canary 0%' },
        after: { weight: 100, description: 'canary 100%' },
        attempts: 1,
        durationMs: 10,
      },
    });
    expect(shifted.state.items.five).toMatchObject({
      status: 'done',
      reason: 'by /deploy traffic (canary 100%)',
    });
    expect(shifted.state.items.full).toMatchObject({ status: 'done' });
    expect(shifted.state.items.watch).toMatchObject({
      status: 'skipped',
      reason: 'jumped over by /deploy traffic (canary 100%)',
    });
    expect(shifted.state.phases.steps?.status).toBe('completed');
  });

  it('needs no confirmation when nothing is jumped over', () => {
    const begun = startDeployment(canary, params).state;
    expect(decide(canary, begun, byCommand(5)).ok).toBe(true);
  });
});

describe('watch windows', () => {
  function watching(): Deployment {
    const { state } = run(startDeployment(canary, params).state, shift('five'));
    return run(state, {
      type: 'traffic-result',
      run: 1,
      at: 2_500,
      outcome: { ok: true, before: stable, after: at5, attempts: 1, durationMs: 1 },
    }).state;
  }

  it('completes by itself when its timer fires, opening the next step', () => {
    const done = run(watching(), { type: 'wait-elapsed', itemId: 'watch', run: 1, at: 3_100 });
    expect(done.state.items.watch).toMatchObject({ status: 'done', by: BOT_ACTOR });
    expect(done.events).toEqual(['item.resolved']);
  });

  it('cannot be marked done by hand, and ignores a stale timer', () => {
    expect(
      decide(canary, watching(), {
        type: 'resolve-item',
        itemId: 'watch',
        resolution: 'done',
        actor: 'U0REQ',
        actorRoles: ['deployer'],
        at: 1,
      }),
    ).toMatchObject({ ok: false, code: 'not_manual' });
    expect(
      decide(canary, watching(), { type: 'wait-elapsed', itemId: 'watch', run: 9, at: 1 }),
    ).toMatchObject({ ok: false, code: 'unchanged' });
  });

  it('starts over after a pause, since nobody watched meanwhile', () => {
    const paused = run(watching(), {
      type: 'pause',
      actor: 'U0REQ',
      actorRoles: ['deployer'],
      at: 2_600,
    }).state;
    expect(
      decide(canary, paused, { type: 'wait-elapsed', itemId: 'watch', run: 1, at: 3_100 }),
    ).toMatchObject({ ok: false, code: 'not_active' });
    const resumed = run(paused, { type: 'resume', actor: 'U0REQ', actorRoles: ['deployer'], at: 5_000 });
    expect(resumed.events).toEqual(['deployment.resumed', 'wait.started']);
    expect(resumed.state.items.watch).toMatchObject({ status: 'running', run: 2 });
  });
});

describe('rollback', () => {
  const rollback = (actor = 'U0REQ', reason = 'error rate up'): Command => ({
    type: 'request-rollback',
    actor,
    actorRoles: [],
    reason,
    at: 10_000,
  });

  it('supersedes a shift in flight, holds the checklist, and ends the deployment rolled back with its duration', () => {
    const inFlight = run(startDeployment(canary, params).state, shift('five')).state;
    const requested = run(inFlight, rollback());
    expect(requested.events).toEqual(['rollback.requested']);
    expect(requested.state.operation).toMatchObject({ kind: 'rollback', run: 2 });
    // The late report of the superseded shift changes nothing; nor can people click on.
    expect(
      decide(canary, requested.state, {
        type: 'traffic-result',
        run: 1,
        at: 1,
        outcome: { ok: true, before: stable, after: at5, attempts: 1, durationMs: 1 },
      }),
    ).toMatchObject({ ok: false, code: 'not_active' });
    expect(decide(canary, requested.state, shift('five'))).toMatchObject({ ok: false, code: 'not_active' });
    expect(decide(canary, requested.state, rollback())).toMatchObject({ ok: false, code: 'not_active' });

    const done = run(requested.state, {
      type: 'rollback-result',
      run: 2,
      at: 10_900,
      outcome: { ok: true, before: at5, after: stable, attempts: 1, durationMs: 800 },
    });
    expect(done.events).toEqual(['rollback.completed']);
    expect(done.state).toMatchObject({ status: 'rolled_back', endedAt: 10_900, endReason: 'error rate up' });
    expect(done.state.rollback).toMatchObject({ durationMs: 900, before: at5, after: stable });
  });

  it('keeps the deployment active after a failed rollback, with the error, so it can be retried', () => {
    const requested = run(startDeployment(canary, params).state, rollback()).state;
    const failed = run(requested, {
      type: 'rollback-result',
      run: 1,
      at: 11_000,
      outcome: { ok: false, code: 'forbidden', message: 'no permission', state: at5 },
    });
    expect(failed.events).toEqual(['rollback.failed']);
    expect(failed.state.status).toBe('active');
    expect(failed.state.rollback).toMatchObject({ error: 'no permission', errorState: at5 });
    expect(run(failed.state, rollback()).state.operation).toMatchObject({ kind: 'rollback', run: 2 });
  });

  it('is for the requester, the deployers and Flightdeck itself, with a reason', () => {
    const begun = startDeployment(canary, params).state;
    expect(decide(canary, begun, rollback('U0OUTSIDER'))).toMatchObject({ ok: false, code: 'forbidden' });
    expect(decide(canary, begun, rollback('U0REQ', '  '))).toMatchObject({
      ok: false,
      code: 'reason_required',
    });
    const automatic = decide(canary, begun, {
      type: 'request-rollback',
      actor: BOT_ACTOR,
      actorRoles: ['deployer'],
      reason: 'Error rate > 5% for 5 minutes',
      trigger: {
        id: 'error-rate',
        title: 'Error rate > 5% for 5 minutes',
        measured: 'error rate reached 7.1% > 5%',
      },
      at: 1,
    });
    expect(automatic.ok && automatic.state.rollback?.trigger?.id).toBe('error-rate');
  });
});

describe('guards without automatic rollback', () => {
  it('report a fired trigger once until it clears', () => {
    const begun = startDeployment(canary, params).state;
    const fired = run(begun, { type: 'guard-fired', triggerId: 'p95', measured: 'p95 1.2 s > 1 s', at: 5 });
    expect(fired.events).toEqual(['guard.fired']);
    expect(
      decide(canary, fired.state, {
        type: 'guard-fired',
        triggerId: 'p95',
        measured: 'p95 1.3 s > 1 s',
        at: 6,
      }),
    ).toMatchObject({
      ok: false,
      code: 'unchanged',
    });
    const cleared = run(fired.state, { type: 'guard-cleared', triggerId: 'p95', at: 7 });
    expect(
      run(cleared.state, { type: 'guard-fired', triggerId: 'p95', measured: 'again', at: 8 }).events,
    ).toEqual(['guard.fired']);
  });
});

describe('rollback after promotion', () => {
  it('is still possible once the deployment completed, and nothing else is', () => {
    const one = checklistSchema.parse({
      id: 'one',
      title: 'One',
      phases: [{ id: 'p', title: 'P', items: [{ id: 'a', kind: 'manual', title: 'A' }] }],
    });
    let state = startDeployment(one, params).state;
    const done = decide(one, state, {
      type: 'resolve-item',
      itemId: 'a',
      resolution: 'done',
      actor: 'U0REQ',
      actorRoles: ['deployer'],
      at: 2,
    });
    if (!done.ok) throw new Error(done.message);
    state = done.state;
    expect(state.status).toBe('completed');
    expect(
      decide(one, state, { type: 'pause', actor: 'U0REQ', actorRoles: ['deployer'], at: 3 }),
    ).toMatchObject({
      ok: false,
      code: 'not_active',
    });
    const requested = decide(one, state, {
      type: 'request-rollback',
      actor: 'U0REQ',
      actorRoles: ['deployer'],
      reason: 'errors after promotion',
      at: 4,
    });
    if (!requested.ok) throw new Error(requested.message);
    const rolled = decide(one, requested.state, {
      type: 'rollback-result',
      run: 1,
      at: 5,
      outcome: { ok: true, before: at5, after: stable, attempts: 1, durationMs: 1 },
    });
    expect(rolled.ok && rolled.state).toMatchObject({
      status: 'rolled_back',
      rollback: { reason: 'errors after promotion', durationMs: 1 },
    });
  });
});

describe('an operation whose outcome is unknown', () => {
  const lost =
    'outcome unknown: the Kubernetes API answered 500 (patch Ingress checkout), and reading it back failed too';
  const unknown = (runNumber: number, at: number, rereadAt: number, message = lost): Command => ({
    type: 'traffic-result',
    run: runNumber,
    at,
    outcome: { ok: false, code: 'unknown', message, rereadAt },
  });
  /** The 5% shift's write may have landed, and nothing could be read since. */
  const uncertain = () => run(state0(), unknown(1, 2_500, 3_500));

  it('stays in flight: the step keeps running, nothing else shifts, the step cannot be skipped', () => {
    const { state, events } = uncertain();
    expect(events).toEqual(['traffic.unknown']);
    expect(state.operation).toMatchObject({
      kind: 'traffic',
      run: 1,
      uncertain: { since: 2_500, message: lost, reads: 1, lastTry: 2_500, nextAt: 3_500 },
    });
    expect(state.items.five).toMatchObject({ status: 'running', run: 1 });
    // Nothing claims the canary moved or stayed: what was last read stays what was last read.
    expect(state.traffic).toEqual(state0().traffic);
    expect(state.guardsArmedAt).toBeUndefined();
    expect(
      decide(canary, state, {
        type: 'request-traffic',
        target: { weight: 0 },
        actor: 'U0REQ',
        actorRoles: ['deployer'],
        at: 3_000,
      }),
    ).toMatchObject({ ok: false, code: 'busy' });
    expect(
      decide(canary, state, {
        type: 'resolve-item',
        itemId: 'five',
        resolution: 'skipped',
        reason: 'it hangs',
        actor: 'U0REQ',
        actorRoles: ['deployer'],
        at: 3_000,
      }),
    ).toMatchObject({ ok: false, code: 'busy' });
  });

  it('counts each failed re-read, keeping why it became unknown and when it started', () => {
    const again = run(uncertain().state, unknown(1, 3_500, 5_500, 'cannot reach the Kubernetes API'));
    expect(again.events).toEqual(['traffic.unknown']);
    expect(again.state.operation?.uncertain).toEqual({
      since: 2_500,
      message: lost,
      reads: 2,
      lastTry: 3_500,
      nextAt: 5_500,
      lastError: 'cannot reach the Kubernetes API',
    });
  });

  it('a read-back that shows the target: the shift is done, from the last state read before it', () => {
    const done = decide(canary, uncertain().state, {
      type: 'traffic-result',
      run: 1,
      at: 6_000,
      outcome: { ok: true, before: stable, after: at5, attempts: 1, durationMs: 4_000 },
    });
    if (!done.ok) throw new Error(done.message);
    expect(done.events.map((event) => event.type)).toEqual([
      'traffic.shifted',
      'guards.armed',
      'wait.started',
    ]);
    expect(done.events[0]).toMatchObject({ unknownSince: 2_500, before: stable, after: at5 });
    expect(done.state.operation).toBeUndefined();
    expect(done.state.items.five).toMatchObject({ status: 'done', result: { summary: at5.description } });
    expect(done.state.traffic?.current).toEqual(at5);
  });

  it('a read-back that does not show it: not applied, with what was read; the step can be pressed again', () => {
    const failed = decide(canary, uncertain().state, {
      type: 'traffic-result',
      run: 1,
      at: 6_000,
      outcome: {
        ok: false,
        code: 'not_applied',
        message: 'not applied: a read-back shows canary 0%',
        state: stable,
      },
    });
    if (!failed.ok) throw new Error(failed.message);
    expect(failed.events).toEqual([
      expect.objectContaining({
        type: 'traffic.failed',
        code: 'not_applied',
        state: stable,
        unknownSince: 2_500,
      }),
    ]);
    expect(failed.state.items.five).toMatchObject({ status: 'failed' });
    expect(run(failed.state, shift('five')).state.operation).toMatchObject({ run: 2 });
  });

  it('aborted while unknown: the read-back still tells where traffic is, and nothing else moves', () => {
    const abort: Command = {
      type: 'abort',
      actor: 'U0REQ',
      actorRoles: [],
      reason: 'wrong build',
      at: 3_000,
    };
    const aborted = run(uncertain().state, abort).state;
    expect(aborted.status).toBe('aborted');
    // The report does not claim the last state it read: it says traffic is unknown until a read tells.
    expect(buildReport(aborted, canary, [], 3_000).traffic.final).toMatch(/^unknown/);
    // Still unknown at the next read: still in flight, read again.
    const again = run(aborted, unknown(1, 3_500, 5_500, 'cannot reach the Kubernetes API'));
    expect(again.events).toEqual(['traffic.unknown']);
    // Then a read shows the target: the deployment is over, but where traffic is is recorded.
    const known = decide(canary, again.state, {
      type: 'traffic-result',
      run: 1,
      at: 6_000,
      outcome: { ok: true, before: stable, after: at5, attempts: 1, durationMs: 4_000 },
    });
    if (!known.ok) throw new Error(known.message);
    expect(known.events.map((event) => event.type)).toEqual(['traffic.shifted']);
    expect(known.state.status).toBe('aborted');
    expect(known.state.operation).toBeUndefined();
    expect(known.state.traffic?.current).toEqual(at5);
    expect(buildReport(known.state, canary, [], 6_000).traffic.final).toBe(at5.description);
    // The step stays as it was (the checklist ended with the abort); no watch starts, no trigger arms.
    expect(known.state.items.five?.status).not.toBe('done');
    expect(known.state.guardsArmedAt).toBeUndefined();
    // A read that shows the old state: recorded as not applied.
    const notApplied = decide(canary, again.state, {
      type: 'traffic-result',
      run: 1,
      at: 6_000,
      outcome: {
        ok: false,
        code: 'not_applied',
        message: 'not applied: a read-back shows canary 0%',
        state: stable,
      },
    });
    if (!notApplied.ok) throw new Error(notApplied.message);
    expect(notApplied.events.map((event) => event.type)).toEqual(['traffic.failed']);
    expect(notApplied.state.traffic?.current).toEqual(stable);
    // Nothing else is taken after the abort.
    expect(decide(canary, known.state, shift('five')).ok).toBe(false);
  });

  it('holds the flow: a phase whose items are all resolved does not close until the outcome is known', () => {
    const twoPhases = checklistSchema.parse({
      id: 'two',
      title: 'Two',
      phases: [
        { id: 'first', title: 'First', items: [{ id: 'a', kind: 'manual', title: 'A' }] },
        { id: 'second', title: 'Second', items: [{ id: 'b', kind: 'manual', title: 'B' }] },
      ],
    });
    const step = (state: Deployment, command: Command) => {
      const decision = decide(twoPhases, state, command);
      if (!decision.ok) throw new Error(decision.message);
      return decision;
    };
    let state = startDeployment(twoPhases, params).state;
    state = step(state, {
      type: 'request-traffic',
      target: { weight: 50 },
      actor: 'U0REQ',
      actorRoles: ['deployer'],
      at: 2_000,
    }).state;
    state = step(state, unknown(1, 2_500, 3_500)).state;
    const resolved = step(state, {
      type: 'resolve-item',
      itemId: 'a',
      resolution: 'done',
      actor: 'U0REQ',
      actorRoles: ['deployer'],
      at: 3_000,
    });
    expect(resolved.state.currentPhase).toBe(0);
    expect(resolved.state.phases.first?.status).toBe('active');
    const known = step(resolved.state, {
      type: 'traffic-result',
      run: 1,
      at: 4_000,
      outcome: { ok: false, code: 'not_applied', message: 'not applied', state: stable },
    });
    expect(known.state.currentPhase).toBe(1);
    expect(known.events.map((event) => event.type)).toEqual([
      'traffic.failed',
      'phase.completed',
      'phase.opened',
    ]);
  });

  it('a rollback is neither failed nor completed while unknown, and counts as moved once a read-back shows it', () => {
    const requested = run(state0(), {
      type: 'request-rollback',
      actor: 'U0REQ',
      actorRoles: [],
      reason: 'error rate up',
      at: 10_000,
    }).state;
    const rollbackUnknown = (at: number): Command => ({
      type: 'rollback-result',
      run: 2,
      at,
      outcome: { ok: false, code: 'unknown', message: lost, rereadAt: at + 1_000 },
    });
    const unsure = run(requested, rollbackUnknown(10_500));
    expect(unsure.events).toEqual(['rollback.unknown']);
    expect(unsure.state.status).toBe('active');
    expect(unsure.state.rollback?.error).toBeUndefined();
    expect(unsure.state.rollback?.completedAt).toBeUndefined();
    expect(unsure.state.operation?.uncertain).toMatchObject({ since: 10_500, reads: 1, nextAt: 11_500 });
    // The checklist still waits for the rollback, and a second one is not started meanwhile.
    expect(decide(canary, unsure.state, shift('five'))).toMatchObject({ ok: false, code: 'not_active' });
    expect(
      decide(canary, unsure.state, {
        type: 'request-rollback',
        actor: 'U0REQ',
        actorRoles: [],
        reason: 'again',
        at: 11_000,
      }),
    ).toMatchObject({ ok: false, code: 'not_active' });

    // The verification wrote nothing (attempts 0): the earlier write did it, so it moved.
    const done = run(unsure.state, {
      type: 'rollback-result',
      run: 2,
      at: 12_000,
      outcome: { ok: true, before: at5, after: stable, attempts: 0, durationMs: 10 },
    });
    expect(done.events).toEqual(['rollback.completed']);
    expect(done.state).toMatchObject({
      status: 'rolled_back',
      rollback: { moved: true, before: at5, after: stable },
    });

    const notApplied = run(unsure.state, {
      type: 'rollback-result',
      run: 2,
      at: 12_000,
      outcome: {
        ok: false,
        code: 'not_applied',
        message: 'not applied: a read-back shows canary 5%',
        state: at5,
      },
    });
    expect(notApplied.events).toEqual(['rollback.failed']);
    expect(notApplied.state.rollback).toMatchObject({
      error: 'not applied: a read-back shows canary 5%',
      errorState: at5,
    });
  });
});

describe('operations under any sequence of commands', () => {
  it('never edit their input, keep one operation in flight, hold the flow while unknown, and end rolled back only after a verified rollback', async () => {
    const fc = (await import('fast-check')).default;
    const outcome = fc.oneof(
      fc.constant({ ok: true as const, before: stable, after: at5, attempts: 1, durationMs: 5 }),
      fc.constant({ ok: false as const, code: 'forbidden', message: 'no', state: stable }),
      fc.constant({ ok: false as const, code: 'unknown' as const, message: 'lost', rereadAt: 1 }),
    );
    const command: import('fast-check').Arbitrary<Command> = fc.oneof(
      fc.record({
        type: fc.constant('request-traffic' as const),
        itemId: fc.constantFrom('five', 'full'),
        actor: fc.constant('U0REQ'),
        actorRoles: fc.constant([]),
        at: fc.nat(),
      }),
      fc.record({
        type: fc.constant('traffic-result' as const),
        run: fc.integer({ min: 1, max: 4 }),
        at: fc.nat(),
        outcome,
      }),
      fc.record({
        type: fc.constant('request-rollback' as const),
        actor: fc.constant('U0REQ'),
        actorRoles: fc.constant([]),
        reason: fc.constant('bad'),
        at: fc.nat(),
      }),
      fc.record({
        type: fc.constant('rollback-result' as const),
        run: fc.integer({ min: 1, max: 4 }),
        at: fc.nat(),
        outcome,
      }),
      fc.record({
        type: fc.constant('wait-elapsed' as const),
        itemId: fc.constant('watch'),
        run: fc.integer({ min: 1, max: 2 }),
        at: fc.nat(),
      }),
      fc.record({
        type: fc.constantFrom('pause' as const, 'resume' as const),
        actor: fc.constant('U0REQ'),
        actorRoles: fc.constant([]),
        at: fc.nat(),
      }),
    );
    fc.assert(
      fc.property(fc.array(command, { maxLength: 30 }), (commands) => {
        let state = startDeployment(canary, params).state;
        for (const next of commands) {
          const before = structuredClone(state);
          const decision = decide(canary, state, next);
          expect(state).toEqual(before);
          if (!decision.ok) continue;
          state = decision.state;
          if (state.status === 'rolled_back') {
            expect(state.rollback?.completedAt).toBeDefined();
            expect(decision.events.map((event) => event.type)).toContain('rollback.completed');
          }
          // While an operation's outcome is unknown, the flow does not move on.
          if (before.operation?.uncertain && state.operation?.run === before.operation.run)
            expect(state.currentPhase).toBe(before.currentPhase);
          // A running traffic step always belongs to the operation in flight.
          for (const id of ['five', 'full']) {
            if (state.items[id]?.status === 'running')
              expect(state.operation).toMatchObject({ kind: 'traffic', itemId: id });
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('the rollback checklist', () => {
  const withRollbackPhases = checklistSchema.parse({
    ...canary,
    rollback: {
      triggers: [],
      phases: [
        {
          id: 'verify',
          title: 'Verify the rollback',
          items: [
            { id: 'back', kind: 'traffic', title: 'Traffic back on stable', traffic: { weight: 0 } },
            {
              id: 'healthy',
              kind: 'check',
              title: 'Stable healthy',
              check: { type: 'http', url: 'http://checkout/health' },
            },
            { id: 'tell', kind: 'manual', title: 'Tell support', owner: 'comms' },
          ],
        },
        {
          id: 'review',
          title: 'Review',
          items: [{ id: 'incident', kind: 'manual', title: 'Open an incident review' }],
        },
      ],
    },
  });
  const decideOn = (state: Deployment, command: Command) => decide(withRollbackPhases, state, command);
  const step = (state: Deployment, command: Command) => {
    const decision = decideOn(state, command);
    if (!decision.ok) throw new Error(`${decision.code}: ${decision.message}`);
    return decision;
  };
  const resolve = (itemId: string, actorRoles: string[] = [], at = 20_000): Command => ({
    type: 'resolve-item',
    itemId,
    resolution: 'done',
    actor: 'U0ONCALL',
    actorRoles,
    at,
  });
  /** Rolled back at 10,900 while the 5% step was being watched. */
  const rolledBack = (escalationLevels?: StartParams['escalationLevels'], triggerFired = false) => {
    let state = startDeployment(withRollbackPhases, {
      ...params,
      ...(escalationLevels ? { escalationLevels } : {}),
    }).state;
    state = step(state, shift('five')).state;
    state = step(state, {
      type: 'traffic-result',
      run: 1,
      at: 2_500,
      outcome: { ok: true, before: stable, after: at5, attempts: 1, durationMs: 1 },
    }).state;
    // A trigger without automatic rollback fired and escalates, until someone rolls back.
    if (triggerFired)
      state = step(state, {
        type: 'guard-fired',
        triggerId: 'p95',
        measured: 'p95 1.2 s > 1 s',
        at: 9_000,
      }).state;
    state = step(state, {
      type: 'request-rollback',
      actor: BOT_ACTOR,
      actorRoles: ['deployer'],
      reason: 'error rate up',
      at: 10_000,
    }).state;
    return step(state, {
      type: 'rollback-result',
      run: 2,
      at: 10_900,
      outcome: { ok: true, before: at5, after: stable, attempts: 1, durationMs: 800 },
    });
  };

  it('opens its first phase when the rollback finishes: the step the rollback did is done, checks start', () => {
    const done = rolledBack();
    expect(done.events.map((event) => [event.type, 'phaseId' in event ? event.phaseId : undefined])).toEqual([
      ['rollback.completed', undefined],
      ['phase.opened', 'verify'],
      ['item.resolved', 'verify'],
      ['check.requested', 'verify'],
    ]);
    expect(done.state.status).toBe('rolled_back');
    expect(done.state.phases.verify).toMatchObject({ status: 'active', openedAt: 10_900 });
    expect(done.state.items.back).toMatchObject({
      status: 'done',
      by: BOT_ACTOR,
      reason: 'the rollback did this: canary 0% (stable 100%)',
    });
    expect(done.state.items.healthy).toMatchObject({ status: 'running', run: 1 });
    // The next rollback phase has no state until it opens; the interrupted flow stays as it was.
    expect(done.state.phases.review).toBeUndefined();
    expect(done.state.items.incident).toBeUndefined();
    expect(done.state.items.watch).toMatchObject({ status: 'running' });
  });

  it('walks its phases in order, with owners, and never reopens the interrupted flow', () => {
    let state = rolledBack().state;
    // The flow is over: its items, shifts and rollbacks are refused.
    expect(decideOn(state, resolve('notes', ['deployer']))).toMatchObject({ ok: false, code: 'not_active' });
    expect(decideOn(state, shift('full'))).toMatchObject({ ok: false, code: 'not_active' });
    expect(decideOn(state, { type: 'wait-elapsed', itemId: 'watch', run: 1, at: 11_000 })).toMatchObject({
      ok: false,
      code: 'not_active',
    });
    // The next rollback phase is not open yet.
    expect(decideOn(state, resolve('incident', ['deployer']))).toMatchObject({
      ok: false,
      code: 'not_active',
    });
    expect(decideOn(state, resolve('tell'))).toMatchObject({ ok: false, code: 'forbidden' });

    state = step(state, {
      type: 'check-result',
      itemId: 'healthy',
      run: 1,
      result: { outcome: 'passed', summary: 'HTTP 200', attempts: 1, durationMs: 3, at: 11_000 },
    }).state;
    const told = step(state, resolve('tell', ['comms']));
    expect(told.events.map((event) => event.type)).toEqual([
      'item.resolved',
      'phase.completed',
      'phase.opened',
    ]);
    state = told.state;
    expect(state.phases.review).toMatchObject({ status: 'active' });
    const reviewed = step(state, resolve('incident', ['deployer'], 30_000));
    expect(reviewed.events.map((event) => event.type)).toEqual(['item.resolved', 'phase.completed']);
    expect(reviewed.state).toMatchObject({ status: 'rolled_back', endedAt: 10_900 });
    expect(reviewed.state.phases.review).toMatchObject({ status: 'completed', completedAt: 30_000 });
  });

  it('escalates what waits in it, and ends the flow’s chains (and a fired trigger’s) at the rollback', () => {
    const levels = [{ after: 60_000, notify: 'owner', page: false }];
    const done = rolledBack(levels, true);
    const escalations = done.events.filter((event) => event.type.startsWith('escalation.'));
    expect(escalations.map((event) => [event.type, 'key' in event ? event.key : ''])).toEqual([
      ['escalation.started', 'phase:verify'],
      ['escalation.resolved', 'guard:p95'],
    ]);
    expect(done.state.escalations?.['phase:verify']).toMatchObject({ chain: 1, level: 0 });
  });

  it('is not walked after a failed rollback, nor on a checklist without one', () => {
    let state = startDeployment(withRollbackPhases, params).state;
    state = step(state, {
      type: 'request-rollback',
      actor: 'U0REQ',
      actorRoles: ['deployer'],
      reason: 'bad',
      at: 5,
    }).state;
    const failed = step(state, {
      type: 'rollback-result',
      run: 1,
      at: 6,
      outcome: { ok: false, code: 'forbidden', message: 'no', state: at5 },
    });
    expect(failed.events.map((event) => event.type)).toEqual(['rollback.failed']);
    expect(failed.state.phases.verify).toBeUndefined();
  });
});
