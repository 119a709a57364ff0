/** The table every bench prints (bench/run.mjs runs under plain Node, so this stays JavaScript). */

/**
 * Prints a compact table; columns listed in `numeric` are right-aligned.
 * @param {readonly string[]} header
 * @param {readonly (readonly string[])[]} rows
 * @param {ReadonlySet<number>} numeric
 * @returns {void}
 */
export function printTable(header, rows, numeric) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (/** @type {readonly string[]} */ cells) =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(r));
}
