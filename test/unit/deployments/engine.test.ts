import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Command, decide, type StartParams, startDeployment } from '../../../src/deployments/engine.js';
import { BOT_ACTOR, type Deployment, isResolved } from '../../../src/deployments/model.js';
import { smallChecklist } from '../../support/checklists.js';

const checklist = smallChecklist();
const params: StartParams = {
  id: 'd1',
  service: 'checkout',
  environment: 'production',
  version: '1.4.2',
  channel: 'C0CHECKOUT',
  requestedBy: 'U0REQ',
  deployers: ['deployer'],
  at: 1_000,
};

function started(): Deployment {
  return startDeployment(checklist, params).state;
}

function resolve(
  itemId: string,
  overrides: Partial<Extract<Command, { type: 'resolve-item' }>> = {},
): Command {
  return {
    type: 'resolve-item',
    itemId,
    resolution: 'done',
    actor: 'U0ANY',
    actorRoles: ['dba', 'tech-lead', 'deployer'],
    at: 2_000,
    ...overrides,
  };
}

function apply(state: Deployment, command: Command): Deployment {
  const decision = decide(checklist, state, command);
  if (!decision.ok) throw new Error(`${decision.code}: ${decision.message}`);
  return decision.state;
}

describe('startDeployment', () => {
  it('opens the first phase and leaves every item pending', () => {
    const { state, events } = startDeployment(checklist, params);
    expect(state.status).toBe('active');
    expect(state.currentPhase).toBe(0);
    expect(state.phases).toEqual({
      prepare: { status: 'active', openedAt: 1_000 },
      ship: { status: 'pending' },
    });
    expect(Object.values(state.items).every((item) => item.status === 'pending')).toBe(true);
    expect(events.map((event) => event.type)).toEqual(['deployment.started', 'phase.opened']);
  });
});

describe('decide: resolving items', () => {
  it('records who resolved an item and when', () => {
    const decision = decide(checklist, started(), resolve('tag', { actor: 'U0BOB' }));
    expect(decision.ok).toBe(true);
    if (!decision.ok) return;
    expect(decision.state.items.tag).toEqual({ status: 'done', by: 'U0BOB', at: 2_000 });
    expect(decision.events).toEqual([
      {
        type: 'item.resolved',
        at: 2_000,
        actor: 'U0BOB',
        phaseId: 'prepare',
        itemId: 'tag',
        from: 'pending',
        to: 'done',
      },
    ]);
  });

  it('does not change the input state', () => {
    const state = started();
    const before = structuredClone(state);
    decide(checklist, state, resolve('tag'));
    expect(state).toEqual(before);
  });

  it('advances to the next phase when every required item is resolved, leaving optional ones open', () => {
    let state = apply(started(), resolve('backup'));
    const decision = decide(checklist, state, resolve('tag', { at: 3_000 }));
    expect(decision.ok && decision.events.map((event) => event.type)).toEqual([
      'item.resolved',
      'phase.completed',
      'phase.opened',
      'check.requested', // the next phase's automated check starts as it opens
    ]);
    state = apply(state, resolve('tag', { at: 3_000 }));
    expect(state.currentPhase).toBe(1);
    expect(state.phases.prepare).toEqual({ status: 'completed', openedAt: 1_000, completedAt: 3_000 });
    expect(state.phases.ship?.status).toBe('active');
    expect(state.items.notes?.status).toBe('pending');
  });

  it('still accepts an optional item of a closed phase, but not a required one', () => {
    let state = apply(apply(started(), resolve('backup')), resolve('tag'));
    expect(decide(checklist, state, resolve('notes')).ok).toBe(true);
    state = apply(state, resolve('notes'));
    expect(state.items.notes?.status).toBe('done');
    const reopenedRequired = decide(checklist, state, {
      type: 'reopen-item',
      itemId: 'tag',
      actor: 'U0ANY',
      actorRoles: ['deployer'],
      at: 5,
    });
    expect(reopenedRequired).toMatchObject({ ok: false, code: 'phase_closed' });
  });

  it('refuses items of a phase that has not opened', () => {
    expect(decide(checklist, started(), resolve('approve'))).toMatchObject({
      ok: false,
      code: 'phase_not_open',
    });
  });

  it('refuses people outside the owner role, and sign-offs outside the sign-off role', () => {
    expect(decide(checklist, started(), resolve('backup', { actorRoles: ['deployer'] }))).toMatchObject({
      ok: false,
      code: 'forbidden',
      message: expect.stringContaining('dba'),
    });
    const inShip = apply(apply(started(), resolve('backup')), resolve('tag'));
    expect(decide(checklist, inShip, resolve('approve', { actorRoles: ['dba'] }))).toMatchObject({
      ok: false,
      code: 'forbidden',
    });
    expect(decide(checklist, inShip, resolve('approve', { actorRoles: ['tech-lead'] })).ok).toBe(true);
  });

  it('needs a reason to skip, and keeps it', () => {
    expect(decide(checklist, started(), resolve('tag', { resolution: 'skipped' }))).toMatchObject({
      ok: false,
      code: 'reason_required',
    });
    expect(
      decide(checklist, started(), resolve('tag', { resolution: 'skipped', reason: '   ' })),
    ).toMatchObject({
      ok: false,
      code: 'reason_required',
    });
    const state = apply(started(), resolve('tag', { resolution: 'skipped', reason: '  tagged by CI  ' }));
    expect(state.items.tag).toMatchObject({ status: 'skipped', reason: 'tagged by CI' });
  });

  it('treats a second resolution of the same item as unchanged (one transition per item)', () => {
    const state = apply(started(), resolve('tag', { actor: 'U0A' }));
    expect(decide(checklist, state, resolve('tag', { actor: 'U0B' }))).toMatchObject({
      ok: false,
      code: 'unchanged',
      message: expect.stringContaining('<@U0A>'),
    });
  });

  it('reports an unknown item', () => {
    expect(decide(checklist, started(), resolve('nope'))).toMatchObject({ ok: false, code: 'unknown_item' });
  });

  it('completes after the last phase', () => {
    let state = started();
    for (const id of ['backup', 'tag', 'approve']) state = apply(state, resolve(id, { at: 9_000 }));
    state = apply(state, {
      type: 'check-result',
      itemId: 'error-rate',
      run: 1,
      result: {
        outcome: 'passed',
        summary: 'error rate 0.01% < 0.1%',
        attempts: 1,
        durationMs: 5,
        at: 9_000,
      },
    });
    expect(state.status).toBe('completed');
    expect(state.endedAt).toBe(9_000);
    expect(state.currentPhase).toBe(2);
    expect(decide(checklist, state, resolve('notes'))).toMatchObject({ ok: false, code: 'not_active' });
  });
});

describe('decide: reopen (undo)', () => {
  it('puts an item of the open phase back to pending', () => {
    const state = apply(started(), resolve('tag'));
    const decision = decide(checklist, state, {
      type: 'reopen-item',
      itemId: 'tag',
      actor: 'U0A',
      actorRoles: ['deployer'],
      at: 3,
    });
    expect(decision.ok && decision.state.items.tag).toEqual({ status: 'pending' });
  });

  it('is refused for someone outside the owner role', () => {
    const state = apply(started(), resolve('backup'));
    expect(
      decide(checklist, state, {
        type: 'reopen-item',
        itemId: 'backup',
        actor: 'U0A',
        actorRoles: ['deployer'],
        at: 3,
      }),
    ).toMatchObject({
      ok: false,
      code: 'forbidden',
    });
  });
});

describe('decide: abort and complete', () => {
  it('lets the requester or a deployer abort, with a reason', () => {
    const abort = (actor: string, roles: string[], reason = 'wrong build'): Command => ({
      type: 'abort',
      actor,
      actorRoles: roles,
      reason,
      at: 7,
    });
    expect(decide(checklist, started(), abort('U0STRANGER', []))).toMatchObject({
      ok: false,
      code: 'forbidden',
    });
    expect(decide(checklist, started(), abort('U0REQ', [], ' '))).toMatchObject({
      ok: false,
      code: 'reason_required',
    });
    expect(decide(checklist, started(), abort('U0REQ', [])).ok).toBe(true);
    expect(decide(checklist, started(), abort(BOT_ACTOR, [])).ok).toBe(true);
    const decision = decide(checklist, started(), abort('U0OTHER', ['deployer']));
    expect(decision.ok && decision.state).toMatchObject({
      status: 'aborted',
      endedBy: 'U0OTHER',
      endReason: 'wrong build',
      endedAt: 7,
    });
  });

  it('refuses an explicit complete while a phase is open', () => {
    expect(decide(checklist, started(), { type: 'complete', actor: 'U0A', at: 1 })).toMatchObject({
      ok: false,
      code: 'not_finished',
    });
  });
});

describe('engine invariants under any sequence of commands', () => {
  const itemIds = checklist.phases.flatMap((phase) => phase.items.map((item) => item.id));
  const actor = fc.constantFrom('U0REQ', 'U0A', 'U0X', 'flightdeck');
  const actorRoles = fc.subarray(['dba', 'tech-lead', 'deployer']);
  const at = fc.nat();
  const reason = fc.constantFrom('because', '');
  const key = fc.constantFrom('phase:prepare', 'phase:ship', 'check:error-rate', 'guard:g');
  const outcome = fc.oneof(
    fc.record({
      ok: fc.constant(true as const),
      before: fc.constant({ weight: 0, description: 'canary 0%' }),
      after: fc.constant({ weight: 10, description: 'canary 10%' }),
      attempts: fc.integer({ min: 0, max: 2 }),
      durationMs: fc.nat(),
    }),
    fc.record({
      ok: fc.constant(false as const),
      code: fc.constant('timeout'),
      message: fc.constant('slow'),
    }),
  );
  /** Every command type the engine knows (a test below checks none is missing). */
  const commandArbs: Record<Command['type'], fc.Arbitrary<Command>> = {
    'resolve-item': fc.record({
      type: fc.constant('resolve-item' as const),
      itemId: fc.constantFrom(...itemIds, 'ghost'),
      resolution: fc.constantFrom('done' as const, 'skipped' as const, 'n/a' as const),
      actor,
      actorRoles,
      reason: fc.option(reason, { nil: undefined }),
      at,
    }),
    'reopen-item': fc.record({
      type: fc.constant('reopen-item' as const),
      itemId: fc.constantFrom(...itemIds),
      actor,
      actorRoles,
      at,
    }),
    'check-result': fc.record({
      type: fc.constant('check-result' as const),
      itemId: fc.constant('error-rate'),
      run: fc.integer({ min: 1, max: 3 }),
      result: fc.record({
        outcome: fc.constantFrom('passed' as const, 'failed' as const, 'error' as const),
        summary: fc.constant('error rate 0.02% < 0.1%'),
        attempts: fc.integer({ min: 1, max: 3 }),
        durationMs: fc.nat(),
        at: fc.nat(),
      }),
    }),
    'rerun-check': fc.record({
      type: fc.constant('rerun-check' as const),
      itemId: fc.constant('error-rate'),
      actor,
      actorRoles,
      at,
    }),
    'override-check': fc.record({
      type: fc.constant('override-check' as const),
      itemId: fc.constant('error-rate'),
      actor,
      actorRoles,
      reason,
      at,
    }),
    complete: fc.record({ type: fc.constant('complete' as const), actor, at }),
    abort: fc.record({ type: fc.constant('abort' as const), actor, actorRoles, reason, at }),
    pause: fc.record({ type: fc.constant('pause' as const), actor, actorRoles, at }),
    resume: fc.record({ type: fc.constant('resume' as const), actor, actorRoles, at }),
    'request-traffic': fc.record({
      type: fc.constant('request-traffic' as const),
      target: fc.constant({ weight: 10 }),
      confirmed: fc.boolean(),
      actor,
      actorRoles,
      at,
    }),
    'traffic-result': fc.record({
      type: fc.constant('traffic-result' as const),
      run: fc.integer({ min: 1, max: 3 }),
      at,
      outcome,
    }),
    'request-rollback': fc.record({
      type: fc.constant('request-rollback' as const),
      actor,
      actorRoles,
      reason,
      at,
    }),
    'rollback-result': fc.record({
      type: fc.constant('rollback-result' as const),
      run: fc.integer({ min: 1, max: 3 }),
      at,
      outcome,
    }),
    escalate: fc.record({
      type: fc.constant('escalate' as const),
      key,
      chain: fc.integer({ min: 1, max: 2 }),
      level: fc.integer({ min: 1, max: 2 }),
      at,
    }),
    'acknowledge-escalation': fc.record({
      type: fc.constant('acknowledge-escalation' as const),
      key,
      actor,
      actorRoles,
      at,
    }),
    'record-retrospective': fc.record({
      type: fc.constant('record-retrospective' as const),
      actor,
      actorRoles,
      retrospective: fc.constant({ issues: { critical: 0, major: 0, minor: 0 }, answers: {} }),
      at,
    }),
    'withdraw-signoff': fc.record({
      type: fc.constant('withdraw-signoff' as const),
      itemId: fc.constant('approve'),
      actor,
      at,
    }),
    'open-follow-up': fc.record({
      type: fc.constant('open-follow-up' as const),
      phaseId: fc.constantFrom('ship', 'none'),
      at,
    }),
    'wait-elapsed': fc.record({
      type: fc.constant('wait-elapsed' as const),
      itemId: fc.constant('notes'),
      run: fc.nat(3),
      at,
    }),
    'guard-fired': fc.record({
      type: fc.constant('guard-fired' as const),
      triggerId: fc.constant('g'),
      measured: fc.constant('x'),
      at,
    }),
    'guard-cleared': fc.record({
      type: fc.constant('guard-cleared' as const),
      triggerId: fc.constant('g'),
      at,
    }),
    'override-guard': fc.record({
      type: fc.constant('override-guard' as const),
      triggerId: fc.constant('g'),
      actor,
      actorRoles,
      reason,
      at,
    }),
    supersede: fc.record({
      type: fc.constant('supersede' as const),
      by: fc.constant('d2'),
      version: fc.constant('2'),
      at,
    }),
    'end-watch': fc.record({ type: fc.constant('end-watch' as const), at }),
  };
  const commandArb: fc.Arbitrary<Command> = fc.oneof(...Object.values(commandArbs));

  /**
   * What an ended deployment still accepts (engine.ts): a completed one can be rolled back and keeps
   * watching and walking its follow-ups; a rolled-back one walks its rollback phases; every ended one
   * takes a retrospective and learns that a later deployment started.
   */
  const AFTER_THE_END: Record<'completed' | 'rolled_back' | 'aborted', ReadonlySet<Command['type']>> = {
    completed: new Set([
      'request-rollback',
      'rollback-result',
      'open-follow-up',
      'escalate',
      'acknowledge-escalation',
      'guard-fired',
      'guard-cleared',
      'end-watch',
      'record-retrospective',
      'supersede',
      // items of an open follow-up phase
      'resolve-item',
      'reopen-item',
      'check-result',
      'rerun-check',
      'override-check',
      'withdraw-signoff',
      'wait-elapsed',
    ]),
    rolled_back: new Set([
      'escalate',
      'acknowledge-escalation',
      'record-retrospective',
      'supersede',
      // items of an open rollback phase
      'resolve-item',
      'reopen-item',
      'check-result',
      'rerun-check',
      'override-check',
      'withdraw-signoff',
      'wait-elapsed',
    ]),
    // A shift left unknown by the abort is still read back (where traffic is, nothing else).
    aborted: new Set(['record-retrospective', 'supersede', 'traffic-result']),
  };

  it('generates every command type the engine knows', () => {
    // Adding a command type without a generator here fails the type of `commandArbs` above.
    expect(Object.keys(commandArbs)).toHaveLength(24);
  });

  it('keeps phases, items and status consistent', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { maxLength: 40 }), (commands) => {
        let state = started();
        for (const command of commands) {
          const before = structuredClone(state);
          const decision = decide(checklist, state, command);
          expect(state).toEqual(before); // the engine never edits its input
          if (!decision.ok) continue;
          // An ended deployment accepts only what AFTER_THE_END says; a paused one holds its checklist.
          if (state.status === 'completed' || state.status === 'rolled_back' || state.status === 'aborted')
            expect(
              AFTER_THE_END[state.status].has(command.type),
              `${command.type} after ${state.status}`,
            ).toBe(true);
          state = decision.state;
          if (decision.events.length === 0) throw new Error('an accepted command must say what happened');
        }
        // Every phase before the current one is complete with its required items resolved; later ones unopened.
        checklist.phases.forEach((phase, index) => {
          const status = state.phases[phase.id]?.status;
          if (index < state.currentPhase) {
            expect(status).toBe('completed');
            for (const item of phase.items)
              if (item.required) expect(isResolved(state.items[item.id])).toBe(true);
          } else if (index === state.currentPhase && state.status === 'active') expect(status).toBe('active');
          else if (index > state.currentPhase) expect(status).toBe('pending');
        });
        if (state.status !== 'rolled_back' && state.status !== 'aborted')
          expect(state.status === 'completed').toBe(state.currentPhase === checklist.phases.length);
        for (const item of Object.values(state.items)) {
          if (item.status === 'skipped') expect(item.reason).toBeTruthy();
          // A running check always has a run number for its worker to report against.
          if (item.status === 'running') expect(item.run).toBeGreaterThan(0);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('decide: step-by-step phases', () => {
  const stepwise = smallChecklist({
    phases: [
      {
        id: 'rollout',
        title: 'Rollout',
        sequential: true,
        items: [
          { id: 'canary', kind: 'traffic', title: 'Canary 5%', traffic: { weight: 5 } },
          { id: 'note', kind: 'manual', title: 'Post in #releases', required: false },
          { id: 'watch', kind: 'wait', title: 'Watch 10 minutes', wait: { duration: '10m' } },
          { id: 'full', kind: 'traffic', title: 'Full traffic', traffic: { weight: 100 } },
        ],
      },
    ],
  });
  const begin = () => startDeployment(stepwise, params).state;
  const step = (itemId: string): Command => ({
    type: 'resolve-item',
    itemId,
    resolution: 'done',
    actor: 'U0A',
    actorRoles: ['deployer'],
    at: 5,
  });

  it('refuses a step before the earlier required steps are resolved, naming the one to do first', () => {
    expect(decide(stepwise, begin(), step('full'))).toMatchObject({
      ok: false,
      code: 'out_of_order',
      message: expect.stringContaining('Canary 5%'),
    });
  });

  it('lets optional steps be passed over and walks the rest in order', () => {
    // Without a traffic strategy (params has none) traffic steps are done by hand; the watch window runs out by itself.
    let state = begin();
    const apply = (command: Command) => {
      const decision = decide(stepwise, state, command);
      if (!decision.ok) throw new Error(decision.message);
      state = decision.state;
    };
    apply(step('canary'));
    expect(state.items.watch).toMatchObject({ status: 'running', run: 1 });
    apply({ type: 'wait-elapsed', itemId: 'watch', run: 1, at: 6 });
    apply(step('full'));
    expect(state.status).toBe('completed');
  });
});

describe('decide: automated checks', () => {
  const withChecks = smallChecklist({
    phases: [
      {
        id: 'verify',
        title: 'Verify',
        items: [
          {
            id: 'health',
            kind: 'check',
            title: 'Health endpoint answers',
            owner: 'dba',
            check: { type: 'http', url: 'http://127.0.0.1:1/health' },
          },
          { id: 'note', kind: 'manual', title: 'Tell #releases' },
        ],
      },
      {
        id: 'steps',
        title: 'Steps',
        sequential: true,
        items: [
          { id: 'shift', kind: 'manual', title: 'Shift 5%' },
          {
            id: 'errors',
            kind: 'check',
            title: 'Errors low',
            check: { type: 'tcp', host: 'db', port: 5432 },
          },
        ],
      },
    ],
  });
  const begin = () => startDeployment(withChecks, params);
  const result = (outcome: 'passed' | 'failed' | 'error', at = 3_000) => ({
    outcome,
    summary: `HTTP ${outcome === 'passed' ? 200 : 503} in 12 ms`,
    attempts: 1,
    durationMs: 12,
    at,
  });
  const apply2 = (state: Deployment, command: Command) => {
    const decision = decide(withChecks, state, command);
    if (!decision.ok) throw new Error(`${decision.code}: ${decision.message}`);
    return decision;
  };

  it('requests the checks of a phase as it opens, as run 1', () => {
    const { state, events } = begin();
    expect(state.items.health).toEqual({ status: 'running', run: 1 });
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'check.requested', itemId: 'health', run: 1, actor: BOT_ACTOR }),
    );
  });

  it('records a result for the current run; a stale or repeated result changes nothing', () => {
    const { state } = begin();
    const first = apply2(state, { type: 'check-result', itemId: 'health', run: 1, result: result('failed') });
    expect(first.state.items.health).toMatchObject({
      status: 'failed',
      run: 1,
      result: { summary: 'HTTP 503 in 12 ms' },
    });
    expect(first.events.map((event) => event.type)).toEqual(['check.completed']);
    expect(
      decide(withChecks, first.state, {
        type: 'check-result',
        itemId: 'health',
        run: 1,
        result: result('passed'),
      }),
    ).toMatchObject({
      ok: false,
      code: 'unchanged',
    });
    expect(
      decide(withChecks, state, { type: 'check-result', itemId: 'health', run: 7, result: result('passed') }),
    ).toMatchObject({
      ok: false,
      code: 'unchanged',
    });
  });

  it('keeps a phase open while a required check fails or errors, and advances once it passes', () => {
    let state = begin().state;
    state = apply2(state, {
      type: 'resolve-item',
      itemId: 'note',
      resolution: 'done',
      actor: 'U0A',
      actorRoles: ['deployer'],
      at: 2,
    }).state;
    state = apply2(state, { type: 'check-result', itemId: 'health', run: 1, result: result('error') }).state;
    expect(state.currentPhase).toBe(0);
    const rerun = apply2(state, {
      type: 'rerun-check',
      itemId: 'health',
      actor: 'U0DBA',
      actorRoles: ['dba'],
      at: 4,
    });
    expect(rerun.events).toEqual([
      expect.objectContaining({ type: 'check.requested', itemId: 'health', run: 2, actor: 'U0DBA' }),
    ]);
    expect(rerun.state.items.health).toMatchObject({
      status: 'running',
      run: 2,
      result: { outcome: 'error' },
    });
    const passed = apply2(rerun.state, {
      type: 'check-result',
      itemId: 'health',
      run: 2,
      result: result('passed'),
    });
    expect(passed.state.currentPhase).toBe(1);
    expect(passed.events.map((event) => event.type)).toEqual([
      'check.completed',
      'phase.completed',
      'phase.opened',
    ]);
  });

  it('is not marked done by hand, and re-run follows the owner role', () => {
    const { state } = begin();
    expect(
      decide(withChecks, state, {
        type: 'resolve-item',
        itemId: 'health',
        resolution: 'done',
        actor: 'U0DBA',
        actorRoles: ['dba'],
        at: 1,
      }),
    ).toMatchObject({
      ok: false,
      code: 'not_manual',
    });
    const failed = apply2(state, {
      type: 'check-result',
      itemId: 'health',
      run: 1,
      result: result('failed'),
    }).state;
    expect(
      decide(withChecks, failed, {
        type: 'rerun-check',
        itemId: 'health',
        actor: 'U0X',
        actorRoles: [],
        at: 1,
      }),
    ).toMatchObject({
      ok: false,
      code: 'forbidden',
    });
    expect(
      decide(withChecks, state, {
        type: 'rerun-check',
        itemId: 'health',
        actor: 'U0DBA',
        actorRoles: ['dba'],
        at: 1,
      }),
    ).toMatchObject({
      ok: false,
      code: 'unchanged', // already running
    });
  });

  it('lets the owner role, a deployer or the requester override with a reason, keeping what the check showed', () => {
    const failed = apply2(begin().state, {
      type: 'check-result',
      itemId: 'health',
      run: 1,
      result: result('failed'),
    }).state;
    const override = (actor: string, roles: string[], reason = 'known flake') =>
      decide(withChecks, failed, {
        type: 'override-check',
        itemId: 'health',
        actor,
        actorRoles: roles,
        reason,
        at: 9,
      });
    expect(override('U0X', [])).toMatchObject({ ok: false, code: 'forbidden' });
    expect(override('U0DBA', ['dba'], '  ')).toMatchObject({ ok: false, code: 'reason_required' });
    expect(override('U0DEP', ['deployer']).ok).toBe(true);
    expect(override('U0REQ', []).ok).toBe(true);
    const decision = override('U0DBA', ['dba']);
    if (!decision.ok) throw new Error(decision.message);
    expect(decision.state.items.health).toMatchObject({
      status: 'done',
      overridden: true,
      by: 'U0DBA',
      reason: 'known flake',
      result: { outcome: 'failed', summary: 'HTTP 503 in 12 ms' },
    });
    expect(decision.events[0]).toMatchObject({
      type: 'check.overridden',
      from: 'failed',
      summary: 'HTTP 503 in 12 ms',
      reason: 'known flake',
    });
    // The verdict of the overridden run arriving late changes nothing.
    expect(
      decide(withChecks, decision.state, {
        type: 'check-result',
        itemId: 'health',
        run: 1,
        result: result('passed'),
      }),
    ).toMatchObject({
      ok: false,
      code: 'unchanged',
    });
  });

  it('starts a check in a step-by-step phase only when the steps before it are done', () => {
    let state = begin().state;
    state = apply2(state, {
      type: 'resolve-item',
      itemId: 'note',
      resolution: 'done',
      actor: 'U0A',
      actorRoles: ['deployer'],
      at: 2,
    }).state;
    state = apply2(state, { type: 'check-result', itemId: 'health', run: 1, result: result('passed') }).state;
    expect(state.currentPhase).toBe(1);
    expect(state.items.errors).toEqual({ status: 'pending' });
    const shifted = apply2(state, {
      type: 'resolve-item',
      itemId: 'shift',
      resolution: 'done',
      actor: 'U0A',
      actorRoles: ['deployer'],
      at: 5,
    });
    expect(shifted.state.items.errors).toEqual({ status: 'running', run: 1 });
    expect(shifted.events.map((event) => event.type)).toEqual(['item.resolved', 'check.requested']);
  });
});
