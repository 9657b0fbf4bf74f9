import { readFile, writeFile } from 'node:fs/promises';
import { renderPermissionTable, TABLE_END, TABLE_START } from './permission-table.js';

/**
 * `npm run docs:permissions`: writes the "Who may do what" table into README.md between its markers, from
 * the table test/e2e/permissions.test.ts checks against the running bot.
 */
const path = process.argv[2] ?? 'README.md';
const readme = await readFile(path, 'utf8');
const start = readme.indexOf(TABLE_START);
const end = readme.indexOf(TABLE_END);
if (start < 0 || end < start) {
  console.error(`${path}: no ${TABLE_START} … ${TABLE_END} markers to write the table between`);
  process.exit(1);
}
await writeFile(
  path,
  `${readme.slice(0, start)}${renderPermissionTable()}${readme.slice(end + TABLE_END.length)}`,
);
console.log(`${path}: permission table written`);
