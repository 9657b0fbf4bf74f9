/**
 * What a checkbox line, a signature line and a role name look like in a runbook, read from the text itself
 * rather than from the Markdown tree: the importer finds every checkbox line here first, so that it can
 * say which of them it did not turn into items.
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

export interface SignatureLine {
  /** The signer the line names ("Service owner"); absent when the heading above names the signer. */
  label?: string;
  /**
   * Only `Label: ____`: nothing says it is a signature (no "signed", "approved by" or date blank), so it is
   * one only on a checkbox line, for a known role, or under a sign-off heading.
   */
  bare: boolean;
}

/** Blanks that may follow the signer's: `Date: ____`, `Fecha: ____`, `Signature: ____`. */
const MORE_BLANKS = String.raw`(?:\s*(?:date|fecha|signature|firma|name|nombre|time|hora)\s*:?\s*_{2,})*`;
/** "Signature: ____", "Firma: ____", "Signed: ____": the heading names the signer. */
const SIGNATURE_RE = /^(?:signature|signed|sign-?off|firma|firmado)\s*:\s*_{3,}/i;
/** "Approved by (Service owner): ____", "Approved by QA lead: ____", "Aprobado por: ____". */
const APPROVED_BY_RE =
  /^(?:(?:approved|signed|reviewed|authori[sz]ed|accepted|verified)\s+by|(?:aprobado|firmado|revisado|autorizado|validado|aceptado)\s+por)(?:\s*\(([^)]{1,60})\)|\s+([^:_()]{1,60}?))?\s*:\s*_{3,}/i;
/** "Lead Developer: ____ Date: ____": a label and blanks, nothing else on the line. */
const LABELLED_BLANK_RE = new RegExp(String.raw`^([^:_]{1,60}?)\s*:\s*_{3,}(${MORE_BLANKS})\s*$`, 'i');
const DATE_BLANK_RE = /date|fecha/i;
/** Labels that name a field of the signature, not the signer: "Name: ____ Date: ____". */
const FIELD_LABEL_RE = /^(?:name|nombre|signature|firma|signed|sign-?off)$/i;

/** Reads a line of plain text (Markdown emphasis already removed) as a place for someone to sign. */
export function signatureLine(text: string): SignatureLine | undefined {
  if (SIGNATURE_RE.test(text)) return { bare: false };
  const approved = APPROVED_BY_RE.exec(text);
  if (approved) {
    const label = (approved[1] ?? approved[2])?.trim();
    return label ? { label, bare: false } : { bare: false };
  }
  const labelled = LABELLED_BLANK_RE.exec(text);
  const label = labelled?.[1]?.trim();
  if (!labelled || !label) return undefined;
  const bare = !DATE_BLANK_RE.test(labelled[2] ?? '');
  return FIELD_LABEL_RE.test(label) ? { bare } : { label, bare };
}

/** Headings of sections that collect signatures: a signature line under them signs as an approver. */
export const SIGNOFF_HEADING_RE = /sign[- ]?offs?\b|signatures?\b|approvals?\b|aprobaci[oó]n|firmas?\b/i;

/** Words that say what kind of person, not which role: a "DevOps Engineer" signs as `devops`. */
const GENERIC_ROLE_WORDS = new Set([
  'engineer',
  'engineers',
  'team',
  'officer',
  'analyst',
  'member',
  'members',
]);
const SHORT_ROLE_WORDS: Record<string, string> = {
  technical: 'tech',
  administrator: 'admin',
  operations: 'ops',
  development: 'dev',
};

/**
 * The role name for a signer's label: lower-case words joined by "-" ("Service owner" -> `service-owner`),
 * matched loosely against the known roles ("Technical Lead" -> `tech-lead`, "Security Officer" ->
 * `security`). Without a match, the label's own slug.
 */
export function roleName(label: string, known?: ReadonlySet<string>): string {
  const slug = slugify(label, MAX_ROLE) || 'approver';
  if (!known || known.has(slug)) return slug;
  const words = slug.split('-');
  const short = words.map((word) => SHORT_ROLE_WORDS[word] ?? word);
  const specific = (list: string[]) =>
    list.length > 1 && GENERIC_ROLE_WORDS.has(list.at(-1) ?? '') ? list.slice(0, -1) : list;
  const candidates = [words, short, specific(words), specific(short)].flatMap((list) => {
    const name = list.join('-');
    return [name, name.endsWith('s') ? name.slice(0, -1) : `${name}s`];
  });
  return candidates.find((candidate) => known.has(candidate)) ?? slug;
}

const MAX_ROLE = 60;

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
