import type {
  Code,
  Heading,
  ListItem,
  Nodes,
  Paragraph,
  PhrasingContent,
  Root,
  RootContent,
  Text,
} from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmTaskListItemFromMarkdown } from 'mdast-util-gfm-task-list-item';
import { gfmTaskListItem } from 'micromark-extension-gfm-task-list-item';
import {
  fencedCheckbox,
  findCheckboxLines,
  leadingBox,
  roleName,
  SIGNOFF_HEADING_RE,
  type SourceLine,
  signatureLine,
  slugify,
  sourceLines,
  unclaimedReason,
} from './import-lines.js';
import { columns, findTable, isFillerCell, stripEmphasis, type Table, tableKind } from './import-tables.js';
import type { ChecklistInput } from './schema.js';

export { slugify } from './import-lines.js';

/**
 * Turns a Markdown runbook into checklist data: headings become phases, every checkbox line becomes one
 * item, signature lines and sign-off tables become sign-offs. Everything imported is `manual` (or
 * `signoff`); a person then turns the automatable items into checks, traffic steps and waits.
 *
 * Nothing is dropped without a word: every checkbox line of the text is found first, straight from the
 * lines, and whichever of them did not become an item is listed in `notImported` with its line number.
 * Pure: text in, data out.
 */

type PhaseInput = ChecklistInput['phases'][number];
type ItemInput = PhaseInput['items'][number];

export interface ImportOptions {
  /** The checklist id; defaults to a slug of the document's title. */
  id?: string;
  /** Recorded as `source:`, e.g. the file the runbook came from. */
  source?: string;
  /** Role names from flightdeck.yaml `roles:`: sign-offs are matched against them, the others listed. */
  roles?: readonly string[];
}

export interface ImportStats {
  /** Checkbox lines that became items (a table row with two boxes is one line). */
  checkboxes: number;
  /** Sign-off items: signature lines, sign-off table rows and signature checkboxes. */
  signoffs: number;
  /** Items produced: one per box (a table row may hold several) and per signature line that was not a checkbox. */
  items: number;
  phases: Array<{ id: string; title: string; items: number }>;
  /** Code blocks left out: under headings with no items to attach them to, or beyond a phase's limit. */
  unattachedCommands: number;
}

/** A line of the runbook that looked like a step or a signature but is not in the checklist. */
export interface NotImported {
  line: number;
  text: string;
  why: string;
}

export interface ImportResult {
  checklist: ChecklistInput;
  stats: ImportStats;
  /** The runbook line each item came from, in checklist order. */
  itemLines: Array<{ id: string; line: number }>;
  notImported: NotImported[];
  /** Items ticked in the runbook (`[x]`); imported open, since a deployment starts with nothing done. */
  preChecked: Array<{ line: number; id: string; title: string }>;
  /** Sign-off roles that are not among `options.roles` (empty when no roles were given). */
  unknownRoles: Array<{ role: string; label: string; line: number }>;
  /** First lines of the code blocks counted in `stats.unattachedCommands`. */
  unattachedCode: number[];
}

// Limits from schema.ts, so that an import always validates.
const MAX_TITLE = 300;
const MAX_ID = 80;
const MAX_NOTES = 2_500;
const MAX_DESCRIPTION = 3_000;
const MAX_COMMANDS = 20;
const MAX_COMMAND = 2_500;

/** Joins nested heading titles into one phase title, and an item's parents in its "Part of:" note. */
export const PHASE_TITLE_SEPARATOR = ' › ';

/** Fences whose content is prose rather than a program, so checkbox lines in them are items. */
const PLAIN_FENCE_LANGS = new Set(['', 'text', 'txt', 'plain', 'plaintext', 'md', 'markdown']);
/** Lines that date or version the runbook document: an approval next to them approves the document. */
const DOCUMENT_CONTROL_RE =
  /^(?:version|versi[oó]n|last (?:updated|reviewed|modified)|updated|[uú]ltima actualizaci[oó]n|actualizado|revision|revisi[oó]n)\s*:/i;
/** Lines the runbook itself marks as conditional. */
const OPTIONAL_RE = /\bif (?:applicable|needed|necessary|any|enabled)\b|\(optional\)/i;
/** Emoji (with skin tones, variation selectors and joiners) decorate headings; they make poor titles. */
const EMOJI_RE = /\p{Extended_Pictographic}|\p{Emoji_Modifier}|\u{FE0F}|\u{200D}/gu;

export function importRunbook(markdown: string, options: ImportOptions = {}): ImportResult {
  const tree = fromMarkdown(markdown, {
    extensions: [gfmTaskListItem()],
    mdastExtensions: [gfmTaskListItemFromMarkdown()],
  });
  const known = options.roles ? new Set(options.roles) : undefined;
  return new RunbookImporter(sourceLines(markdown), known).run(tree, options);
}

/** A heading's (or a bold list label's) content while it is being read; becomes a phase if it has items. */
interface Section {
  /** Titles of the enclosing headings, outermost first, below the document title. */
  path: string[];
  notes: string[];
  commands: Command[];
  items: DraftItem[];
  /** Set by a thematic break: later paragraphs are not this section's notes. */
  proseEnded?: boolean;
}

interface Command {
  text: string;
  /** Where the code block starts, to say which one was left out. */
  line: number;
}

interface DraftItem {
  /** Position in the document, for ordering phases by their first item. */
  seq: number;
  id: string;
  title: string;
  /** The runbook line it came from. */
  line: number;
  checked: boolean;
  /** Set for sign-offs: the role the line names. */
  role?: string;
  optional: boolean;
  notes: string[];
  commands: Command[];
}

/** Where a block stands: under which item (its notes and commands go there) and below which parents. */
interface Context {
  owner?: DraftItem;
  /** Titles of the items and list labels this block is nested under, outermost first. */
  parents: string[];
}

/** One source line of a paragraph's inline content. */
interface Line {
  line: number;
  content: PhrasingContent[];
}

const TOP: Context = { parents: [] };

class RunbookImporter {
  private readonly sections: Section[] = [];
  private readonly drafts = new Map<string, DraftItem>();
  private readonly checkboxLines: SourceLine[];
  /** Why a checkbox line was not made an item, said by the part of the importer that saw it. */
  private readonly reasons = new Map<number, string>();
  /** Signature lines deliberately left out. */
  private readonly leftOut: NotImported[] = [];
  private readonly unknownRoles: ImportResult['unknownRoles'] = [];
  private readonly openHeadings: Array<{ depth: number; title: string }> = [];
  private section: Section;
  private titleHeading: Heading | undefined;
  private lastItem: DraftItem | undefined;

  constructor(
    private readonly source: SourceLine[],
    private readonly roles: ReadonlySet<string> | undefined,
  ) {
    this.checkboxLines = findCheckboxLines(source);
    this.section = this.newSection([]);
  }

  run(tree: Root, options: ImportOptions): ImportResult {
    // A lone top-level heading is the document's title, not a phase.
    const topHeadings = tree.children.filter(
      (node): node is Heading => node.type === 'heading' && node.depth === 1,
    );
    this.titleHeading = topHeadings.length === 1 ? topHeadings[0] : undefined;
    const title = clip(
      (this.titleHeading && headingText(this.titleHeading)) || 'Imported runbook',
      MAX_TITLE,
    );
    const intro = this.section;
    this.blocks(tree.children, TOP);

    const { phases, unattachedCode } = this.phases(title);
    const items = phases.flatMap((phase) => phase.items.map((item) => this.drafts.get(item.id) as DraftItem));
    const itemLines = items.map(({ id, line }) => ({ id, line }));
    const imported = new Set(items.map((item) => item.line));
    const stats: ImportStats = {
      checkboxes: this.checkboxLines.filter(({ line }) => imported.has(line)).length,
      signoffs: items.filter((item) => item.role).length,
      items: items.length,
      phases: phases.map((phase) => ({ id: phase.id, title: phase.title, items: phase.items.length })),
      unattachedCommands: unattachedCode.length,
    };
    // Prose before the first heading describes the whole runbook (unless it had items of its own).
    const description = intro.items.length === 0 ? joinNotes(intro.notes, MAX_DESCRIPTION) : undefined;
    const checklist: ChecklistInput = {
      id: options.id ?? (slugify(title, MAX_ID) || 'imported-runbook'),
      title,
      ...(description ? { description } : {}),
      ...(options.source ? { source: options.source } : {}),
      phases,
    };
    return {
      checklist,
      stats,
      itemLines,
      notImported: this.notImported(imported),
      preChecked: items.filter((item) => item.checked).map(({ line, id, title }) => ({ line, id, title })),
      unknownRoles: this.unknownRoles,
      unattachedCode,
    };
  }

  /**
   * The accounting that makes the import lossless: every checkbox line of the text that no item came
   * from, whatever the reason, plus the signature lines left out on purpose.
   */
  private notImported(imported: ReadonlySet<number>): NotImported[] {
    const unclaimed = this.checkboxLines
      .filter(({ line }) => !imported.has(line))
      .map(({ line, text }) => ({
        line,
        text: text.trim(),
        why: this.reasons.get(line) ?? unclaimedReason(text),
      }));
    return [...unclaimed, ...this.leftOut].sort((a, b) => a.line - b.line);
  }

  private newSection(path: string[]): Section {
    const section: Section = { path, notes: [], commands: [], items: [] };
    this.sections.push(section);
    return section;
  }

  /** Sibling blocks; a fence between two lists of steps belongs to the step just above it. */
  private blocks(nodes: RootContent[], context: Context): void {
    let stepAbove: DraftItem | undefined;
    nodes.forEach((node, index) => {
      if (node.type === 'code' && stepAbove && nextBlockAfterCode(nodes, index)?.type === 'list') {
        this.code(node, context, stepAbove);
        return;
      }
      const before = this.lastItem;
      this.block(node, context);
      if (node.type === 'list') stepAbove = this.lastItem !== before ? this.lastItem : undefined;
      else if (node.type !== 'code') stepAbove = undefined;
    });
  }

  private block(node: RootContent, context: Context): void {
    switch (node.type) {
      case 'heading':
        this.heading(node);
        return;
      case 'list':
        for (const listItem of node.children) this.listItem(listItem, context);
        return;
      case 'code':
        this.code(node, context);
        return;
      case 'paragraph':
        this.paragraph(node, context);
        return;
      case 'blockquote':
        this.blocks(node.children, context);
        return;
      case 'thematicBreak':
        // Prose after a rule is usually a footer ("Version: 1.0.0"), not about this section.
        if (!context.owner) this.section.proseEnded = true;
        return;
      case 'html':
        this.explain(node, 'inside an HTML block (<details>, a comment…), which is not read as Markdown');
        return;
      default:
        // Definitions and the like: never items. Checkbox lines in them are listed by the accounting.
        return;
    }
  }

  private heading(node: Heading): void {
    if (node === this.titleHeading) return;
    while ((this.openHeadings.at(-1)?.depth ?? 0) >= node.depth) this.openHeadings.pop();
    this.openHeadings.push({ depth: node.depth, title: headingText(node) || 'Untitled' });
    this.section = this.newSection(this.openHeadings.map((heading) => heading.title));
  }

  private paragraph(node: Paragraph, context: Context): void {
    const { lines, table } = this.paragraphParts(node);
    const prose = this.lines(lines, context, isDocumentControl(lines));
    // "**Checklist**:" only introduces the list below it.
    const onlyLabel = prose.length === lines.length && !table && isBoldLabel(node);
    if (prose.length > 0 && !onlyLabel) this.note(collapse(prose.join(' ')), context);
    if (table) this.table(table, context);
  }

  /** Checkbox lines become items, signature lines sign-offs; returns the rest, the prose. */
  private lines(lines: Line[], context: Context, documentControl = false): string[] {
    const prose: string[] = [];
    for (const line of lines) {
      const box = boxed(line);
      if (box) this.checkboxItem(box.content, line.line, box.checked, context);
      else if (!this.signature(line, context, documentControl)) prose.push(plainText(line.content));
    }
    return prose;
  }

  private listItem(node: ListItem, context: Context): void {
    const [first, ...rest] = node.children;
    const own = first?.type === 'paragraph' ? this.paragraphParts(first) : undefined;
    const blocks = own ? rest : node.children;
    const [head, ...tail] = own?.lines ?? [];
    const box =
      typeof node.checked === 'boolean'
        ? { checked: node.checked, content: head?.content ?? [] }
        : boxed(head);

    if (box) {
      // A wrapped title goes on until the next checkbox or signature line.
      const wrapped = tail.findIndex((line) => boxed(line) || signatureLine(plainText(line.content)));
      const continued = wrapped === -1 ? tail : tail.slice(0, wrapped);
      const content = [...box.content, ...continued.flatMap((line) => [SPACE, ...line.content])];
      const line = head?.line ?? node.position?.start.line ?? 0;
      const item = this.checkboxItem(content, line, box.checked, context);
      // Checkbox lines run on into this paragraph (lazy continuation) stand beside the item, not under it.
      this.proseLines(tail.slice(continued.length), context);
      this.nested(
        own?.table,
        blocks,
        item ? { owner: item, parents: [...context.parents, item.title] } : context,
      );
      return;
    }

    if (this.holdsCheckbox(node)) {
      const label = head ? plainText(head.content).replace(/:\s*$/, '') : '';
      if (!context.owner && label) {
        // "1. **Pre-Deployment**" over checkbox lines acts as a sub-heading.
        const parent = this.section;
        const sub = this.newSection([...parent.path, clip(label, MAX_TITLE)]);
        this.section = sub;
        this.proseLines(tail, context);
        this.nested(own?.table, blocks, context);
        if (this.section === sub) this.section = parent;
      } else {
        // Inside an item, the label is one more parent of the checkboxes below it.
        const inner = label ? { ...context, parents: [...context.parents, label] } : context;
        this.proseLines(tail, inner);
        this.nested(own?.table, blocks, inner);
      }
      return;
    }

    if (head && this.signature(head, context)) {
      this.proseLines(tail, context);
      this.nested(own?.table, blocks, context);
      return;
    }
    // A plain bullet or numbered step is prose: kept as a note, never turned into an item.
    const text = blockText(node).join('\n').trim();
    if (text) this.note(text, context);
    for (const child of blocks) if (child.type === 'code') this.code(child, context);
  }

  /** Lines after a list item's first: checkbox and signature lines as items, the rest as one note. */
  private proseLines(lines: Line[], context: Context): void {
    const prose = this.lines(lines, context);
    if (prose.length > 0) this.note(collapse(prose.join(' ')), context);
  }

  /** What a list item holds below its paragraph: a table, nested lists, code, quotes. */
  private nested(table: Table | undefined, blocks: RootContent[], context: Context): void {
    if (table) this.table(table, context);
    this.blocks(blocks, context);
  }

  private code(node: Code, context: Context, stepAbove?: DraftItem): void {
    const lang = (node.lang ?? '').toLowerCase();
    const firstLine = this.codeFirstLine(node);
    const lines = node.value.split('\n').map((text, offset) => ({ line: firstLine + offset, text }));
    if (PLAIN_FENCE_LANGS.has(lang) && lines.some(({ text }) => fencedCheckbox(text))) {
      this.fencedChecklist(lines, context);
      return;
    }
    const owner = context.owner ?? stepAbove;
    const line = node.position?.start.line ?? firstLine;
    (owner ?? this.section).commands.push({ text: clip(node.value, MAX_COMMAND), line });
    const block = node.lang ? `a \`\`\`${node.lang} block` : 'a code block';
    this.explain(node, `inside ${block}: kept as a command`);
  }

  /** A plain fence of checkbox lines: each is an item, deeper indentation nests; other lines are notes. */
  private fencedChecklist(lines: SourceLine[], context: Context): void {
    const open: Array<{ indent: number; item: DraftItem }> = [];
    const prose: string[] = [];
    for (const { line, text } of lines) {
      const box = fencedCheckbox(text);
      if (!box) {
        if (text.trim()) prose.push(text.trim());
        continue;
      }
      while ((open.at(-1)?.indent ?? -1) >= box.indent) open.pop();
      const parents = [...context.parents, ...open.map(({ item }) => item.title)];
      const item = this.checkboxItem(parseInline(box.rest), line, box.checked, { ...context, parents });
      if (item) open.push({ indent: box.indent, item });
    }
    if (prose.length > 0) this.note(prose.join('\n'), context);
  }

  /** Rows of a table, by what the table is for. */
  private table(table: Table, context: Context): void {
    const kind = tableKind(table);
    const { task, commands, role } = columns(table.header);
    const header = table.header.map(stripEmphasis);
    const notes: string[] = [];
    for (const row of table.rows) {
      const cells = row.cells;
      const boxes = cells.flatMap((cell, index) => {
        const box = leadingBox(cell);
        return box ? [{ index, ...box }] : [];
      });
      if (kind === 'checklist' && boxes.length > 0) {
        // The step's text: the box's own, else the task column's, else the first cell that says something.
        const titleIndex =
          task ??
          cells.findIndex((cell, index) => !commands.has(index) && !leadingBox(cell) && !isFillerCell(cell));
        for (const box of boxes) {
          const own = box.rest.trim();
          const column = boxes.length > 1 && !own && header[box.index] ? ` (${header[box.index]})` : '';
          const title = own || `${cells[titleIndex] ?? ''}${column}`;
          const skip = new Set([...boxes.map(({ index }) => index), ...(own ? [] : [titleIndex])]);
          const item = this.checkboxItem(parseInline(title), row.line, box.checked, context);
          if (item) this.rowDetails(item, row.line, cells, header, skip, commands);
        }
      } else if (kind === 'signoff' && cells.some((cell) => !isFillerCell(cell))) {
        const signer = cellText(cells[role] ?? '');
        const item = this.signoff(isFillerCell(signer) ? this.headingSigner() : signer, row.line, context);
        this.rowDetails(item, row.line, cells, header, new Set([role]), new Set());
      } else {
        const text = rowText(cells, header);
        if (text) notes.push(text);
      }
    }
    if (notes.length > 0) this.note(notes.join('\n'), context);
  }

  /** A row's other cells: commands from command columns, the rest as `Header: value` notes. */
  private rowDetails(
    item: DraftItem,
    line: number,
    cells: string[],
    header: string[],
    skip: ReadonlySet<number>,
    commandColumns: ReadonlySet<number>,
  ): void {
    cells.forEach((cell, index) => {
      if (skip.has(index) || isFillerCell(cell)) return;
      const code = /^`([^`]+)`$/.exec(cell)?.[1];
      if (commandColumns.has(index) || code) item.commands.push({ text: code ?? cellText(cell), line });
      else item.notes.push(header[index] ? `${header[index]}: ${cellText(cell)}` : cellText(cell));
    });
  }

  private checkboxItem(
    content: PhrasingContent[],
    line: number,
    checked: boolean,
    context: Context,
  ): DraftItem | undefined {
    const { title, commands } = itemText(content);
    if (!title) {
      this.reasons.set(line, 'a checkbox with no text');
      return undefined;
    }
    const signature = signatureLine(title);
    const item = signature
      ? this.signoff(signature.label ?? this.headingSigner(), line, context)
      : this.addItem({ title, line, commands: commands.map((text) => ({ text, line })) }, context);
    item.checked = checked;
    return item;
  }

  /** A line to sign on becomes a sign-off; returns whether the line was one. */
  private signature(line: Line, context: Context, documentControl = false): boolean {
    const signature = signatureLine(plainText(line.content));
    if (!signature) return false;
    if (signature.bare && !this.namesSigner(signature.label)) return false;
    if (documentControl) {
      this.leftOut.push({
        line: line.line,
        text: this.source[line.line - 1]?.text.trim() ?? '',
        why: 'approves the runbook document (it stands with its version or date), not a deployment',
      });
    } else {
      this.signoff(signature.label ?? this.headingSigner(), line.line, context);
    }
    return true;
  }

  /** Whether `Label: ____` is a place to sign: the label is a known role, or the section collects signatures. */
  private namesSigner(label: string | undefined): boolean {
    if (label && this.roles?.has(roleName(label, this.roles))) return true;
    return this.section.path.some((title) => SIGNOFF_HEADING_RE.test(title));
  }

  /** The signer a signature line under this heading stands for: the heading, unless it only says "Sign-off". */
  private headingSigner(): string {
    const heading = this.section.path.at(-1);
    return heading && !SIGNOFF_HEADING_RE.test(heading) ? heading : 'Approver';
  }

  private signoff(label: string, line: number, context: Context): DraftItem {
    const role = roleName(label, this.roles);
    if (this.roles && !this.roles.has(role)) this.unknownRoles.push({ role, label, line });
    return this.addItem({ title: clip(`${label} sign-off`, MAX_TITLE), line, commands: [], role }, context);
  }

  private addItem(
    draft: { title: string; line: number; commands: Command[]; role?: string },
    context: Context,
  ): DraftItem {
    const item: DraftItem = {
      seq: this.drafts.size,
      id: uniqueId(slugify(draft.title, MAX_ID) || 'item', this.drafts),
      title: draft.title,
      line: draft.line,
      checked: false,
      optional: OPTIONAL_RE.test(draft.title),
      notes: context.parents.length > 0 ? [`Part of: ${context.parents.join(PHASE_TITLE_SEPARATOR)}`] : [],
      commands: draft.commands,
      ...(draft.role ? { role: draft.role } : {}),
    };
    this.drafts.set(item.id, item);
    this.section.items.push(item);
    this.lastItem = item;
    return item;
  }

  private note(text: string, context: Context): void {
    if (context.owner) context.owner.notes.push(text);
    else if (!this.section.proseEnded) this.section.notes.push(text);
  }

  /** Gives the checkbox lines inside a block the importer does not read a reason to be listed. */
  private explain(node: Nodes, why: string): void {
    const start = node.position?.start.line ?? 0;
    const end = node.position?.end.line ?? -1;
    for (const { line } of this.checkboxLines) {
      if (line >= start && line <= end && !this.reasons.has(line)) this.reasons.set(line, why);
    }
  }

  private holdsCheckbox(node: Nodes): boolean {
    const start = node.position?.start.line ?? 0;
    const end = node.position?.end.line ?? -1;
    return this.checkboxLines.some(({ line }) => line >= start && line <= end);
  }

  /** A paragraph's lines (each with its inline content), and the table it ends with. */
  private paragraphParts(node: Paragraph): { lines: Line[]; table?: Table } {
    const lines = phrasingLines(node.children);
    const start = node.position?.start;
    const end = node.position?.end.line ?? 0;
    if (
      !start ||
      !lines.some(({ content }) =>
        content.some((child) => child.type === 'text' && child.value.includes('|')),
      )
    )
      return { lines };
    // The parser has no table extension: a table is read from the paragraph's own source lines.
    const source = this.source.slice(start.line - 1, end).map(({ line, text }) => ({
      line,
      text: line === start.line ? text.slice(start.column - 1) : text.replace(/^(?:[ \t]*>)*[ \t]*/, ''),
    }));
    const found = findTable(source);
    if (!found) return { lines };
    const tableLine = source[found.proseLines]?.line ?? 0;
    return { lines: lines.filter(({ line }) => line < tableLine), table: found.table };
  }

  /** The line of a code block's first content line: after the fence, or the block's own for indented code. */
  private codeFirstLine(node: Code): number {
    const start = node.position?.start;
    if (!start) return 0;
    const opening = this.source[start.line - 1]?.text.slice(start.column - 1) ?? '';
    return /^[ \t]*(?:```|~~~)/.test(opening) ? start.line + 1 : start.line;
  }

  /** Sections with items, in the order their first item appeared, and the code blocks that fit nowhere. */
  private phases(documentTitle: string): { phases: PhaseInput[]; unattachedCode: number[] } {
    const phaseIds = new Set<string>();
    const unattachedCode: number[] = [];
    for (const section of this.sections) {
      const kept = section.items.length === 0 ? 0 : MAX_COMMANDS;
      unattachedCode.push(...section.commands.slice(kept).map(({ line }) => line));
      for (const item of section.items)
        unattachedCode.push(...item.commands.slice(MAX_COMMANDS).map(({ line }) => line));
    }
    const withItems = this.sections.filter((section) => section.items.length > 0);
    const firstItem = (section: Section) => section.items[0]?.seq ?? 0;
    const phases = withItems
      .sort((a, b) => firstItem(a) - firstItem(b))
      .map((section) => {
        const leaf = section.path.at(-1);
        const parent = section.path.at(-2);
        const leafSlug = slugify(leaf ?? documentTitle, MAX_ID);
        const parentSlug = slugify(parent ?? '', 39);
        const shortLeafSlug = slugify(leaf ?? '', 40);
        // A slug cannot spell every script (Cyrillic, Japanese…): then the id is "phase", "phase-2"…
        const candidates = [
          leafSlug,
          parentSlug && shortLeafSlug ? `${parentSlug}.${shortLeafSlug}` : '',
        ].filter((id) => id.length > 0);
        const free = candidates.find((id) => !phaseIds.has(id));
        const id = free ?? uniqueId(candidates[0] ?? 'phase', phaseIds);
        phaseIds.add(id);
        const notes = joinNotes(section.notes, MAX_NOTES);
        const commands = section.commands.slice(0, MAX_COMMANDS).map(({ text }) => text);
        return {
          id,
          title: clip(section.path.join(PHASE_TITLE_SEPARATOR) || documentTitle, MAX_TITLE),
          ...(notes ? { notes } : {}),
          ...(commands.length > 0 ? { commands } : {}),
          items: section.items.map(toItem),
        };
      });
    return { phases, unattachedCode: unattachedCode.sort((a, b) => a - b) };
  }
}

function toItem(item: DraftItem): ItemInput {
  const notes = joinNotes(item.notes, MAX_NOTES);
  const commands = item.commands.slice(0, MAX_COMMANDS).map(({ text }) => clip(text, MAX_COMMAND));
  const details = {
    ...(item.optional ? { required: false } : {}),
    ...(notes ? { notes } : {}),
    ...(commands.length > 0 ? { commands } : {}),
  };
  const { id, title } = item;
  return item.role
    ? { id, title, kind: 'signoff', signoff: { role: item.role }, ...details }
    : { id, title, kind: 'manual', ...details };
}

/** An item line's readable title, with commands that stand apart from the sentence moved out. */
export function itemText(content: PhrasingContent[]): { title: string; commands: string[] } {
  const parts = segments(content);
  const detached = new Set<number>();
  const detach = (_match: string, index: string) => {
    detached.add(Number(index));
    return '';
  };
  // Inline code is marked with NUL-delimited indexes so the sentence around it can be matched.
  let text = parts.map((part, index) => (part.code ? `\0${index}\0` : part.value)).join('');
  // "All tests passing (`npm test`)"
  text = text.replace(/\s*\(\s*\0(\d+)\0\s*\)/g, detach);
  // "Run deployment tests: `go test ./...`"
  text = text.replace(/\s*:\s*\0(\d+)\0\s*\.?\s*$/, detach);
  // Code inside the sentence ("`.env.production` created from …") is part of the title.
  text = text.replace(/\0(\d+)\0/g, (_match, index: string) => parts[Number(index)]?.value ?? '');
  const commands = [...detached].sort((a, b) => a - b).map((index) => parts[index]?.value ?? '');
  const title = clip(collapse(text), MAX_TITLE) || clip(collapse(commands.join(' ')), MAX_TITLE);
  return { title, commands: commands.map((command) => clip(command, MAX_COMMAND)) };
}

interface Segment {
  code: boolean;
  value: string;
}

function segments(nodes: PhrasingContent[]): Segment[] {
  return nodes.flatMap((node): Segment[] => {
    switch (node.type) {
      case 'text':
        return [{ code: false, value: node.value }];
      case 'inlineCode':
        return [{ code: true, value: node.value }];
      case 'break':
        return [{ code: false, value: ' ' }];
      case 'image':
        return [{ code: false, value: node.alt ?? '' }];
      case 'html':
        return [];
      default:
        return 'children' in node ? segments(node.children as PhrasingContent[]) : [];
    }
  });
}

function plainText(nodes: PhrasingContent[]): string {
  return collapse(
    segments(nodes)
      .map((part) => part.value)
      .join(''),
  );
}

function headingText(node: Heading): string {
  return clip(collapse(plainText(node.children).replace(EMOJI_RE, '')).replace(/:$/, ''), MAX_TITLE);
}

/** Inline content split by source line, so each line of a paragraph can be read on its own. */
function phrasingLines(nodes: PhrasingContent[]): Line[] {
  const byLine = new Map<number, PhrasingContent[]>();
  const add = (line: number, node: PhrasingContent) => {
    const content = byLine.get(line);
    if (content) content.push(node);
    else byLine.set(line, [node]);
  };
  for (const node of nodes) {
    const start = node.position?.start.line ?? 0;
    if (node.type === 'text') {
      node.value.split('\n').forEach((value, offset) => {
        if (value) add(start + offset, { type: 'text', value });
      });
    } else if (node.type !== 'break') {
      add(start, node);
    }
  }
  return [...byLine].map(([line, content]) => ({ line, content }));
}

const SPACE: Text = { type: 'text', value: ' ' };

/** A line that opens with a box (`[ ] …`, `☐ …`): whether it is ticked, and the content after it. */
function boxed(line: Line | undefined): { checked: boolean; content: PhrasingContent[] } | undefined {
  const [first, ...rest] = line?.content ?? [];
  if (first?.type !== 'text') return undefined;
  const box = leadingBox(first.value);
  if (!box) return undefined;
  return { checked: box.checked, content: box.rest ? [{ type: 'text', value: box.rest }, ...rest] : rest };
}

/** A paragraph that dates or versions the document (its footer). */
function isDocumentControl(lines: Line[]): boolean {
  return lines.some((line) => DOCUMENT_CONTROL_RE.test(plainText(line.content)));
}

/** Text of any block (list item, paragraph, nested list), one line per paragraph, for notes. */
function blockText(node: Nodes): string[] {
  if (node.type === 'paragraph' || node.type === 'heading') return [plainText(node.children)];
  if (node.type === 'code') return [node.value];
  if (node.type === 'listItem') {
    const [head = '', ...tail] = node.children.flatMap(blockText);
    return [`- ${head}`, ...tail.map((line) => `  ${line}`)];
  }
  if ('children' in node) return (node.children as Nodes[]).flatMap(blockText);
  return [];
}

/** A paragraph that is only a bold label, e.g. "**Checklist**:". */
function isBoldLabel(node: Paragraph): boolean {
  const meaningful = node.children.filter(
    (child) => !(child.type === 'text' && /^\s*:?\s*$/.test(child.value)),
  );
  return meaningful.length === 1 && meaningful[0]?.type === 'strong';
}

/** The first block after a run of code blocks. */
function nextBlockAfterCode(nodes: RootContent[], index: number): RootContent | undefined {
  return nodes.slice(index + 1).find((node) => node.type !== 'code');
}

/** A reference table row as a line of text: `Key: value` for two columns, else `First — Header: value; …`. */
function rowText(cells: string[], header: string[]): string {
  const [first = '', ...others] = cells.map(cellText);
  if (cells.length === 2) return others[0] ? `${first}: ${others[0]}` : first;
  const pairs = others.flatMap((cell, index) => {
    if (!cell) return [];
    const name = header[index + 1];
    return [name ? `${name}: ${cell}` : cell];
  });
  return [first, pairs.join('; ')].filter(Boolean).join(' — ');
}

/** A table cell's Markdown as plain text. */
function cellText(cell: string): string {
  return plainText(parseInline(cell));
}

/** A snippet of Markdown (a fence line, a table cell) parsed as inline content. */
function parseInline(text: string): PhrasingContent[] {
  const [first] = fromMarkdown(text).children;
  if (first && (first.type === 'paragraph' || first.type === 'heading')) return first.children;
  return [{ type: 'text', value: text }];
}

/** `base`, or `base-2`, `base-3`… whichever is free. */
function uniqueId(base: string, taken: { has(id: string): boolean }): string {
  let id = base;
  for (let n = 2; taken.has(id); n++) {
    const suffix = `-${n}`;
    id = `${base.slice(0, MAX_ID - suffix.length).replace(/-+$/, '')}${suffix}`;
  }
  return id;
}

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${space > max / 2 ? cut.slice(0, space) : cut}…`;
}

function joinNotes(notes: string[], max: number): string | undefined {
  const text = notes.join('\n\n').trim();
  return text ? clip(text, max) : undefined;
}
