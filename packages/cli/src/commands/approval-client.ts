/**
 * How `approvals` and `access` reach the approvals: the gateway's HTTP API with a token (`--gateway URL`, the
 * only way for requesters, and for approvers the default whenever a gateway URL is configured), or — for
 * operators with database access and no gateway URL — the database itself, recording the operating-system
 * user as the decider.
 */
import { readFileSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { ApprovalWebhook, approvalJson } from "@copilot-audit/gateway";
import {
  type ApprovalActor,
  type ApprovalListFilter,
  type ApprovalStatus,
  DatabaseLockedError,
  openApprovals,
} from "@copilot-audit/store";
import type { Command } from "commander";
import { type AppConfig, absolute, ConfigError } from "../config.js";
import { withStore } from "./store.js";

/** A request as the API returns it (ISO dates). */
export type ApprovalJson = ReturnType<typeof approvalJson>;

/** A failure reported by the gateway API: its error code and message. */
export class ApiCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "ApiCallError";
  }
}

/** `--gateway URL` and `--token-file F` for the commands that can use the API. */
export function apiOptions(cmd: Command, requester = false): Command {
  return cmd
    .option(
      "--gateway <url>",
      requester
        ? "the gateway API, e.g. http://gw:8080 (env COPILOT_AUDIT_GATEWAY; default: the gateway in HTTPS_PROXY)"
        : "use the gateway API at this URL, e.g. http://gw:8080 (env COPILOT_AUDIT_GATEWAY); without it: the database",
    )
    .option(
      "--token-file <file>",
      requester
        ? "your token (env COPILOT_AUDIT_TOKEN_FILE or COPILOT_AUDIT_TOKEN; default: the token in HTTPS_PROXY)"
        : "your token for the gateway API (env COPILOT_AUDIT_TOKEN_FILE or COPILOT_AUDIT_TOKEN)",
    );
}

/** The proxy URL of this shell (`HTTPS_PROXY=http://oidc:<token>@gw:8080`), if it carries a token. */
function proxyFromEnv(): { gateway: string; token: string } | null {
  const raw =
    process.env.HTTPS_PROXY ?? process.env.https_proxy ?? process.env.HTTP_PROXY ?? process.env.http_proxy;
  if (!raw) return null;
  try {
    const u = new URL(raw);
    if (u.protocol !== "http:" || !u.password) return null;
    return { gateway: `http://${u.host}`, token: decodeURIComponent(u.password) };
  } catch {
    return null;
  }
}

export interface ApiTarget {
  gateway: string;
  token: string;
}

/**
 * The gateway URL and token: flags and config first, then COPILOT_AUDIT_TOKEN; `fromProxy` (for requesters) also
 * takes both from HTTPS_PROXY. Null when no gateway URL is known.
 */
export function apiTarget(config: AppConfig, fromProxy: boolean): ApiTarget | null {
  const proxy = fromProxy ? proxyFromEnv() : null;
  const gateway = config.gateway ?? proxy?.gateway ?? null;
  if (!gateway) return null;
  let token: string | undefined;
  if (config.tokenFile) {
    try {
      token = readFileSync(absolute(config.tokenFile), "utf8").trim();
    } catch (e) {
      throw new ConfigError(
        `invalid tokenFile: cannot read ${config.tokenFile} (${(e as NodeJS.ErrnoException).code ?? e})`,
      );
    }
  }
  token ??= process.env.COPILOT_AUDIT_TOKEN?.trim() || proxy?.token;
  if (!token)
    throw new ConfigError(
      "the gateway API needs your token: --token-file FILE (or COPILOT_AUDIT_TOKEN_FILE / COPILOT_AUDIT_TOKEN)",
    );
  return { gateway: gateway.replace(/\/+$/, ""), token };
}

/** One JSON call to the gateway API; API errors become ApiCallError with the API's code. */
export async function callApi<T>(
  t: ApiTarget,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${t.gateway}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${t.token}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    const cause = (e as Error & { cause?: { code?: string; message?: string } }).cause;
    throw new ApiCallError(
      "gateway_unreachable",
      `cannot reach the gateway at ${t.gateway}: ${cause?.code ?? cause?.message ?? (e as Error).message}`,
      0,
    );
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiCallError(
      res.status === 404 ? "not_found" : "bad_response",
      `the gateway at ${t.gateway} answered ${res.status} without JSON${res.status === 404 ? " (are approvals on there? start it with --approval-group)" : ""}`,
      res.status,
    );
  }
  const err = (json as { error?: { code: string; message: string } }).error;
  if (!res.ok || err)
    throw new ApiCallError(err?.code ?? "api_error", err?.message ?? `HTTP ${res.status}`, res.status);
  return json as T;
}

/** The operator running a database-mode command: recorded as the decider. */
export function operatorActor(): ApprovalActor {
  let user = "unknown";
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? process.env.LOGNAME ?? "unknown";
  }
  return { kind: "operator", name: `os:${user}@${hostname()}` };
}

export interface Decision {
  action: "grant" | "deny" | "revoke";
  ttlSeconds?: number;
  note?: string | null;
}

/** The approvals API surface both modes offer. */
export interface ApprovalChannel {
  /** "the gateway API at …" or "the database as os:…". */
  readonly via: string;
  list(filter: ApprovalListFilter): Promise<ApprovalJson[]>;
  get(id: string): Promise<ApprovalJson>;
  decide(id: string, d: Decision): Promise<ApprovalJson>;
}

function apiChannel(t: ApiTarget): ApprovalChannel {
  return {
    via: `the gateway API at ${t.gateway}`,
    async list(f) {
      const q = new URLSearchParams();
      if (f.status?.length) q.set("status", f.status.join(","));
      if (f.user) q.set("user", f.user);
      if (f.since) q.set("since", f.since.toISOString());
      if (f.until) q.set("until", f.until.toISOString());
      if (f.limit) q.set("limit", String(f.limit));
      const r = await callApi<{ approvals: ApprovalJson[] }>(t, "GET", `/api/approvals?${q}`);
      return r.approvals;
    },
    get: (id) => callApi<ApprovalJson>(t, "GET", `/api/approvals/${encodeURIComponent(id)}`),
    decide: (id, d) =>
      callApi<ApprovalJson>(t, "POST", `/api/approvals/${encodeURIComponent(id)}/${d.action}`, {
        ...(d.ttlSeconds !== undefined ? { ttl: d.ttlSeconds } : {}),
        ...(d.note ? { note: d.note } : {}),
      }),
  };
}

/**
 * Runs `fn` with the channel the configuration selects: the API when a gateway URL is configured, else the
 * database (operators). In database mode decisions are audit rows of a short-lived writer chain
 * (`copilot-audit-cli@<host>`), and the webhook, when configured, is sent from here.
 */
export async function withApprovals<T>(
  config: AppConfig,
  fn: (c: ApprovalChannel) => Promise<T>,
): Promise<T> {
  const api = apiTarget(config, false);
  if (api) return fn(apiChannel(api));
  const actor = operatorActor();
  try {
    return await withStore(config, true, async (store) => {
      const writer = await store.createWriter({ writerName: `copilot-audit-cli@${hostname()}` });
      const webhook = config.approvalWebhook
        ? new ApprovalWebhook({
            url: config.approvalWebhook,
            source: `cli:${actor.name}`,
            maxAttempts: 3,
            retryDelayMs: 500,
            logger: {
              info: () => undefined,
              warn: (o, msg) =>
                process.stderr.write(
                  `copilot-audit: warning: ${msg} (${(o as { problem?: string }).problem})\n`,
                ),
            },
          })
        : null;
      const approvals = await openApprovals({
        store,
        writer,
        watch: false,
        onEvent: (e) => webhook?.notify(e),
      });
      try {
        return await fn({
          via: `the database as ${actor.name}`,
          list: async (f) => (await approvals.list(f)).map(approvalJson),
          async get(id) {
            const r = await approvals.get(id);
            if (!r) throw new ApiCallError("approval_not_found", `no approval request ${id}`, 404);
            return approvalJson(r);
          },
          async decide(id, d) {
            const r =
              d.action === "grant"
                ? await approvals.grant(id, actor, {
                    note: d.note ?? null,
                    ...(d.ttlSeconds !== undefined ? { ttlSeconds: d.ttlSeconds } : {}),
                  })
                : d.action === "deny"
                  ? await approvals.deny(id, actor, { note: d.note ?? null })
                  : await approvals.revoke(id, actor, { note: d.note ?? null });
            return approvalJson(r);
          },
        });
      } finally {
        await approvals.close();
        await writer.close();
        await webhook?.flush(5_000);
        webhook?.close();
      }
    });
  } catch (e) {
    if (e instanceof DatabaseLockedError)
      throw Object.assign(
        new Error(
          `${e.message}. While the gateway runs on the embedded database, decide through its API: --gateway http://<gateway> --token-file <approver token>`,
        ),
        { code: e.code },
      );
    throw e;
  }
}

export const STATUSES: readonly ApprovalStatus[] = ["pending", "granted", "denied", "revoked", "expired"];
