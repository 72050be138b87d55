/**
 * `--approval-webhook URL`: a JSON POST for each new approval request and each decision, with a
 * Slack-compatible `text`. Deliveries run in the background — a slow or failing receiver never delays an
 * exchange or a decision — and are retried with exponential backoff. The URL is never logged (Slack-style
 * webhook URLs are secrets): logs name its host only.
 */
import type { ApprovalEvent, ApprovalRequest } from "@copilot-audit/store";
import { formatTtl } from "./approvals.js";

export interface WebhookLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ApprovalWebhookOptions {
  url: string;
  logger?: WebhookLogger;
  /** Named in the payload (`gateway`), e.g. the instance name. */
  source?: string;
  /** Per attempt (default 5000 ms). */
  timeoutMs?: number;
  /** Attempts per event, the first included (default 6: about a minute of retries). */
  maxAttempts?: number;
  /** First retry delay, doubled each time (default 1000 ms, capped at 30 s). */
  retryDelayMs?: number;
}

export interface WebhookStats {
  delivered: number;
  failed: number;
  pending: number;
}

function summary(r: ApprovalRequest): Record<string, unknown> {
  return {
    id: r.id,
    status: r.status,
    subject: r.subject,
    email: r.email,
    groups: r.groups,
    reason: r.reason,
    requestedAt: r.requestedAt.toISOString(),
    decidedAt: r.decidedAt?.toISOString() ?? null,
    decidedBy: r.decidedBy,
    decisionNote: r.decisionNote,
    ttlSeconds: r.ttlSeconds,
    expiresAt: r.expiresAt?.toISOString() ?? null,
    revokedAt: r.revokedAt?.toISOString() ?? null,
    revokedBy: r.revokedBy,
  };
}

/** The Slack-compatible one-liner. */
export function webhookText(e: ApprovalEvent): string {
  const r = e.request;
  const who = r.email ?? r.subject;
  switch (e.event) {
    case "requested":
      return (
        `copilot-audit: ${who} asks for Copilot access — request ${r.id}` +
        `${r.reason ? ` ("${r.reason}")` : ""}. Approve with \`copilot-audit approvals grant ${r.id}\`` +
        ` or deny with \`copilot-audit approvals deny ${r.id}\`.`
      );
    case "reason":
      return `copilot-audit: ${who} gave a reason for request ${r.id}: "${r.reason ?? ""}"`;
    case "granted":
      return (
        `copilot-audit: request ${r.id} of ${who} granted by ${e.actor.name}` +
        `${r.ttlSeconds ? ` for ${formatTtl(r.ttlSeconds)}` : ""}` +
        `${r.expiresAt ? ` (until ${r.expiresAt.toISOString()})` : ""}${r.decisionNote ? `: ${r.decisionNote}` : ""}`
      );
    case "denied":
      return `copilot-audit: request ${r.id} of ${who} denied by ${e.actor.name}${r.decisionNote ? `: ${r.decisionNote}` : ""}`;
    case "revoked":
      return `copilot-audit: Copilot access of ${who} (approval ${r.id}) revoked by ${e.actor.name}`;
    case "expired":
      return `copilot-audit: Copilot access of ${who} (approval ${r.id}) expired`;
  }
}

export class ApprovalWebhook {
  readonly #o: Required<Omit<ApprovalWebhookOptions, "logger" | "source">> & ApprovalWebhookOptions;
  readonly #host: string;
  readonly #inflight = new Set<Promise<void>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;
  readonly stats: WebhookStats = { delivered: 0, failed: 0, pending: 0 };

  constructor(opts: ApprovalWebhookOptions) {
    const u = new URL(opts.url);
    if (u.protocol !== "https:" && u.protocol !== "http:")
      throw new TypeError("approval webhook: expected an http(s):// URL");
    this.#host = u.host;
    this.#o = { timeoutMs: 5_000, maxAttempts: 6, retryDelayMs: 1_000, ...opts };
  }

  /** Queues a delivery; returns at once and never throws. */
  notify(e: ApprovalEvent): void {
    if (this.#closed) return;
    const body = JSON.stringify({
      text: webhookText(e),
      event: e.event,
      at: e.at.toISOString(),
      actor: { kind: e.actor.kind, name: e.actor.name },
      request: summary(e.request),
      ...(this.#o.source ? { gateway: this.#o.source } : {}),
    });
    this.stats.pending++;
    const p = this.#deliver(body, e, 1).finally(() => {
      this.stats.pending--;
      this.#inflight.delete(p);
    });
    this.#inflight.add(p);
  }

  /** Waits for queued deliveries (and their retries), at most `timeoutMs`. */
  async flush(timeoutMs: number): Promise<void> {
    const deadline = new Promise<void>((r) => setTimeout(r, timeoutMs).unref());
    await Promise.race([Promise.all([...this.#inflight]).then(() => undefined), deadline]);
  }

  /** Stops retrying; deliveries in flight finish or time out on their own. */
  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  async #deliver(body: string, e: ApprovalEvent, attempt: number): Promise<void> {
    let problem: string;
    try {
      const res = await fetch(this.#o.url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "copilot-audit" },
        body,
        signal: AbortSignal.timeout(this.#o.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) {
        this.stats.delivered++;
        return;
      }
      problem = `HTTP ${res.status}`;
    } catch (err) {
      problem = (err as Error).name === "TimeoutError" ? "timed out" : (err as Error).message;
    }
    const meta = { host: this.#host, event: e.event, request: e.request.id, attempt, problem };
    if (attempt >= this.#o.maxAttempts || this.#closed) {
      this.stats.failed++;
      this.#o.logger?.warn(meta, "approval webhook: delivery failed; giving up");
      return;
    }
    const delay = Math.min(30_000, this.#o.retryDelayMs * 2 ** (attempt - 1));
    this.#o.logger?.warn({ ...meta, retryInMs: delay }, "approval webhook: delivery failed; retrying");
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        resolve();
      }, delay);
      t.unref();
      this.#timers.add(t);
    });
    if (this.#closed) {
      this.stats.failed++;
      return;
    }
    return this.#deliver(body, e, attempt + 1);
  }
}
