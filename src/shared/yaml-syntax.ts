import {
  type Document,
  isAlias,
  isCollection,
  isMap,
  isScalar,
  LineCounter,
  type Node,
  parseDocument,
  visit,
  type YAMLError,
} from 'yaml';
import type { Problem } from './problems.js';

/**
 * YAML read for a person. The parser's errors describe its own state ("Implicit keys need to be on a
 * single line", often at the line before the mistake); here each becomes one problem at the line and column
 * where the mistake can be fixed, with one plain sentence, the source line and a caret.
 */

export type ParsedYaml =
  | { ok: true; doc: Document; lines: LineCounter; text: string; raw: unknown }
  | { ok: false; problems: Problem[] };

export function parseYaml(text: string, source: string): ParsedYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const file = new SourceText(text, lines);
  if (doc.errors.length > 0) return { ok: false, problems: syntaxProblems(doc, file, source) };
  try {
    return { ok: true, doc, lines, text, raw: doc.toJS() };
  } catch (error) {
    // toJS throws, rather than reporting, on an alias whose anchor is not defined above it.
    return { ok: false, problems: [aliasProblem(doc, file, source, error as Error)] };
  }
}

/** The sentence for a value YAML read as empty because an unquoted `#` started a comment. */
export function lostToCommentReason(key: string): string {
  return /channel/i.test(key)
    ? `${key} is empty — did you write #name? use the channel ID (C…)`
    : `${key} is empty: an unquoted # starts a comment in YAML; quote the value`;
}

/**
 * When the value at `path` is empty and its line reads `key: #…`, where the `#` is: the value was meant to
 * start with `#` but YAML read the rest of the line as a comment.
 */
export function valueLostToComment(
  located: { doc: Document; lines: LineCounter; text: string },
  path: ReadonlyArray<PropertyKey>,
): { message: string; line: number; column: number; excerpt: string } | undefined {
  const key = path.at(-1);
  if (typeof key !== 'string' || !located.doc.hasIn(path as unknown[])) return undefined;
  const value = located.doc.getIn(path as unknown[], true);
  if (isScalar(value) ? value.value !== null : value != null) return undefined;
  const file = new SourceText(located.text, located.lines);
  const keyNode = pairKeyAt(located.doc, path);
  if (!keyNode?.range) return undefined;
  const { line } = file.position(keyNode.range[0]);
  const text = file.line(line);
  const hash = new RegExp(`(?:^|[\\s{,])${escapeRegExp(key)}[ \\t]*:[ \\t]+#`).exec(text);
  if (!hash) return undefined;
  return {
    message: lostToCommentReason(key),
    line,
    column: hash.index + hash[0].length,
    excerpt: text,
  };
}

/** The source text by line, and what each line looks like to a person reading its indentation. */
class SourceText {
  private readonly all: string[];
  constructor(
    text: string,
    private readonly counter: LineCounter,
  ) {
    this.all = text.split(/\r?\n/);
  }

  line(line: number): string {
    return this.all[line - 1] ?? '';
  }

  get count(): number {
    return this.all.length;
  }

  position(offset: number): { line: number; column: number } {
    const { line, col } = this.counter.linePos(offset);
    return { line, column: col };
  }

  /** The line's shape, or undefined for blank and comment-only lines (they say nothing about structure). */
  shape(line: number): Shape | undefined {
    return shapeOf(this.line(line));
  }

  /** The nearest line above `line` that is not blank or a comment. */
  above(line: number): { line: number; shape: Shape } | undefined {
    for (let n = line - 1; n >= 1; n--) {
      const shape = this.shape(n);
      if (shape) return { line: n, shape };
    }
    return undefined;
  }

  below(line: number): { line: number; shape: Shape } | undefined {
    for (let n = line + 1; n <= this.count; n++) {
      const shape = this.shape(n);
      if (shape) return { line: n, shape };
    }
    return undefined;
  }
}

interface Shape {
  /** Leading whitespace, in characters (a tab counts as one). */
  indent: number;
  /** Whether the line is a list item (`- …`). */
  dash: boolean;
  /** Where the content after the dash starts (= indent without a dash). */
  content: number;
  /** The key of a `key: …` line, unquoted. */
  key?: string;
  /** A `key:` with nothing after it: the lines below, indented further, are its value. */
  opensBlock: boolean;
}

const SHAPE_RE = /^([ \t]*)(-(?:[ \t]+|$))?(?:("[^"]*"|'[^']*'|[^\s#:{}[\],"'][^#:]*?)[ \t]*:(?=[ \t]|$))?/;

function shapeOf(text: string): Shape | undefined {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  const match = SHAPE_RE.exec(text) as RegExpExecArray;
  const indent = match[1]?.length ?? 0;
  const dash = match[2] !== undefined;
  const rawKey = match[3];
  return {
    indent,
    dash,
    content: indent + (match[2]?.length ?? 0),
    ...(rawKey !== undefined ? { key: rawKey.replace(/^(["'])(.*)\1$/, '$2') } : {}),
    opensBlock: rawKey !== undefined && /^[ \t]*(#.*)?$/.test(text.slice(match[0].length)),
  };
}

/** How a line is named in a sentence: `key:`, or "the list item". */
function nameOf(shape: Shape, text: string): string {
  if (shape.key !== undefined && !shape.dash) return `\`${shape.key}:\``;
  if (shape.dash) return 'the list item';
  return `\`${text.trim()}\``;
}

/**
 * The dotted path of the mapping a line at `indent` just below `line` belongs to, read from the
 * indentation of the lines above (the parsed document cannot say: YAML could not read it). Best effort:
 * a hint for the reader, the line and column are what locate the problem.
 */
function enclosingPath(file: SourceText, line: number, indent: number): string {
  const parts: Array<string | number> = [];
  let threshold = indent;
  // A list may sit at its parent key's own column (`users:` then `- U1` right below it).
  let parentMayAlignWithList = false;
  for (let n = line; n >= 1 && (threshold > 0 || parentMayAlignWithList); n--) {
    const shape = file.shape(n);
    if (!shape) continue;
    if (shape.dash) {
      if (shape.key !== undefined && shape.content < threshold) parts.unshift(shape.key);
      if (shape.indent < threshold) {
        parts.unshift(listIndex(file, n, shape.indent));
        threshold = shape.indent;
        parentMayAlignWithList = true;
      }
    } else if (
      shape.key !== undefined &&
      (shape.indent < threshold || (parentMayAlignWithList && shape.indent === threshold))
    ) {
      parts.unshift(shape.key);
      threshold = shape.indent;
      parentMayAlignWithList = false;
    }
  }
  return parts
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i > 0 ? `.${part}` : part))
    .join('');
}

/** Which item of its list the `- ` on `line` starts. */
function listIndex(file: SourceText, line: number, dashIndent: number): number {
  let index = 0;
  for (let n = line - 1; n >= 1; n--) {
    const shape = file.shape(n);
    if (!shape) continue;
    if (shape.indent < dashIndent || (shape.indent === dashIndent && !shape.dash)) break;
    if (shape.indent === dashIndent && shape.dash) index++;
  }
  return index;
}

/** The path of the mapping the key on `line` belongs to (a list item's own index included). */
function pathOfLine(file: SourceText, line: number): string {
  const shape = file.shape(line);
  if (!shape) return '';
  return enclosingPath(file, line, shape.dash ? shape.content : shape.indent);
}

interface Explained {
  line: number;
  column: number;
  path: string;
  reason: string;
}

function syntaxProblems(doc: Document, file: SourceText, source: string): Problem[] {
  const problems: Problem[] = [];
  const linesSeen = new Set<number>();
  for (const error of doc.errors) {
    // The parser often reports one mistake several times from the same place ("nested mapping", then
    // "implicit key on one line"); the first says most.
    const reportedAt = file.position(error.pos[0]).line;
    if (linesSeen.has(reportedAt)) continue;
    linesSeen.add(reportedAt);
    const explained = explain(error, doc, file);
    if (problems.some((problem) => problem.line === explained.line)) continue;
    problems.push({
      source,
      path: explained.path,
      message: explained.reason,
      line: explained.line,
      column: explained.column,
      excerpt: file.line(explained.line),
    });
  }
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

function explain(error: YAMLError, doc: Document, file: SourceText): Explained {
  const offset = error.pos[0];
  const { line, column } = file.position(offset);
  const text = file.line(line);
  const shape = file.shape(line);
  const here = (reason: string): Explained => ({ line, column, path: pathOfLine(file, line), reason });
  const rest = text.slice(column - 1);
  const token = /^\S+/.exec(rest)?.[0] ?? '';
  const theValue = shape?.key !== undefined ? `the value of \`${shape.key}:\`` : 'the value';

  switch (error.code) {
    case 'TAB_AS_INDENT':
      return tabIndent(file, line);
    case 'BAD_INDENT':
      if (/^Flow (sequence|map) in block collection/.test(error.message))
        return unclosedFlow(doc, file, offset) ?? here('a `[` or `{` above is never closed');
      return misaligned(file, line);
    case 'BLOCK_AS_IMPLICIT_KEY': {
      if (/^Nested mappings/.test(error.message)) {
        // Either the value itself holds ": " (`title: Deploy: now`), or the next line is indented under
        // a key that already has a value.
        if (/:(\s|$)/.test(rest.replace(/\s#.*$/, ''))) return here(colonInValue(theValue));
        const next = file.below(line);
        if (next) return misaligned(file, next.line);
      }
      return misaligned(file, line);
    }
    case 'BLOCK_IN_FLOW': {
      const flowKey = /([^\s{},[\]]+)[ \t]*:[ \t]*$/.exec(text.slice(0, column - 1))?.[1];
      const whose = flowKey ? `the value of \`${flowKey}:\`` : 'this value';
      return here(`${colonInValue(whose)}, or add the comma missing between two items`);
    }
    case 'DUPLICATE_KEY':
      return duplicateKey(doc, file, offset);
    case 'MULTILINE_IMPLICIT_KEY':
      return missingColon(file, line, column);
    case 'MISSING_CHAR':
      if (/^Missing closing ["']quote/.test(error.message))
        return unclosedQuote(doc, file, offset) ?? here('a quote above is never closed');
      if (/^Implicit map keys need to be followed/.test(error.message))
        return missingColon(file, line, column);
      if (/^Missing (, or : )?between/.test(error.message))
        return here('missing comma between two items inside `[ ]` or `{ }`');
      if (/^Missing space after :/.test(error.message))
        return here('missing space: inside `{ }` write `key: value`, with a space after the colon');
      if (/^Comments must be separated/.test(error.message))
        return here('a # starts a comment only after a space; quote the value if the # belongs to it');
      if (/^Sequence item without - indicator/.test(error.message))
        return here('a list item needs `- ` in front of it');
      return here(`something is missing here (${parserGist(error)})`);
    case 'UNEXPECTED_TOKEN':
      if (/^Unexpected scalar at node end/.test(error.message)) {
        const quoted = /["'][ \t]*$/.test(text.slice(0, column - 1));
        return here(
          quoted
            ? `unexpected text \`${token}\` after the quoted ${theValue.replace(/^the /, '')}; put the whole value inside the quotes`
            : `unexpected text \`${token}\` after ${theValue}; quote the whole value`,
        );
      }
      if (token.startsWith(']') || token.startsWith('}')) {
        const opener = token.startsWith(']') ? '[' : '{';
        return here(`unexpected \`${token[0]}\`: no \`${opener}\` is open for it to close`);
      }
      if (/^Unexpected empty item/.test(error.message))
        return here('empty item: two commas in a row inside `[ ]` or `{ }`');
      return here(`unexpected \`${token.slice(0, 20)}\` here; if it is part of a value, quote the value`);
    case 'BAD_SCALAR_START':
      return here(`${theValue} starts with ${token[0] ?? ''}, which YAML reserves; quote the value`);
    case 'MULTIPLE_DOCS':
      return here('a second YAML document starts here (`---`); this file must hold just one');
    case 'BAD_DQ_ESCAPE':
      return here(
        'inside double quotes a backslash starts an escape and this one is not valid; use single quotes or write \\\\',
      );
    case 'KEY_OVER_1024_CHARS':
      return here('a key longer than 1024 characters: a closing quote or a colon is probably missing above');
    case 'NON_STRING_KEY':
      return here('a key must be a name, not a list or a map');
    case 'BAD_ALIAS':
    case 'ALIAS_PROPS':
    case 'MULTIPLE_ANCHORS':
      return here('`&` and `*` start YAML anchors and aliases; quote a value that begins with one');
    case 'BAD_PROP_ORDER':
    case 'MULTIPLE_TAGS':
    case 'TAG_RESOLVE_FAILED':
    case 'BAD_COLLECTION_TYPE':
      return here('`!` starts a YAML tag, and this one is not valid here; quote a value that begins with !');
    case 'BAD_DIRECTIVE':
      return here('a line starting with % is a YAML directive, and this one is not valid; remove it');
    case 'RESOURCE_EXHAUSTION':
      return here('YAML aliases here expand to too much data');
    default:
      return here(`YAML cannot read this (${parserGist(error)})`);
  }
}

function colonInValue(whose: string): string {
  return `${whose} contains ": ", which YAML reads as another key; quote the value`;
}

/** The parser's first sentence, without its position (we give our own). For codes with no sentence here. */
function parserGist(error: YAMLError): string {
  return (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
}

/** A line whose indentation fits neither the lines above it as a sibling nor as a child. */
function misaligned(file: SourceText, line: number): Explained {
  const text = file.line(line);
  const here = file.shape(line) ?? { indent: 0, dash: false, content: 0, opensBlock: false };
  const column = here.indent + 1;
  const name = nameOf(here, text);
  const above = file.above(line);
  if (!above)
    return { line, column, path: '', reason: `indentation: ${name} does not fit the lines around it` };
  // Compare like with like: a key with the key after the dash above, a list item with the dash above.
  const aboveColumn = above.shape.dash && !here.dash ? above.shape.content : above.shape.indent;
  const aboveName =
    above.shape.dash && !here.dash && above.shape.key !== undefined
      ? `\`${above.shape.key}:\``
      : nameOf(above.shape, file.line(above.line));

  if (here.indent > aboveColumn) {
    return {
      line,
      column,
      path: enclosingPath(file, line - 1, aboveColumn),
      reason: `indentation: ${name} is indented more than its siblings (${aboveName} on line ${above.line} starts at column ${aboveColumn + 1})`,
    };
  }

  // Indented less: name the nearest shallower line it should have lined up with and the one it is under.
  let sibling: { line: number; shape: Shape } | undefined;
  let outer: { line: number; shape: Shape } | undefined;
  for (let n = line - 1; n >= 1; n--) {
    const shape = file.shape(n);
    if (!shape) continue;
    if (shape.indent <= here.indent) {
      outer = { line: n, shape };
      break;
    }
    if (!sibling || shape.indent < sibling.shape.indent) sibling = { line: n, shape };
  }
  const path = enclosingPath(file, line - 1, here.indent);
  if (outer && outer.shape.indent === here.indent && outer.shape.dash !== here.dash) {
    return {
      line,
      column,
      path,
      reason: here.dash
        ? `indentation: ${name} lines up with ${nameOf(outer.shape, file.line(outer.line))} on line ${outer.line}; indent it under a \`key:\` or line it up with other list items`
        : `indentation: ${name} lines up with the list item on line ${outer.line} but has no \`- \`; add one, or indent it under the item`,
    };
  }
  const atColumn = `${name} at column ${column}`;
  const siblingPart = sibling
    ? `${nameOf(sibling.shape, file.line(sibling.line))} above it (line ${sibling.line}, column ${sibling.shape.indent + 1})`
    : undefined;
  const outerPart = outer
    ? `${nameOf(outer.shape, file.line(outer.line))} (line ${outer.line}, column ${outer.shape.indent + 1})`
    : undefined;
  const reason =
    siblingPart && outerPart
      ? `indentation: ${atColumn} lines up with neither ${siblingPart} nor ${outerPart}`
      : `indentation: ${atColumn} lines up with no line above it${siblingPart ? ` (${siblingPart})` : ''}`;
  return { line, column, path, reason };
}

/** A tab in the indentation; the path is where the line above suggests the line belongs. */
function tabIndent(file: SourceText, line: number): Explained {
  const text = file.line(line);
  const name = nameOf(file.shape(line) ?? { indent: 0, dash: false, content: 0, opensBlock: false }, text);
  const above = file.above(line);
  let path = '';
  if (above) {
    path = pathOfLine(file, above.line);
    if (above.shape.opensBlock && above.shape.key !== undefined)
      path = path ? `${path}.${above.shape.key}` : above.shape.key;
  }
  return {
    line,
    column: text.indexOf('\t') + 1,
    path,
    reason: `indentation: ${name} is indented with a tab; YAML indents with spaces only`,
  };
}

function missingColon(file: SourceText, line: number, column: number): Explained {
  const written = file
    .line(line)
    .slice(column - 1)
    .replace(/\s+#.*$/, '')
    .trimEnd();
  const words = /^(\S+)[ \t]+(.+)$/.exec(written);
  const keyLength = words?.[1]?.length ?? written.length;
  return {
    line,
    // The caret goes where the colon belongs: right after the key.
    column: column + keyLength,
    path: enclosingPath(file, line - 1, column - 1),
    reason: words
      ? `missing colon: \`${written}\` is not \`key: value\`; did you mean \`${words[1]}: ${words[2]}\`?`
      : `missing colon: \`${written}\` needs a colon after it (\`${written}:\`)`,
  };
}

function duplicateKey(doc: Document, file: SourceText, offset: number): Explained {
  const { line, column } = file.position(offset);
  let name = /^[^:\s,{}]+/.exec(file.line(line).slice(column - 1))?.[0] ?? '';
  let first: number | undefined;
  visit(doc, {
    Map(_, map) {
      const repeated = map.items.find((pair) => rangeOf(pair.key)?.[0] === offset);
      if (!repeated) return undefined;
      name = keyText(repeated.key);
      const original = map.items.find((pair) => keyText(pair.key) === name);
      const start = rangeOf(original?.key)?.[0];
      if (start !== undefined && start !== offset) first = file.position(start).line;
      return visit.BREAK;
    },
  });
  return {
    line,
    column,
    path: enclosingPath(file, line - 1, column - 1),
    reason:
      first === undefined || first === line
        ? `duplicate key: \`${name}:\` appears twice in the same mapping; merge the two or rename one`
        : `duplicate key: \`${name}:\` is already on line ${first} of the same mapping; merge the two or rename one`,
  };
}

/** The parser notices a missing quote at the end of the file; point at the quote that opened it. */
function unclosedQuote(doc: Document, file: SourceText, offset: number): Explained | undefined {
  let start: number | undefined;
  visit(doc, {
    Scalar(_, scalar) {
      const range = scalar.range;
      const quoted = scalar.type === 'QUOTE_DOUBLE' || scalar.type === 'QUOTE_SINGLE';
      if (quoted && range && range[0] < offset && range[1] >= offset && (start ?? -1) < range[0])
        start = range[0];
    },
  });
  if (start === undefined) return undefined;
  const { line, column } = file.position(start);
  const text = file.line(line);
  const shape = file.shape(line);
  const quote = text[column - 1] ?? '"';
  const keyBefore =
    shape?.key !== undefined && text.slice(0, column - 1).includes(':') ? ` \`${shape.key}:\`` : '';
  return {
    line,
    column,
    path: pathOfLine(file, line),
    reason: keyBefore
      ? `unclosed quote: the ${quote} that starts the value of${keyBefore} is never closed`
      : `unclosed quote: the ${quote} here is never closed`,
  };
}

/** An unclosed `[` or `{`: the parser notices at the next line; point at the opener. */
function unclosedFlow(doc: Document, file: SourceText, offset: number): Explained | undefined {
  let start: number | undefined;
  visit(doc, {
    Node(_, node) {
      const range = (node as Node).range;
      if (isCollection(node) && node.flow && range && range[0] < offset && range[1] >= offset)
        if ((start ?? -1) < range[0]) start = range[0];
    },
  });
  if (start === undefined) return undefined;
  const { line, column } = file.position(start);
  const text = file.line(line);
  const path = pathOfLine(file, line);
  const opener = text[column - 1] === '{' ? '{' : '[';
  const closer = opener === '{' ? '}' : ']';
  const what = opener === '{' ? 'brace' : 'bracket';
  // `{ channel: #deploys }`: the comment hid the closer, and the value is what the reader must fix.
  const afterOpener = text.slice(column);
  const lostValue = /([^\s{},[\]]+)[ \t]*:[ \t]+#/.exec(afterOpener);
  if (lostValue?.[1])
    return {
      line,
      column: column + lostValue.index + lostValue[0].length,
      path,
      reason: lostToCommentReason(lostValue[1]),
    };
  const comment = /[ \t]#/.exec(afterOpener);
  if (comment)
    return {
      line,
      column: column + comment.index + 2,
      path,
      reason: `unclosed ${what}: an unquoted # starts a comment, which hides the rest of the line and its \`${closer}\`; quote the value`,
    };
  const key = /([^\s{},[\]]+)[ \t]*:[ \t]*$/.exec(text.slice(0, column - 1))?.[1];
  return {
    line,
    column,
    path,
    reason: key
      ? `unclosed ${what}: the \`${opener}\` after \`${key}:\` is never closed with \`${closer}\``
      : `unclosed ${what}: the \`${opener}\` here is never closed with \`${closer}\``,
  };
}

function aliasProblem(doc: Document, file: SourceText, source: string, error: Error): Problem {
  let alias: { source: string; range?: [number, number, number] | null } | undefined;
  visit(doc, {
    Alias(_, node) {
      if (node.resolve(doc) === undefined) {
        alias = node;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  if (!alias?.range) return { source, path: '', message: `YAML cannot read this file: ${error.message}` };
  const { line, column } = file.position(alias.range[0]);
  return {
    source,
    path: pathOfLine(file, line),
    message: `\`*${alias.source}\` refers to no anchor (\`&${alias.source}\` is not defined above it); quote the value if it should start with *`,
    line,
    column,
    excerpt: file.line(line),
  };
}

function pairKeyAt(doc: Document, path: ReadonlyArray<PropertyKey>): Node | undefined {
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1) as unknown[], true);
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find((item) => keyText(item.key) === String(path.at(-1)));
  return pair?.key as Node | undefined;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : isAlias(key) ? `*${key.source}` : String(key);
}

function rangeOf(node: unknown): [number, number, number] | undefined {
  return (node as { range?: [number, number, number] } | null)?.range ?? undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
