// Old months, fabricated honestly: their partitions are created by the migration's
// copilot_audit_create_month_partitions (the same DDL as the store's monthly partitions) and filled through
// the audit writer with old timestamps, so every row is chained exactly like the gateway's rows.
import { type Kysely, sql } from "kysely";
import type { AuditWriter, Database } from "../src/index.js";
import { requestRecord, responseRecord, uuid } from "./helpers.js";

/** The 15th, noon UTC, of the month `k` months before now. */
export function monthsAgo(k: number): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - k, 15, 12));
}
export const ym = (d: Date) => `${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
export const startOf = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));

export async function createMonth(db: Kysely<Database>, k: number) {
  await sql`SELECT copilot_audit_create_month_partitions(${monthsAgo(k).toISOString().slice(0, 10)}::date)`.execute(
    db,
  );
}

/** One session with `n` exchanges, each with a finding, at `at` (+ a few seconds): 3n + 2 rows. */
export async function fillMonth(w: AuditWriter, at: Date, n: number, tag: string): Promise<number> {
  const sessionId = uuid();
  const t = (s: number) => new Date(at.getTime() + s * 1000);
  await w.sessionOpened({
    id: sessionId,
    openedAt: t(0),
    clientAddress: "10.1.2.3",
    clientPort: 50000,
    targetHost: "api.githubcopilot.com",
    targetPort: 443,
    mode: "intercept",
    identity: { subject: "alice", email: "alice@example.com" },
  });
  for (let i = 0; i < n; i++) {
    const id = uuid();
    await w.requestStarted(
      requestRecord(id, {
        sessionId,
        sessionSeq: i + 1,
        requestedAt: t(1 + i),
        identity: { subject: "alice", email: "alice@example.com" },
        promptText: `${tag} ${i}`,
        findings: [
          {
            ruleId: "aws-access-key-id",
            location: "$.prompt",
            offset: 0,
            length: 20,
            action: "masked",
            secret: `AKIA${tag}${i}`,
          },
        ],
      }),
    );
    await w.responseFinished(responseRecord(id, { respondedAt: t(1 + i), endedAt: t(2 + i) }));
  }
  await w.sessionClosed({
    sessionId,
    closedAt: t(n + 3),
    bytesFromClient: 1,
    bytesToClient: 2,
    closeReason: "closed",
    exchangeCount: n,
  });
  return 3 * n + 2;
}
