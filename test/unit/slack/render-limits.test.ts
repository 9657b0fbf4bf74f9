import { describe, expect, it } from 'vitest';
import { loadChecklists } from '../../../src/checklists/loader.js';
import { allPhases } from '../../../src/checklists/phases.js';
import { startDeployment } from '../../../src/deployments/engine.js';
import type { Deployment, ItemState } from '../../../src/deployments/model.js';
import { buildReport } from '../../../src/reports/report.js';
import {
  blockTextLength,
  MESSAGE_LIMITS,
  messageBlockProblems,
} from '../../../src/sandbox/slack/block-kit-rules.js';
import { renderItemDetails, renderPhaseDetails } from '../../../src/slack/render/details.js';
import { canFold, renderFoldedCard } from '../../../src/slack/render/folded-card.js';
import type { SlackMessage } from '../../../src/slack/render/format.js';
import { partitionPhase, renderPhasePart } from '../../../src/slack/render/phase-message.js';
import { renderReportMessage } from '../../../src/slack/render/report.js';
import { renderStatusCard } from '../../../src/slack/render/status-card.js';

/**
 * Every message the bot can post for the five seed checklists, in every state an item can be in, checked
 * against Block Kit's limits with the same rules the fake Slack enforces.
 */

const { checklists, problems } = await loadChecklists({ dir: 'checklists' });
const LONG_REASON = 'because '.repeat(200); // longer than any reason is shown
const LINKS = { a: 'https://a.example.com', b: 'https://b.example.com' };

const STATES: Record<string, (itemId: string) => ItemState> = {
  pending: () => ({ status: 'pending' }),
  done: () => ({ status: 'done', by: 'U0TECHLEAD', at: Date.UTC(2026, 10, 23, 14, 2) }),
  'skipped with a long reason': () => ({
    status: 'skipped',
    by: 'U0DEVOPS',
    at: Date.UTC(2026, 10, 23),
    reason: LONG_REASON,
  }),
  'n/a': () => ({ status: 'n/a', by: 'U0DEV1', at: Date.UTC(2026, 10, 23) }),
};

function assertFits(label: string, message: SlackMessage) {
  const found = messageBlockProblems(message.blocks).map(
    (problem) => `${problem.message} @ ${problem.pointer}`,
  );
  expect(found, label).toEqual([]);
  expect(message.blocks.length, label).toBeLessThanOrEqual(50);
  expect(blockTextLength(message.blocks), label).toBeLessThan(MESSAGE_LIMITS.blockText);
  const ids = message.blocks.map((block) => block.block_id).filter(Boolean);
  expect(new Set(ids).size, `${label}: unique block ids`).toBe(ids.length);
  expect(message.text.length, label).toBeGreaterThan(0);
}

describe('Block Kit limits across the five seed checklists', () => {
  it('loads all five', () => {
    expect(problems).toEqual([]);
    expect([...checklists.keys()].sort()).toEqual([
      'blue-green-release',
      'canary-release',
      'kubernetes-rollout-signoff',
      'marketplace-launch',
      'platform-readiness',
    ]);
  });

  for (const [id, checklist] of checklists) {
    it(`${id}: every phase part, card, report and details fit`, () => {
      let messages = 0;
      for (const [stateName, makeState] of Object.entries(STATES)) {
        const base = startDeployment(checklist, {
          id: 'dmaxlengthid0001',
          service: 'a-service-with-a-rather-long-name-for-testing',
          environment: 'production',
          version: 'v10.20.30-rc.1+build.20261123',
          channel: 'C0TEST',
          requestedBy: 'U0DEPLOYER',
          deployers: ['deployer'],
          at: Date.UTC(2026, 10, 23),
        }).state;
        checklist.phases.forEach((phase, phaseIndex) => {
          const deployment: Deployment = structuredClone(base);
          for (const item of phase.items) deployment.items[item.id] = makeState(item.id);
          for (const status of ['active', 'completed'] as const) {
            deployment.phases[phase.id] = {
              status,
              openedAt: 1,
              ...(status === 'completed' ? { completedAt: 2 } : {}),
            };
            partitionPhase(phase).forEach((_, part) => {
              assertFits(
                `${id} ${phase.id}#${part} ${stateName} ${status}`,
                renderPhasePart(deployment, checklist, phaseIndex, part),
              );
              messages++;
            });
            // A busy channel's card, with the open phase inside it.
            if (canFold(checklist))
              assertFits(
                `${id} folded card ${phase.id} ${stateName} ${status}`,
                renderFoldedCard(deployment, checklist, { namespace: 'ns', links: LINKS }, {}),
              );
          }
        });
        const ended: Deployment = {
          ...structuredClone(base),
          status: 'aborted',
          endedAt: 9,
          endedBy: 'U0X',
          endReason: LONG_REASON,
        };
        for (const item of checklist.phases.flatMap((phase) => phase.items))
          ended.items[item.id] = makeState(item.id);
        assertFits(
          `${id} card ${stateName}`,
          renderStatusCard(ended, checklist, {
            namespace: 'ns',
            links: LINKS,
          }),
        );
        assertFits(
          `${id} report ${stateName}`,
          renderReportMessage(buildReport(ended, checklist, undefined, Date.UTC(2026, 10, 24))),
        );
      }
      for (const { phase } of allPhases(checklist)) {
        assertFits(`${id} runbook ${phase.id}`, renderPhaseDetails(phase));
        for (const item of phase.items) assertFits(`${id} details ${item.id}`, renderItemDetails(item));
      }
      expect(messages).toBeGreaterThan(checklist.phases.length * 8 - 1);
    });
  }

  it.each([
    ['short titles (the block cap binds)', 'Step'],
    ['300-character titles (the text cap binds)', 'x'.repeat(290)],
  ])('splits a phase too big for one message into parts that each fit: %s', (_label, title) => {
    const checklist = checklists.get('platform-readiness')!;
    const template = checklist.phases[0]!.items[0]!;
    const huge = {
      ...checklist.phases[0]!,
      items: Array.from({ length: 120 }, (_, index) => ({
        ...template,
        id: `x-${index}`,
        title: `${title} ${index}`,
      })),
    };
    const parts = partitionPhase(huge);
    expect(parts.length).toBeGreaterThan(2);
    expect(parts.flat()).toHaveLength(120);
    const big = { ...checklist, phases: [huge] };
    const base = startDeployment(big, {
      id: 'd1',
      service: 's',
      environment: 'e',
      version: '1',
      channel: 'C1',
      requestedBy: 'U1',
      deployers: [],
      at: 1,
    }).state;
    for (const [stateName, makeState] of Object.entries(STATES)) {
      const deployment: Deployment = structuredClone(base);
      for (const item of huge.items) deployment.items[item.id] = makeState(item.id);
      for (let part = 0; part < parts.length; part++) {
        assertFits(`huge part ${part} ${stateName}`, renderPhasePart(deployment, big, 0, part));
      }
    }
  });
});

describe('which seed checklists a busy channel folds into the card', () => {
  it('folds those whose every phase fits in one message beside the card, without follow-ups', () => {
    const foldable = [...checklists.entries()]
      .filter(([, checklist]) => canFold(checklist))
      .map(([id]) => id);
    expect(foldable.length).toBeGreaterThan(0);
    for (const [id, checklist] of checklists) {
      const followUps = checklist.phases.some((phase) => phase.after !== undefined);
      const split = allPhases(checklist).some(({ phase }) => partitionPhase(phase).length > 1);
      if (followUps || split) expect(foldable, id).not.toContain(id);
    }
  });
});
