import {
  brotliCompressSync,
  brotliDecompressSync,
  deflateSync,
  gunzipSync,
  gzipSync,
  inflateSync,
} from "node:zlib";

/** Content codings the gateway can decode; audited requests only advertise these upstream. */
export const DECODABLE_ENCODINGS = ["gzip", "deflate", "br"] as const;
export type Coding = (typeof DECODABLE_ENCODINGS)[number];

export function codingOf(value: string | undefined): Coding | "identity" | "unknown" {
  const v = (value ?? "").trim().toLowerCase();
  if (v === "" || v === "identity") return "identity";
  if (v === "x-gzip") return "gzip";
  return (DECODABLE_ENCODINGS as readonly string[]).includes(v) ? (v as Coding) : "unknown";
}

/** Decodes a whole body, refusing to inflate past `maxBytes` (a decompression bomb is not a prompt). */
export function decodeBody(body: Uint8Array, coding: Coding, maxBytes: number): Buffer {
  const opts = { maxOutputLength: maxBytes };
  if (coding === "gzip") return gunzipSync(body, opts);
  if (coding === "deflate") return inflateSync(body, opts);
  return brotliDecompressSync(body, opts);
}

export function encodeBody(body: Uint8Array, coding: Coding): Buffer {
  if (coding === "gzip") return gzipSync(body);
  if (coding === "deflate") return deflateSync(body);
  return brotliCompressSync(body);
}
