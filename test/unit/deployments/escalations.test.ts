import { describe, expect, it } from 'vitest';
import { checklistSchema } from '../../../src/checklists/schema.js';
import {
  type Command,
  type DeploymentEvent,
  decide,
  type StartParams,
  startDeployment,
} from '../../../src/deployments/engine.js';
import type { Deployment } from '../../../src/deployments/model.js';

/** Escalation chains in the pure engine: started and resolved by what the state shows, climbed by timers. */

const checklist = checklistSchema.parse({
  id: 'esc',
  title: 'Escalating',
  phases: [
    {
      id: 'prep',
      title: 'Prep',
      items: [
        { id: 'backup', kind: 'manual', title: 'Backup', owner: 'dba' },
        { id: 'health', kind: 'check', title: 'Health', check: { type: 'tcp', host: 'db', port: 1 } },
      ],
    },
    { id: 'ship', title: 'Ship', items: [{ id: 'go', kind: 'manual', title: 'Go' }] },
  ],
});

const levels = [
  { after: 100, notify: 'owner', page: false },
  { after: 300, notify: 'on-call', page: true },
];
const params: StartParams = {
  id: 'd1',
  service: 'svc',
  environment: 'production',
  version: '1',
  channel: 'C1',
  requestedBy: 'U0REQ',
  deployers: ['deployer'],
  escalationLevels: levels,
  at: 1_000,
};

function run(state: Deployment, command: Command): { state: Deployment; events: DeploymentEvent[] } {
  const decision = decide(checklist, state, command);
  if (!decision.ok) throw new Error(`${decision.code}: ${decision.message}`);
  return decision;
}

const types = (events: DeploymentEvent[]) => events.map((event) => event.type);

describe('escalations', () => {
  it('start when a phase waits for people, timed from when it opened', () => {
    const { state, events } = startDeployment(checklist, params);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'escalation.started',
        key: 'phase:prep',
        chain: 1,
        startedAt: 1_000,
        firstAt: 1_100,
      }),
    );
    expect(state.escalations?.['phase:prep']).toEqual({ chain: 1, startedAt: 1_000, level: 0 });
  });

  it('climb one level per timer, in order, once; the next level is announced with the first', () => {
    let { state } = startDeployment(checklist, params);
    expect(
      decide(checklist, state, { type: 'escalate', key: 'phase:prep', chain: 1, level: 2, at: 1_300 }),
    ).toMatchObject({ ok: false, code: 'unchanged' });
    const first = run(state, { type: 'escalate', key: 'phase:prep', chain: 1, level: 1, at: 1_100 });
    expect(first.events).toEqual([
      expect.objectContaining({
        type: 'escalation.level',
        level: 1,
        of: 2,
        notify: 'owner',
        page: false,
        nextAt: 1_300,
      }),
    ]);
    state = first.state;
    expect(
      decide(checklist, state, { type: 'escalate', key: 'phase:prep', chain: 1, level: 1, at: 1_150 }),
    ).toMatchObject({ ok: false, code: 'unchanged' });
    const second = run(state, { type: 'escalate', key: 'phase:prep', chain: 1, level: 2, at: 1_300 });
    expect(second.events).toEqual([
      expect.objectContaining({ type: 'escalation.level', level: 2, notify: 'on-call', page: true }),
    ]);
    expect(second.state.escalations?.['phase:prep']).toMatchObject({ level: 2, paged: true });
  });

  it('stop when acknowledged, saying who', () => {
    const { state } = startDeployment(checklist, params);
    const acked = run(state, {
      type: 'acknowledge-escalation',
      key: 'phase:prep',
      actor: 'U0ONCALL',
      actorRoles: ['deployer'],
      at: 1_050,
    });
    expect(types(acked.events)).toEqual(['escalation.acknowledged']);
    expect(acked.state.escalations?.['phase:prep']).toMatchObject({
      acknowledgedBy: 'U0ONCALL',
      acknowledgedAt: 1_050,
    });
    expect(
      decide(checklist, acked.state, { type: 'escalate', key: 'phase:prep', chain: 1, level: 1, at: 1_100 }),
    ).toMatchObject({ ok: false });
  });

  it('resolve when the cause goes away, and a returning cause starts a new chain', () => {
    let { state } = startDeployment(checklist, params);
    state = run(state, { type: 'escalate', key: 'phase:prep', chain: 1, level: 1, at: 1_100 }).state;
    state = run(state, { type: 'escalate', key: 'phase:prep', chain: 1, level: 2, at: 1_300 }).state;
    // The check fails: a second cause, its own chain.
    const failed = run(state, {
      type: 'check-result',
      itemId: 'health',
      run: 1,
      result: { outcome: 'failed', summary: 'connection refused', attempts: 1, durationMs: 1, at: 1_400 },
    });
    expect(failed.events).toContainEqual(
      expect.objectContaining({ type: 'escalation.started', key: 'check:health', chain: 1 }),
    );
    // People finish the manual item: the phase cause resolves (it had paged, so the page is resolved too).
    const done = run(failed.state, {
      type: 'resolve-item',
      itemId: 'backup',
      resolution: 'done',
      actor: 'U0DBA',
      actorRoles: ['dba'],
      at: 1_500,
    });
    expect(done.events).toContainEqual(
      expect.objectContaining({ type: 'escalation.resolved', key: 'phase:prep', chain: 1, paged: true }),
    );
    // A re-run clears the failing check (running again), resolving its chain; failing again starts chain 2.
    const rerun = run(done.state, {
      type: 'rerun-check',
      itemId: 'health',
      actor: 'U0REQ',
      actorRoles: ['deployer'],
      at: 1_600,
    });
    expect(rerun.events).toContainEqual(
      expect.objectContaining({ type: 'escalation.resolved', key: 'check:health', chain: 1 }),
    );
    const again = run(rerun.state, {
      type: 'check-result',
      itemId: 'health',
      run: 2,
      result: { outcome: 'error', summary: 'timed out', attempts: 3, durationMs: 1, at: 1_700 },
    });
    expect(again.events).toContainEqual(
      expect.objectContaining({
        type: 'escalation.started',
        key: 'check:health',
        chain: 2,
        startedAt: 1_700,
      }),
    );
    // The stale level timer of chain 1 changes nothing.
    expect(
      decide(checklist, again.state, {
        type: 'escalate',
        key: 'check:health',
        chain: 1,
        level: 1,
        at: 1_800,
      }),
    ).toMatchObject({ ok: false });
  });

  it('keep their configured delays at every level, whatever the time scale', () => {
    // time_scale shortens watch windows and follow-ups; escalation delays are written as meant (tests use ms).
    let { state, events } = startDeployment(checklist, { ...params, timeScale: 0.001 });
    expect(events).toContainEqual(expect.objectContaining({ type: 'escalation.started', firstAt: 1_100 }));
    const first = run(state, { type: 'escalate', key: 'phase:prep', chain: 1, level: 1, at: 1_100 });
    expect(first.events).toEqual([expect.objectContaining({ level: 1, nextAt: 1_300 })]);
    state = first.state;
    expect(state.escalations?.['phase:prep']).toMatchObject({ level: 1 });
  });

  it('climb and can be acknowledged in a follow-up phase after the deployment completed', () => {
    const withFollowUp = checklistSchema.parse({
      id: 'esc-follow',
      title: 'Escalating follow-up',
      phases: [
        { id: 'ship', title: 'Ship', items: [{ id: 'go', kind: 'manual', title: 'Go' }] },
        {
          id: 'day-1',
          title: 'T+24h',
          after: '24h',
          items: [{ id: 'look', kind: 'manual', title: 'Look at the dashboards', owner: 'sre' }],
        },
      ],
    });
    const step = (state: Deployment, command: Command) => {
      const decision = decide(withFollowUp, state, command);
      if (!decision.ok) throw new Error(`${decision.code}: ${decision.message}`);
      return decision;
    };
    let { state } = startDeployment(withFollowUp, params);
    state = step(state, {
      type: 'resolve-item',
      itemId: 'go',
      resolution: 'done',
      actor: 'U0REQ',
      actorRoles: ['deployer'],
      at: 1_050,
    }).state;
    expect(state.status).toBe('completed');
    const opened = step(state, { type: 'open-follow-up', phaseId: 'day-1', at: 5_000 });
    expect(opened.events).toContainEqual(
      expect.objectContaining({ type: 'escalation.started', key: 'phase:day-1', startedAt: 5_000 }),
    );
    const level = step(opened.state, { type: 'escalate', key: 'phase:day-1', chain: 1, level: 1, at: 5_100 });
    expect(level.events).toEqual([expect.objectContaining({ type: 'escalation.level', level: 1 })]);
    const acked = step(level.state, {
      type: 'acknowledge-escalation',
      key: 'phase:day-1',
      actor: 'U0SRE',
      actorRoles: ['deployer'],
      at: 5_200,
    });
    expect(acked.state.escalations?.['phase:day-1']).toMatchObject({ acknowledgedBy: 'U0SRE' });
  });

  it('end with the deployment', () => {
    const { state } = startDeployment(checklist, params);
    const aborted = run(state, {
      type: 'abort',
      actor: 'U0REQ',
      actorRoles: ['deployer'],
      reason: 'stop',
      at: 2_000,
    });
    expect(aborted.events).toContainEqual(
      expect.objectContaining({ type: 'escalation.resolved', key: 'phase:prep' }),
    );
  });
});
