import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChecklist } from '../../../src/checklists/loader.js';

const run = promisify(execFile);
const CANARY_SEED = 'test/fixtures/seeds/003_5f3999c3e4b25ca8.md';

/** Runs the import CLI as a user would (`npm run checklists:import -- …` runs tsx on the same file). */
async function importCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return importCliWith({}, ...args);
}

async function importCliWith(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node_modules/.bin/tsx', ['src/checklists/import-cli.ts', ...args], {
      env: { ...process.env, ...env },
    });
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

  it('lists each line it could not import and writes nothing, unless --allow-loss', async () => {
    const runbook = join(scratch, 'lossy.md');
    await writeFile(
      runbook,
      ['## Deploy', '- [ ] Deployed', '', '```bash', '- [ ] echo not-an-item', '```', ''].join('\n'),
    );
    const refused = await importCli(runbook);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('Not imported (1):');
    expect(refused.stderr).toContain(
      'line 5: - [ ] echo not-an-item — inside a ```bash block: kept as a command',
    );
    expect(refused.stderr).toContain('pass --allow-loss');

    const allowed = await importCli(runbook, '--allow-loss');
    expect(allowed.code).toBe(0);
    const parsed = parseChecklist(allowed.stdout, 'stdout');
    expect(parsed.ok && parsed.checklist.phases[0]?.items.map((item) => item.title)).toEqual(['Deployed']);
    // The YAML keeps the list for whoever finishes the checklist.
    expect(allowed.stdout).toContain('#   line 5: - [ ] echo not-an-item');
  });

  it('prints pre-checked items and the sign-off roles flightdeck.yaml does not define', async () => {
    const runbook = join(scratch, 'approvals.md');
    await writeFile(
      runbook,
      ['## Go', '- [x] Backup taken', '', 'Approved by (Service owner): ______ Date: ______', ''].join('\n'),
    );
    const config = join(scratch, 'flightdeck.yaml');
    await writeFile(config, 'roles:\n  tech-lead: { users: [U1] }\n');

    const withConfig = await importCliWith({ FLIGHTDECK_CONFIG: config }, runbook);
    expect(withConfig.code).toBe(0);
    expect(withConfig.stderr).toContain('Pre-checked in the runbook, imported open');
    expect(withConfig.stderr).toContain('line 2: Backup taken');
    expect(withConfig.stderr).toContain('line 4: service-owner ("Service owner")');

    const withFlag = await importCli(runbook, '--roles', 'tech-lead,service-owner');
    expect(withFlag.code).toBe(0);
    expect(withFlag.stderr).not.toContain('Sign-off roles not defined');
    expect(withFlag.stdout).toMatch(/signoff:\n {10}role: service-owner/);
  });
});
