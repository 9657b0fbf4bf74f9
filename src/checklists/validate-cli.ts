/**
 * `npm run checklists:validate [files…]`
 *
 * Validates checklist YAML the way the bot does at start-up: schema, unique ids, known placeholders, and —
 * when flightdeck.yaml can be read — that every role a checklist names is defined. Prints
 * `file:line: path: reason` for every problem and exits 1; with no files, checks the configured
 * checklists directory.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { checklistRoleProblems } from '../config/load.js';
import { formatProblem } from '../shared/problems.js';
import { loadChecklists } from './loader.js';

async function main(files: string[]): Promise<number> {
  const configPath = resolve(process.env.FLIGHTDECK_CONFIG ?? 'flightdeck.yaml');
  const config = await readRoles(configPath);
  const dir = resolve(dirname(configPath), config?.checklistsDir ?? 'checklists');
  const loaded = await loadChecklists(files.length > 0 ? { files } : { dir });
  const problems = [...loaded.problems];
  if (config)
    problems.push(...checklistRoleProblems(loaded.checklists, loaded.files, config.roles, configPath));
  for (const problem of problems) console.error(formatProblem(problem));
  if (problems.length > 0) {
    console.error(`${problems.length} problem(s) in ${new Set(problems.map((p) => p.source)).size} file(s)`);
    return 1;
  }
  const note = config ? '' : ` (roles not checked: ${configPath} not readable)`;
  console.log(`${loaded.checklists.size} checklist(s) OK${note}`);
  return 0;
}

/** Role names and the checklists directory from flightdeck.yaml, if it can be read at all. */
async function readRoles(path: string): Promise<{ roles: Set<string>; checklistsDir?: string } | undefined> {
  try {
    const raw = parse(await readFile(path, 'utf8')) as {
      roles?: Record<string, unknown>;
      checklists_dir?: unknown;
    };
    const checklistsDir = typeof raw?.checklists_dir === 'string' ? raw.checklists_dir : undefined;
    return { roles: new Set(Object.keys(raw?.roles ?? {})), ...(checklistsDir ? { checklistsDir } : {}) };
  } catch {
    return undefined;
  }
}

process.exitCode = await main(process.argv.slice(2));
