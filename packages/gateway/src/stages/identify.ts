import type { Authenticator, Identity } from "@copilot-audit/identity";
import { IdentityError, isIdentityError } from "@copilot-audit/identity";
import { credentialError } from "../auth.js";
import type { Exchange } from "../exchange.js";
import type { Stage } from "../stage.js";

/**
 * A tunnel outlives its token: the identity verified at CONNECT is checked again on every exchange.
 * Expired → 407 and the connection is closed, so the client reconnects with a fresh token.
 */
export function identify(authenticator: Authenticator, tokenHelp: string): Stage {
  return {
    name: "identify",
    scope: "all",
    explain: () =>
      "the identity verified at CONNECT must still be valid (token expiry is checked on every exchange)",
    onRequestHeaders(ex: Exchange) {
      const identity = ex.session.identity as Identity | null;
      if (!identity) {
        // An open tunnel, or api.github.com reached without credentials: fine for everything but Copilot.
        if (!ex.audited || ex.session.mode !== "intercept") return undefined;
        ex.closeConnection = true;
        return credentialError(
          new IdentityError(
            "missing_credentials",
            "this request is Copilot traffic and the connection carries no proxy credentials",
          ),
          `${tokenHelp} Put the token in the proxy URL (http://oidc:<token>@gateway:port) so it is sent with every CONNECT.`,
        );
      }
      try {
        authenticator.assertNotExpired(identity);
        return undefined;
      } catch (e) {
        if (!isIdentityError(e)) throw e;
        const err = credentialError(
          e,
          `${tokenHelp} This connection will be closed; reconnect with a fresh token.`,
        );
        ex.closeConnection = true;
        return err;
      }
    },
  };
}
