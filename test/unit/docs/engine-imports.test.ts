import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The engine's import contract (biome.json `overrides`, issue #13): src/deployments/engine/ and its entry
 * src/deployments/engine.ts import only the model, checklist types and pure helpers, check result types
 * and themselves. `npm test` runs `biome check .`, so a forbidden import fails the build; these tests show
 * the rule bites by linting a probe file placed where the engine lives.
 */

const root = fileURLToPath(new URL('../../../', import.meta.url));
const biome = join(root, 'node_modules', '.bin', 'biome');
const RULE = 'lint/style/noRestrictedImports';

function lint(cwd: string, file: string, flags: string[] = []): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(biome, ['lint', '--colors=off', ...flags, file], { cwd }, (error, stdout, stderr) =>
      resolve({ ok: !error, output: `${stdout}${stderr}` }),
    );
  });
}

/** Lints `source` as a module in src/deployments/engine/, then removes it. */
async function lintInEngine(source: string): Promise<{ ok: boolean; output: string }> {
  // A name of its own per process, so two runs never share a probe.
  const file = join('src', 'deployments', 'engine', `zz-import-probe-${process.pid}.ts`);
  await writeFile(join(root, file), source);
  try {
    return await lint(root, file);
  } finally {
    await rm(join(root, file), { force: true });
  }
}

describe('the engine may import only the model, checklist types and itself', () => {
  it.each([
    ['a Redis client', "import { Redis } from 'ioredis';\nexport const probe = Redis;\n"],
    ['a queue', "import { Queue } from 'bullmq';\nexport const probe = Queue;\n"],
    ['a Node built-in', "import { readFile } from 'node:fs/promises';\nexport const probe = readFile;\n"],
    ['zod', "import { z } from 'zod';\nexport const probe = z;\n"],
    ['the store', "import { DeploymentStore } from '../store.js';\nexport const probe = DeploymentStore;\n"],
    [
      'the Slack layer',
      "import { SlackPresenter } from '../../slack/presenter.js';\nexport const probe = SlackPresenter;\n",
    ],
    [
      'traffic',
      "import { createStrategy } from '../../traffic/index.js';\nexport const probe = createStrategy;\n",
    ],
    [
      'a zod schema from the checklist module',
      "import { checklistSchema } from '../../checklists/schema.js';\nexport const probe = checklistSchema;\n",
    ],
    ['a dynamic import', "export const probe = () => import('axios');\n"],
    ['a re-export', "export { DeploymentService } from '../service.js';\n"],
  ])('refuses %s', async (_what, source) => {
    const result = await lintInEngine(source);
    expect(result.ok).toBe(false);
    expect(result.output).toContain(RULE);
  });

  it('accepts the model, checklist types and helpers, check types and its own modules', async () => {
    const result = await lintInEngine(
      [
        "import { ANYONE } from '../../checklists/owners.js';",
        "import { walkedPhases } from '../../checklists/phases.js';",
        "import type { Checklist } from '../../checklists/schema.js';",
        "import type { CheckRun } from '../../checks/types.js';",
        "import { isResolved } from '../model.js';",
        "import { reject } from './rules.js';",
        '',
        'export type Probe = [Checklist, CheckRun];',
        'export const probe = [ANYONE, walkedPhases, isResolved, reject];',
        '',
      ].join('\n'),
    );
    expect(result.output).not.toContain(RULE);
    expect(result.ok).toBe(true);
  });

  // engine.ts itself cannot be replaced by a probe: the same biome.json lints a copy of the layout instead.
  it('holds the entry, src/deployments/engine.ts, to the same contract', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'engine-imports-'));
    try {
      await copyFile(join(root, 'biome.json'), join(dir, 'biome.json'));
      await mkdir(join(dir, 'src', 'deployments'), { recursive: true });
      const entry = join('src', 'deployments', 'engine.ts');
      await writeFile(
        join(dir, entry),
        "import { isRollbackPhase } from '../checklists/phases.js';\nimport { isTerminal } from './model.js';\nexport const probe = [isRollbackPhase, isTerminal];\n",
      );
      // Outside a git checkout there is no ignore file to read.
      const flags = ['--vcs-enabled=false'];
      const allowed = await lint(dir, entry, flags);
      expect(allowed.output).not.toContain(RULE);
      expect(allowed.ok).toBe(true);

      await writeFile(join(dir, entry), "import { Redis } from 'ioredis';\nexport const probe = Redis;\n");
      const refused = await lint(dir, entry, flags);
      expect(refused.ok).toBe(false);
      expect(refused.output).toContain(RULE);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
