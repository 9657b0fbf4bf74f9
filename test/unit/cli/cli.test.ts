import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const TSX = 'node_modules/.bin/tsx';

/** Runs a CLI the way `npm run …` does, with a clean environment (no Slack credentials). */
async function cli(script: string, args: string[] = [], env: Record<string, string> = {}) {
  const { SLACK_BOT_TOKEN: _a, SLACK_SIGNING_SECRET: _b, SLACK_APP_TOKEN: _c, ...rest } = process.env;
  try {
    const { stdout, stderr } = await run(TSX, [script, ...args], {
      env: { ...rest, ...env },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('npm start without Slack credentials', () => {
  // Elsewhere it starts the sandbox (test/e2e/sandbox-browser.test.ts); a production process must fail.
  it('in production: names each missing variable, points at manifest.json and exits non-zero', async () => {
    const result = await cli('src/main.ts', [], { NODE_ENV: 'production' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('not set: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET');
    expect(result.stderr).toContain('manifest.json');
    expect(result.stderr).not.toContain('configuration problem'); // the committed config itself is clean
  });

  it('with FLIGHTDECK_SANDBOX=off: the same error instead of the sandbox', async () => {
    const result = await cli('src/main.ts', [], { FLIGHTDECK_SANDBOX: 'off' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('not set: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET');
  });

  it('reports configuration problems and missing credentials together (no sandbox on a broken config)', async () => {
    const result = await cli('src/main.ts', [], {
      FLIGHTDECK_CONFIG: '/nonexistent/flightdeck.yaml',
      PORT: 'x',
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/2 configuration problem\(s\)/);
    expect(result.stderr).toContain('env: PORT:');
    expect(result.stderr).toContain('/nonexistent/flightdeck.yaml: (top level): cannot read (ENOENT)');
    expect(result.stderr).toContain('SLACK_BOT_TOKEN');
  });
});

describe('npm run checklists:validate', () => {
  it('passes the committed checklists', async () => {
    const result = await cli('src/checklists/validate-cli.ts');
    expect(result).toMatchObject({ code: 0, stdout: expect.stringContaining('5 checklist(s) OK') });
  });

  it('prints file:line: path: reason for every problem and exits 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fd-validate-'));
    const bad = join(dir, 'bad.yaml');
    await writeFile(
      bad,
      [
        'id: bad',
        'title: Bad',
        'phases:',
        '  - id: p',
        '    title: P',
        '    items:',
        '      - { id: a, kind: manual, title: A }',
        '      - { id: a, kind: check, title: B, check: { type: tcp, host: "{{hots}}", port: 99999 } }',
        '',
      ].join('\n'),
    );
    const result = await cli('src/checklists/validate-cli.ts', [bad, 'checklists/canary-release.yaml']);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toEqual([
      `${bad}:8: phases[0].items[1].check.port: Too big: expected number to be <=65535`,
      `${bad}:8: phases[0].items[1].id: item id "a" is also used at phases[0].items[0]`,
      expect.stringMatching(
        new RegExp(
          `^${bad}:8: phases\\[0\\]\\.items\\[1\\]\\.check\\.host: unknown placeholder \\{\\{hots\\}\\}`,
        ),
      ),
      '3 problem(s) in 1 file(s)',
    ]);
  });

  it('checks roles against flightdeck.yaml', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fd-validate-'));
    const file = join(dir, 'roles.yaml');
    await writeFile(
      file,
      'id: r\ntitle: R\nphases:\n  - id: p\n    title: P\n    items:\n      - { id: a, kind: manual, title: A, owner: nobody }\n',
    );
    const result = await cli('src/checklists/validate-cli.ts', [file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `${file}: phases[0].items[0].owner: role "nobody" is not defined under roles:`,
    );
  });
});

describe('npm run config:validate', () => {
  it('accepts the committed configuration and notes the missing credentials', async () => {
    const result = await cli('src/config/validate-cli.ts');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('configuration files OK');
    expect(result.stderr).toContain('SLACK_BOT_TOKEN');
  });

  it('shows a YAML syntax error as file:line:column, a sentence, the line and a caret, and exits 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fd-validate-'));
    const config = join(dir, 'flightdeck.yaml');
    await writeFile(
      config,
      [
        'services:',
        '  web:',
        '    checklist: tiny',
        '    channel: C0WEB',
        'roles:',
        '  dba:',
        '    description: Database people',
        '      users: [U0DBA]',
        '',
      ].join('\n'),
    );
    const result = await cli('src/config/validate-cli.ts', [], { FLIGHTDECK_CONFIG: config });
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n').slice(0, 3)).toEqual([
      `${config}:8:7: roles.dba: indentation: \`users:\` is indented more than its siblings (\`description:\` on line 7 starts at column 5)`,
      '  8 |       users: [U0DBA]',
      '    |       ^',
    ]);
  });
});

describe('npm run checklists:validate on a file YAML cannot read', () => {
  it('prints the caret block and exits 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fd-validate-'));
    const file = join(dir, 'broken.yaml');
    await writeFile(file, 'id: broken\ntitle: Broken\nphases:\n  - id: p\n\ttitle: P\n');
    const result = await cli('src/checklists/validate-cli.ts', [file]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      `${file}:5:1: phases[0]: indentation: \`title:\` is indented with a tab; YAML indents with spaces only`,
      '  5 | \ttitle: P',
      '    | ^',
      '1 problem(s) in 1 file(s)',
    ]);
  });
});
