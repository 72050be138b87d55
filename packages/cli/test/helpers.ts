// Helpers for the CLI's auditor tests: the real `copilot-audit` binary (built dist) against a database.
import { type RunResult, runCli } from "@copilot-audit/testkit";

export interface DbLocation {
  dataDir: string;
  /** pg only. */
  url: string | undefined;
}

/** --data-dir (fingerprint key, embedded database) and, on PostgreSQL, --database-url. */
export function dbArgs(d: DbLocation): string[] {
  return ["--data-dir", d.dataDir, ...(d.url ? ["--database-url", d.url] : [])];
}

/** Runs `copilot-audit <args> <db flags>` to completion. */
export function audit(d: DbLocation, args: string[], input?: string): Promise<RunResult> {
  return runCli([...args, ...dbArgs(d)], {
    ...(input === undefined ? {} : { input }),
    env: { DATABASE_URL: "" },
  });
}

/** Parses CSV as the CLI writes it (quoted fields may hold commas, quotes and newlines). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (field !== "" || row.length > 0) rows.push([...row, field]);
  return rows;
}
