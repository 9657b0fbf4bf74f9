/** Wording of summaries and details, shared by the Kubernetes checks: a summary is one short line. */

export const SUMMARY_MAX = 300;
export const DETAIL_MAX = 1_000;

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

export function clip(text: string, max = SUMMARY_MAX): string {
  const line = text.replace(/\s*\n\s*/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

export function clipDetail(text: string | undefined): string | undefined {
  return text ? text.slice(0, DETAIL_MAX) : undefined;
}

/** `prefix` + as many items as fit in a summary, then `, and N more`. */
export function listSummary(prefix: string, items: string[]): string {
  const shown: string[] = [];
  for (const [index, item] of items.entries()) {
    const rest = items.length - index - 1;
    const candidate = `${prefix}${[...shown, item].join(', ')}${rest > 0 ? `, and ${rest} more` : ''}`;
    if (candidate.length > SUMMARY_MAX && shown.length > 0) break;
    shown.push(item);
  }
  const hidden = items.length - shown.length;
  return clip(`${prefix}${shown.join(', ')}${hidden > 0 ? `, and ${hidden} more` : ''}`);
}
