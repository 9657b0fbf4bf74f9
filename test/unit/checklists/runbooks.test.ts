import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { importedYaml } from '../../../src/checklists/import-output.js';
import { importRunbook } from '../../../src/checklists/importer.js';
import { loadChecklists } from '../../../src/checklists/loader.js';
import { checklistRoleProblems } from '../../../src/config/load.js';

/**
 * Five runbooks written the way other teams write them (not the seeds), each imported to the YAML the
 * CLI would write, compared with a golden file. After a deliberate change to the importer, regenerate
 * the golden files with `UPDATE_GOLDEN=1 npx vitest run test/unit/checklists/runbooks.test.ts` and read
 * the diff.
 */

const DIR = 'test/fixtures/runbooks';
const CONFIG = 'flightdeck.yaml';
const roles = Object.keys((parse(readFileSync(CONFIG, 'utf8')) as { roles: object }).roles);

interface Runbook {
  name: string;
  shape: string;
  /** Literal counts, so a regenerated golden file cannot quietly lose items. */
  items: number;
  signoffs: number;
  notImported: number[];
  preChecked: number[];
}

const RUNBOOKS: Runbook[] = [
  {
    name: 'payments-table-checklist',
    shape: 'checklist tables, a box per environment column, a metadata table',
    items: 13,
    signoffs: 0,
    notImported: [],
    preChecked: [16],
  },
  {
    name: 'search-numbered-substeps',
    shape: 'numbered steps with nested sub-steps and fences between steps',
    items: 19,
    signoffs: 0,
    notImported: [],
    preChecked: [16],
  },
  {
    name: 'checkout-es',
    shape: 'a runbook in Spanish with "Aprobado por" lines',
    items: 16,
    signoffs: 3,
    notImported: [],
    preChecked: [15],
  },
  {
    name: 'ledger-fenced-quotes',
    shape: 'checkbox lines in code fences and block quotes, a <details> block',
    items: 14,
    signoffs: 0,
    notImported: [48],
    preChecked: [10],
  },
  {
    name: 'billing-signoff-sheet',
    shape: 'a sign-off table and signature lines',
    items: 11,
    signoffs: 7,
    notImported: [37],
    preChecked: [],
  },
];

describe.each(RUNBOOKS)('runbook $name ($shape)', (runbook) => {
  const file = join(DIR, `${runbook.name}.md`);
  const golden = join(DIR, `${runbook.name}.golden.yaml`);
  const result = importRunbook(readFileSync(file, 'utf8'), { id: runbook.name, source: file, roles });
  const yaml = importedYaml(result, file);

  it('imports to the golden YAML', () => {
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden, yaml);
    expect(yaml).toBe(readFileSync(golden, 'utf8'));
  });

  it('has the items, sign-offs and lists it should', () => {
    expect(result.stats).toMatchObject({ items: runbook.items, signoffs: runbook.signoffs });
    expect(result.notImported.map((lost) => lost.line)).toEqual(runbook.notImported);
    expect(result.preChecked.map((item) => item.line)).toEqual(runbook.preChecked);
  });

  it('validates as `checklists:validate` does, except for the roles the import listed as unknown', async () => {
    const loaded = await loadChecklists({ files: [golden] });
    expect(loaded.problems).toEqual([]);
    const roleProblems = checklistRoleProblems(loaded.checklists, loaded.files, new Set(roles), CONFIG);
    expect(roleProblems.map((problem) => problem.message)).toEqual(
      result.unknownRoles.map(({ role }) => `role "${role}" is not defined under roles: in ${CONFIG}`),
    );
  });
});
