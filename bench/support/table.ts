/** Plain-text report helpers. */

export const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '-');

/** Columns of text, the first `leftColumns` left-aligned, the rest right-aligned. */
export function table(header: string[], lines: string[][], leftColumns = 2): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => (line[column] ?? '').length)),
  );
  const format = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column < leftColumns ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [format(header), rule, ...lines.map(format)].join('\n');
}

/** A line of the report, on stdout. */
export function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}
