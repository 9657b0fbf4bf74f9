import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChecklist } from '../../../src/checklists/loader.js';

const run = promisify(execFile);
const CANARY_SEED = 'test/fixtures/seeds/003_5f3999c3e4b25ca8.md';

/** Runs the import CLI as a user would (`npm run checklists:import -- …` runs tsx on the same file). */
async function importCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node_modules/.bin/tsx', ['src/checklists/import-cli.ts', ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('npm run checklists:import', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'flightdeck-import-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('prints YAML that parseChecklist accepts as it is', async () => {
    const { code, stdout, stderr } = await importCli(CANARY_SEED);
    expect(code).toBe(0);
    const parsed = parseChecklist(stdout, 'stdout');
    expect(parsed.ok ? [] : parsed.problems).toEqual([]);
    if (!parsed.ok) return;
    expect(parsed.checklist.phases.flatMap((phase) => phase.items)).toHaveLength(70);
    expect(parsed.checklist.source).toBe(CANARY_SEED);
    // Block style for people to edit, not JSON-like flow style.
    expect(stdout).toMatch(/^phases:\n {2}- id: /m);
    expect(stderr).toContain('70 checkbox lines, 0 signature lines -> 70 items in 13 phases');
  });

  it('writes --out and uses --id', async () => {
    const out = join(scratch, 'canary.yaml');
    const { code, stdout } = await importCli(CANARY_SEED, '--id', 'canary-release', '--out', out);
    expect(code).toBe(0);
    expect(stdout).toBe('');
    const parsed = parseChecklist(await readFile(out, 'utf8'), out);
    expect(parsed.ok && parsed.checklist.id).toBe('canary-release');
  });

  it('exits 1 with "file: reason" for a missing file', async () => {
    const missing = join(scratch, 'missing.md');
    const { code, stdout, stderr } = await importCli(missing);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim()).toBe(`${missing}: no such file`);
  });

  it('exits non-zero with usage when no file is given', async () => {
    const { code, stderr } = await importCli();
    expect(code).toBe(2);
    expect(stderr).toContain('usage: npm run checklists:import');
  });
});
