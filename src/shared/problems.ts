import { type Document, isMap, isSeq, type LineCounter } from 'yaml';
import type { z } from 'zod';
import { valueLostToComment } from './yaml-syntax.js';

/** One thing wrong with an input, located precisely enough for a person to fix it. */
export interface Problem {
  /** The file (or "env") the problem is in. */
  source: string;
  /** Dotted path inside it, e.g. `phases[2].items[0].check.threshold`. */
  path: string;
  message: string;
  /** 1-based line in the file, when known. */
  line?: number;
  /** 1-based column on that line, when known. */
  column?: number;
  /** The source line itself, shown under the message with a caret under `column`. */
  excerpt?: string;
}

/**
 * `file:line:column: path: reason`; with an excerpt, the line and a caret follow, e.g.
 *
 *     flightdeck.yaml:8:7: roles.dba: indentation: `users:` is indented more than its siblings (…)
 *       8 |       users: [U0DBA]
 *         |       ^
 */
export function formatProblem(problem: Problem): string {
  let where = problem.source;
  if (problem.line) where += `:${problem.line}${problem.column ? `:${problem.column}` : ''}`;
  const first = `${where}: ${problem.path || '(top level)'}: ${problem.message}`;
  if (problem.excerpt === undefined || !problem.line) return first;
  const gutter = ' '.repeat(String(problem.line).length);
  // Keep the excerpt's tabs in the caret line so the caret sits under the same character in a terminal.
  const caret = `${problem.excerpt.slice(0, (problem.column ?? 1) - 1).replace(/[^\t]/g, ' ')}^`;
  return [first, `  ${problem.line} | ${problem.excerpt}`, `  ${gutter} | ${caret}`].join('\n');
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

/**
 * Turns zod issues into problems, with YAML line numbers when the document is at hand. With its text too,
 * a value YAML read as empty because of an unquoted `#` (`channel: #deploys`) is explained as that.
 */
export function problemsFromZod(
  error: z.ZodError,
  source: string,
  located?: { doc: Document; lines: LineCounter; text?: string },
): Problem[] {
  return error.issues.map((issue) => {
    const path = formatPath(issue.path);
    const { text } = located ?? {};
    const lost =
      located && text !== undefined ? valueLostToComment({ ...located, text }, issue.path) : undefined;
    if (lost) return { source, path, ...lost };
    const line = located ? lineOf(located.doc, located.lines, issue.path) : undefined;
    return { source, path, message: issue.message, ...(line ? { line } : {}) };
  });
}

/** The line of the deepest YAML node that exists along `path`. */
export function lineOf(
  doc: Document,
  lines: LineCounter,
  path: ReadonlyArray<PropertyKey>,
): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined = rangeStart(node);
  for (const key of path) {
    let next: unknown;
    if (isMap(node))
      next = node.items.find((pair) => String((pair.key as { value?: unknown })?.value) === String(key));
    else if (isSeq(node) && typeof key === 'number') next = node.items[key];
    if (next === undefined) break;
    // A map entry is a Pair: its key carries the position, its value is where we descend.
    const pair = next as { key?: unknown; value?: unknown };
    if (isMap(node)) {
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else {
      node = next;
      offset = rangeStart(node) ?? offset;
    }
  }
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range?.[0];
}
