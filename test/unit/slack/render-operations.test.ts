import { describe, expect, it } from 'vitest';
import { checklistSchema } from '../../../src/checklists/schema.js';
import {
  type Command,
  type DeploymentEvent,
  decide,
  startDeployment,
} from '../../../src/deployments/engine.js';
import type { Deployment } from '../../../src/deployments/model.js';
import {
  renderRollback,
  renderTrafficFailure,
  renderTrafficUnknown,
} from '../../../src/slack/render/operations.js';
import { renderStatusCard } from '../../../src/slack/render/status-card.js';

/** What the thread and the card say about the cluster: only what was read, and "unknown" otherwise. */

const checklist = checklistSchema.parse({
  id: 'canary',
  title: 'Canary',
  phases: [{ id: 'p', title: 'P', items: [{ id: 'notes', kind: 'manual', title: 'Notes' }] }],
});
const at0 = { weight: 0, description: 'canary 0% (stable 100%) via Ingress web-canary' };
const T = Date.UTC(2026, 10, 3, 14, 2, 5);

function apply(state: Deployment, command: Command, audit: DeploymentEvent[]): Deployment {
  const decision = decide(checklist, state, command);
  if (!decision.ok) throw new Error(decision.message);
  audit.push(...decision.events);
  return decision.state;
}

/** A deployment whose shift to 50% went unknown at 14:02:05, read again 4 s later. */
function unknownShift() {
  const audit: DeploymentEvent[] = [];
  let state = startDeployment(checklist, {
    id: 'd1',
    service: 'web',
    environment: 'production',
    version: '1.0.0',
    channel: 'C1',
    requestedBy: 'U0REQ',
    deployers: ['deployer'],
    trafficStrategy: 'canary',
    liveAtStart: at0,
    at: T - 10_000,
  }).state;
  const who = { actor: 'U0REQ', actorRoles: ['deployer'] };
  state = apply(state, { type: 'request-traffic', target: { weight: 50 }, ...who, at: T - 1_000 }, audit);
  state = apply(
    state,
    {
      type: 'traffic-result',
      run: 1,
      at: T,
      outcome: {
        ok: false,
        code: 'unknown',
        message: 'outcome unknown: the Kubernetes API answered 500, and reading it back failed too',
        rereadAt: T + 4_000,
      },
    },
    audit,
  );
  return { state, audit, who };
}

describe('a shift whose outcome is unknown', () => {
  it('says so, when it reads again, and never what it does not know', () => {
    const { state, audit } = unknownShift();
    const message = renderTrafficUnknown(state, 1, audit);
    expect(message.text).toBe(
      '🔀 Shifting to canary 50%: outcome unknown — re-reading (last try <!date^1793714525^{time_secs}|14:02:05 UTC>, next in 4s)',
    );
    // The time stays a date token Slack shows in each reader's time zone (not escaped into text).
    expect(JSON.stringify(message.blocks)).toContain(
      '*🔀 Shifting to canary 50%: outcome unknown — re-reading (last try <!date^1793714525^{time_secs}|14:02:05 UTC>, next in 4s)*',
    );
    expect(JSON.stringify(message)).not.toMatch(/half-applied|refused/);
    const card = JSON.stringify(renderStatusCard(state, checklist).blocks);
    expect(card).toContain(
      '*Traffic:* unknown — re-reading (last read before the shift: canary 0% (stable 100%) via Ingress web-canary)',
    );
  });

  it('once the deployment ended, nobody reads any more: "never learned", not "re-reading"', () => {
    const { state, audit, who } = unknownShift();
    const aborted = apply(state, { type: 'abort', ...who, reason: 'give up', at: T + 1_000 }, audit);
    const message = renderTrafficUnknown(aborted, 1, audit);
    expect(message.text).toBe(
      '🔀 Shifting to canary 50%: outcome never learned — the deployment ended before a read succeeded',
    );
    const card = JSON.stringify(renderStatusCard(aborted, checklist).blocks);
    expect(card).toContain('*Traffic:* unknown — no read succeeded before the deployment ended');
    expect(card).not.toContain('re-reading');
  });

  it('a rollback the same way: re-reading while it can, never learned once the deployment ended', () => {
    const { state: start, audit, who } = unknownShift();
    let state = apply(start, { type: 'request-rollback', ...who, reason: 'errors', at: T + 500 }, audit);
    state = apply(
      state,
      {
        type: 'rollback-result',
        run: 2,
        at: T + 1_000,
        outcome: { ok: false, code: 'unknown', message: 'outcome unknown: reset', rereadAt: T + 2_000 },
      },
      audit,
    );
    expect(renderRollback(state, 2, '@deployers').text).toMatch(
      /^↩️ Rolling back web 1\.0\.0: outcome unknown — re-reading \(last try .*, next in 1s\)$/,
    );
    const aborted = apply(state, { type: 'abort', ...who, reason: 'give up', at: T + 1_500 }, audit);
    expect(renderRollback(aborted, 2, '@deployers').text).toBe(
      '↩️ Rollback of web 1.0.0: outcome never learned — the deployment ended before a read succeeded',
    );
    // The shift the rollback superseded was never settled either.
    expect(renderTrafficUnknown(aborted, 1, audit).text).toBe(
      '🔀 Shifting to canary 50%: outcome never learned — the rollback took over, and reads the cluster itself',
    );
  });
});

describe('a failed shift', () => {
  const failed = (
    code: string,
    state?: typeof at0,
  ): Extract<DeploymentEvent, { type: 'traffic.failed' }> => ({
    type: 'traffic.failed',
    at: T,
    actor: 'U0REQ',
    run: 1,
    target: { weight: 50 },
    code,
    message: `${code} happened`,
    ...(state ? { state } : {}),
  });
  const footnote = (event: ReturnType<typeof failed>) => JSON.stringify(renderTrafficFailure(event).blocks);

  it('says nothing was half-applied only from what was read', () => {
    expect(footnote(failed('forbidden', at0))).toContain(
      'Nothing was half-applied: the API refused the change, and the state above is what Flightdeck read.',
    );
    expect(footnote(failed('unavailable', at0))).toContain(
      'Nothing was half-applied: a read after the failed write shows the state above.',
    );
    expect(footnote(failed('mismatch', at0))).toContain(
      'The change did not hold: the state above is what a read-back shows.',
    );
    // Nothing read (the strategy stopped before writing): no claim about the cluster at all.
    const unread = footnote(failed('forbidden'));
    expect(unread).toContain('No change was sent to the cluster.');
    expect(unread).not.toMatch(/half-applied|refused/);
  });
});
