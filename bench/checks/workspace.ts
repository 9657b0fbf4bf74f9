/**
 * bench:checks's checklist, in the shared benchmark workspace (../support/workspace.ts). A one-item gate
 * phase holds each deployment until the burst; resolving it opens the probe phase, whose CHECKS_PER_PHASE
 * `tcp` checks the engine then requests at once, as a real phase opening does. A required manual sign-off
 * in the same phase keeps it open after the checks pass, so their Re-runs (the open loop) are allowed.
 */
import { writeBenchWorkspace } from '../support/workspace.js';

export const CHECKLIST_ID = 'bench-checks';
export const GATE_PHASE_ID = 'ready';
export const GATE_ITEM_ID = 'go';
export const PROBE_PHASE_ID = 'service-ports';
export const CHECKS_PER_PHASE = 20;

export function checkItemId(index: number): string {
  return `port-${String(index + 1).padStart(2, '0')}`;
}

export const CHECK_ITEM_IDS = Array.from({ length: CHECKS_PER_PHASE }, (_, index) => checkItemId(index));

/** Writes flightdeck.yaml and checklists/ for `services` services probing 127.0.0.1:`port`. */
export function writeWorkspace(dir: string, services: number, port: number): Promise<string> {
  const checks = CHECK_ITEM_IDS.map((id, index) =>
    [
      `      - id: ${id}`,
      `        title: "Service port reachable (listener ${index + 1})"`,
      '        kind: check',
      `        check: { type: tcp, host: 127.0.0.1, port: ${port}, timeout: 2s }`,
    ].join('\n'),
  );
  const checklist = [
    `id: ${CHECKLIST_ID}`,
    'title: Port checks (checks benchmark)',
    'phases:',
    `  - id: ${GATE_PHASE_ID}`,
    '    title: Ready to probe',
    '    items:',
    `      - id: ${GATE_ITEM_ID}`,
    '        title: Start probing the service ports',
    '        kind: manual',
    `  - id: ${PROBE_PHASE_ID}`,
    '    title: Service ports',
    '    items:',
    ...checks,
    '      - id: sign-off',
    '        title: Port results reviewed',
    '        kind: manual',
    '',
  ].join('\n');
  return writeBenchWorkspace(dir, { checklistId: CHECKLIST_ID, checklistYaml: checklist, services });
}
