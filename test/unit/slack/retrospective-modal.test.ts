import { describe, expect, it } from 'vitest';
import { loadChecklists } from '../../../src/checklists/loader.js';
import { startDeployment } from '../../../src/deployments/engine.js';
import type { Deployment } from '../../../src/deployments/model.js';
import { modalViewProblems } from '../../../src/sandbox/slack/block-kit-rules.js';
import { FIELD } from '../../../src/slack/action-ids.js';
import { readRetrospective, retrospectiveModal } from '../../../src/slack/actions/report-actions.js';

/** The Retrospective modal for every seed checklist, and what a submission may hold. */

const { checklists } = await loadChecklists({ dir: 'checklists' });
const origin = { channel: 'C0X', deploymentId: 'd1', target: 'retrospective', threadTs: '1.2' };

function ended(checklistId: string): Deployment {
  const checklist = checklists.get(checklistId)!;
  const state = startDeployment(checklist, {
    id: 'd1',
    service: 'svc',
    environment: 'production',
    version: '1.0.0',
    channel: 'C0X',
    requestedBy: 'U0REQ',
    deployers: [],
    at: 1,
  }).state;
  return { ...state, status: 'aborted', endedAt: 2 };
}

type Values = Parameters<typeof readRetrospective>[0];
const value = (text: string | null) => ({ [FIELD.retroInput]: { type: 'plain_text_input', value: text } });

describe('retrospective modal', () => {
  it.each([...checklists.keys()])('%s: fits Slack’s modal rules', (id) => {
    const view = retrospectiveModal(ended(id), checklists.get(id)!, origin);
    expect(modalViewProblems(view)).toEqual([]);
  });

  it('asks seed 002’s questions as free text, pre-filled when amending', () => {
    const deployment = ended('platform-readiness');
    deployment.retrospective = {
      by: 'U0A',
      at: 3,
      issues: { critical: 1, major: 0, minor: 4 },
      answers: { 'what-could-be-improved': 'faster canary' },
    };
    const view = retrospectiveModal(deployment, checklists.get('platform-readiness')!, origin);
    const blocks = JSON.stringify(view.blocks);
    expect(blocks).toContain(`"block_id":"${FIELD.retroQuestionPrefix}what-could-be-improved"`);
    expect(blocks).toContain('"initial_value":"faster canary"');
    expect(blocks).toContain('"initial_value":"4"');
    expect(blocks).not.toContain(`${FIELD.retroQuestionPrefix}post-deployment-issues`);
    expect(blocks).not.toContain(`${FIELD.retroQuestionPrefix}user-impact`);
    expect(JSON.parse(view.private_metadata as string)).toEqual(origin);
  });
});

describe('readRetrospective', () => {
  it('reads counts, impact and the answers given (empty counts are 0, empty answers left out)', () => {
    const values: Values = {
      [FIELD.retroCritical]: value('0'),
      [FIELD.retroMajor]: value(' 2 '),
      [FIELD.retroMinor]: value(null),
      [FIELD.retroUserImpact]: value('about 40 users'),
      [`${FIELD.retroQuestionPrefix}what-went-well`]: value('Quick rollback.'),
      [`${FIELD.retroQuestionPrefix}what-could-be-improved`]: value('   '),
    };
    expect(readRetrospective(values)).toEqual({
      ok: true,
      retrospective: {
        issues: { critical: 0, major: 2, minor: 0 },
        userImpact: 'about 40 users',
        answers: { 'what-went-well': 'Quick rollback.' },
      },
    });
  });

  it.each(['-1', '1.5', 'lots', '100001'])('refuses %j as a count, on its field', (count) => {
    const result = readRetrospective({ [FIELD.retroMajor]: value(count), [FIELD.retroMinor]: value('1') });
    expect(result).toEqual({
      ok: false,
      errors: { [FIELD.retroMajor]: 'Enter a whole number from 0 to 100,000.' },
    });
  });

  it('refuses answers longer than the modal allows', () => {
    const long = `${FIELD.retroQuestionPrefix}lessons`;
    const result = readRetrospective({
      [FIELD.retroUserImpact]: value('x'.repeat(301)),
      [long]: value('y'.repeat(2_001)),
    });
    expect(result).toEqual({
      ok: false,
      errors: { [FIELD.retroUserImpact]: 'At most 300 characters.', [long]: 'At most 2000 characters.' },
    });
  });
});
