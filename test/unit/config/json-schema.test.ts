import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { generatedSchemas } from '../../../src/config/json-schema.js';

const root = new URL('../../../', import.meta.url);

describe('the committed JSON Schemas', () => {
  it('are what the zod schemas generate (npm run schema rewrites them)', async () => {
    for (const [path, text] of Object.entries(generatedSchemas()))
      expect(await readFile(new URL(path, root), 'utf8'), path).toBe(text);
  });

  it('are named at the top of every shipped YAML, so editors complete and check it', async () => {
    const first = async (path: string) => (await readFile(new URL(path, root), 'utf8')).split('\n')[0];
    expect(await first('flightdeck.yaml')).toBe(
      '# yaml-language-server: $schema=docs/schema/flightdeck.schema.json',
    );
    for (const dir of ['checklists/', 'src/sandbox/demo/']) {
      const depth = dir.split('/').length - 1;
      for (const file of (await readdir(new URL(dir, root))).filter((name) => name.endsWith('.yaml')))
        expect(await first(`${dir}${file}`), `${dir}${file}`).toBe(
          `# yaml-language-server: $schema=${'../'.repeat(depth)}docs/schema/checklist.schema.json`,
        );
    }
  });
});
