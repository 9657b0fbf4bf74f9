/**
 * bench:ack's checklist, in the shared benchmark workspace (../support/workspace.ts). Its first phase holds
 * ITEMS_PER_DEPLOYMENT manual items open to everyone (`owner: anyone`), so any clicker may, and every click on a
 * pending item is a real state change; the renderer splits that phase over several thread messages. A
 * one-item second phase keeps a deployment open even after every benchmark click on it.
 */
import { writeBenchWorkspace } from '../support/workspace.js';

export const CHECKLIST_ID = 'bench-ack';
export const CLICK_PHASE_ID = 'release-walkthrough';
export const ITEMS_PER_DEPLOYMENT = 48;
/** People who click; the items are `owner: anyone`, so any of them may. */
export const CLICKERS = Array.from(
  { length: 12 },
  (_, index) => `U0BENCH${String(index + 1).padStart(2, '0')}`,
);

const TASKS = [
  'Release notes reviewed and published',
  'Database migration dry-run checked on staging',
  'Feature flags for the release set to their launch values',
  'Error budget checked on the SLO dashboard',
  'On-call engineer confirmed and reachable',
  'Rollback image tag written down in the thread',
  'Smoke tests green against the new pods',
  'Customer support told about user-visible changes',
  'Cache warm-up finished',
  'Third-party webhooks verified after the switch',
  'Log volume back to its usual level',
  'Alert thresholds reviewed for the new endpoints',
];

export function itemId(index: number): string {
  return `step-${String(index + 1).padStart(2, '0')}`;
}

/** Writes flightdeck.yaml and checklists/ for `services` services; returns the flightdeck.yaml path. */
export function writeWorkspace(dir: string, services: number): Promise<string> {
  const items = Array.from({ length: ITEMS_PER_DEPLOYMENT }, (_, index) =>
    [
      `      - id: ${itemId(index)}`,
      `        title: "${TASKS[index % TASKS.length]} (step ${index + 1})"`,
      '        kind: manual',
      '        owner: anyone',
    ].join('\n'),
  );
  const checklist = [
    `id: ${CHECKLIST_ID}`,
    'title: Release walkthrough (ack benchmark)',
    'phases:',
    `  - id: ${CLICK_PHASE_ID}`,
    '    title: Release walkthrough',
    '    items:',
    ...items,
    '  - id: wrap-up',
    '    title: Wrap-up',
    '    items:',
    '      - id: announce',
    '        title: Announce the release',
    '        kind: manual',
    '',
  ].join('\n');
  return writeBenchWorkspace(dir, { checklistId: CHECKLIST_ID, checklistYaml: checklist, services });
}
