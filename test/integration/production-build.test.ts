import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { SandboxEntry } from '../../src/main.js';
import type * as sandboxRun from '../../src/sandbox/run.js';

/**
 * The production build leaves the sandbox out: `tsc -p tsconfig.build.json` (what `npm run build` and the
 * Dockerfile run) emits no src/sandbox file, and the built `node main.js` without Slack credentials says
 * how to get them and exits non-zero instead of failing to find the sandbox. The two steps of the `build`
 * script are run into a directory of the test's own: tsc, then the copy of the Redis scripts the compiled
 * store reads at start (tools/copy-lua.mjs).
 */

const run = promisify(execFile);
// Inside the repository (gitignored), so that node finds node_modules and package.json's "type": "module".
let outDir: string;

beforeAll(async () => {
  outDir = await mkdtemp(join(process.cwd(), '.build-test-'));
  await run('node_modules/.bin/tsc', ['-p', 'tsconfig.build.json', '--outDir', outDir], { timeout: 170_000 });
  await run(process.execPath, ['tools/copy-lua.mjs', 'src', outDir]);
}, 180_000);

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

/** `node <outDir>/main.js` with no Slack variables, from the repository (its flightdeck.yaml). */
async function runBuilt(env: Record<string, string>) {
  const {
    SLACK_BOT_TOKEN: _a,
    SLACK_SIGNING_SECRET: _b,
    SLACK_APP_TOKEN: _c,
    NODE_ENV: _d,
    ...rest
  } = process.env;
  try {
    const { stdout, stderr } = await run(process.execPath, [join(outDir, 'main.js')], {
      env: { ...rest, ...env },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('the production build', () => {
  it('emits the bot and no sandbox file', async () => {
    const files = await filesUnder(outDir);
    expect(files).toContain('main.js');
    expect(files).toContain('worker.js');
    expect(files.filter((file) => /sandbox/i.test(file))).toEqual([]);
  });

  it('in production, without Slack credentials: says how to get them and exits non-zero', async () => {
    const result = await runBuilt({ NODE_ENV: 'production' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('not set: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET');
    expect(result.stderr).toContain('manifest.json');
    expect(result.stderr).not.toContain('sandbox');
    expect(result.stderr).not.toContain('ERR_MODULE_NOT_FOUND');
  });

  it('elsewhere, without Slack credentials: the same, plus where the sandbox runs', async () => {
    const result = await runBuilt({});
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('not set: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET');
    expect(result.stderr).toContain('manifest.json');
    expect(result.stderr).toContain('not part of this build');
    expect(result.stderr).toContain('`npm start`');
    expect(result.stderr).toContain('`npm run sandbox`');
    expect(result.stderr).not.toContain('ERR_MODULE_NOT_FOUND');
    expect(result.stdout).not.toContain('Starting the Flightdeck sandbox');
  });

  it('main.ts loads src/sandbox/run.ts by a path tsc does not check, so its shape is checked here', () => {
    expectTypeOf<typeof sandboxRun>().toExtend<SandboxEntry>();
  });
});
