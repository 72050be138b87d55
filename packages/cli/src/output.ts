/** Renders rows for a terminal (table), spreadsheets (csv) or scripts (json). */
export type Row = Record<string, string | number | boolean | null | undefined>;

export function print(format: string, rows: Row[], out: NodeJS.WritableStream = process.stdout): void {
  out.write(render(format, rows));
}

export function render(format: string, rows: Row[]): string {
  if (format === "json") return `${JSON.stringify(rows, null, 2)}\n`;
  if (format === "csv") return renderCsv(rows);
  if (rows.length === 1) return renderRecord(rows[0] as Row);
  return renderTable(rows);
}

/** One record reads best as `key: value` lines, nothing truncated. */
export function renderRecord(row: Row): string {
  const keys = Object.keys(row);
  const w = Math.max(...keys.map((k) => k.length));
  return `${keys.map((k) => `${k.padEnd(w)}  ${cell(row[k])}`).join("\n")}\n`;
}

function cell(v: Row[string]): string {
  return v === null || v === undefined ? "" : String(v);
}

export function renderCsv(rows: Row[]): string {
  const cols = columns(rows);
  const esc = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return `${[cols.join(","), ...rows.map((r) => cols.map((c) => esc(cell(r[c]))).join(","))].join("\n")}\n`;
}

export function renderTable(rows: Row[]): string {
  if (rows.length === 0) return "(no rows)\n";
  const cols = columns(rows);
  const width = (process.stdout.columns ?? 160) as number;
  const cells = rows.map((r) => cols.map((c) => cell(r[c]).replace(/\s+/g, " ")));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] as string).length)));
  // Shrink the widest columns until the table fits the terminal.
  const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (cols.length - 1);
  while (total() > width) {
    const i = widths.indexOf(Math.max(...widths));
    if ((widths[i] as number) <= 8) break;
    widths[i] = (widths[i] as number) - 1;
  }
  const fit = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  const line = (r: string[]) =>
    r
      .map((s, i) => fit(s, widths[i] as number))
      .join("  ")
      .trimEnd();
  return `${[line(cols), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n")}\n`;
}

function columns(rows: Row[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
  return [...seen];
}
