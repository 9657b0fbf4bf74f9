import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { formatPath, lineOf, type Problem, problemsFromZod } from '../shared/problems.js';
import { parseYaml } from '../shared/yaml-syntax.js';
import { type Checklist, checklistSchema } from './schema.js';
import { isKnownPlaceholder, placeholdersIn, walk } from './templating.js';

export type ParseResult = { ok: true; checklist: Checklist } | { ok: false; problems: Problem[] };

/** Parses and validates one checklist's YAML text. Every problem is reported, not just the first. */
export function parseChecklist(text: string, source: string): ParseResult {
  const yaml = parseYaml(text, source);
  if (!yaml.ok) return { ok: false, problems: yaml.problems };
  const { doc, lines, raw } = yaml;
  const parsed = checklistSchema.safeParse(raw);
  const schemaProblems = parsed.success ? [] : problemsFromZod(parsed.error, source, { doc, lines, text });
  // The cross-checks read the raw data, so they run (and report) even when the schema found problems.
  const crossProblems = crossCheck(raw).map(({ path, message }) => ({
    source,
    path: formatPath(path),
    message,
    line: lineOf(doc, lines, path),
  }));
  const problems = [...schemaProblems, ...crossProblems];
  return parsed.success && problems.length === 0
    ? { ok: true, checklist: parsed.data }
    : { ok: false, problems };
}

interface LocalProblem {
  path: Array<string | number>;
  message: string;
}

type Loose = Record<string, unknown>;
const asRecord = (value: unknown): Loose =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Loose) : {};
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const asString = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * What the schema cannot say: unique ids, known placeholders, trigger references. Works on the raw YAML
 * (anything may be missing or mistyped there) so it can report alongside the schema's own problems.
 */
function crossCheck(raw: unknown): LocalProblem[] {
  const problems: LocalProblem[] = [];
  const checklist = asRecord(raw);
  const rollback = asRecord(checklist.rollback);
  const phaseIds = new Map<string, string>();
  const itemIds = new Map<string, string>();
  const triggerIds = new Set(asArray(rollback.triggers).map((trigger) => asString(asRecord(trigger).id)));
  const sections: Array<{ path: Array<string | number>; phases: unknown[] }> = [
    { path: ['phases'], phases: asArray(checklist.phases) },
    { path: ['rollback', 'phases'], phases: asArray(rollback.phases) },
    { path: ['procedures'], phases: asArray(checklist.procedures) },
  ];

  for (const section of sections) {
    section.phases.forEach((rawPhase, phaseIndex) => {
      const phase = asRecord(rawPhase);
      const phasePath = [...section.path, phaseIndex];
      const phaseId = asString(phase.id);
      if (phaseId !== undefined) {
        const seen = phaseIds.get(phaseId);
        if (seen)
          problems.push({
            path: [...phasePath, 'id'],
            message: `phase id "${phaseId}" is also used at ${seen}`,
          });
        else phaseIds.set(phaseId, formatPath(phasePath));
      }
      asArray(phase.items).forEach((rawItem, itemIndex) => {
        const item = asRecord(rawItem);
        const itemPath = [...phasePath, 'items', itemIndex];
        const itemId = asString(item.id);
        if (itemId !== undefined) {
          const seen = itemIds.get(itemId);
          if (seen)
            problems.push({
              path: [...itemPath, 'id'],
              message: `item id "${itemId}" is also used at ${seen}`,
            });
          else itemIds.set(itemId, formatPath(itemPath));
        }
        // `triggers`, or its older name `guards`.
        for (const key of ['triggers', 'guards'])
          for (const triggerId of asArray(asRecord(item.wait)[key])) {
            if (typeof triggerId === 'string' && !triggerIds.has(triggerId)) {
              problems.push({
                path: [...itemPath, 'wait', key],
                message: `no rollback trigger "${triggerId}"`,
              });
            }
          }
        const signoffRole = asString(asRecord(item.signoff).role);
        const owner = asString(item.owner);
        if (item.kind === 'signoff' && owner && signoffRole && owner !== signoffRole) {
          problems.push({
            path: [...itemPath, 'owner'],
            message: `a sign-off is owned by its role "${signoffRole}"; drop owner or make them equal`,
          });
        }
      });
    });
  }

  walk(raw, (text, path) => {
    for (const name of placeholdersIn(text)) {
      if (!isKnownPlaceholder(name)) {
        problems.push({
          path: splitPath(path),
          message: `unknown placeholder {{${name}}} (known: service, version, environment, namespace, channel, prometheus_url, health_url, base_url, links.*, kubernetes.*, vars.*)`,
        });
      }
    }
    return text;
  });
  return problems;
}

function splitPath(path: string): Array<string | number> {
  return path
    .split(/\.|(?=\[)/)
    .filter(Boolean)
    .map((part) => (part.startsWith('[') ? Number(part.slice(1, -1)) : part));
}

export interface LoadedChecklists {
  checklists: Map<string, Checklist>;
  /** Which file each checklist id came from. */
  files: Map<string, string>;
  problems: Problem[];
}

/** Loads every `*.yaml`/`*.yml` in a directory (or the given files); ids must be unique across files. */
export async function loadChecklists(paths: { dir?: string; files?: string[] }): Promise<LoadedChecklists> {
  const files = paths.files ?? [];
  if (paths.dir) {
    const entries = await readdir(paths.dir);
    files.push(
      ...entries
        .filter((name) => /\.ya?ml$/.test(name))
        .sort()
        .map((name) => join(paths.dir as string, name)),
    );
  }
  const result: LoadedChecklists = { checklists: new Map(), files: new Map(), problems: [] };
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      result.problems.push({ source: file, path: '', message: `cannot read: ${(error as Error).message}` });
      continue;
    }
    const parsed = parseChecklist(text, file);
    if (!parsed.ok) {
      result.problems.push(...parsed.problems);
      continue;
    }
    const { id } = parsed.checklist;
    const other = result.files.get(id);
    if (other) {
      result.problems.push({
        source: file,
        path: 'id',
        message: `checklist id "${id}" is also used by ${basename(other)}`,
      });
      continue;
    }
    result.checklists.set(id, parsed.checklist);
    result.files.set(id, file);
  }
  return result;
}
