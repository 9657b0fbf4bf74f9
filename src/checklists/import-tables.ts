import { leadingBox, type SourceLine } from './import-lines.js';

/**
 * GFM tables, read from a paragraph's lines: the parser runs without the table extension, so a table
 * reaches the importer as a paragraph of `| … |` lines.
 */

export interface TableRow {
  line: number;
  /** Each cell's Markdown, trimmed, with `\|` unescaped. */
  cells: string[];
}

export interface Table {
  header: string[];
  rows: TableRow[];
}

/**
 * - `checklist`: some cell opens with a box; each box is an item.
 * - `signoff`: a signature column (Signature, Firma, Approved…) or blanks to sign on (`____`); each row a sign-off.
 * - `reference`: anything else (contacts, metadata, versions): text for the notes.
 */
export type TableKind = 'checklist' | 'signoff' | 'reference';

const DELIMITER_CELL_RE = /^:?-+:?$/;
const SIGNATURE_HEADER_RE = /signature|signed|sign-?off|firma|approv|aprob|visto bueno|initials|iniciales/i;
const BLANK_RE = /_{3,}/;
/** Column headers that name the step: its text becomes the item's title. */
const TASK_HEADER_RE =
  /^(?:tasks?|steps?|items?|checks?|actions?|activit(?:y|ies)|descriptions?|what|tareas?|pasos?|acci[oó]n(?:es)?|actividad(?:es)?|descripci[oó]n|comprobaci[oó]n|verificaci[oó]n)$/i;
/** Column headers whose cells are commands to run. */
const COMMAND_HEADER_RE = /^(?:commands?|cmd|comandos?|scripts?)$/i;
/** Column headers that name who signs. */
const ROLE_HEADER_RE =
  /^(?:roles?|rol(?:es)?|functions?|funci[oó]n|teams?|equipos?|approvers?|aprobador(?:es)?|responsables?|positions?|cargos?|signers?|firmantes?)$/i;
/** A row number: `1`, `2.`, `#3`. */
const INDEX_CELL_RE = /^#?\d+[.)]?$/;

/** The table that ends a run of paragraph lines, if any, and how many lines of prose stand before it. */
export function findTable(lines: SourceLine[]): { proseLines: number; table: Table } | undefined {
  for (let index = 1; index < lines.length; index++) {
    const headerLine = lines[index - 1] as SourceLine;
    const delimiter = splitRow((lines[index] as SourceLine).text);
    const header = splitRow(headerLine.text);
    const isDelimiter = delimiter.length > 0 && delimiter.every((cell) => DELIMITER_CELL_RE.test(cell));
    if (!isDelimiter || !headerLine.text.includes('|') || header.length !== delimiter.length) continue;
    const rows = lines.slice(index + 1).map(({ line, text }) => ({ line, cells: splitRow(text) }));
    return { proseLines: index - 1, table: { header, rows } };
  }
  return undefined;
}

/** A row's cells: split on unescaped pipes, the outer pipes optional. */
function splitRow(text: string): string[] {
  const row = text
    .trim()
    .replace(/^\|/, '')
    .replace(/(?<!\\)\|$/, '');
  if (row.trim() === '') return [];
  return row.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, '|'));
}

export function tableKind(table: Table): TableKind {
  const cells = table.rows.flatMap((row) => row.cells);
  if (cells.some((cell) => leadingBox(cell))) return 'checklist';
  if (
    table.header.some((cell) => SIGNATURE_HEADER_RE.test(cell)) ||
    cells.some((cell) => BLANK_RE.test(cell))
  )
    return 'signoff';
  return 'reference';
}

/** Which column holds what, by its header. */
export interface Columns {
  /** The step's text, when a header says so. */
  task?: number;
  commands: Set<number>;
  /** Who signs: a Role column, else the first. */
  role: number;
}

export function columns(header: string[]): Columns {
  const plain = header.map(stripEmphasis);
  const task = plain.findIndex((cell) => TASK_HEADER_RE.test(cell));
  const role = plain.findIndex((cell) => ROLE_HEADER_RE.test(cell));
  const commands = new Set(plain.flatMap((cell, index) => (COMMAND_HEADER_RE.test(cell) ? [index] : [])));
  return { ...(task >= 0 ? { task } : {}), commands, role: Math.max(role, 0) };
}

/** A cell that says nothing: empty, a row number, or a blank to write on. */
export function isFillerCell(cell: string): boolean {
  return cell === '' || INDEX_CELL_RE.test(cell) || /^_+$/.test(cell);
}

/** A header's text without Markdown emphasis, for matching and for `Header: value` notes. */
export function stripEmphasis(text: string): string {
  return text.replace(/[*`]|(?<!\w)_+|_+(?!\w)/g, '').trim();
}
