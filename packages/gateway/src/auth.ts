/**
 * Identity at the proxy: who is asking. A CONNECT to an intercepted host needs a verified token (407
 * otherwise) and, when configured, membership of an allowed group (403). Tunnels follow
 * `passthroughAuth`. The IdP being down closes Copilot traffic (503) but never tunnels.
 */
import type { IncomingMessage } from "node:http";
import {
  type AccessPolicy,
  type Authenticator,
  evaluateAccess,
  type Identity,
  type IdentityError,
  isIdentityError,
  parseProxyAuthorization,
} from "@copilot-audit/identity";
import { GatewayError } from "./errors.js";
import { isMixedHost } from "./routing.js";
import type { Session } from "./session.js";

export type PassthroughAuth = "required" | "open" | "deny";

export interface AuthOptions {
  authenticator: Authenticator;
  policy: AccessPolicy;
  passthroughAuth: PassthroughAuth;
  /** One sentence appended to every 407: how a developer gets a token here. */
  tokenHelp: string;
  /** Keyed fingerprint for the audit log (the store's HMAC); default: the token's plain sha256. */
  fingerprint?: (token: string) => string;
}

export const PROXY_AUTHENTICATE = [
  'Basic realm="copilot-audit", charset="UTF-8"',
  'Bearer realm="copilot-audit"',
];

/** The `authorize` hook for CONNECTs and plain-HTTP requests. Sets `session.identity` when verified. */
export function connectAuthorizer(opts: AuthOptions) {
  return async ({
    req,
    session,
  }: {
    req: IncomingMessage;
    session: Session;
  }): Promise<GatewayError | undefined> => {
    const header = req.headers["proxy-authorization"];
    if (session.mode === "tunnel") {
      if (opts.passthroughAuth === "deny") {
        return new GatewayError(
          "tunnel_denied",
          `this gateway only serves Copilot hosts; ${session.target.host} is not one of them (passthroughAuth is "deny")`,
        );
      }
      if (opts.passthroughAuth === "open" && header === undefined) return undefined;
      try {
        session.identity = await opts.authenticator.authenticate(header);
        session.tokenFingerprint = keyedFingerprint(opts, header);
        return undefined;
      } catch (e) {
        if (!isIdentityError(e)) throw e;
        // An IdP outage must not take unrelated traffic down with it (ARCHITECTURE.md decision 9).
        if (e.code === "idp_unavailable") {
          session.log.warn(
            { code: e.code, target: session.target.host },
            "IdP unavailable: tunnel allowed without identity",
          );
          return undefined;
        }
        return opts.passthroughAuth === "open" ? undefined : credentialError(e, opts.tokenHelp);
      }
    }
    // GitHub's API host carries far more than Copilot: without credentials the tunnel is let in, and only
    // its Copilot paths will demand identity (the identify stage).
    if (header === undefined && isMixedHost(session.target.host)) return undefined;
    let identity: Identity;
    try {
      identity = await opts.authenticator.authenticate(header);
    } catch (e) {
      if (!isIdentityError(e)) throw e;
      return credentialError(e, opts.tokenHelp);
    }
    session.identity = identity;
    session.tokenFingerprint = keyedFingerprint(opts, header);
    const decision = evaluateAccess(opts.policy, identity);
    if (!decision.allowed) {
      return new GatewayError("forbidden", `Copilot access denied for ${who(identity)}: ${decision.message}`);
    }
    return undefined;
  };
}

/** Maps an identity failure to the answer: 503 when the IdP is unreachable (the token may be fine), else 407. */
export function credentialError(e: IdentityError, tokenHelp: string): GatewayError {
  if (e.code === "idp_unavailable") {
    return new GatewayError(
      "idp_unavailable",
      `cannot verify your token right now: ${e.message}; retry shortly`,
      e.retryAfterSec ? { "retry-after": String(Math.ceil(e.retryAfterSec)) } : {},
    );
  }
  return new GatewayError("proxy_auth_required", `proxy authentication failed: ${e.message}. ${tokenHelp}`, {
    "proxy-authenticate": PROXY_AUTHENTICATE,
  });
}

function keyedFingerprint(opts: AuthOptions, header: string | string[] | undefined): string | null {
  return opts.fingerprint ? opts.fingerprint(parseProxyAuthorization(header)) : null;
}

export function who(identity: Identity): string {
  return identity.email ?? identity.subject;
}
