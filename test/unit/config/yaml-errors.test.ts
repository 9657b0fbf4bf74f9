import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { formatProblem } from '../../../src/shared/problems.js';

/**
 * A flightdeck.yaml that YAML itself cannot read: one problem per mistake, at its line and column, in a
 * sentence a person understands, followed by the line and a caret — never the parser's own wording.
 */

const CHECKLIST = `
id: tiny
title: Tiny
phases:
  - id: one
    title: One
    items:
      - { id: a, kind: manual, title: A }
`;
const CREDS = { SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_SIGNING_SECRET: 'shhh-secret-123' };

/** Writes flightdeck.yaml (given as lines) next to a checklists directory and prints what loadConfig finds. */
async function problemsIn(lines: string[]): Promise<{ path: string; printed: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'fd-yaml-'));
  await mkdir(join(dir, 'checklists'));
  await writeFile(join(dir, 'checklists', 'tiny.yaml'), CHECKLIST);
  const path = join(dir, 'flightdeck.yaml');
  await writeFile(path, `${lines.join('\n')}\n`);
  const result = await loadConfig({ ...CREDS, FLIGHTDECK_CONFIG: path });
  expect(result.ok).toBe(false);
  return { path, printed: result.ok ? [] : result.problems.map(formatProblem) };
}

/** The parser's own phrases, which must not reach a person. */
const PARSER_JARGON = /[Ii]mplicit|compact mapping|Flow (map|sequence)|at line \d+|YAML: |\(top level\)/;

describe('YAML syntax errors in flightdeck.yaml', () => {
  it('a key indented more than its siblings', async () => {
    const { path, printed } = await problemsIn([
      'services:',
      '  web:',
      '    checklist: tiny',
      '    channel: C0WEB',
      'roles:',
      '  dba:',
      '    description: Database people',
      '      users: [U0DBA]',
    ]);
    expect(printed).toEqual([
      [
        `${path}:8:7: roles.dba: indentation: \`users:\` is indented more than its siblings (\`description:\` on line 7 starts at column 5)`,
        '  8 |       users: [U0DBA]',
        '    |       ^',
      ].join('\n'),
    ]);
  });

  it('a key that lines up with no key above it', async () => {
    const { path, printed } = await problemsIn([
      'roles:',
      '    dba:',
      '      users: [U0DBA]',
      '  qa:',
      '    users: [U0QA]',
    ]);
    expect(printed).toEqual([
      [
        `${path}:4:3: roles: indentation: \`qa:\` at column 3 lines up with neither \`dba:\` above it (line 2, column 5) nor \`roles:\` (line 1, column 1)`,
        '  4 |   qa:',
        '    |   ^',
      ].join('\n'),
    ]);
  });

  it('a tab used for indentation', async () => {
    const { path, printed } = await problemsIn(['roles:', '  dba:', '\tusers: [U0DBA]']);
    expect(printed).toEqual([
      [
        `${path}:3:1: roles.dba: indentation: \`users:\` is indented with a tab; YAML indents with spaces only`,
        '  3 | \tusers: [U0DBA]',
        '    | ^',
      ].join('\n'),
    ]);
  });

  it('a key written twice in one mapping', async () => {
    const { path, printed } = await problemsIn([
      'roles:',
      '  dba:',
      '    users: [U0DBA]',
      '  qa:',
      '    users: [U0QA]',
      '  dba:',
      '    users: [U0DBA2]',
    ]);
    expect(printed).toEqual([
      [
        `${path}:6:3: roles: duplicate key: \`dba:\` is already on line 2 of the same mapping; merge the two or rename one`,
        '  6 |   dba:',
        '    |   ^',
      ].join('\n'),
    ]);
  });

  it('a missing colon, with the caret where the colon belongs', async () => {
    const { path, printed } = await problemsIn([
      'services:',
      '  web:',
      '    checklist: tiny',
      '    channel C0WEB',
      'roles:',
      '  dba: { users: [U0DBA] }',
    ]);
    expect(printed).toEqual([
      [
        `${path}:4:12: services.web: missing colon: \`channel C0WEB\` is not \`key: value\`; did you mean \`channel: C0WEB\`?`,
        '  4 |     channel C0WEB',
        '    |            ^',
      ].join('\n'),
    ]);
  });

  it('an unclosed quote, at the quote that opened it rather than at the end of the file', async () => {
    const { path, printed } = await problemsIn([
      'services:',
      '  web:',
      '    checklist: tiny',
      '    channel: "C0WEB',
      'roles:',
      '  dba: { users: [U0DBA] }',
    ]);
    expect(printed).toEqual([
      [
        `${path}:4:14: services.web: unclosed quote: the " that starts the value of \`channel:\` is never closed`,
        '  4 |     channel: "C0WEB',
        '    |              ^',
      ].join('\n'),
    ]);
  });

  it('an unclosed bracket, at the bracket that opened it', async () => {
    const { path, printed } = await problemsIn([
      'roles:',
      '  dba:',
      '    users: [U0DBA, U0DBA2',
      '  qa:',
      '    users: [U0QA]',
    ]);
    expect(printed).toEqual([
      [
        `${path}:3:12: roles.dba: unclosed bracket: the \`[\` after \`users:\` is never closed with \`]\``,
        '  3 |     users: [U0DBA, U0DBA2',
        '    |            ^',
      ].join('\n'),
    ]);
  });

  it('reports several mistakes in one file once each, without the parser’s wording', async () => {
    const { printed } = await problemsIn([
      'services:',
      '  web:',
      '    checklist: tiny',
      '    channel: C0WEB',
      '    checklist: other',
      'roles:',
      '  dba:',
      '    description: Database people',
      '      users: [U0DBA]',
    ]);
    expect(printed.map((problem) => problem.split('\n')[0])).toEqual([
      expect.stringMatching(/:5:5: services\.web: duplicate key: `checklist:` is already on line 3/),
      expect.stringMatching(/:9:7: roles\.dba: indentation: `users:` is indented more than its siblings/),
    ]);
    for (const problem of printed) expect(problem).not.toMatch(PARSER_JARGON);
  });
});

describe('a value lost to an unquoted # (YAML reads it as a comment)', () => {
  it('channel: #deploys asks for the channel ID', async () => {
    const { path, printed } = await problemsIn([
      'services:',
      '  web:',
      '    checklist: tiny',
      '    channel: #deploys',
      '    deployers: [anyone]',
      'roles:',
      '  dba: { users: [U0DBA] }',
    ]);
    expect(printed).toEqual([
      [
        `${path}:4:14: services.web.channel: channel is empty — did you write #name? use the channel ID (C…)`,
        '  4 |     channel: #deploys',
        '    |              ^',
      ].join('\n'),
    ]);
  });

  it('the same inside { }, where the comment also swallows the closing brace', async () => {
    const { path, printed } = await problemsIn([
      'services:',
      '  web: { checklist: tiny, channel: #deploys }',
      'roles:',
      '  dba: { users: [U0DBA] }',
    ]);
    expect(printed).toEqual([
      [
        `${path}:2:36: services: channel is empty — did you write #name? use the channel ID (C…)`,
        '  2 |   web: { checklist: tiny, channel: #deploys }',
        '    |                                    ^',
      ].join('\n'),
    ]);
  });

  it('any other field: quote the value', async () => {
    const { path, printed } = await problemsIn([
      'services:',
      '  web:',
      '    checklist: tiny',
      '    channel: C0WEB',
      '    deployers: [anyone]',
      '    namespace: #blue',
      'roles:',
      '  dba: { users: [U0DBA] }',
    ]);
    expect(printed).toEqual([
      [
        `${path}:6:16: services.web.namespace: namespace is empty: an unquoted # starts a comment in YAML; quote the value`,
        '  6 |     namespace: #blue',
        '    |                ^',
      ].join('\n'),
    ]);
  });
});
