import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { renderPermissionTable } from '../../../src/deployments/permission-table.js';

describe('README.md "Who may do what"', () => {
  it('is the table the permission matrix test checks (npm run docs:permissions rewrites it)', async () => {
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(renderPermissionTable());
  });
});
