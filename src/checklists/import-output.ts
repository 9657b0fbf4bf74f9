import { Document } from 'yaml';
import type { ImportResult } from './importer.js';

/**
 * How an import is handed over: the checklist as YAML for people to edit, headed by what is left for them
 * to do, and the same lists for the terminal. Shared by the CLI and the golden-file tests.
 */

/** The checklist as block-style YAML, with what the import could not decide in its header comment. */
export function importedYaml(result: ImportResult, file: string): string {
  const doc = new Document(result.checklist);
  doc.commentBefore = [
    ` Imported from ${file} by \`npm run checklists:import\`.`,
    ' Every item is manual: make the automatable ones checks, traffic steps or waits, give items owners,',
    ' and move rollback steps, triggers and emergency procedures to `rollback:` and `procedures:`.',
    ...importNotes(result).map((line) => (line ? ` ${line}` : '')),
  ].join('\n');
  return doc.toString({ lineWidth: 0 });
}

/**
 * What the person finishing the import must look at, as lines: what was not imported, items ticked in
 * the runbook, sign-off roles flightdeck.yaml does not define, code blocks with nowhere to go. Each list
 * starts with an empty line; nothing when there is nothing to say.
 */
export function importNotes(result: ImportResult): string[] {
  const { notImported, preChecked, unknownRoles, unattachedCode } = result;
  return [
    ...list(
      `Not imported (${notImported.length}):`,
      notImported.map(({ line, text, why }) => `line ${line}: ${text} — ${why}`),
    ),
    ...list(
      `Pre-checked in the runbook, imported open since a deployment starts fresh (${preChecked.length}):`,
      preChecked.map(({ line, title }) => `line ${line}: ${title}`),
    ),
    ...list(
      `Sign-off roles not defined under roles: (${unknownRoles.length}); define them or change the items:`,
      unknownRoles.map(({ line, role, label }) => `line ${line}: ${role} ("${label}")`),
    ),
    ...list(
      `Code blocks with no phase to attach to, under headings without items (${unattachedCode.length}):`,
      unattachedCode.length > 0 ? [`lines ${unattachedCode.join(', ')}`] : [],
    ),
  ];
}

function list(title: string, lines: string[]): string[] {
  return lines.length > 0 ? ['', title, ...lines.map((line) => `  ${line}`)] : [];
}
