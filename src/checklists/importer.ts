import type { Code, Heading, ListItem, Nodes, Paragraph, PhrasingContent, Root, RootContent } from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmTaskListItemFromMarkdown } from 'mdast-util-gfm-task-list-item';
import { gfmTaskListItem } from 'micromark-extension-gfm-task-list-item';
import type { ChecklistInput } from './schema.js';

/**
 * Turns a Markdown runbook into checklist data: headings become phases, every checkbox line becomes one
 * item, signature lines become sign-offs. Everything imported is `manual` (or `signoff`); a person then
 * turns the automatable items into checks, traffic steps and waits. Pure: text in, data out.
 */

type PhaseInput = ChecklistInput['phases'][number];
type ItemInput = PhaseInput['items'][number];

export interface ImportOptions {
  /** The checklist id; defaults to a slug of the document's title. */
  id?: string;
  /** Recorded as `source:`, e.g. the file the runbook came from. */
  source?: string;
}

export interface ImportStats {
  /** Checkbox lines found: task-list items plus checkbox lines inside plain code fences. */
  checkboxes: number;
  /** Signature lines (`**Signature:** ___` and `- [ ] Role: ___ Date: ___`) turned into sign-offs. */
  signoffs: number;
  /** Items produced; equals checkboxes plus the signature lines that were not checkboxes. */
  items: number;
  phases: Array<{ id: string; title: string; items: number }>;
  /** Code blocks left out: under headings with no items to attach them to, or beyond a phase's limit. */
  unattachedCommands: number;
}

export interface ImportResult {
  checklist: ChecklistInput;
  stats: ImportStats;
}

// Limits from schema.ts, so that an import always validates.
const MAX_TITLE = 300;
const MAX_ID = 80;
const MAX_ROLE = 60;
const MAX_NOTES = 2_500;
const MAX_DESCRIPTION = 3_000;
const MAX_COMMANDS = 20;
const MAX_COMMAND = 2_500;

/** Joins nested heading titles into one phase title. */
export const PHASE_TITLE_SEPARATOR = ' › ';

/** A checkbox line inside a plain code fence, where Markdown does not see it: `1. [ ] Deploy to canary`. */
const FENCED_CHECKBOX_RE = /^\s*(?:[-*+]|\d+[.)])\s+\[[ xX]\]\s+(.*\S)\s*$/;
/** Fences whose content is prose rather than a program, so checkbox lines in them are items. */
const PLAIN_FENCE_LANGS = new Set(['', 'text', 'txt', 'plain', 'plaintext', 'md', 'markdown']);
/** `Signature: ______ Date: ____` under a heading that names the role. */
const SIGNATURE_PARAGRAPH_RE = /^(?:signature|signed|sign-?off)\s*:\s*_{3,}/i;
/** `Lead Developer: ______ Date: ____` — a label, a blank to sign on, optionally a blank date. */
const SIGN_LINE_RE = /^([^:_]{1,60}?)\s*:\s*_{3,}\s*(?:date\s*:?\s*_{2,}\s*)?$/i;
const SIGNATURE_WORD_RE = /^(?:signature|signed|sign-?off)$/i;
/** Lines the runbook itself marks as conditional. */
const OPTIONAL_RE = /\bif (?:applicable|needed|necessary|any|enabled)\b|\(optional\)/i;
/** Emoji (with skin tones, variation selectors and joiners) decorate headings; they make poor titles. */
const EMOJI_RE = /\p{Extended_Pictographic}|\p{Emoji_Modifier}|\u{FE0F}|\u{200D}/gu;

export function importRunbook(markdown: string, options: ImportOptions = {}): ImportResult {
  const tree = fromMarkdown(markdown, {
    extensions: [gfmTaskListItem()],
    mdastExtensions: [gfmTaskListItemFromMarkdown()],
  });
  return new RunbookImporter().run(tree, options);
}

/** A heading's (or a bold list label's) content while it is being read; becomes a phase if it has items. */
interface Section {
  /** Titles of the enclosing headings, outermost first, below the document title. */
  path: string[];
  notes: string[];
  commands: string[];
  items: DraftItem[];
  /** Set by a thematic break: later paragraphs are not this section's notes. */
  proseEnded?: boolean;
}

interface DraftItem {
  /** Position in the document, for ordering phases by their first item. */
  seq: number;
  id: string;
  title: string;
  /** Set for sign-offs: the slug of the role the line names. */
  role?: string;
  optional: boolean;
  notes: string[];
  commands: string[];
}

class RunbookImporter {
  private readonly sections: Section[] = [];
  private readonly itemIds = new Set<string>();
  private checkboxes = 0;
  private signoffs = 0;

  run(tree: Root, options: ImportOptions): ImportResult {
    // A lone top-level heading is the document's title, not a phase.
    const topHeadings = tree.children.filter(
      (node): node is Heading => node.type === 'heading' && node.depth === 1,
    );
    const titleHeading = topHeadings.length === 1 ? topHeadings[0] : undefined;
    const title = clip((titleHeading && headingText(titleHeading)) || 'Imported runbook', MAX_TITLE);

    const intro = this.newSection([]);
    let section = intro;
    const open: Array<{ depth: number; title: string }> = [];
    for (const node of tree.children) {
      if (node.type === 'heading') {
        if (node === titleHeading) continue;
        while ((open.at(-1)?.depth ?? 0) >= node.depth) open.pop();
        open.push({ depth: node.depth, title: headingText(node) || 'Untitled' });
        section = this.newSection(open.map((heading) => heading.title));
        continue;
      }
      this.block(node, section);
    }

    const phases = this.phases(title);
    const stats: ImportStats = {
      checkboxes: this.checkboxes,
      signoffs: this.signoffs,
      items: phases.reduce((sum, phase) => sum + phase.items.length, 0),
      phases: phases.map((phase) => ({ id: phase.id, title: phase.title, items: phase.items.length })),
      unattachedCommands: this.sections.reduce(
        (sum, { items, commands }) =>
          sum + (items.length === 0 ? commands.length : Math.max(0, commands.length - MAX_COMMANDS)),
        0,
      ),
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
    return { checklist, stats };
  }

  private newSection(path: string[]): Section {
    const section: Section = { path, notes: [], commands: [], items: [] };
    this.sections.push(section);
    return section;
  }

  private block(node: RootContent, section: Section): void {
    switch (node.type) {
      case 'list':
        for (const listItem of node.children) this.listItem(listItem, section);
        return;
      case 'code':
        this.code(node, section);
        return;
      case 'paragraph':
        this.paragraph(node, section);
        return;
      case 'blockquote':
        for (const child of node.children) this.block(child, section);
        return;
      case 'thematicBreak':
        // Prose after a rule is usually a footer ("Version: 1.0.0"), not about this section.
        section.proseEnded = true;
        return;
      default:
        // Tables, HTML, definitions: reference material, never items.
        return;
    }
  }

  private paragraph(node: Paragraph, section: Section): void {
    const text = plainText(node.children);
    if (SIGNATURE_PARAGRAPH_RE.test(text)) {
      // The role is the heading the signature sits under ("### Technical Lead").
      const label = section.path.at(-1) ?? 'Approver';
      this.signoff(section, label);
      return;
    }
    // "**Checklist**:" only introduces the list below it.
    if (isBoldLabel(node) || section.proseEnded) return;
    if (text) section.notes.push(text);
  }

  private listItem(node: ListItem, section: Section): void {
    const [first, ...rest] = node.children;
    const own = first?.type === 'paragraph' ? first : undefined;
    const others = own ? rest : node.children;

    if (typeof node.checked === 'boolean') {
      this.checkboxes++;
      const item = this.checkboxItem(own?.children ?? [], section);
      for (const child of others) {
        if (child.type === 'list') {
          for (const nested of child.children) {
            if (containsCheckbox(nested)) this.listItem(nested, section);
            else pushText(item.notes, nested);
          }
        } else if (child.type === 'code') this.code(child, section, item);
        else pushText(item.notes, child);
      }
      return;
    }

    if (containsCheckbox(node)) {
      // "1. **Pre-Deployment**" over a checkbox list acts as a sub-heading.
      const label = own ? plainText(own.children).replace(/:\s*$/, '') : '';
      const target = label ? this.newSection([...section.path, clip(label, MAX_TITLE)]) : section;
      for (const child of others) this.block(child, target);
      return;
    }

    // A plain bullet or numbered step is prose: kept as a note, never turned into an item.
    pushText(section.notes, node);
    for (const child of others) if (child.type === 'code') this.code(child, section);
  }

  private code(node: Code, section: Section, item?: DraftItem): void {
    if (PLAIN_FENCE_LANGS.has((node.lang ?? '').toLowerCase())) {
      const lines = node.value
        .split('\n')
        .map((line) => FENCED_CHECKBOX_RE.exec(line)?.[1])
        .filter((text): text is string => text !== undefined);
      if (lines.length > 0) {
        for (const text of lines) {
          this.checkboxes++;
          this.checkboxItem(parseInline(text), section);
        }
        return;
      }
    }
    (item ?? section).commands.push(clip(node.value, MAX_COMMAND));
  }

  private checkboxItem(content: PhrasingContent[], section: Section): DraftItem {
    const { title, commands } = itemText(content);
    const label = SIGN_LINE_RE.exec(title)?.[1]?.trim();
    if (label) {
      const named = SIGNATURE_WORD_RE.test(label) ? (section.path.at(-1) ?? 'Approver') : label;
      return this.signoff(section, named);
    }
    return this.addItem(section, { title: title || 'Untitled item', commands });
  }

  private signoff(section: Section, label: string): DraftItem {
    this.signoffs++;
    const role = slugify(label, MAX_ROLE) || 'approver';
    return this.addItem(section, { title: clip(`${label} sign-off`, MAX_TITLE), commands: [], role });
  }

  private addItem(section: Section, draft: { title: string; commands: string[]; role?: string }): DraftItem {
    const item: DraftItem = {
      seq: this.itemIds.size,
      id: uniqueId(slugify(draft.title, MAX_ID) || 'item', this.itemIds),
      title: draft.title,
      optional: OPTIONAL_RE.test(draft.title),
      notes: [],
      commands: draft.commands,
      ...(draft.role ? { role: draft.role } : {}),
    };
    section.items.push(item);
    return item;
  }

  /** Sections with items, in the order their first item appeared. */
  private phases(documentTitle: string): PhaseInput[] {
    const phaseIds = new Set<string>();
    const withItems = this.sections.filter((section) => section.items.length > 0);
    const firstItem = (section: Section) => section.items[0]?.seq ?? 0;
    return withItems
      .sort((a, b) => firstItem(a) - firstItem(b))
      .map((section) => {
        const leaf = section.path.at(-1);
        const parent = section.path.at(-2);
        const candidates = [
          slugify(leaf ?? documentTitle, MAX_ID),
          parent && leaf ? `${slugify(parent, 39)}.${slugify(leaf, 40)}` : '',
        ].filter((id) => id.length > 0);
        const free = candidates.find((id) => !phaseIds.has(id));
        const id = free ?? uniqueId(candidates[0] ?? 'phase', phaseIds);
        phaseIds.add(id);
        const notes = joinNotes(section.notes, MAX_NOTES);
        const commands = section.commands.slice(0, MAX_COMMANDS);
        return {
          id,
          title: clip(section.path.join(PHASE_TITLE_SEPARATOR) || documentTitle, MAX_TITLE),
          ...(notes ? { notes } : {}),
          ...(commands.length > 0 ? { commands } : {}),
          items: section.items.map(toItem),
        };
      });
  }
}

function toItem(item: DraftItem): ItemInput {
  const notes = joinNotes(item.notes, MAX_NOTES);
  const details = {
    ...(item.optional ? { required: false } : {}),
    ...(notes ? { notes } : {}),
    ...(item.commands.length > 0 ? { commands: item.commands.slice(0, MAX_COMMANDS) } : {}),
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

function pushText(notes: string[], node: Nodes): void {
  const text = blockText(node).join('\n').trim();
  if (text) notes.push(text);
}

/** A paragraph that is only a bold label, e.g. "**Checklist**:". */
function isBoldLabel(node: Paragraph): boolean {
  const meaningful = node.children.filter(
    (child) => !(child.type === 'text' && /^\s*:?\s*$/.test(child.value)),
  );
  return meaningful.length === 1 && meaningful[0]?.type === 'strong';
}

function containsCheckbox(node: Nodes): boolean {
  if (node.type === 'listItem' && typeof node.checked === 'boolean') return true;
  if (node.type === 'code' && PLAIN_FENCE_LANGS.has((node.lang ?? '').toLowerCase())) {
    return node.value.split('\n').some((line) => FENCED_CHECKBOX_RE.test(line));
  }
  return 'children' in node && (node.children as Nodes[]).some(containsCheckbox);
}

/** Checkbox text from inside a code fence, parsed as Markdown so inline code is handled the same way. */
function parseInline(text: string): PhrasingContent[] {
  const [first] = fromMarkdown(text).children;
  if (first && (first.type === 'paragraph' || first.type === 'heading')) return first.children;
  return [{ type: 'text', value: text }];
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

/** `base`, or `base-2`, `base-3`… whichever is free; records the id it returns. */
function uniqueId(base: string, taken: Set<string>): string {
  let id = base;
  for (let n = 2; taken.has(id); n++) {
    const suffix = `-${n}`;
    id = `${base.slice(0, MAX_ID - suffix.length).replace(/-+$/, '')}${suffix}`;
  }
  taken.add(id);
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
