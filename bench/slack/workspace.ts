/**
 * bench:slack's installation: many services sharing one channel (a team's #deploys), each running the same
 * three-phase manual checklist whose items are open to everyone (`owner: anyone`), so many different
 * people click. A threaded deployment posts five messages (card, three phases, report), as in the issue's
 * run; one started while the channel is busy folds its phases into its card and posts two.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEPLOYER, ENVIRONMENT, serviceName } from '../support/workspace.js';

export const CHANNEL = 'C0DEPLOYS';
export const CHECKLIST_ID = 'bench-slack';
export const PHASES = [
  {
    id: 'prepare',
    title: 'Prepare',
    items: ['Release notes published', 'Merge freeze announced', 'On-call told'],
  },
  { id: 'release', title: 'Release', items: ['Image pushed', 'Rollout started', 'Rollout finished'] },
  { id: 'verify', title: 'Verify', items: ['Smoke tests green', 'Dashboards normal', 'Support told'] },
];

export const itemId = (phase: number, item: number) => `${PHASES[phase]?.id}-${item + 1}`;

/** Writes flightdeck.yaml and checklists/ for `services` services in CHANNEL; returns flightdeck.yaml's path. */
export async function writeWorkspace(dir: string, services: number): Promise<string> {
  await mkdir(join(dir, 'checklists'), { recursive: true });
  const checklist = [
    `id: ${CHECKLIST_ID}`,
    'title: Three manual phases (Slack pacing benchmark)',
    'phases:',
    ...PHASES.flatMap((phase, index) => [
      `  - id: ${phase.id}`,
      `    title: ${phase.title}`,
      '    items:',
      ...phase.items.map(
        (title, item) =>
          `      - { id: ${itemId(index, item)}, kind: manual, title: "${title}", owner: anyone }`,
      ),
    ]),
    '',
  ];
  await writeFile(join(dir, 'checklists', `${CHECKLIST_ID}.yaml`), checklist.join('\n'));
  const lines = [
    'checklists_dir: checklists',
    // No reminders or escalations: nothing but the deployments themselves talks in the channel.
    'escalation: { levels: [] }',
    'roles:',
    '  deployer:',
    `    users: [${DEPLOYER}]`,
    'services:',
  ];
  for (let index = 0; index < services; index++)
    lines.push(
      `  ${serviceName(index)}:`,
      `    environment: ${ENVIRONMENT}`,
      `    checklist: ${CHECKLIST_ID}`,
      `    channel: ${CHANNEL}`,
      '    deployers: [deployer]',
    );
  const path = join(dir, 'flightdeck.yaml');
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}
