/**
 * `npm run checklists:import -- <runbook.md> [--id <id>] [--out <file.yaml>] [--roles a,b] [--allow-loss]`
 *
 * Converts a Markdown runbook into checklist YAML (stdout, or --out). The result validates but is only a
 * start: every item is manual, so turn automatable ones into checks, traffic steps and waits by hand.
 * A summary (checkbox lines, sign-offs, items per phase, and what needs a look) goes to stderr.
 *
 * A checkbox or signature line that did not become an item is listed with its line number, and then
 * nothing is written and the exit code is 1, unless --allow-loss says the rest is wanted anyway.
 * Sign-off roles are matched against --roles, or else flightdeck.yaml's `roles:` (FLIGHTDECK_CONFIG).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { formatProblem } from '../shared/problems.js';
import { importedYaml, importNotes } from './import-output.js';
import { type ImportResult, importRunbook, slugify } from './importer.js';
import { parseChecklist } from './loader.js';

const USAGE =
  'usage: npm run checklists:import -- <runbook.md> [--id <id>] [--out <file.yaml>] [--roles a,b] [--allow-loss]';

async function main(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const [file, ...extra] = args.positionals;
  if (!file || extra.length > 0) {
    console.error(USAGE);
    return 2;
  }

  let markdown: string;
  try {
    markdown = await readFile(file, 'utf8');
  } catch (error) {
    console.error(`${file}: ${readFailure(error)}`);
    return 1;
  }

  const roles = await knownRoles(args.values.roles);
  // The file name, not the title, is the default id: runbooks are often all called "Deployment Checklist".
  const id = args.values.id ?? (slugify(basename(file, extname(file)), 80) || undefined);
  const result = importRunbook(markdown, {
    source: file,
    ...(id ? { id } : {}),
    ...(roles.names ? { roles: roles.names } : {}),
  });
  if (result.stats.items === 0) {
    console.error(`${file}: no checkbox lines or signature lines found, nothing to import`);
    for (const line of importNotes(result)) console.error(line && `  ${line}`);
    return 1;
  }
  if (result.notImported.length > 0 && !args.values['allow-loss']) {
    console.error(summary(file, result, roles.note));
    console.error(
      `${file}: ${result.notImported.length} line(s) not imported (listed above), nothing written: ` +
        'change the runbook, or pass --allow-loss to import the rest',
    );
    return 1;
  }

  const yaml = importedYaml(result, file);
  if (args.values.out) {
    try {
      await writeFile(args.values.out, yaml);
    } catch (error) {
      console.error(`${args.values.out}: ${(error as Error).message}`);
      return 1;
    }
  } else {
    process.stdout.write(yaml);
  }
  console.error(summary(file, result, roles.note));

  // The importer keeps within the schema's limits; if it ever does not, say so rather than hand over bad YAML.
  const parsed = parseChecklist(yaml, args.values.out ?? file);
  if (!parsed.ok) {
    for (const problem of parsed.problems) console.error(formatProblem(problem));
    return 1;
  }
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      id: { type: 'string' },
      out: { type: 'string' },
      roles: { type: 'string' },
      'allow-loss': { type: 'boolean' },
    },
  });
}

function readFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, not a file';
  return (error as Error).message;
}

/** The role names sign-offs are matched against: --roles, else flightdeck.yaml's, else none (not checked). */
async function knownRoles(flag: string | undefined): Promise<{ names?: string[]; note?: string }> {
  if (flag !== undefined) {
    const names = flag.split(',').map((name) => name.trim());
    return { names: names.filter(Boolean) };
  }
  const path = process.env.FLIGHTDECK_CONFIG ?? 'flightdeck.yaml';
  try {
    const config = parseYaml(await readFile(path, 'utf8')) as { roles?: Record<string, unknown> } | null;
    return { names: Object.keys(config?.roles ?? {}) };
  } catch {
    return { note: `sign-off roles not checked: ${path} not readable (pass --roles a,b,c)` };
  }
}

function summary(file: string, result: ImportResult, rolesNote: string | undefined): string {
  const { stats } = result;
  const width = Math.max(...stats.phases.map((phase) => phase.id.length));
  return [
    `${file}: ${stats.checkboxes} checkbox lines, ${stats.signoffs} signature lines -> ${stats.items} items in ${stats.phases.length} phases`,
    ...stats.phases.map(
      (phase) => `  ${phase.id.padEnd(width)}  ${String(phase.items).padStart(3)}  ${phase.title}`,
    ),
    ...importNotes(result).map((line) => line && `  ${line}`),
    ...(rolesNote && stats.signoffs > 0 ? ['', `  ${rolesNote}`] : []),
  ].join('\n');
}

process.exitCode = await main(process.argv.slice(2));
