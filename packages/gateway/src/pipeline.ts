/**
 * The exchange pipeline: what happens to every request inside an intercepted connection. `buildStages`
 * lists the stages in the order an exchange meets them; `Pipeline.run` drives one exchange through them.
 */
import type { ServerResponse } from "node:http";
import { type Readable, Transform } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import type { Authenticator } from "@copilot-audit/identity";
import { createDetector, type Detector, type RedactMode } from "@copilot-audit/redact";
import type { AuditWriter } from "@copilot-audit/store";
import type { ApprovalDeps } from "./approvals.js";
import { type Coding, codingOf } from "./codings.js";
import { GatewayError } from "./errors.js";
import type { Exchange } from "./exchange.js";
import { deleteHeader, getHeader } from "./headers.js";
import { replyOnResponse } from "./reply.js";
import type { BodyTransform, Stage, StageResult } from "./stage.js";
import { approve } from "./stages/approve.js";
import { hostCheck } from "./stages/host-check.js";
import { identify } from "./stages/identify.js";
import { recordRequest, recordResponse } from "./stages/record.js";
import { redactRequest } from "./stages/redact-request.js";
import { redactResponse } from "./stages/redact-response.js";
import { upstream } from "./stages/upstream.js";
import type { Upstream } from "./upstream.js";

/** What the stages need from the outside world (ports, in the hexagonal sense). */
export interface StageDeps {
  upstream: Upstream;
  /** Identity: verifies tokens; with it, every exchange re-checks the CONNECT identity's expiry. */
  auth?: { authenticator: Authenticator; tokenHelp: string };
  /** Secret masking, per direction. */
  redact?: RedactDeps;
  /** The audit writer: with it, every audited exchange is recorded (the request durably, before forwarding). */
  writer?: AuditWriter;
  /** Just-in-time approvals: members of approval groups need a live grant (also serves /api/approvals). */
  approvals?: ApprovalDeps;
}

export interface RedactDeps {
  detector: Detector;
  requestMode: RedactMode;
  responseMode: RedactMode;
  fingerprint: (secret: string) => string;
  maxDecodedBytes: number;
  maxHoldBytes?: number;
  maxBufferBytes?: number;
  maxEventBytes?: number;
}

let off: RedactDeps | null = null;
/** Redaction switched off in both directions: still decodes bodies and assembles completion text. */
function noRedaction(): RedactDeps {
  off ??= {
    detector: createDetector(),
    requestMode: "off",
    responseMode: "off",
    fingerprint: () => "",
    maxDecodedBytes: 64 * 1024 * 1024,
  };
  return off;
}

/** The pipeline, top to bottom. A stage whose dependency is not configured is left out, never stubbed. */
export function buildStages(deps: StageDeps): Stage[] {
  // Recording without masking still assembles the completion text: a redactor in mode "off" does that.
  const redact = deps.redact ?? (deps.writer ? noRedaction() : undefined);
  const stages: Array<Stage | false | undefined> = [
    hostCheck(), //            421 when the Host header does not name the CONNECT target
    deps.auth && identify(deps.auth.authenticator, deps.auth.tokenHelp), // 407 + close once the token expired
    deps.approvals && approve(deps.approvals), // 403 approval_required without a live just-in-time approval
    redact && redactRequest({ ...redact, mode: redact.requestMode }), // secrets in prompts: mask | block (403)
    deps.writer && recordRequest(deps.writer), // the request record is durable before forwarding (503 if not)
    upstream(deps.upstream), // forward to the CONNECT target (never the Host header), stream back
    redact && redactResponse({ ...redact, mode: redact.responseMode }), // secrets in completions, streaming
    deps.writer && recordResponse(deps.writer), // the response record when the exchange ends
  ];
  return stages.filter((s): s is Stage => Boolean(s));
}

export interface PipelineOptions {
  /** Largest request body buffered for an audited exchange; larger → 413. */
  maxRequestBodyBytes: number;
}

export class Pipeline {
  readonly stages: readonly Stage[];
  readonly #opts: PipelineOptions;

  constructor(stages: readonly Stage[], opts: PipelineOptions) {
    this.stages = stages;
    this.#opts = opts;
  }

  explain(): string[] {
    return this.stages.map((s) => `${s.name} (${s.scope}): ${s.explain()}`);
  }

  async run(ex: Exchange): Promise<void> {
    const active = this.stages.filter((s) => s.scope === "all" || ex.audited);
    ex.res.once("close", () => {
      if (!ex.res.writableFinished) ex.markClientGone();
    });
    try {
      for (const s of active) if (s.onRequestHeaders) await step(s, ex, s.onRequestHeaders);
      if (ex.audited && ex.hasRequestBody()) await this.#bufferRequestBody(ex);
      else if (ex.audited) ex.requestBody = EMPTY;
      for (const s of active) if (s.onRequest) await step(s, ex, s.onRequest);
      if (!ex.upstreamResponse) throw new GatewayError("internal_error", "no stage produced a response");
      for (const s of active) if (s.onResponseHeaders) await step(s, ex, s.onResponseHeaders);
      await sendResponse(ex, active);
      ex.outcome = "completed";
    } catch (e) {
      fail(ex, e);
    } finally {
      ex.timings.endMs = ex.elapsedMs();
      for (const s of active) {
        if (!s.onEnd) continue;
        try {
          await s.onEnd(ex);
        } catch (e) {
          ex.log.error({ err: e, stage: s.name }, "stage onEnd failed");
        }
      }
    }
  }

  async #bufferRequestBody(ex: Exchange): Promise<void> {
    const declared = Number(ex.req.headers["content-length"] ?? 0);
    const max = this.#opts.maxRequestBodyBytes;
    if (declared > max) throw tooLarge(declared, max);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of ex.req) {
      size += (chunk as Buffer).length;
      if (size > max) throw tooLarge(size, max);
      chunks.push(chunk as Buffer);
    }
    ex.requestBody = Buffer.concat(chunks, size);
    ex.requestBodyBytes = size;
    ex.timings.requestBodyMs = ex.elapsedMs();
  }
}

const EMPTY = Buffer.alloc(0);

function tooLarge(size: number, max: number): GatewayError {
  return new GatewayError(
    "request_body_too_large",
    `the request body (${size} bytes or more) exceeds the gateway limit of ${max} bytes (maxRequestBodyBytes)`,
  );
}

async function step(
  s: Stage,
  ex: Exchange,
  hook: (ex: Exchange) => StageResult | Promise<StageResult>,
): Promise<void> {
  let result: StageResult;
  try {
    result = await hook.call(s, ex);
  } catch (e) {
    if (e instanceof GatewayError) throw e;
    ex.log.error({ err: e, stage: s.name }, "stage failed");
    throw new GatewayError("stage_failed", `${s.name} failed: ${(e as Error).message}`);
  }
  if (result) throw result;
}

const DECODERS: Record<Coding, () => Transform> = {
  gzip: createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

async function sendResponse(ex: Exchange, stages: readonly Stage[]): Promise<void> {
  const upstream = ex.upstreamResponse!;
  const transforms = stages.flatMap((s) => {
    const t = s.responseBody?.(ex);
    return t ? [t] : [];
  });
  const streams: Transform[] = [];
  if (transforms.length > 0) {
    const coding = codingOf(getHeader(ex.responseHeaders, "content-encoding"));
    if (coding === "unknown") {
      const value = getHeader(ex.responseHeaders, "content-encoding");
      throw new GatewayError("upstream_error", `cannot inspect a response with content-encoding "${value}"`);
    }
    if (coding !== "identity") {
      streams.push(DECODERS[coding]());
      deleteHeader(ex.responseHeaders, "content-encoding");
    }
    const declared = Number(getHeader(ex.responseHeaders, "content-length") ?? Number.NaN);
    deleteHeader(ex.responseHeaders, "content-length");
    for (const t of transforms) streams.push(toStream(t));
    // A small body that is not a stream (the redactor holds those whole anyway) goes out in one write with
    // a Content-Length, instead of chunked encoding's head + chunk + terminator.
    const isStream = /event-stream/i.test(getHeader(ex.responseHeaders, "content-type") ?? "");
    if (!isStream && declared <= COLLECT_LIMIT) streams.push(collectWithLength(ex));
  }
  upstream.on("data", (chunk: Buffer) => {
    if (ex.responseBodyBytes === 0) ex.timings.firstByteMs = ex.elapsedMs();
    ex.responseBodyBytes += chunk.length;
  });
  // The head goes out with the first body bytes (one write, and a transform holding a whole body may
  // still change the status); streams get it at once, their first event may be seconds away.
  ex.res.statusCode = ex.responseStatus;
  for (const [name, value] of Object.entries(ex.responseHeaders))
    if (value !== undefined) ex.res.setHeader(name, value);
  if (/event-stream/i.test(getHeader(ex.responseHeaders, "content-type") ?? "")) ex.res.flushHeaders();
  // Whoever breaks first decides the outcome: pipeline() destroys the other side right after.
  let upstreamBroke = false;
  upstream.once("error", () => {
    if (!ex.clientGone) upstreamBroke = true;
  });
  try {
    await relay(upstream, streams, ex.res);
  } catch (e) {
    if (e instanceof TransformFailed) {
      throw new GatewayError("stage_failed", `response body processing failed: ${e.message}`);
    }
    if (!upstreamBroke && ex.clientGone) throw new ClientGone();
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new GatewayError(
      "upstream_reset",
      `the upstream broke off the response after ${ex.responseBodyBytes} bytes (${code})`,
    );
  }
}

class TransformFailed extends Error {}

/** Largest non-stream body collected to be sent with a Content-Length after transformation. */
const COLLECT_LIMIT = 1024 * 1024;

function collectWithLength(ex: Exchange): Transform {
  const chunks: Buffer[] = [];
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      size += chunk.length;
      cb();
    },
    flush(cb) {
      if (!ex.res.headersSent) ex.res.setHeader("content-length", size);
      cb(null, size > 0 ? Buffer.concat(chunks, size) : undefined);
    },
  });
}

/**
 * upstream → transforms → client with backpressure (pipe), settling once: on the client's `finish`, or on
 * the first error / premature close anywhere, after which every stream is destroyed. Like
 * stream.pipeline, minus the AbortController (and DOMException) it allocates per call.
 */
function relay(src: Readable, through: Transform[], dst: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      if (!err) return resolve();
      src.destroy();
      for (const t of through) t.destroy();
      dst.destroy();
      reject(err);
    };
    const onError = (e: Error) => settle(e);
    src.once("error", onError);
    for (const t of through) t.once("error", onError);
    dst.once("error", onError);
    dst.once("finish", () => settle());
    dst.once("close", () => {
      if (!dst.writableFinished)
        settle(
          Object.assign(new Error("client closed the connection"), { code: "ERR_STREAM_PREMATURE_CLOSE" }),
        );
    });
    src.once("close", () => {
      if (!src.readableEnded)
        settle(Object.assign(new Error("upstream closed the stream"), { code: "ECONNRESET" }));
    });
    let last: Readable = src;
    for (const t of through) last = last.pipe(t);
    last.pipe(dst);
  });
}

/** The client went away: nothing to answer, nothing to log as an error. */
class ClientGone extends Error {}

function toStream(t: BodyTransform): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      try {
        const out = t.push(chunk);
        cb(null, out.length > 0 ? out : undefined);
      } catch (e) {
        cb(new TransformFailed((e as Error).message));
      }
    },
    flush(cb) {
      try {
        const out = t.end();
        cb(null, out && out.length > 0 ? out : undefined);
      } catch (e) {
        cb(new TransformFailed((e as Error).message));
      }
    },
  });
}

/** Ends an exchange that did not complete: answer if we still can, and note the outcome. */
function fail(ex: Exchange, e: unknown): void {
  if (e instanceof ClientGone) {
    ex.outcome = "aborted";
    return;
  }
  const err =
    e instanceof GatewayError
      ? e
      : new GatewayError("internal_error", `unexpected failure: ${(e as Error)?.message ?? e}`);
  if (!(e instanceof GatewayError)) ex.log.error({ err: e }, "exchange failed");
  ex.error = err;
  const fromUpstream = err.code.startsWith("upstream_");
  ex.outcome = ex.clientGone ? "aborted" : fromUpstream ? "upstream_error" : "refused";
  if (ex.res.headersSent) {
    // Mid-stream: the status is gone; cut the response so the client sees it incomplete.
    ex.res.destroy();
    return;
  }
  if (ex.res.destroyed) return;
  ex.responseStatus = err.status;
  replyOnResponse(ex.res, err, ex.closeConnection || err.code === "request_body_too_large");
}
