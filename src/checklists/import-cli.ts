/**
 * `npm run checklists:import -- <runbook.md> [--id <id>] [--out <file.yaml>]`
 *
 * Converts a Markdown runbook into checklist YAML (stdout, or --out). The result validates but is only a
 * start: every item is manual, so turn automatable ones into checks, traffic steps and waits by hand.
 * A summary (checkbox lines, sign-offs, items per phase) goes to stderr.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { parseArgs } from 'node:util';
import { Document } from 'yaml';
import { formatProblem } from '../shared/problems.js';
import { type ImportStats, importRunbook, slugify } from './importer.js';
import { parseChecklist } from './loader.js';

const USAGE = 'usage: npm run checklists:import -- <runbook.md> [--id <id>] [--out <file.yaml>]';

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

  // The file name, not the title, is the default id: runbooks are often all called "Deployment Checklist".
  const id = args.values.id ?? (slugify(basename(file, extname(file)), 80) || undefined);
  const { checklist, stats } = importRunbook(markdown, { source: file, ...(id ? { id } : {}) });
  if (stats.items === 0) {
    console.error(`${file}: no checkbox lines or signature lines found, nothing to import`);
    return 1;
  }

  const doc = new Document(checklist);
  doc.commentBefore = [
    ` Imported from ${file} by \`npm run checklists:import\`.`,
    ' Every item is manual: make the automatable ones checks, traffic steps or waits, give items owners,',
    ' and move rollback steps, triggers and emergency procedures to `rollback:` and `procedures:`.',
  ].join('\n');
  const yaml = doc.toString({ lineWidth: 0 });

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
  console.error(summary(file, stats));

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
    options: { id: { type: 'string' }, out: { type: 'string' } },
  });
}

function readFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, not a file';
  return (error as Error).message;
}

function summary(file: string, stats: ImportStats): string {
  const width = Math.max(...stats.phases.map((phase) => phase.id.length));
  return [
    `${file}: ${stats.checkboxes} checkbox lines, ${stats.signoffs} signature lines -> ${stats.items} items in ${stats.phases.length} phases`,
    ...stats.phases.map(
      (phase) => `  ${phase.id.padEnd(width)}  ${String(phase.items).padStart(3)}  ${phase.title}`,
    ),
    ...(stats.unattachedCommands > 0
      ? [`  ${stats.unattachedCommands} code block(s) had no phase to attach to (headings without items)`]
      : []),
  ].join('\n');
}

process.exitCode = await main(process.argv.slice(2));
