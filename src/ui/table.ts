/**
 * An aligned text table for people: a header row with units, right-aligned numbers, an optional totals
 * row under a rule. Machines get `--json`/`--csv` instead, so this renderer only has to be readable.
 *
 *   namespace  energy (J)  energy (kWh)
 *   ---------  ----------  ------------
 *   batch         11950.0      0.003319
 *   ---------  ----------  ------------
 *   total         11950.0      0.003319
 */

export type Align = "left" | "right";
export type Cell = string | number | null | undefined;

export interface Column<R> {
  header: string;
  /** Shown after the header in parentheses, e.g. `energy (kWh)`. */
  unit?: string;
  get: (row: R) => Cell;
  /** Fixed decimals for numbers (default 2): one column, one precision, so digits line up. */
  decimals?: number;
  /** Default: right when the column holds numbers or sets `decimals` (so magnitudes line up), left otherwise. */
  align?: Align;
}

export interface TableOptions<R> {
  /** Rendered after a rule, in the same columns. */
  totals?: R;
  /** Text for a missing value (null/undefined/NaN); default `-`. */
  missing?: string;
}

export function columnTitle(col: { header: string; unit?: string }): string {
  return col.unit ? `${col.header} (${col.unit})` : col.header;
}

export function renderTable<R>(columns: Array<Column<R>>, rows: R[], opts: TableOptions<R> = {}): string {
  const missing = opts.missing ?? "-";
  const all = opts.totals === undefined ? rows : [...rows, opts.totals];
  // A column with `decimals` is numeric even when every value is missing, so its `-` sit where digits would.
  const numeric = (c: Column<R>) => c.decimals !== undefined || all.some((r) => typeof c.get(r) === "number");
  const aligns: Align[] = columns.map((c) => c.align ?? (numeric(c) ? "right" : "left"));
  const format = (c: Column<R>, v: Cell): string => {
    if (v === null || v === undefined || (typeof v === "number" && Number.isNaN(v))) return missing;
    if (typeof v !== "number") return v;
    const text = v.toFixed(c.decimals ?? 2);
    // A tiny negative (float noise in a difference) would print as "-0.0": a sign with no digit behind it.
    return /^-0\.?0*$/.test(text) ? text.slice(1) : text;
  };
  const cells = (r: R) => columns.map((c) => format(c, c.get(r)));
  const header = columns.map(columnTitle);
  const body = rows.map(cells);
  const totals = opts.totals === undefined ? undefined : cells(opts.totals);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...body.map((b) => b[i]!.length), totals ? totals[i]!.length : 0),
  );

  const line = (values: string[]) =>
    values
      .map((v, i) => (aligns[i] === "right" ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const rule = line(widths.map((w) => "-".repeat(w)));
  const out = [line(header), rule, ...body.map(line)];
  if (totals) out.push(rule, line(totals));
  return out.join("\n");
}
