import { describe, expect, it } from 'vitest';
import { checklistSchema } from '../../../src/checklists/schema.js';
import { type Command, decide, type StartParams, startDeployment } from '../../../src/deployments/engine.js';
import type { Deployment } from '../../../src/deployments/model.js';

/** Sign-off rules and follow-up phases in the pure engine. */

const checklist = checklistSchema.parse({
  id: 'gated',
  title: 'Gated',
  four_eyes: true,
  phases: [
    {
      id: 'approve',
      title: 'Approve',
      items: [
        {
          id: 'review',
          kind: 'signoff',
          title: 'Two reviewers approve',
          signoff: { role: 'reviewers', count: 2 },
        },
      ],
    },
    { id: 'ship', title: 'Ship', items: [{ id: 'deploy', kind: 'manual', title: 'Deploy' }] },
    {
      id: 'soon',
      title: 'T+30m',
      after: '30m',
      items: [{ id: 'look', kind: 'manual', title: 'Look at dashboards', owner: 'sre' }],
    },
    {
      id: 'later',
      title: 'T+24h',
      after: '24h',
      items: [{ id: 'review-logs', kind: 'manual', title: 'Review logs' }],
    },
  ],
});

const params: StartParams = {
  id: 'd1',
  service: 'svc',
  environment: 'production',
  version: '1',
  channel: 'C1',
  requestedBy: 'U0REQ',
  deployers: ['deployer'],
  timeScale: 0.001,
  at: 1_000,
};

function run(state: Deployment, command: Command) {
  const decision = decide(checklist, state, command);
  if (!decision.ok) throw new Error(`${decision.code}: ${decision.message}`);
  return decision;
}

const sign = (actor: string, roles = ['reviewers'], at = 2_000): Command => ({
  type: 'resolve-item',
  itemId: 'review',
  resolution: 'done',
  actor,
  actorRoles: roles,
  at,
});

describe('sign-offs', () => {
  it('need the role, distinct people, and someone other than the requester', () => {
    const begun = startDeployment(checklist, params).state;
    expect(decide(checklist, begun, sign('U0X', []))).toMatchObject({ ok: false, code: 'forbidden' });
    expect(decide(checklist, begun, sign('U0REQ'))).toMatchObject({ ok: false, code: 'four_eyes' });
    const one = run(begun, sign('U0A'));
    expect(one.state.items.review).toEqual({ status: 'pending', signatures: [{ by: 'U0A', at: 2_000 }] });
    expect(one.events.map((event) => event.type)).toEqual(['signoff.signed']);
    expect(decide(checklist, one.state, sign('U0A', ['reviewers'], 2_100))).toMatchObject({
      ok: false,
      code: 'unchanged',
    });
    const two = run(one.state, sign('U0B', ['reviewers'], 2_200));
    expect(two.state.items.review).toMatchObject({
      status: 'done',
      by: 'U0B',
      signatures: [{ by: 'U0A' }, { by: 'U0B', at: 2_200 }],
    });
    expect(two.events.map((event) => event.type)).toEqual([
      'signoff.signed',
      'item.resolved',
      'phase.completed',
      'phase.opened',
    ]);
  });

  it('can be withdrawn while the phase is open, but not after', () => {
    const begun = startDeployment(checklist, params).state;
    const one = run(begun, sign('U0A')).state;
    expect(
      decide(checklist, one, { type: 'withdraw-signoff', itemId: 'review', actor: 'U0B', at: 3 }),
    ).toMatchObject({ ok: false, code: 'unchanged' });
    const withdrawn = run(one, { type: 'withdraw-signoff', itemId: 'review', actor: 'U0A', at: 3 });
    expect(withdrawn.state.items.review).toEqual({ status: 'pending', signatures: [] });
    expect(withdrawn.events.map((event) => event.type)).toEqual(['signoff.withdrawn']);
    // The second signature completes the sign-off and closes its phase: signatures there are final.
    const closed = run(one, sign('U0B')).state;
    expect(closed.phases.approve?.status).toBe('completed');
    expect(
      decide(checklist, closed, { type: 'withdraw-signoff', itemId: 'review', actor: 'U0A', at: 4 }),
    ).toMatchObject({
      ok: false,
      code: 'phase_closed',
    });
  });
});

describe('follow-up phases', () => {
  function completed(): Deployment {
    let state = startDeployment(checklist, params).state;
    state = run(state, sign('U0A')).state;
    state = run(state, sign('U0B')).state;
    return run(state, {
      type: 'resolve-item',
      itemId: 'deploy',
      resolution: 'done',
      actor: 'U0REQ',
      actorRoles: ['deployer'],
      at: 10_000,
    }).state;
  }

  it('are not walked inline: the deployment completes and they are scheduled from completion, scaled', () => {
    let state = startDeployment(checklist, params).state;
    state = run(run(state, sign('U0A')).state, sign('U0B')).state;
    const done = run(state, {
      type: 'resolve-item',
      itemId: 'deploy',
      resolution: 'done',
      actor: 'U0REQ',
      actorRoles: ['deployer'],
      at: 10_000,
    });
    expect(done.state.status).toBe('completed');
    expect(done.events.map((event) => event.type)).toEqual([
      'item.resolved',
      'phase.completed',
      'deployment.completed',
      'phase.scheduled',
      'phase.scheduled',
    ]);
    expect(done.state.phases.soon).toEqual({ status: 'scheduled', dueAt: 10_000 + 1_800 }); // 30 min × 0.001
    expect(done.state.phases.later).toEqual({ status: 'scheduled', dueAt: 10_000 + 86_400 });
  });

  it('open when due, even after completion, and their items are walked; nothing else changes a completed deployment', () => {
    const state = completed();
    expect(
      decide(checklist, state, {
        type: 'resolve-item',
        itemId: 'look',
        resolution: 'done',
        actor: 'U0SRE',
        actorRoles: ['sre'],
        at: 1,
      }),
    ).toMatchObject({
      ok: false,
      code: 'not_active',
    });
    const opened = run(state, { type: 'open-follow-up', phaseId: 'soon', at: 11_800 });
    expect(opened.state.phases.soon).toMatchObject({ status: 'active', openedAt: 11_800 });
    expect(
      decide(checklist, opened.state, { type: 'open-follow-up', phaseId: 'soon', at: 11_900 }),
    ).toMatchObject({ ok: false, code: 'unchanged' });
    const walked = run(opened.state, {
      type: 'resolve-item',
      itemId: 'look',
      resolution: 'done',
      actor: 'U0SRE',
      actorRoles: ['sre'],
      at: 12_000,
    });
    expect(walked.events.map((event) => event.type)).toEqual(['item.resolved', 'phase.completed']);
    expect(walked.state.status).toBe('completed');
    expect(
      decide(checklist, walked.state, {
        type: 'abort',
        actor: 'U0REQ',
        actorRoles: ['deployer'],
        reason: 'x',
        at: 1,
      }),
    ).toMatchObject({ ok: false, code: 'not_active' });
  });

  it('count from the moment new code takes all traffic, when that comes before completion', () => {
    const promoted = checklistSchema.parse({
      id: 'promoted',
      title: 'Promoted',
      phases: [
        {
          id: 'rollout',
          title: 'Rollout',
          sequential: true,
          items: [
            { id: 'full', kind: 'traffic', title: 'Full traffic', traffic: { weight: 100 } },
            { id: 'notes', kind: 'manual', title: 'Release notes posted' },
          ],
        },
        {
          id: 'soon',
          title: 'T+30m',
          after: '30m',
          items: [{ id: 'look', kind: 'manual', title: 'Look at dashboards' }],
        },
      ],
    });
    const step = (state: Deployment, command: Command) => {
      const decision = decide(promoted, state, command);
      if (!decision.ok) throw new Error(`${decision.code}: ${decision.message}`);
      return decision;
    };
    let state = startDeployment(promoted, { ...params, trafficStrategy: 'canary' }).state;
    state = step(state, {
      type: 'request-traffic',
      itemId: 'full',
      actor: 'U0REQ',
      actorRoles: ['deployer'],
      at: 2_000,
    }).state;
    const shifted = step(state, {
      type: 'traffic-result',
      run: 1,
      at: 5_000,
      outcome: {
        ok: true,
        before: { weight: 0, description: 'canary 0%' },
        after: { weight: 100, description: 'canary 100%' },
        attempts: 1,
        durationMs: 40,
      },
    });
    expect(shifted.events).toContainEqual(
      expect.objectContaining({ type: 'phase.scheduled', phaseId: 'soon', dueAt: 5_000 + 1_800 }),
    );
    expect(shifted.state.status).toBe('active');
    // Completing later does not move them.
    const done = step(shifted.state, {
      type: 'resolve-item',
      itemId: 'notes',
      resolution: 'done',
      actor: 'U0REQ',
      actorRoles: ['deployer'],
      at: 9_000,
    });
    expect(done.state.status).toBe('completed');
    expect(done.events.map((event) => event.type)).not.toContain('phase.scheduled');
    expect(done.state.phases.soon).toEqual({ status: 'scheduled', dueAt: 6_800 });
  });
});
