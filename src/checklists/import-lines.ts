/**
 * What a checkbox line looks like in a runbook, read from the text itself rather than from the Markdown
 * tree: the importer finds every checkbox line here first, so that it can say which of them it did not
 * turn into items.
 */

/** An open or ticked box: `[ ]`, `[x]`, `[X]`, or a ballot box (☐ ☑ ☒). */
const BOX = String.raw`(?:\[[ xX]\]|[☐☑☒])`;
const TICKED_BOX_RE = /^(?:\[[xX]\]|[☑☒])$/;
/** Block-quote markers, indentation and a list marker: what may stand before a box on its line. */
const LINE_PREFIX = String.raw`(?:[ \t]*>)*[ \t]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)?`;
/** A box opening a line (`- [ ] …`, `1. [x] …`, `> [ ] …`, `[ ] …`) or a table cell (`| [ ] … |`). */
const CHECKBOX_LINE_RE = new RegExp(String.raw`^${LINE_PREFIX}${BOX}(?=\s|$)|\|[ \t]*${BOX}(?=[\s|]|$)`);
/** A checkbox line with nothing after its box. */
const EMPTY_CHECKBOX_RE = new RegExp(String.raw`^${LINE_PREFIX}${BOX}\s*$`);
const LEADING_BOX_RE = new RegExp(String.raw`^\s*(${BOX})(?:\s+|$)`);
/** A checkbox line inside a code fence, where Markdown does not see it: `1. [ ] Deploy`, `[x] Backup`. */
const FENCED_CHECKBOX_RE = new RegExp(String.raw`^(\s*)(?:(?:[-*+]|\d{1,9}[.)])\s+)?(${BOX})\s+(.*\S)\s*$`);

export interface SourceLine {
  /** 1-based, as editors and the Markdown parser count. */
  line: number;
  text: string;
}

/** The runbook's lines, numbered; Markdown ends a line at `\n`, `\r\n` or `\r`. */
export function sourceLines(markdown: string): SourceLine[] {
  return markdown.split(/\r\n|\r|\n/).map((text, index) => ({ line: index + 1, text }));
}

/** Every line a reader would take for a checkbox line, wherever it sits: lists, tables, fences, quotes, HTML. */
export function findCheckboxLines(lines: SourceLine[]): SourceLine[] {
  return lines.filter(({ text }) => CHECKBOX_LINE_RE.test(text));
}

/** Why a checkbox line that no part of the importer claimed was left out. */
export function unclaimedReason(text: string): string {
  return EMPTY_CHECKBOX_RE.test(text)
    ? 'a checkbox with no text'
    : 'not recognised as a step where it stands';
}

/** A box at the start of a text: whether it is ticked, and the text after it. */
export function leadingBox(text: string): { checked: boolean; rest: string } | undefined {
  const match = LEADING_BOX_RE.exec(text);
  if (!match) return undefined;
  return { checked: TICKED_BOX_RE.test(match[1] ?? ''), rest: text.slice(match[0].length) };
}

/** A checkbox line inside a code fence: its indentation (for nesting), whether it is ticked, its text. */
export function fencedCheckbox(text: string): { indent: number; checked: boolean; rest: string } | undefined {
  const match = FENCED_CHECKBOX_RE.exec(text);
  if (!match) return undefined;
  return { indent: match[1]?.length ?? 0, checked: TICKED_BOX_RE.test(match[2] ?? ''), rest: match[3] ?? '' };
}

/** Lower-case words joined by "-": "Pre-Deployment Checks (48 hours before)" -> "pre-deployment-checks-48-hours-before". */
export function slugify(text: string, max: number): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (slug.length <= max) return slug;
  const cut = slug.slice(0, max);
  // Cut at a word boundary unless that loses most of the slug.
  const dash = cut.lastIndexOf('-');
  return (dash > max / 2 ? cut.slice(0, dash) : cut).replace(/-+$/, '');
}
