import type { Identity } from "@copilot-audit/identity";
import type { Logger } from "pino";
import type { Authority } from "./authority.js";
import { uuidv7 } from "./ids.js";

export type SessionMode = "intercept" | "tunnel" | "refused";

/** One client connection to the gateway: a CONNECT tunnel (intercepted or not) or a plain-HTTP connection. */
export class Session {
  readonly id = uuidv7();
  readonly openedAt = new Date();
  readonly client: { address: string; port: number };
  readonly target: Authority;
  mode: SessionMode;
  /** The TLS server name the client asked for, when we saw its ClientHello. */
  sni: string | null = null;
  /** The identity verified at CONNECT (null: no authentication configured, or an open tunnel). */
  identity: Identity | null = null;
  /** Keyed fingerprint of the proxy token (never the token). */
  tokenFingerprint: string | null = null;
  /** Why the gateway refused the connection, when it did. */
  refusal: { status: number; code: string; details: string } | null = null;
  exchanges = 0;
  closeReason: string | null = null;
  readonly log: Logger;

  constructor(init: {
    client: { address: string; port: number };
    target: Authority;
    mode: SessionMode;
    log: Logger;
  }) {
    this.client = init.client;
    this.target = init.target;
    this.mode = init.mode;
    this.log = init.log.child({ session: this.id });
  }

  nextExchangeSeq(): number {
    return ++this.exchanges;
  }
}
