import { formatAuthority, parseHostHeader, printable } from "../authority.js";
import { GatewayError } from "../errors.js";
import type { Exchange } from "../exchange.js";
import type { Stage } from "../stage.js";

/**
 * The Host header must name the CONNECT target. The upstream is pinned to the target either way; a
 * mismatch means a client (or an attacker) trying to reach one host through another's tunnel: 421.
 */
export function hostCheck(): Stage {
  return {
    name: "hostCheck",
    scope: "all",
    explain: () =>
      "421 when the Host header does not name the CONNECT target (the upstream is pinned to the target)",
    onRequestHeaders(ex: Exchange) {
      if (ex.scheme === "http") return undefined; // absolute-URI requests: the URI is the target
      const raw = ex.req.headers.host;
      if (!raw) return new GatewayError("bad_request", "the request has no Host header");
      const defaultPort = ex.scheme === "https" ? 443 : 80;
      const host = parseHostHeader(raw, defaultPort);
      // A Host without a port is accepted for any target port (clients omit the default); an explicit
      // port must match. The upstream is pinned to the target whatever Host says.
      const portOk = /:\d+$/.test(raw) ? host?.port === ex.target.port : true;
      if (!host || host.host !== ex.target.host || !portOk) {
        return new GatewayError(
          "host_mismatch",
          `Host "${printable(raw)}" does not match the CONNECT target ${formatAuthority(ex.target)}; requests are only forwarded to the CONNECT target`,
        );
      }
      return undefined;
    },
  };
}
