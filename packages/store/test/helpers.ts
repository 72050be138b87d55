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

/** Builds `dir` once per machine: `build(tmp)` fills a temp dir that is then renamed into place. */
async function cachedDir(dir: string, build: (tmp: string) => Promise<void>): Promise<string> {
  if (existsSync(join(dir, "PG_VERSION"))) return dir;
  const tmp = mkdtempSync(join(tmpdir(), "copilot-audit-pglite-build-"));
  try {
    await build(tmp);
    try {
      renameSync(tmp, dir);
    } catch {
      // another test process won the race; use its copy
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

let pristineReady: Promise<string> | undefined;
let templateReady: Promise<string> | undefined;

/** A PGlite data directory right after initdb, nothing migrated (initdb takes ~5 s; a copy ~0.3 s). */
export function pglitePristine(): Promise<string> {
  pristineReady ??= cachedDir(join(tmpdir(), "copilot-audit-pglite-pristine-0.5.16"), async (tmp) => {
    const pg = await PGlite.create(tmp);
    await pg.close();
  });
  return pristineReady;
}

/** A migrated PGlite data directory to copy from (built once, shared across test processes). */
export function pgliteTemplate(): Promise<string> {
  templateReady ??= (async () =>
    cachedDir(join(tmpdir(), `copilot-audit-pglite-template-${migrationsFingerprint()}`), async (tmp) => {
      const dataDir = mkdtempSync(join(tmpdir(), "copilot-audit-pglite-mig-"));
      try {
        cpSync(await pglitePristine(), join(dataDir, "db"), { recursive: true });
        const s = await openStore({ dataDir, fingerprintKey: "00".repeat(32) });
        await s.close();
        rmSync(tmp, { recursive: true, force: true });
        renameSync(join(dataDir, "db"), tmp);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    }))();
  return templateReady;
}

export interface TestDatabaseDir {
  dataDir: string;
  /** pg only: the database URL. */
  url: string | undefined;
  cleanup(): Promise<void>;
}

/**
 * A fresh, unopened database: a new database on the test server (empty), or a data dir holding a copy of the
 * PGlite template (migrated; `pristine`: not migrated).
 */
export async function prepareTestDatabase(
  backend: TestBackend,
  how: { pristine?: boolean } = {},
): Promise<TestDatabaseDir> {
  const dataDir = mkdtempSync(join(tmpdir(), "copilot-audit-store-"));
  const db = await createTestDatabase({ backend });
  if (backend === "pglite")
    cpSync(how.pristine ? await pglitePristine() : await pgliteTemplate(), join(dataDir, "db"), {
      recursive: true,
    });
  return {
    dataDir,
    url: db.url,
    async cleanup() {
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A fresh, open store on `backend` (see prepareTestDatabase; opening runs any migration not yet applied). */
export async function openTestStore(
  backend: TestBackend,
  opts: Partial<OpenStoreOptions> = {},
  how: { pristine?: boolean } = {},
): Promise<TestStore> {
  const d = await prepareTestDatabase(backend, how);
  const store = await openStore({ dataDir: d.dataDir, databaseUrl: d.url, poolSize: 4, ...opts });
  return {
    store,
    dataDir: d.dataDir,
    url: d.url,
    async cleanup() {
      await store.close().catch(() => {});
      await d.cleanup();
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
