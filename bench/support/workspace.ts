/**
 * A benchmark's Flightdeck installation, written to a temporary directory: many services (one per
 * deployment, since a service+environment has one active deployment at a time), each with its own channel,
 * all running one generated checklist that a deployer role may start.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const ENVIRONMENT = 'production';
export const DEPLOYER = 'U0BENCHDEPLOY';

export function serviceName(index: number): string {
  return `svc-${String(index).padStart(4, '0')}`;
}

export function channelId(index: number): string {
  return `C0BENCH${String(index).padStart(4, '0')}`;
}

/** Writes checklists/<id>.yaml and flightdeck.yaml for `services` services; returns flightdeck.yaml's path. */
export async function writeBenchWorkspace(
  dir: string,
  options: { checklistId: string; checklistYaml: string; services: number },
): Promise<string> {
  await mkdir(join(dir, 'checklists'), { recursive: true });
  await writeFile(join(dir, 'checklists', `${options.checklistId}.yaml`), options.checklistYaml);
  const lines = [
    'checklists_dir: checklists',
    'roles:',
    '  deployer:',
    `    users: [${DEPLOYER}]`,
    'services:',
  ];
  for (let index = 0; index < options.services; index++) {
    lines.push(
      `  ${serviceName(index)}:`,
      `    environment: ${ENVIRONMENT}`,
      `    checklist: ${options.checklistId}`,
      `    channel: ${channelId(index)}`,
      '    deployers: [deployer]',
    );
  }
  const path = join(dir, 'flightdeck.yaml');
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}
