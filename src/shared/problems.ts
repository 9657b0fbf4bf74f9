import { type Document, isMap, isSeq, type LineCounter } from 'yaml';
import type { z } from 'zod';

/** One thing wrong with an input, located precisely enough for a person to fix it. */
export interface Problem {
  /** The file (or "env") the problem is in. */
  source: string;
  /** Dotted path inside it, e.g. `phases[2].items[0].check.threshold`. */
  path: string;
  message: string;
  /** 1-based line in the file, when known. */
  line?: number;
}

export function formatProblem(problem: Problem): string {
  const where = problem.line ? `${problem.source}:${problem.line}` : problem.source;
  return `${where}: ${problem.path || '(top level)'}: ${problem.message}`;
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

/** Turns zod issues into problems, with YAML line numbers when the document is at hand. */
export function problemsFromZod(
  error: z.ZodError,
  source: string,
  located?: { doc: Document; lines: LineCounter },
): Problem[] {
  return error.issues.map((issue) => {
    const line = located ? lineOf(located.doc, located.lines, issue.path) : undefined;
    return { source, path: formatPath(issue.path), message: issue.message, ...(line ? { line } : {}) };
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
