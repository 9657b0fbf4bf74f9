import { describe, expect, it } from 'vitest';
import type { Checklist } from '../../../src/checklists/schema.js';
import { type Command, decide, type StartParams, startDeployment } from '../../../src/deployments/engine.js';
import type { Deployment } from '../../../src/deployments/model.js';
import type { Change } from '../../../src/deployments/service.js';
import { partitionPhase } from '../../../src/slack/render/phase-message.js';
import {
  expectedMessages,
  foldIntoCard,
  keysToUpdate,
  planChange,
  type ThreadStep,
  updatePriority,
} from '../../../src/slack/thread-plan.js';
import { smallChecklist, wideChecklist } from '../../support/checklists.js';

/**
 * The plan of which thread messages a change touches, from real engine transitions: what is posted (once),
 * what is updated, in the order the events happened.
 */

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
const roles = ['dba', 'tech-lead', 'deployer'];

function start(checklist: Checklist): Change {
  const { state, events } = startDeployment(checklist, params);
  return { deployment: state, checklist, events };
}

/** The change a command makes to a state (the engine's own decision). */
function step(checklist: Checklist, state: Deployment, command: Command): Change {
  const decision = decide(checklist, state, command);
  if (!decision.ok) throw new Error(`${decision.code}: ${decision.message}`);
  return { deployment: decision.state, checklist, events: decision.events };
}

function resolve(itemId: string, at = 2_000): Command {
  return { type: 'resolve-item', itemId, resolution: 'done', actor: 'U0ANY', actorRoles: roles, at };
}

function checkResult(outcome: 'passed' | 'failed', run = 1): Command {
  return {
    type: 'check-result',
    itemId: 'error-rate',
    run,
    result: { outcome, summary: `error rate ${outcome}`, attempts: 1, durationMs: 5, at: 9_000 },
  };
}

/** Where the small checklist stands once its first phase is done: `ship` open, its check requested. */
function atShip(checklist = smallChecklist()): Change {
  let change = start(checklist);
  for (const id of ['backup', 'tag']) change = step(checklist, change.deployment, resolve(id));
  return change;
}

const posts = (steps: ThreadStep[]) =>
  steps.flatMap((s) =>
    s.kind === 'post' ? [{ key: s.key, broadcast: s.broadcast, kind: s.message.kind }] : [],
  );
const updated = (steps: ThreadStep[]) => steps.flatMap((s) => (s.kind === 'update' ? s.keys : []));

describe('planChange', () => {
  it('posts the card, then the open phase, when a deployment starts', () => {
    const change = start(smallChecklist());
    expect(change.events.map((event) => event.type)).toEqual(['deployment.started', 'phase.opened']);
    expect(planChange(change)).toEqual([{ kind: 'card' }, { kind: 'phase', index: 0 }]);
  });

  it('updates the message showing a resolved item and the card, and posts nothing', () => {
    const checklist = smallChecklist();
    const change = step(checklist, start(checklist).deployment, resolve('backup'));
    expect(planChange(change)).toEqual([{ kind: 'update', keys: ['phase:prepare:0', 'card'] }]);
  });

  it("finishing a phase updates that phase and the card, then posts the next phase's messages", () => {
    const change = atShip();
    const steps = planChange(change);
    expect(steps).toContainEqual({ kind: 'update', keys: ['phase:prepare:0', 'card'] });
    expect(steps).toContainEqual({ kind: 'phase', index: 1 });
    expect(posts(steps)).toEqual([]);
    // The phase is posted after the phase before it was updated as completed, in event order.
    const completed = steps.findIndex((s) => s.kind === 'update' && s.keys.includes('phase:prepare:0'));
    expect(completed).toBeLessThan(steps.findIndex((s) => s.kind === 'phase'));
  });

  it('posts a failure reply for a failed check run (and not for a passed one)', () => {
    const checklist = smallChecklist();
    const shipping = atShip(checklist).deployment;
    const failed = planChange(step(checklist, shipping, checkResult('failed')));
    expect(posts(failed)).toEqual([{ key: 'failure:error-rate:1', broadcast: false, kind: 'check-failure' }]);
    // The reply is also in the updates: it changes when the item does (skipped while unposted).
    expect(updated(failed)).toEqual(['phase:ship:0', 'card', 'failure:error-rate:1']);
    // Passed, with the sign-off still pending: the deployment goes on, nothing to post.
    const passed = planChange(step(checklist, shipping, checkResult('passed')));
    expect(posts(passed)).toEqual([]);
  });

  it('at the end updates everything shown, then posts the report (key `summary`) to the channel too', () => {
    const checklist = smallChecklist();
    const shipping = step(checklist, atShip(checklist).deployment, resolve('approve', 3_000)).deployment;
    const steps = planChange(step(checklist, shipping, checkResult('passed')));
    expect(steps.at(-1)).toEqual({
      kind: 'post',
      key: 'summary',
      broadcast: true,
      message: { kind: 'report' },
    });
    expect(steps).toContainEqual({ kind: 'refresh', family: 'traffic-unknown' });
    const all = steps.find((s) => s.kind === 'update' && s.keys.includes('phase:prepare:0'));
    expect(all).toEqual({
      kind: 'update',
      keys: ['card', 'phase:prepare:0', 'phase:ship:0', 'failure:error-rate:1', 'summary'],
    });
  });

  it('an aborted deployment updates everything and posts its report; later changes update the report', () => {
    const checklist = smallChecklist();
    const aborted = step(checklist, start(checklist).deployment, {
      type: 'abort',
      actor: 'U0DEP',
      actorRoles: ['deployer'],
      reason: 'bad build',
      at: 3_000,
    });
    const steps = planChange(aborted);
    expect(steps[0]).toEqual({ kind: 'update', keys: ['card', 'phase:prepare:0', 'summary'] });
    expect(posts(steps)).toEqual([{ key: 'summary', broadcast: true, kind: 'report' }]);
    expect(keysToUpdate(aborted.deployment, checklist, ['card'])).toEqual(['card', 'summary']);
  });

  it('a rollback takes the buttons off every message, then posts its own message to the channel too', () => {
    const checklist = smallChecklist();
    const change = step(checklist, start(checklist).deployment, {
      type: 'request-rollback',
      actor: 'U0DEP',
      actorRoles: ['deployer'],
      reason: 'error rate',
      at: 2_000,
    });
    expect(planChange(change)).toEqual([
      { kind: 'update', keys: ['card', 'phase:prepare:0'] },
      // A shift whose outcome went unknown will not be read any more: its message says so.
      { kind: 'refresh', family: 'traffic-unknown' },
      { kind: 'post', key: 'rollback:1', broadcast: true, message: { kind: 'rollback', run: 1 } },
    ]);
  });

  it('an escalation level posts its call for help, then refreshes the messages about the same wait', () => {
    const checklist = smallChecklist();
    const { state } = startDeployment(checklist, {
      ...params,
      escalationLevels: [{ after: 100, notify: 'owner', page: false }],
    });
    const change = step(checklist, state, {
      type: 'escalate',
      key: 'phase:prepare',
      chain: 1,
      level: 1,
      at: 1_100,
    });
    expect(planChange(change)).toEqual([
      { kind: 'escalation', key: 'phase:prepare', chain: 1, level: 1, notify: 'owner' },
      { kind: 'refresh', family: 'escalation', cause: 'phase:prepare' },
    ]);
    expect(expectedMessages(change.deployment, checklist)).toEqual([
      'card',
      'phase:prepare:0',
      'escalation:phase:prepare:1:1',
    ]);
  });

  it('finds the part of a long phase that shows an item', () => {
    const checklist = wideChecklist(120);
    const phase = checklist.phases[0]!;
    const parts = partitionPhase(phase);
    expect(parts.length).toBeGreaterThan(1);
    const last = parts.length - 1;
    const itemId = parts[last]![0]!.id;
    const change = step(checklist, start(checklist).deployment, resolve(itemId));
    expect(planChange(change)).toEqual([{ kind: 'update', keys: [`phase:all:${last}`, 'card'] }]);
  });

  it('plans nothing for a change without events', () => {
    const change = start(smallChecklist());
    expect(planChange({ ...change, events: [] })).toEqual([]);
  });
});

describe('expectedMessages and updatePriority', () => {
  it('expects the card and every phase opened so far', () => {
    expect(expectedMessages(start(smallChecklist()).deployment, smallChecklist())).toEqual([
      'card',
      'phase:prepare:0',
    ]);
    const shipping = atShip();
    expect(expectedMessages(shipping.deployment, shipping.checklist)).toEqual([
      'card',
      'phase:prepare:0',
      'phase:ship:0',
    ]);
  });

  it('expects no phase messages in a folded thread, whose phases show in the card', () => {
    const shipping = atShip();
    expect(expectedMessages(shipping.deployment, shipping.checklist, 'folded')).toEqual(['card']);
  });

  it('turns the keys of phase messages into the card in a folded thread, each key once', () => {
    expect(foldIntoCard(['phase:prepare:0', 'card', 'failure:error-rate:1', 'phase:ship:1'])).toEqual([
      'card',
      'failure:error-rate:1',
    ]);
  });

  it('puts a completed phase and the card first, the rest after', () => {
    const { deployment, checklist } = atShip();
    expect(updatePriority(deployment, checklist, 'phase:prepare:0')).toBe(0);
    expect(updatePriority(deployment, checklist, 'card')).toBe(1);
    expect(updatePriority(deployment, checklist, 'phase:ship:0')).toBe(1);
    expect(updatePriority(deployment, checklist, 'failure:error-rate:1')).toBe(2);
  });
});
