// Test helpers: a store on a given backend, in a fresh temp data dir. PGlite stores start from a migrated
// template data directory built once per machine (initdb takes ~5 s; copying the template ~0.3 s).
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase, type TestBackend } from "@copilot-audit/testkit";
import { PGlite } from "@electric-sql/pglite";
import {
  findMigrationsDir,
  type OpenStoreOptions,
  openStore,
  type RequestRecord,
  type ResponseRecord,
  type Store,
} from "../src/index.js";

export interface TestStore {
  store: Store;
  dataDir: string;
  /** pg only: the database URL. */
  url: string | undefined;
  cleanup(): Promise<void>;
}

function migrationsFingerprint(): string {
  const dir = findMigrationsDir();
  const h = createHash("sha256");
  for (const f of readdirSync(dir).sort())
    if (f.endsWith(".sql")) h.update(f).update(readFileSync(join(dir, f)));
  h.update(new Date().toISOString().slice(0, 7));
  return h.digest("hex").slice(0, 16);
}

let templateReady: Promise<string> | undefined;

/** A migrated PGlite data directory to copy from (built once, shared across test processes). */
export function pgliteTemplate(): Promise<string> {
  templateReady ??= (async () => {
    const dir = join(tmpdir(), `copilot-audit-pglite-template-${migrationsFingerprint()}`);
    if (existsSync(join(dir, "PG_VERSION"))) return dir;
    const building = mkdtempSync(join(tmpdir(), "copilot-audit-pglite-build-"));
    const s = await openStore({ dataDir: building, fingerprintKey: "00".repeat(32) });
    await s.close();
    const pgdata = join(building, "db");
    // Sanity: it opens.
    const check = await PGlite.create(pgdata);
    await check.close();
    try {
      renameSync(pgdata, dir);
    } catch {
      // another test process won the race; use its template
    }
    rmSync(building, { recursive: true, force: true });
    return dir;
  })();
  return templateReady;
}

/** A fresh store on `backend`: a new database on the test server, or a copy of the PGlite template. */
export async function openTestStore(
  backend: TestBackend,
  opts: Partial<OpenStoreOptions> = {},
): Promise<TestStore> {
  const dataDir = mkdtempSync(join(tmpdir(), "copilot-audit-store-"));
  const db = await createTestDatabase({ backend });
  if (backend === "pglite" && opts.databaseUrl === undefined)
    cpSync(await pgliteTemplate(), join(dataDir, "db"), { recursive: true });
  const store = await openStore({ dataDir, databaseUrl: db.url, poolSize: 4, ...opts });
  return {
    store,
    dataDir,
    url: db.url,
    async cleanup() {
      await store.close().catch(() => {});
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A uuid-v4-shaped id. */
export { randomUUID as uuid } from "node:crypto";

/** A request record with sensible defaults. */
export function requestRecord(id: string, over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id,
    sessionId: null,
    sessionSeq: 1,
    method: "POST",
    scheme: "https",
    host: "api.githubcopilot.com",
    port: 443,
    path: "/chat/completions",
    endpointKind: "chat",
    model: "gpt-4o-mini",
    headers: { "content-type": "application/json", "x-request-id": `req-${id}` },
    body: JSON.stringify({ messages: [{ role: "user", content: `hello ${id}` }], stream: true }),
    ...over,
  };
}

/** A response record with sensible defaults. */
export function responseRecord(exchangeId: string, over: Partial<ResponseRecord> = {}): ResponseRecord {
  return {
    exchangeId,
    status: 200,
    headers: { "content-type": "text/event-stream" },
    body: 'data: {"choices":[{"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n',
    completionText: "hi",
    ttfbMs: 12,
    durationMs: 40,
    outcome: "completed",
    ...over,
  };
}
