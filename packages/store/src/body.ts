import { createHash, type Hash } from "node:crypto";
import { sha256Hex } from "./canonical.js";

// Bodies are stored decoded (the gateway undoes gzip/deflate/br), capped, with the size and sha256 of the
// full body and a truncated flag: as UTF-8 text when the stored part is valid UTF-8 without NUL, else bytes.

export const DEFAULT_BODY_CAP_BYTES = 1024 * 1024;

/** A body reduced to what is stored: the first `cap` bytes plus size and hash of the whole. */
export interface CapturedBody {
  readonly stored: Uint8Array;
  readonly size: number;
  readonly sha256: string;
  readonly truncated: boolean;
  /** The stored bytes as text, when already known to be clean UTF-8 (saves decoding them again). */
  readonly text?: string;
}

/** What a record accepts as a body: the whole body, a streamed capture, or nothing. */
export type BodyInput = Uint8Array | string | CapturedBody | null | undefined;

/** The body columns of an audit row. */
export interface BodyColumnValues {
  body_text: string | null;
  body_bytes: Uint8Array | null;
  body_size: number;
  body_sha256: string;
  body_truncated: boolean;
}

/**
 * Captures a streamed body chunk by chunk without holding more than `capBytes`: hashes every byte, keeps
 * the first `capBytes`. For responses the gateway streams to the client.
 */
export class BodyCapture {
  readonly #cap: number;
  readonly #hash: Hash = createHash("sha256");
  readonly #chunks: Uint8Array[] = [];
  #kept = 0;
  #size = 0;
  #result: CapturedBody | null = null;

  constructor(capBytes: number = DEFAULT_BODY_CAP_BYTES) {
    this.#cap = Math.max(0, Math.floor(capBytes));
  }

  write(chunk: Uint8Array | string): void {
    if (this.#result) throw new Error("BodyCapture: write after finish");
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    this.#hash.update(bytes);
    this.#size += bytes.byteLength;
    const room = this.#cap - this.#kept;
    if (room > 0) {
      const part = bytes.byteLength <= room ? bytes : bytes.subarray(0, room);
      this.#chunks.push(Uint8Array.from(part));
      this.#kept += part.byteLength;
    }
  }

  finish(): CapturedBody {
    if (!this.#result) {
      this.#result = {
        stored: Buffer.concat(this.#chunks, this.#kept),
        size: this.#size,
        sha256: this.#hash.digest("hex"),
        truncated: this.#size > this.#kept,
      };
    }
    return this.#result;
  }
}

function isCaptured(b: BodyInput): b is CapturedBody {
  return typeof b === "object" && b !== null && !(b instanceof Uint8Array);
}

/** Reduces any body input to a CapturedBody under `capBytes`. */
export function captureBody(body: BodyInput, capBytes: number): CapturedBody {
  if (body === null || body === undefined)
    return { stored: new Uint8Array(0), size: 0, sha256: EMPTY_SHA256, truncated: false };
  if (isCaptured(body)) {
    if (body.stored.byteLength <= capBytes) return body;
    return {
      stored: body.stored.subarray(0, capBytes),
      size: body.size,
      sha256: body.sha256,
      truncated: true,
    };
  }
  if (typeof body === "string") {
    const size = Buffer.byteLength(body, "utf8");
    if (size <= capBytes && !body.includes("\u0000") && !LONE_SURROGATE.test(body)) {
      // Fast path (most request bodies): no copy, no re-decoding.
      return {
        stored: Buffer.from(body, "utf8"),
        size,
        sha256: sha256Hex(body),
        truncated: false,
        text: body,
      };
    }
  }
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  const stored = bytes.byteLength > capBytes ? bytes.subarray(0, capBytes) : bytes;
  return {
    stored,
    size: bytes.byteLength,
    sha256: sha256Hex(bytes),
    truncated: stored.byteLength < bytes.byteLength,
  };
}

const EMPTY_SHA256 = sha256Hex(new Uint8Array(0));
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decodes bytes as UTF-8 text if they are valid and NUL-free; a truncated body may lose a split last character. */
export function decodeText(bytes: Uint8Array, truncated: boolean): string | null {
  for (let trim = 0; trim <= (truncated ? 3 : 0) && trim <= bytes.byteLength; trim++) {
    try {
      const text = decoder.decode(trim === 0 ? bytes : bytes.subarray(0, bytes.byteLength - trim));
      return text.includes("\u0000") ? null : text;
    } catch {
      // not valid UTF-8 (yet): try trimming a split multi-byte character off the end
    }
  }
  return null;
}

/** The body columns for a captured body. */
export function bodyColumns(body: CapturedBody): BodyColumnValues {
  const text = body.text ?? (body.stored.byteLength === 0 ? "" : decodeText(body.stored, body.truncated));
  return {
    body_text: body.size === 0 ? null : text,
    body_bytes: body.size === 0 || text !== null ? null : Buffer.from(body.stored),
    body_size: body.size,
    body_sha256: body.sha256,
    body_truncated: body.truncated,
  };
}
