/**
 * The approvals HTTP API on the gateway port (JSON in and out):
 *
 *   GET  /api/approvals[?status=pending,granted&user=…&since=…&until=…&limit=…]   approvers: all; others: their own
 *   GET  /api/approvals/:id                                                      approvers, or the requester
 *   POST /api/approvals/:id/grant   {"ttl": "4h" | seconds, "note": "…"}         approvers (not their own request)
 *   POST /api/approvals/:id/deny    {"note": "…"}                                approvers
 *   POST /api/approvals/:id/revoke  {"note": "…"}                                approvers
 *   POST /api/access/request        {"reason": "…"}                              anyone: their own request
 *   GET  /api/access                                                             anyone: their own state
 *
 * `Authorization: Bearer <token>`, verified like proxy tokens. Errors: `{"error": {"code", "message"}}` with the
 * status and `x-copilot-audit-error` of the gateway's error table (401 unauthorized, 403 not_approver /
 * self_approval / forbidden, 404 approval_not_found, 409 approval_conflict, 400 bad_request, 503).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type Authenticator,
  evaluateAccess,
  type Identity,
  isApprover,
  isIdentityError,
  parseDuration,
} from "@copilot-audit/identity";
import {
  type ApprovalActor,
  type ApprovalRequest,
  type ApprovalStatus,
  normalizeApprovalId,
  StoreError,
} from "@copilot-audit/store";
import { type ApprovalDeps, defaultTtlFor, isLive, requesterOf } from "./approvals.js";
import { ERROR_CODE_HEADER, ERRORS, type ErrorCode } from "./errors.js";

export interface ApprovalsApiDeps extends ApprovalDeps {
  authenticator: Authenticator;
}

const MAX_BODY = 16 * 1024;
const STATUSES: readonly ApprovalStatus[] = ["pending", "granted", "denied", "revoked", "expired"];

class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A request as the API returns it (dates as ISO strings). */
export function approvalJson(r: ApprovalRequest): Record<string, unknown> {
  return {
    id: r.id,
    status: r.status,
    issuer: r.issuer,
    subject: r.subject,
    email: r.email,
    groups: r.groups,
    reason: r.reason,
    requestedAt: r.requestedAt.toISOString(),
    defaultTtlSeconds: r.defaultTtlSeconds,
    decidedAt: r.decidedAt?.toISOString() ?? null,
    decidedBy: r.decidedBy,
    decisionNote: r.decisionNote,
    ttlSeconds: r.ttlSeconds,
    expiresAt: r.expiresAt?.toISOString() ?? null,
    revokedAt: r.revokedAt?.toISOString() ?? null,
    revokedBy: r.revokedBy,
  };
}

function send(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...extra,
  });
  res.end(text);
}

function sendError(res: ServerResponse, e: ApiError): void {
  const extra: Record<string, string> = { [ERROR_CODE_HEADER]: e.code };
  if (e.code === "unauthorized") extra["www-authenticate"] = 'Bearer realm="copilot-audit"';
  send(res, ERRORS[e.code].status, { error: { code: e.code, message: e.message } }, extra);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new ApiError("bad_request", `the JSON body is larger than ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ApiError("bad_request", `the body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new ApiError("bad_request", "the body must be a JSON object");
  return v as Record<string, unknown>;
}

function text(body: Record<string, unknown>, key: string): string | null {
  const v = body[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw new ApiError("bad_request", `"${key}" must be a string`);
  return v;
}

function ttlOf(body: Record<string, unknown>): number | undefined {
  const v = body.ttl;
  if (v === undefined || v === null) return undefined;
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "string") {
    try {
      return parseDuration(v);
    } catch {
      throw new ApiError("bad_request", `"ttl" must be a duration such as "4h", "30m", "1h30m", or seconds`);
    }
  }
  throw new ApiError("bad_request", `"ttl" must be a duration such as "4h", or whole seconds`);
}

function dateParam(v: string | null, name: string): Date | undefined {
  if (v === null || v === "") return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new ApiError("bad_request", `"${name}" must be an ISO date or time`);
  return d;
}

async function authenticate(req: IncomingMessage, deps: ApprovalsApiDeps): Promise<Identity> {
  const h = req.headers.authorization;
  const m = h === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(h);
  if (!m)
    throw new ApiError(
      "unauthorized",
      "send your token as `Authorization: Bearer <token>` (the same token as in your proxy URL)",
    );
  try {
    return await deps.authenticator.verify(m[1] as string);
  } catch (e) {
    if (isIdentityError(e) && e.code === "idp_unavailable")
      throw new ApiError("idp_unavailable", `cannot verify your token right now: ${e.message}`);
    if (isIdentityError(e)) throw new ApiError("unauthorized", `token not accepted: ${e.message}`);
    throw e;
  }
}

function actorOf(identity: Identity): ApprovalActor {
  return {
    kind: "approver",
    name: identity.email ?? identity.subject,
    subject: identity.subject,
    issuer: identity.issuer,
  };
}

function requireApprover(deps: ApprovalsApiDeps, identity: Identity, what: string): void {
  if (isApprover(deps.policy, identity)) return;
  const groups = deps.policy.approverGroups;
  throw new ApiError(
    "not_approver",
    groups.length === 0
      ? `${what}: no approver groups are configured on this gateway (--approver-group); operators decide with \`copilot-audit approvals\` against the database`
      : `${what} needs membership of ${groups.join(" or ")}; ${identity.email ?? identity.subject} is not a member`,
  );
}

function own(identity: Identity, r: ApprovalRequest): boolean {
  return r.subject === identity.subject && r.issuer === identity.issuer;
}

/** Answers one `/api/…` request. Never throws. */
export async function handleApprovalsApi(
  req: IncomingMessage,
  res: ServerResponse,
  deps: ApprovalsApiDeps,
): Promise<void> {
  try {
    const url = new URL(req.url ?? "/", "http://gateway");
    const parts = url.pathname.split("/").filter(Boolean); // ["api", ...]
    const method = req.method ?? "GET";
    const identity = await authenticate(req, deps);
    if (parts[1] === "access" && parts.length <= 3) {
      if (parts.length === 3 && parts[2] === "request" && method === "POST")
        return await accessRequest(req, res, deps, identity);
      if (parts.length === 2 && method === "GET") return await accessStatus(res, deps, identity);
    } else if (parts[1] === "approvals" && parts.length === 2 && method === "GET") {
      return await list(url, res, deps, identity);
    } else if (parts[1] === "approvals" && parts.length === 3 && method === "GET") {
      const r = await deps.approvals.get(parts[2] as string);
      if (!r) throw new ApiError("approval_not_found", `no approval request ${parts[2]}`);
      if (!own(identity, r)) requireApprover(deps, identity, "reading someone else's request");
      return send(res, 200, approvalJson(r));
    } else if (parts[1] === "approvals" && parts.length === 4 && method === "POST") {
      return await decide(req, res, deps, identity, parts[2] as string, parts[3] as string);
    }
    throw new ApiError("not_found", `no such API endpoint: ${method} ${url.pathname}`);
  } catch (e) {
    if (e instanceof ApiError) return sendError(res, e);
    if (e instanceof StoreError) {
      if (e.code === "approval_not_found" || e.code === "approval_conflict" || e.code === "self_approval")
        return sendError(res, new ApiError(e.code, e.message));
      if (e.code === "record_invalid") return sendError(res, new ApiError("bad_request", e.message));
      return sendError(res, new ApiError("store_unavailable", `the approvals store failed: ${e.message}`));
    }
    return sendError(
      res,
      new ApiError("store_unavailable", `the approvals store failed: ${(e as Error)?.message ?? e}`),
    );
  }
}

async function list(url: URL, res: ServerResponse, deps: ApprovalsApiDeps, identity: Identity) {
  const q = url.searchParams;
  const status = (q.get("status") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of status)
    if (!STATUSES.includes(s as ApprovalStatus))
      throw new ApiError("bad_request", `"status" must be among ${STATUSES.join(", ")}`);
  const approver = isApprover(deps.policy, identity);
  const limit = q.get("limit");
  const since = dateParam(q.get("since"), "since");
  const until = dateParam(q.get("until"), "until");
  let rows = await deps.approvals.list({
    status: status as ApprovalStatus[],
    ...(approver ? (q.get("user") ? { user: q.get("user") as string } : {}) : { user: identity.subject }),
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    ...(limit && /^\d+$/.test(limit) ? { limit: Number(limit) } : {}),
  });
  if (!approver) rows = rows.filter((r) => own(identity, r));
  send(res, 200, { approvals: rows.map(approvalJson) });
}

async function decide(
  req: IncomingMessage,
  res: ServerResponse,
  deps: ApprovalsApiDeps,
  identity: Identity,
  rawId: string,
  action: string,
) {
  if (action !== "grant" && action !== "deny" && action !== "revoke")
    throw new ApiError("not_found", `unknown decision "${action}": use grant, deny or revoke`);
  const body = await readJson(req);
  const id = normalizeApprovalId(rawId);
  if (id === null) throw new ApiError("approval_not_found", `no approval request ${rawId}`);
  requireApprover(deps, identity, `deciding request ${id}`);
  const actor = actorOf(identity);
  const note = text(body, "note");
  const r =
    action === "grant"
      ? await deps.approvals.grant(id, actor, { note, ...withTtl(ttlOf(body)) })
      : action === "deny"
        ? await deps.approvals.deny(id, actor, { note })
        : await deps.approvals.revoke(id, actor, { note });
  send(res, 200, approvalJson(r));
}

function withTtl(ttl: number | undefined): { ttlSeconds?: number } {
  return ttl === undefined ? {} : { ttlSeconds: ttl };
}

function needsApproval(deps: ApprovalsApiDeps, identity: Identity): boolean {
  const d = evaluateAccess(deps.policy, identity);
  if (!d.allowed) throw new ApiError("forbidden", `Copilot access denied: ${d.message}`);
  return d.needsApproval;
}

async function accessRequest(
  req: IncomingMessage,
  res: ServerResponse,
  deps: ApprovalsApiDeps,
  identity: Identity,
) {
  const body = await readJson(req);
  const reason = text(body, "reason");
  if (!needsApproval(deps, identity))
    return send(res, 200, {
      needed: false,
      message: `${identity.email ?? identity.subject} does not need an approval to use Copilot`,
    });
  const { request, created } = await deps.approvals.request(requesterOf(identity), {
    reason,
    defaultTtlSeconds: defaultTtlFor(deps, identity),
  });
  send(res, created ? 201 : 200, { needed: true, created, request: approvalJson(request) });
}

async function accessStatus(res: ServerResponse, deps: ApprovalsApiDeps, identity: Identity) {
  const needed = needsApproval(deps, identity);
  const [latest] = await deps.approvals
    .list({ user: identity.subject, limit: 20 })
    .then((rows) => rows.filter((r) => own(identity, r)));
  send(res, 200, {
    needed,
    allowed: !needed || isLive(latest, Date.now()),
    request: latest ? approvalJson(latest) : null,
  });
}
