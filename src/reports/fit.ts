/**
 * Fitting long lists into Slack's limits without dropping whole sections: every part gets a share of the
 * budget (small parts in full, large ones split what is left evenly) and says how much it left out.
 */

/** Shares `budget` among parts needing `needs[i]` ("water-filling"): the result never exceeds a need. */
export function shareBudget(needs: readonly number[], budget: number): number[] {
  const shares = needs.map(() => 0);
  let left = Math.max(0, budget);
  const order = needs.map((need, index) => ({ need, index })).sort((a, b) => a.need - b.need);
  order.forEach(({ need, index }, position) => {
    const fair = Math.floor(left / (order.length - position));
    const share = Math.min(need, fair);
    shares[index] = share;
    left -= share;
  });
  return shares;
}

/**
 * As many whole lines as fit in `max` characters (joined by newlines), then `more(n)` for the n left out.
 * The first line is always kept, shortened if it must be.
 */
export function fitLines(lines: readonly string[], max: number, more: (left: number) => string): string[] {
  const total = lines.reduce((sum, line) => sum + line.length + 1, 0);
  if (total - 1 <= max) return [...lines];
  const kept: string[] = [];
  let used = 0;
  for (const [index, line] of lines.entries()) {
    const tail = more(lines.length - index - 1);
    if (used + line.length + 1 + tail.length > max && index > 0) {
      kept.push(more(lines.length - index));
      return kept;
    }
    const shown =
      index === 0 && line.length + tail.length + 1 > max ? cut(line, max - tail.length - 1) : line;
    kept.push(shown);
    used += shown.length + 1;
  }
  return kept;
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}
