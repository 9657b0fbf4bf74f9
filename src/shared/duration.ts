import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
type Unit = keyof typeof UNIT_MS;

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;

/** Parses "500ms", "30s", "10m", "2h", "7d", "1w" into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_RE.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNIT_MS[match[2] as Unit]);
}

/** Human form for messages: 90_000 -> "1m 30s", 450 -> "450ms". */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1_000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.slice(0, 2).join(' ');
}

/** A duration in YAML: a string like "10m" or a number of milliseconds. Parsed to milliseconds. */
export const durationSchema = z
  .union([z.string(), z.number().int().nonnegative()])
  .transform((value, ctx) => {
    if (typeof value === 'number') return value;
    const ms = parseDuration(value);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `"${value}" is not a duration (use e.g. 500ms, 30s, 10m, 2h, 7d)`,
      });
      return z.NEVER;
    }
    return ms;
  });
