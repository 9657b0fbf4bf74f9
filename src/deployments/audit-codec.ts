import type { CheckOutcome, CheckRun } from '../checks/types.js';
import type { DeploymentEvent } from './engine.js';
import { BOT_ACTOR } from './model.js';

/**
 * How audit events are laid out in their Redis stream entries. Check runs are most of a deployment's
 * audit (a requested and a completed entry per run), so those two are stored as plain stream fields,
 * named so that the entry reads as a line, without what can be derived:
 *   check.requested <item> run <n> at <ms> [by <actor>] phase <phase>
 *   check.completed <item> run <n> at <ms> [by <actor>] phase <phase> <outcome> <summary>
 *                   [value <n>] [unit <unit>] [detail <text>] attempts <n> ms <duration ms>
 * `by` only when the actor is not Flightdeck; the completed event's `result.outcome` and `result.at` are
 * its own `outcome` and `at`. Redis keeps the numbers as integers, and a stream entry pays for every
 * field name (Redis 7 shares names only with its node's first entry, and a stream node reserves 4 KB), so
 * the names are short: about a third of the bytes of the event as JSON. Every other event, and any check
 * event that does not fit the layout exactly, is stored as JSON in the field `event`. Decoding gives back
 * the event as the engine made it.
 */

type Kind = 'string' | 'number';
/** Stored name, the event's (or, for completed, its result's) key, kind, optional. */
type Layout = ReadonlyArray<readonly [stored: string, key: string, kind: Kind, optional: boolean]>;

const RUN: Layout = [
  ['run', 'run', 'number', false],
  ['at', 'at', 'number', false],
  ['by', 'actor', 'string', true],
  ['phase', 'phaseId', 'string', false],
];

const MEASURED: Layout = [
  ['value', 'value', 'number', true],
  ['unit', 'unit', 'string', true],
  ['detail', 'detail', 'string', true],
  ['attempts', 'attempts', 'number', false],
  ['ms', 'durationMs', 'number', false],
];

const OUTCOMES: ReadonlySet<string> = new Set<CheckOutcome>(['passed', 'failed', 'error']);

/** The stream fields (name, value, name, value…) for one event. */
export function encodeAuditEvent(event: DeploymentEvent): string[] {
  const fields = encodeCheck(event);
  return fields ?? ['event', JSON.stringify(event)];
}

function encodeCheck(event: DeploymentEvent): string[] | undefined {
  if (event.type !== 'check.requested' && event.type !== 'check.completed') return undefined;
  const { type, itemId, actor, ...rest } = event;
  const own: Record<string, unknown> = actor === BOT_ACTOR ? rest : { ...rest, actor };
  const fields = [type, itemId];
  if (event.type === 'check.requested') return fitLayout(own, RUN, fields);
  const { outcome, result, ...run } = own as Record<string, unknown> &
    Pick<typeof event, 'outcome' | 'result'>;
  const { outcome: resultOutcome, at: resultAt, summary, ...measured } = result;
  if (resultOutcome !== outcome || resultAt !== event.at || typeof summary !== 'string') return undefined;
  if (!fitLayout(run, RUN, fields)) return undefined;
  fields.push(outcome, summary);
  return fitLayout(measured, MEASURED, fields);
}

/** The event stored in a stream entry's fields (as XRANGE returns them). */
export function decodeAuditEvent(fields: string[]): DeploymentEvent {
  const [type, itemId] = fields;
  if (type === 'event') return JSON.parse(itemId as string) as DeploymentEvent;
  if (type !== 'check.requested' && type !== 'check.completed')
    throw new Error(`audit entry with neither an event nor a check run: ${fields.join(' ')}`);
  const values = new Map<string, string>();
  for (let index = 2; index + 1 < fields.length; index += 2)
    values.set(fields[index] as string, fields[index + 1] as string);
  const event: Record<string, unknown> = { type, itemId, ...readLayout(values, RUN) };
  event.actor ??= BOT_ACTOR;
  if (type === 'check.requested') return event as DeploymentEvent;
  const outcome = [...OUTCOMES].find((name) => values.has(name));
  if (!outcome) throw new Error(`check.completed audit entry without an outcome: ${fields.join(' ')}`);
  const result = { outcome, summary: values.get(outcome), ...readLayout(values, MEASURED), at: event.at };
  return { ...event, outcome, result: result as CheckRun } as DeploymentEvent;
}

function readLayout(values: Map<string, string>, layout: Layout): Record<string, unknown> {
  const read: Record<string, unknown> = {};
  for (const [stored, key, kind] of layout) {
    const value = values.get(stored);
    if (value !== undefined) read[key] = kind === 'number' ? Number(value) : value;
  }
  return read;
}

/**
 * Appends `source`'s values in layout order to `fields`; undefined if `source` has a key or a value the
 * layout does not describe exactly (JSON keeps those).
 */
function fitLayout(source: Record<string, unknown>, layout: Layout, fields: string[]): string[] | undefined {
  let described = 0;
  for (const [stored, key, kind, optional] of layout) {
    const value = source[key];
    if (value === undefined) {
      if (!optional) return undefined;
      continue;
    }
    if (kind === 'string' && typeof value !== 'string') return undefined;
    // Numbers must come back as themselves from their decimal form (not NaN, not -0).
    if (kind === 'number' && !(Number.isFinite(value) && Object.is(Number(String(value)), value)))
      return undefined;
    fields.push(stored, String(value));
    described++;
  }
  // As in JSON, a key holding undefined is no key; anything else the layout does not name is kept by JSON.
  const defined = Object.values(source).filter((value) => value !== undefined).length;
  return defined === described ? fields : undefined;
}
