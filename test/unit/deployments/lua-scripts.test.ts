import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SCRIPTS_DIR } from '../../../src/deployments/lua.js';

/**
 * The Redis scripts live in .lua files (src/deployments/scripts/), read relative to the module that loads
 * them: each must say what its KEYS and ARGV are, and the production build must put them where the
 * compiled code reads them (tsc copies only .ts output; tools/copy-lua.mjs does the rest).
 */

async function luaFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.lua'))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('Lua scripts', () => {
  it('each open with a header comment naming every KEYS[n] and ARGV[n] they use', async () => {
    const files = await luaFiles('src');
    expect(files.map((file) => relative('src/deployments/scripts', file)).sort()).toEqual([
      'claim-message.lua',
      'commit.lua',
      'create.lua',
      'inbox-take-over.lua',
      'load.lua',
      'record-message.lua',
      'release-message.lua',
    ]);
    for (const file of files) {
      const lines = (await readFile(file, 'utf8')).split('\n');
      const headerEnd = lines.findIndex((line) => !line.startsWith('--'));
      const header = lines.slice(0, headerEnd).join('\n');
      const body = lines.slice(headerEnd).join('\n');
      expect(header, `${file} has a header`).toMatch(/^-- KEYS\[1\] /m);
      expect(header, `${file} has a header`).toMatch(/^-- ARGV\[1\] /m);
      for (const [used] of body.matchAll(/(KEYS|ARGV)\[\d+\]/g))
        expect(header, `${file}'s header names ${used}`).toMatch(
          new RegExp(`^-- ${used.replace(/[[\]]/g, '\\$&')}[ .]`, 'm'),
        );
    }
  });

  it('are copied by the build step to where the compiled code reads them', async () => {
    const out = await mkdtemp(join(tmpdir(), 'fd-build-'));
    try {
      await promisify(execFile)(process.execPath, ['tools/copy-lua.mjs', 'src', out]);
      // tsc maps src/<path>.ts to dist/<path>.js, so the compiled lua.ts reads <out>/<same path>/scripts/.
      const readFrom = join(out, relative('src', fileURLToPath(SCRIPTS_DIR)));
      for (const file of await luaFiles('src/deployments/scripts')) {
        const copied = join(readFrom, relative('src/deployments/scripts', file));
        expect(await readFile(copied, 'utf8')).toBe(await readFile(file, 'utf8'));
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('are part of the production build and of the image', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8'));
    expect(pkg.scripts.build).toMatch(/^tsc -p tsconfig\.build\.json && node tools\/copy-lua\.mjs src dist$/);
    const dockerfile = await readFile('Dockerfile', 'utf8');
    expect(dockerfile).toMatch(/^COPY tools \.\/tools$/m);
    expect(dockerfile).toMatch(/^COPY --from=build .* \/app\/dist \.\/dist$/m);
  });
});
