import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Identity } from "../src/claims.js";
import { fingerprintToken, TokenCache } from "../src/token-cache.js";

function entry(subject: string) {
  const identity: Identity = {
    issuer: "i",
    subject,
    email: null,
    name: null,
    groups: null,
    groupsUnknownReason: "none",
    tokenId: null,
    tokenFingerprint: subject,
    expiresAt: new Date(1000),
  };
  return { identity, exp: 1 };
}

describe("fingerprintToken", () => {
  it("is the sha256 hex of the token", () => {
    expect(fingerprintToken("a.b.c")).toBe(createHash("sha256").update("a.b.c").digest("hex"));
    expect(fingerprintToken("a.b.c")).toHaveLength(64);
  });
});

describe("TokenCache", () => {
  it("counts hits and misses", () => {
    const cache = new TokenCache(10);
    expect(cache.get("x")).toBeUndefined();
    cache.set("x", entry("x"));
    expect(cache.get("x")?.identity.subject).toBe("x");
    expect([cache.hits, cache.misses, cache.size]).toEqual([1, 1, 1]);
  });

  it("evicts the least recently used", () => {
    const cache = new TokenCache(2);
    cache.set("a", entry("a"));
    cache.set("b", entry("b"));
    cache.get("a");
    cache.set("c", entry("c"));
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBeDefined();
    expect(cache.get("c")).toBeDefined();
    expect(cache.size).toBe(2);
  });

  it("re-setting a key refreshes it without growing", () => {
    const cache = new TokenCache(2);
    cache.set("a", entry("a"));
    cache.set("b", entry("b"));
    cache.set("a", entry("a2"));
    cache.set("c", entry("c"));
    expect(cache.get("a")?.identity.subject).toBe("a2");
    expect(cache.get("b")).toBeUndefined();
  });

  it("size 0 stores nothing; delete and clear remove", () => {
    const none = new TokenCache(0);
    none.set("a", entry("a"));
    expect(none.size).toBe(0);
    const cache = new TokenCache(5);
    cache.set("a", entry("a"));
    cache.set("b", entry("b"));
    cache.delete("a");
    expect(cache.size).toBe(1);
    cache.clear();
    expect(cache.size).toBe(0);
  });
});
