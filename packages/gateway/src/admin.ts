import type { IncomingMessage, ServerResponse } from "node:http";
import { ERROR_CODE_HEADER, errorBody } from "./errors.js";

export interface AdminRoutes {
  health(): { ok: boolean; body: Record<string, unknown> };
  caPem(): string;
  pac(requestHost: string | undefined): string;
  metrics(): string;
  /** `/api/…` (the approvals API), when configured. */
  api?: (req: IncomingMessage, res: ServerResponse) => void;
}

/** The gateway's own endpoints, served as plain (origin-form) requests on the proxy port. */
export function handleAdmin(req: IncomingMessage, res: ServerResponse, routes: AdminRoutes): void {
  const path = (req.url ?? "/").split("?")[0];
  const send = (status: number, type: string, body: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, {
      "content-type": type,
      "content-length": Buffer.byteLength(body),
      "cache-control": "no-store",
      ...extra,
    });
    res.end(req.method === "HEAD" ? undefined : body);
  };
  if (routes.api && path?.startsWith("/api/")) {
    routes.api(req, res);
    return;
  }
  const known = ["/healthz", "/ca.pem", "/proxy.pac", "/metrics"];
  if (!known.includes(path ?? "")) {
    send(
      404,
      "text/plain; charset=utf-8",
      errorBody(`no such endpoint ${path}; this is an HTTP proxy (endpoints: ${known.join(", ")})`),
      {
        [ERROR_CODE_HEADER]: "not_found",
      },
    );
    return;
  }
  if (req.method !== "GET" && req.method !== "HEAD") {
    send(405, "text/plain; charset=utf-8", errorBody(`${path} only answers GET`), {
      allow: "GET, HEAD",
      [ERROR_CODE_HEADER]: "method_not_allowed",
    });
    return;
  }
  switch (path) {
    case "/healthz": {
      const h = routes.health();
      send(h.ok ? 200 : 503, "application/json", `${JSON.stringify(h.body)}\n`);
      return;
    }
    case "/ca.pem":
      send(200, "application/x-pem-file", routes.caPem(), {
        "content-disposition": 'attachment; filename="copilot-audit-ca.pem"',
      });
      return;
    case "/proxy.pac":
      send(200, "application/x-ns-proxy-autoconfig", routes.pac(req.headers.host));
      return;
    case "/metrics":
      send(200, "text/plain; version=0.0.4; charset=utf-8", routes.metrics());
      return;
  }
}
