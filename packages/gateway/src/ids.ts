import { randomUUID } from "node:crypto";

/**
 * UUIDv7 (RFC 9562): time-ordered, so audit rows written close together sit close together in indexes.
 * Built from a v4 UUID (Node caches their randomness in bulk) with the first 48 bits replaced by the time.
 */
export function uuidv7(now = Date.now()): string {
  const t = now.toString(16).padStart(12, "0");
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${randomUUID().slice(15)}`;
}
