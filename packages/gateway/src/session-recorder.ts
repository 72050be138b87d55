import type { AuditWriter } from "@copilot-audit/store";
import type { Logger } from "pino";
import type { Session } from "./session.js";
import { identityRecord } from "./stages/record.js";

/**
 * Session rows (one per client connection, tunnels included: metadata only). Fire-and-forget: a session
 * row never delays a connection; a failure to record one is logged loudly (the writer spools while the
 * database is away, so this means the spool failed too).
 */
export class SessionRecorder {
  constructor(
    private readonly writer: AuditWriter,
    private readonly log: Logger,
  ) {}

  sessionOpened(s: Session): void {
    this.writer
      .sessionOpened({
        id: s.id,
        openedAt: s.openedAt,
        clientAddress: s.client.address,
        clientPort: s.client.port,
        targetHost: s.target.host,
        targetPort: s.target.port,
        mode: s.mode,
        sni: s.sni,
        refusal: s.refusal,
        identity: identityRecord(s),
      })
      .catch((e: Error) => this.log.error({ session: s.id, err: e.message }, "could not record a session"));
  }

  sessionClosed(s: Session, stats: { bytesFromClient: number; bytesToClient: number }): void {
    this.writer
      .sessionClosed({
        sessionId: s.id,
        closedAt: new Date(),
        bytesFromClient: stats.bytesFromClient,
        bytesToClient: stats.bytesToClient,
        closeReason: s.closeReason ?? "closed",
        exchangeCount: s.exchanges,
      })
      .catch((e: Error) =>
        this.log.error({ session: s.id, err: e.message }, "could not record a session end"),
      );
  }
}
