import { DECODABLE_ENCODINGS } from "../codings.js";
import type { Exchange } from "../exchange.js";
import { deleteHeader, endToEndHeaders, getHeader, setHeader } from "../headers.js";
import type { Stage } from "../stage.js";
import type { Upstream } from "../upstream.js";

/**
 * The terminal stage: sends the request to the exchange's target (the CONNECT target) and takes the
 * response head. The body streams back through the response transforms of the later stages.
 */
export function upstream(client: Upstream): Stage {
  return {
    name: "upstream",
    scope: "all",
    explain: () =>
      "forwards to the CONNECT target over verified TLS with keep-alive; never to the Host header",
    async onRequest(ex: Exchange) {
      const headers = ex.requestHeaders;
      deleteHeader(headers, "expect"); // 100-continue was answered by us; the body is already here
      if (ex.requestBody !== null) {
        deleteHeader(headers, "transfer-encoding");
        if (ex.requestBody.length > 0 || getHeader(headers, "content-length") !== undefined) {
          setHeader(headers, "content-length", ex.requestBody.length);
        }
      }
      if (ex.audited) {
        // Ask only for codings the gateway can decode, so the response can be inspected.
        const accept = getHeader(headers, "accept-encoding");
        if (accept !== undefined) {
          const kept = accept
            .split(",")
            .map((s) => s.trim())
            .filter((s) =>
              (DECODABLE_ENCODINGS as readonly string[]).includes(
                s.split(";")[0]?.trim().toLowerCase() ?? "",
              ),
            );
          if (kept.length > 0) setHeader(headers, "accept-encoding", kept.join(", "));
          else deleteHeader(headers, "accept-encoding");
        }
      }
      const started = ex.elapsedMs();
      const res = await client.send({
        scheme: ex.scheme,
        target: ex.target,
        method: ex.method,
        path: ex.path,
        headers,
        body: ex.requestBody ?? (ex.hasRequestBody() ? ex.req : null),
        onCancel: (cancel) => ex.onCancel(cancel),
      });
      ex.timings.upstreamHeadersMs = ex.elapsedMs();
      if (ex.session.log.isLevelEnabled("debug")) {
        ex.log.debug(
          { upstreamMs: ex.timings.upstreamHeadersMs - started, status: res.statusCode },
          "upstream responded",
        );
      }
      ex.upstreamResponse = res;
      ex.respondedAt = new Date();
      ex.responseStatus = res.statusCode ?? 502;
      ex.responseHeaders = endToEndHeaders(res.rawHeaders);
      return undefined;
    },
  };
}
