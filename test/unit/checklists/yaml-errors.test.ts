import { describe, expect, it } from 'vitest';
import { parseChecklist } from '../../../src/checklists/loader.js';
import { formatProblem } from '../../../src/shared/problems.js';

/** Checklist YAML that YAML itself cannot read is reported like flightdeck.yaml: line, column, caret. */

function printed(lines: string[]): string[] {
  const parsed = parseChecklist(`${lines.join('\n')}\n`, 'c.yaml');
  return parsed.ok ? [] : parsed.problems.map(formatProblem);
}

const HEAD = ['id: c', 'title: C', 'phases:', '  - id: p'];

describe('YAML syntax errors in a checklist', () => {
  it('a colon inside an unquoted title', () => {
    expect(printed([...HEAD, '    title: Deploy: step one', '    items: []'])).toEqual([
      [
        'c.yaml:5:12: phases[0]: the value of `title:` contains ": ", which YAML reads as another key; quote the value',
        '  5 |     title: Deploy: step one',
        '    |            ^',
      ].join('\n'),
    ]);
  });

  it('text after a closing quote', () => {
    expect(printed([...HEAD, '    title: "Smoke" test', '    items: []'])).toEqual([
      [
        'c.yaml:5:20: phases[0]: unexpected text `test` after the quoted value of `title:`; put the whole value inside the quotes',
        '  5 |     title: "Smoke" test',
        '    |                    ^',
      ].join('\n'),
    ]);
  });

  it('a list item indented differently from the one above it', () => {
    expect(
      printed([
        ...HEAD,
        '    title: P',
        '    items:',
        '      - { id: a, kind: manual, title: A }',
        '     - { id: b, kind: manual, title: B }',
      ]),
    ).toEqual([
      [
        'c.yaml:8:6: phases[0].items: indentation: the list item at column 6 lines up with neither the list item above it (line 7, column 7) nor `items:` (line 6, column 5)',
        '  8 |      - { id: b, kind: manual, title: B }',
        '    |      ^',
      ].join('\n'),
    ]);
  });

  it('a title lost to an unquoted #', () => {
    expect(
      printed([
        ...HEAD,
        '    title: P',
        '    items:',
        '      - id: a',
        '        kind: manual',
        '        title: #1 smoke test',
      ]),
    ).toEqual([
      [
        'c.yaml:9:16: phases[0].items[0].title: title is empty: an unquoted # starts a comment in YAML; quote the value',
        '  9 |         title: #1 smoke test',
        '    |                ^',
      ].join('\n'),
    ]);
  });
});
