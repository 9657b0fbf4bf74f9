import { describe, expect, it } from 'vitest';
import { checklistSchema } from '../../../src/checklists/schema.js';
import { type Command, decide, startDeployment } from '../../../src/deployments/engine.js';
import type { Deployment } from '../../../src/deployments/model.js';
import { itemCounts } from '../../../src/deployments/progress.js';
import { describeEscalation } from '../../../src/escalations/describe.js';
import { buildReport } from '../../../src/reports/report.js';
import { levelStillWanted, renderEscalation } from '../../../src/slack/render/escalation.js';
import { renderStatusCard } from '../../../src/slack/render/status-card.js';

/**
 * Messages without noise: an escalation says what waits for people now and reads as what it is
 * (open, acknowledged, resolved), one that nobody needs any more is not posted, and the card and the
 * report count items one way.
 */

const checklist = checklistSchema.parse({
  id: 'c',
  title: 'C',
  phases: [
    {
      id: 'prep',
      title: 'Preparation',
      items: [
        { id: 'backup', kind: 'manual', title: 'Backup', owner: 'dba' },
        { id: 'notes', kind: 'manual', title: 'Notes', owner: 'dba' },
        { id: 'probe', kind: 'check', title: 'Probe', check: { type: 'tcp', host: 'db', port: 1 } },
      ],
    },
    { id: 'ship', title: 'Ship', items: [{ id: 'ship-it', kind: 'manual', title: 'Ship it' }] },
  ],
  rollback: {
    phases: [{ id: 'after', title: 'After', items: [{ id: 'tell', kind: 'manual', title: 'Tell people' }] }],
  },
});

function run(commands: Command[]): Deployment {
  let state = startDeployment(checklist, {
    id: 'd1',
    service: 'db',
    environment: 'production',
    version: '1.0.0',
    channel: 'C0DB',
    requestedBy: 'U0REQ',
    deployers: ['deployer'],
    escalationLevels: [{ after: 60_000, notify: 'owner', page: false }],
    at: 1_000,
  }).state;
  for (const command of commands) {
    const decision = decide(checklist, state, command);
    if (!decision.ok) throw new Error(decision.message);
    state = decision.state;
  }
  return state;
}

const done = (itemId: string, at: number): Command => ({
  type: 'resolve-item',
  itemId,
  resolution: 'done',
  actor: 'U0DBA',
  actorRoles: ['dba'],
  at,
});

describe('escalation messages', () => {
  it('name only what waits for people now, and never "waits for 0 items"', () => {
    const waiting = run([{ type: 'escalate', key: 'phase:prep', chain: 1, level: 1, at: 61_000 }]);
    expect(describeEscalation(checklist, waiting, 'phase:prep')).toBe(
      '“Preparation” waits for 2 steps: “Backup”, “Notes”',
    );
    const one = run([done('backup', 2_000)]);
    expect(describeEscalation(checklist, one, 'phase:prep')).toBe('“Preparation” waits for “Notes”');
    const none = run([done('backup', 2_000), done('notes', 3_000)]);
    expect(describeEscalation(checklist, none, 'phase:prep')).not.toMatch(/waits for 0/);
  });

  it('read as what they are once answered, and only an open one asks for an acknowledgement', () => {
    const open = run([{ type: 'escalate', key: 'phase:prep', chain: 1, level: 1, at: 61_000 }]);
    const text = (state: Deployment) =>
      JSON.stringify(renderEscalation(state, checklist, 'phase:prep', 1, 1, '<@U0DBA>', 70_000).blocks);
    expect(text(open)).toContain('⏰ *Still waiting*');
    const acknowledged = run([
      { type: 'escalate', key: 'phase:prep', chain: 1, level: 1, at: 61_000 },
      { type: 'acknowledge-escalation', key: 'phase:prep', actor: 'U0DBA', actorRoles: ['dba'], at: 62_000 },
    ]);
    expect(text(acknowledged)).toMatch(/👀 \*Acknowledged by <@U0DBA>\*/);
    expect(text(acknowledged)).not.toContain('Still waiting');
    const resolved = run([
      { type: 'escalate', key: 'phase:prep', chain: 1, level: 1, at: 61_000 },
      done('backup', 62_000),
      done('notes', 63_000),
    ]);
    expect(text(resolved)).toMatch(/✅ \*Resolved .*nothing waits for people here any more/);
    expect(text(resolved)).not.toMatch(/Still waiting|acknowledge to stop/);
  });

  it('are not posted once nobody needs them (the wait ended, or someone took it)', () => {
    const fired = run([{ type: 'escalate', key: 'phase:prep', chain: 1, level: 1, at: 61_000 }]);
    expect(levelStillWanted(fired, 'phase:prep', 1)).toBe(true);
    const ended = run([
      { type: 'escalate', key: 'phase:prep', chain: 1, level: 1, at: 61_000 },
      done('backup', 61_001),
      done('notes', 61_002),
    ]);
    expect(levelStillWanted(ended, 'phase:prep', 1)).toBe(false);
    const taken = run([
      { type: 'escalate', key: 'phase:prep', chain: 1, level: 1, at: 61_000 },
      { type: 'acknowledge-escalation', key: 'phase:prep', actor: 'U0REQ', actorRoles: [], at: 61_001 },
    ]);
    expect(levelStillWanted(taken, 'phase:prep', 1)).toBe(false);
  });
});

describe('one count, one definition', () => {
  it('the card, /deploy status and the report count the same items after a rollback', () => {
    const rolledBack = run([
      done('backup', 2_000),
      { type: 'request-rollback', actor: 'U0REQ', actorRoles: [], reason: 'bad', at: 3_000 },
      {
        type: 'rollback-result',
        run: 1,
        at: 4_000,
        outcome: {
          ok: true,
          before: { description: 'x' },
          after: { description: 'rolled back by hand' },
          attempts: 0,
          durationMs: 0,
        },
      },
    ]);
    const counts = itemCounts(rolledBack, checklist);
    const report = buildReport(rolledBack, checklist, undefined, 5_000);
    expect(counts.total).toBe(5); // four in the flow, one in the rollback phase that opened
    expect(report.items.total).toBe(counts.total);
    expect(report.items.done).toBe(counts.done);
    const card = JSON.stringify(renderStatusCard(rolledBack, checklist).blocks);
    expect(card).toContain(`${counts.resolved}/${counts.total} items`);
  });
});
