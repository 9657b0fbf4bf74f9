import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Checklist, checklistSchema } from '../../../src/checklists/schema.js';
import {
  type Command,
  type DeploymentEvent,
  decide,
  startDeployment,
} from '../../../src/deployments/engine.js';
import type { Deployment, TrafficState, TrafficTarget } from '../../../src/deployments/model.js';
import { buildReport } from '../../../src/reports/report.js';
import { reportHeadline } from '../../../src/slack/render/report.js';

/**
 * The gates under any sequence of commands, of every type the engine knows, from people in any role —
 * with a simulated cluster answering traffic and rollback operations the way it was asked (or failing).
 * After every accepted command:
 *   1. a completed deployment never reports "deployed" with traffic short of its last traffic step; a
 *      shortfall is in the headline, and a step passed over by hand carries a reason;
 *   2. a sign-off never counts fewer distinct signers than `count` (nor the requester, with four eyes)
 *      unless it was waived, with a reason, by its `waivable_by` role and someone who did not sign;
 *   3. a rollback only ever goes to what was live when the deployment started.
 */

const ACTORS = ['U0REQ', 'U0DEP', 'U0OPS', 'U0APP1', 'U0APP2', 'U0QA', 'U0OUT', 'flightdeck'] as const;
const ROLES = ['deployer', 'approver', 'ops', 'qa', 'on-call'] as const;
const TIMES = { start: 1_000_000 };

function checklist(kind: 'canary' | 'blue-green'): Checklist {
  const steps =
    kind === 'canary'
      ? [
          { id: 'step-1', kind: 'traffic', title: 'Canary 10%', traffic: { weight: 10 } },
          { id: 'watch', kind: 'wait', title: 'Watch', wait: { duration: '10m' } },
          { id: 'step-2', kind: 'traffic', title: 'All traffic', traffic: { weight: 100 } },
        ]
      : [
          { id: 'step-1', kind: 'traffic', title: 'Switch to green', traffic: { slot: 'green' } },
          { id: 'watch', kind: 'wait', title: 'Soak', wait: { duration: '10m' } },
        ];
  return checklistSchema.parse({
    id: kind,
    title: kind,
    four_eyes: true,
    phases: [
      {
        id: 'prepare',
        title: 'Prepare',
        items: [
          { id: 'manual', kind: 'manual', title: 'Ops step', owner: 'ops' },
          { id: 'sign', kind: 'signoff', title: 'Two approvers', signoff: { role: 'approver', count: 2 } },
          {
            id: 'waivable',
            kind: 'signoff',
            title: 'Waivable',
            signoff: { role: 'approver', count: 2, waivable_by: 'deployer' },
          },
          {
            id: 'check',
            kind: 'check',
            title: 'A check',
            owner: 'ops',
            check: { type: 'tcp', host: 'db', port: 1 },
          },
        ],
      },
      { id: 'rollout', title: 'Rollout', sequential: true, items: steps },
    ],
    rollback: {
      triggers: [
        {
          id: 'health',
          title: 'Health',
          condition: { type: 'http', url: 'http://x/health' },
          for: '1m',
        },
      ],
      phases: [
        { id: 'after', title: 'After', items: [{ id: 'tell', kind: 'manual', title: 'Tell people' }] },
      ],
    },
  });
}

const LIVE: Record<'canary' | 'blue-green', TrafficState> = {
  canary: { weight: 0, description: 'canary 0%' },
  'blue-green': { slot: 'blue', description: 'blue live' },
};

/** What a person (or a worker, a timer, a trigger) might send, made concrete against the state. */
type Intent = (state: Deployment, at: number) => Command;

const actor = fc.constantFrom(...ACTORS);
const roles = fc.subarray([...ROLES]);
const itemId = fc.constantFrom('manual', 'sign', 'waivable', 'check', 'step-1', 'watch', 'step-2', 'tell');
const reason = fc.constantFrom(undefined, '', 'because');
const target: fc.Arbitrary<TrafficTarget> = fc.oneof(
  fc.constantFrom(0, 10, 50, 100).map((weight) => ({ weight })),
  fc.constantFrom('blue' as const, 'green' as const).map((slot) => ({ slot })),
);

/** Type the command an intent builds (so literal types stay literal). */
const intent = (build: Intent): Intent => build;

const intents: fc.Arbitrary<Intent> = fc.oneof(
  // Ending moves (abort, rollback, a later deployment, pause) are rarer, so runs also get far.
  {
    weight: 5,
    arbitrary: fc
      .record({ itemId, resolution: fc.constantFrom('done', 'skipped', 'n/a'), actor, roles, reason })
      .map((c) =>
        intent((_s, at) => ({
          type: 'resolve-item',
          itemId: c.itemId,
          resolution: c.resolution as 'done' | 'skipped' | 'n/a',
          actor: c.actor,
          actorRoles: c.roles,
          ...(c.reason !== undefined ? { reason: c.reason } : {}),
          at,
        })),
      ),
  },
  {
    weight: 5,
    arbitrary: fc.record({ itemId, actor, roles }).map((c) =>
      intent((_s, at) => ({
        type: 'reopen-item',
        itemId: c.itemId,
        actor: c.actor,
        actorRoles: c.roles,
        at,
      })),
    ),
  },
  {
    weight: 5,
    arbitrary: fc
      .record({ itemId, actor })
      .map((c) => intent((_s, at) => ({ type: 'withdraw-signoff', itemId: c.itemId, actor: c.actor, at }))),
  },
  {
    weight: 5,
    arbitrary: fc
      .record({ outcome: fc.constantFrom('passed', 'failed', 'error'), stale: fc.boolean() })
      .map((c) =>
        intent((s, at) => ({
          type: 'check-result',
          itemId: 'check',
          run: (s.items.check?.run ?? 1) - (c.stale ? 1 : 0),
          result: {
            outcome: c.outcome as 'passed' | 'failed' | 'error',
            summary: c.outcome,
            attempts: 1,
            durationMs: 1,
            at,
          },
        })),
      ),
  },
  {
    weight: 5,
    arbitrary: fc.record({ actor, roles }).map((c) =>
      intent((_s, at) => ({
        type: 'rerun-check',
        itemId: 'check',
        actor: c.actor,
        actorRoles: c.roles,
        at,
      })),
    ),
  },
  {
    weight: 5,
    arbitrary: fc.record({ actor, roles, reason: fc.constantFrom('', 'ok really') }).map((c) =>
      intent((_s, at) => ({
        type: 'override-check',
        itemId: 'check',
        actor: c.actor,
        actorRoles: c.roles,
        reason: c.reason,
        at,
      })),
    ),
  },
  { weight: 5, arbitrary: actor.map((who) => intent((_s, at) => ({ type: 'complete', actor: who, at }))) },
  {
    weight: 1,
    arbitrary: fc
      .record({ actor, roles })
      .map((c) =>
        intent((_s, at) => ({ type: 'abort', actor: c.actor, actorRoles: c.roles, reason: 'stop', at })),
      ),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ actor, roles, pause: fc.boolean() })
      .map((c) =>
        intent((_s, at) => ({ type: c.pause ? 'pause' : 'resume', actor: c.actor, actorRoles: c.roles, at })),
      ),
  },
  {
    weight: 5,
    arbitrary: fc
      .record({ actor, roles, itemId: fc.constantFrom('step-1', 'step-2', undefined), target })
      .map((c) =>
        intent((_s, at) => ({
          type: 'request-traffic',
          actor: c.actor,
          actorRoles: c.roles,
          at,
          ...(c.itemId ? { itemId: c.itemId } : { target: c.target }),
        })),
      ),
  },
  { weight: 5, arbitrary: fc.boolean().map((ok) => intent((s, at) => clusterAnswer(s, at, 'traffic', ok))) },
  {
    weight: 1,
    arbitrary: fc.record({ actor, roles, reason: fc.constantFrom('', 'errors up') }).map((c) =>
      intent((_s, at) => ({
        type: 'request-rollback',
        actor: c.actor,
        actorRoles: c.roles,
        reason: c.reason,
        at,
      })),
    ),
  },
  { weight: 5, arbitrary: fc.boolean().map((ok) => intent((s, at) => clusterAnswer(s, at, 'rollback', ok))) },
  {
    weight: 5,
    arbitrary: fc.integer({ min: 1, max: 2 }).map((level) =>
      intent((s, at) => ({
        type: 'escalate',
        key: Object.keys(s.escalations ?? {})[0] ?? 'phase:prepare',
        chain: Object.values(s.escalations ?? {})[0]?.chain ?? 1,
        level,
        at,
      })),
    ),
  },
  {
    weight: 5,
    arbitrary: fc.record({ actor, roles }).map((c) =>
      intent((s, at) => ({
        type: 'acknowledge-escalation',
        key: Object.keys(s.escalations ?? {})[0] ?? 'phase:prepare',
        actor: c.actor,
        actorRoles: c.roles,
        at,
      })),
    ),
  },
  {
    weight: 5,
    arbitrary: actor.map((who) =>
      intent((_s, at) => ({
        type: 'record-retrospective',
        actor: who,
        actorRoles: ['deployer'],
        retrospective: { issues: { critical: 0, major: 0, minor: 0 }, answers: {} },
        at,
      })),
    ),
  },
  {
    weight: 5,
    arbitrary: fc.constant(intent((_s, at) => ({ type: 'open-follow-up', phaseId: 'none', at }))),
  },
  {
    weight: 5,
    arbitrary: fc.constant(
      intent((s, at) => ({ type: 'wait-elapsed', itemId: 'watch', run: s.items.watch?.run ?? 1, at })),
    ),
  },
  {
    weight: 5,
    arbitrary: fc
      .boolean()
      .map((fire) =>
        intent((_s, at) =>
          fire
            ? { type: 'guard-fired', triggerId: 'health', measured: 'HTTP 503', at }
            : { type: 'guard-cleared', triggerId: 'health', at },
        ),
      ),
  },
  {
    weight: 5,
    arbitrary: fc.record({ actor, roles, reason: fc.constantFrom('', 'flaky') }).map((c) =>
      intent((_s, at) => ({
        type: 'override-guard',
        triggerId: 'health',
        actor: c.actor,
        actorRoles: c.roles,
        reason: c.reason,
        at,
      })),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constant(intent((_s, at) => ({ type: 'supersede', by: 'd-next', version: '2', at }))),
  },
  { weight: 5, arbitrary: fc.constant(intent((_s, at) => ({ type: 'end-watch', at }))) },
);

/**
 * A team going on with the checklist (so runs get as far as completion, a rollback, a waiver): the next
 * step done by someone who may, the cluster and the timers answering. Mixed with the random intents.
 */
const progress = intent((s, at) => {
  if (s.operation) return clusterAnswer(s, at, s.operation.kind, true);
  const list = s.checklistId === 'canary' ? CHECKLISTS.canary : CHECKLISTS['blue-green'];
  const phases = s.status === 'rolled_back' ? (list.rollback?.phases ?? []) : list.phases;
  const open = phases.find((phase) => s.phases[phase.id]?.status === 'active');
  const next = open?.items.find((item) => {
    const status = s.items[item.id]?.status ?? 'pending';
    return !['passed', 'done', 'skipped', 'n/a'].includes(status);
  });
  const as = (actor: string, actorRoles: string[]) => ({ actor, actorRoles, at });
  switch (next?.kind) {
    case 'manual':
      return {
        type: 'resolve-item',
        itemId: next.id,
        resolution: 'done',
        ...as('U0OPS', ['ops', 'deployer']),
      };
    case 'signoff': {
      const signed = (s.items[next.id]?.signatures ?? []).map((signature) => signature.by);
      const signer = signed.includes('U0APP1') ? 'U0APP2' : 'U0APP1';
      return { type: 'resolve-item', itemId: next.id, resolution: 'done', ...as(signer, ['approver']) };
    }
    case 'check':
      return s.items[next.id]?.status === 'running'
        ? {
            type: 'check-result',
            itemId: next.id,
            run: s.items[next.id]?.run ?? 1,
            result: { outcome: 'passed', summary: 'ok', attempts: 1, durationMs: 1, at },
          }
        : { type: 'rerun-check', itemId: next.id, ...as('U0DEP', ['deployer']) };
    case 'traffic':
      return { type: 'request-traffic', itemId: next.id, ...as('U0DEP', ['deployer']) };
    case 'wait':
      return { type: 'wait-elapsed', itemId: next.id, run: s.items[next.id]?.run ?? 1, at };
    default:
      return { type: 'complete', actor: 'U0DEP', at };
  }
});

/** What a team decides instead of the plan: skip a step or a watch with a reason, waive, override a hold. */
const deviations: fc.Arbitrary<Intent> = fc.oneof(
  fc.constantFrom('step-1', 'step-2', 'watch').map((itemId) =>
    intent((_s, at) => ({
      type: 'resolve-item',
      itemId,
      resolution: 'skipped',
      reason: 'not this time',
      actor: 'U0DEP',
      actorRoles: ['deployer'],
      at,
    })),
  ),
  fc.constantFrom('U0DEP', 'U0REQ', 'U0APP1').map((actor) =>
    intent((_s, at) => ({
      type: 'resolve-item',
      itemId: 'waivable',
      resolution: 'skipped',
      reason: 'approver out',
      actor,
      actorRoles: actor === 'U0APP1' ? ['approver', 'deployer'] : ['deployer', 'approver'],
      at,
    })),
  ),
  fc.constant(intent((_s, at) => ({ type: 'guard-fired', triggerId: 'health', measured: 'HTTP 503', at }))),
  fc.constant(
    intent((_s, at) => ({
      type: 'override-guard',
      triggerId: 'health',
      reason: 'flaky endpoint',
      actor: 'U0DEP',
      actorRoles: ['deployer'],
      at,
    })),
  ),
  fc.constant(
    intent((_s, at) => ({
      type: 'request-rollback',
      reason: 'errors up',
      actor: 'U0DEP',
      actorRoles: ['deployer'],
      at,
    })),
  ),
);

const sequences = fc.array(
  fc.oneof(
    { arbitrary: fc.constant(progress), weight: 6 },
    { arbitrary: deviations, weight: 3 },
    { arbitrary: intents, weight: 3 },
  ),
  { minLength: 40, maxLength: 150, size: 'max' },
);

/** The simulated cluster: does what the current operation asked (or fails, showing where it is). */
function clusterAnswer(state: Deployment, at: number, kind: 'traffic' | 'rollback', ok: boolean): Command {
  const operation = state.operation;
  const run = operation?.run ?? 1;
  const before = state.traffic?.current ?? { description: 'unknown' };
  const type = kind === 'traffic' ? 'traffic-result' : 'rollback-result';
  if (!ok) return { type, run, at, outcome: { ok: false, code: 'timeout', message: 'no answer' } };
  const asked = operation?.target;
  const wanted: TrafficState | undefined =
    kind === 'rollback'
      ? operation?.to
      : asked === undefined
        ? undefined
        : 'weight' in asked
          ? { weight: asked.weight, description: `canary ${asked.weight}%` }
          : { slot: asked.slot, description: `${asked.slot} live` };
  const after = wanted ?? before;
  const moved = JSON.stringify(after) !== JSON.stringify(before);
  return { type, run, at, outcome: { ok: true, before, after, attempts: moved ? 1 : 0, durationMs: 5 } };
}

function reached(target: TrafficTarget, state: TrafficState | undefined): boolean {
  return 'slot' in target ? state?.slot === target.slot : state?.weight === target.weight;
}

const CHECKLISTS = { canary: checklist('canary'), 'blue-green': checklist('blue-green') };

describe('the gates under random command sequences', () => {
  it.each(['canary', 'blue-green'] as const)('%s: the three invariants hold after every command', (kind) => {
    const list = CHECKLISTS[kind];
    // What the runs reached, so the property cannot hold vacuously (e.g. every command refused).
    const seen = { completed: 0, shortfall: 0, rolledBack: 0, waived: 0, signed: 0, held: 0 };
    const unseen = () => Object.values(seen).some((count) => count === 0);
    // Rounds of fresh random sequences until each outcome was reached (a rare one, such as a blue-green
    // shortfall, can miss 600 runs by chance); an invariant broken in any round fails at once.
    for (let round = 0; round < 5 && (round === 0 || unseen()); round++)
      fc.assert(
        fc.property(sequences, (sequence) => {
          const started = startDeployment(list, {
            id: 'd1',
            service: 'svc',
            environment: 'production',
            version: '1.0.0',
            channel: 'C0SVC',
            requestedBy: 'U0REQ',
            deployers: ['deployer'],
            escalationLevels: [
              { after: 10, notify: 'owner', page: false },
              { after: 20, notify: 'on-call', page: false },
            ],
            liveAtStart: LIVE[kind],
            at: TIMES.start,
          });
          let state = started.state;
          const audit: DeploymentEvent[] = [...started.events];
          let at = TIMES.start;
          for (const intent of sequence) {
            at += 1_000;
            const decision = decide(list, state, intent(state, at));
            if (!decision.ok) continue;
            state = decision.state;
            audit.push(...decision.events);
            checkInvariants(list, state, audit, at, kind);
          }
          if (state.status === 'completed') seen.completed++;
          if (state.status === 'completed' && buildReport(state, list, audit, at).trafficShortfall)
            seen.shortfall++;
          if (state.status === 'rolled_back') seen.rolledBack++;
          if (state.items.waivable?.waived) seen.waived++;
          if (state.items.sign?.status === 'done') seen.signed++;
          if (audit.some((event) => event.type === 'guard.overridden')) seen.held++;
        }),
        { numRuns: 600 },
      );
    for (const [what, count] of Object.entries(seen)) expect(count, what).toBeGreaterThan(0);
  });
});

function checkInvariants(
  list: Checklist,
  state: Deployment,
  audit: DeploymentEvent[],
  at: number,
  kind: 'canary' | 'blue-green',
): void {
  // 1. "deployed" only when traffic ended where the last traffic step put it.
  if (state.status === 'completed') {
    const report = buildReport(state, list, audit, at);
    const last = kind === 'canary' ? 'step-2' : 'step-1';
    const step = list.phases[1]!.items.find((item) => item.id === last)!;
    const ended = step.kind === 'traffic' && reached(step.traffic, state.traffic?.current);
    if (reportHeadline(report).startsWith('✅')) expect(ended).toBe(true);
    else expect(report.trafficShortfall).toBeDefined();
    const stepState = state.items[last];
    if (stepState?.status === 'skipped' || stepState?.status === 'n/a')
      expect(stepState.reason?.trim()).toBeTruthy();
  }
  // 2. Sign-offs: enough distinct signers, never the requester — or a proper waiver.
  for (const id of ['sign', 'waivable']) {
    const item = state.items[id];
    const signers = new Set((item?.signatures ?? []).map((signature) => signature.by));
    expect(signers.has('U0REQ')).toBe(false);
    if (item?.status === 'done') expect(signers.size).toBeGreaterThanOrEqual(2);
    if (item?.status === 'skipped' || item?.status === 'n/a') {
      expect(id).toBe('waivable');
      expect(item.waived).toBe(true);
      expect(item.reason?.trim()).toBeTruthy();
      expect(item.by).not.toBe('U0REQ');
      expect(signers.has(item.by ?? '')).toBe(false);
    }
  }
  // 3. A rollback only ever asks for what was live when the deployment started.
  if (state.operation?.kind === 'rollback') expect(state.operation.to).toEqual(LIVE[kind]);
  for (const event of audit) if (event.type === 'rollback.requested') expect(event.to).toEqual(LIVE[kind]);
  if (state.status === 'rolled_back' && state.rollback?.after)
    expect(state.rollback.after).toEqual(LIVE[kind]);
}
