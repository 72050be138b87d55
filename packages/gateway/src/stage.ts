import type { GatewayError } from "./errors.js";
import type { Exchange } from "./exchange.js";

/** A hook returns nothing to continue, or a GatewayError to answer the client with it and stop. */
export type StageResult = undefined | GatewayError;

/** A streaming body rewriter: push() returns what may go to the client now; end() flushes the rest. */
export interface BodyTransform {
  push(chunk: Buffer): Uint8Array;
  end(): Uint8Array | undefined;
}

/**
 * One job in the exchange pipeline (like an Envoy HTTP filter or a mitmproxy addon). Hooks run in
 * pipeline order, phase by phase:
 *   onRequestHeaders → (body buffered for audited exchanges) → onRequest → onResponseHeaders →
 *   responseBody transforms (streaming) → onEnd (always, also after a refusal or failure).
 * A hook that throws ends the exchange with a recorded 503 `stage_failed`; it is never skipped.
 */
export interface Stage {
  readonly name: string;
  /** `all`: every intercepted exchange; `audited`: only Copilot traffic that is recorded and masked. */
  readonly scope: "all" | "audited";
  /** One line for `copilot-audit start --explain` and the docs. */
  explain(): string;
  onRequestHeaders?(ex: Exchange): StageResult | Promise<StageResult>;
  /** The request is complete: `ex.requestBody` holds the body for audited exchanges. */
  onRequest?(ex: Exchange): StageResult | Promise<StageResult>;
  onResponseHeaders?(ex: Exchange): StageResult | Promise<StageResult>;
  /** Called once when the response head is known; the transform sees decoded (identity) bytes. */
  responseBody?(ex: Exchange): BodyTransform | undefined;
  onEnd?(ex: Exchange): void | Promise<void>;
}
