import { generateKeyPairSync, sign } from "node:crypto";
import type { JSONWebKeySet, JWK } from "jose";
import { describe, expect, it } from "vitest";
import { keyMatcher, matchKeys, StaticKeySource } from "../src/keys.js";
import { expectIdentityError } from "./helpers.js";

function ecJwk(kid?: string): JWK {
  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { ...(publicKey.export({ format: "jwk" }) as JWK), ...(kid ? { kid } : {}) };
}

describe("matchKeys", () => {
  it("finds a key by kid and alg", async () => {
    const { matcher, count } = keyMatcher({ keys: [ecJwk("a"), ecJwk("b")] });
    expect(count).toBe(2);
    expect(await matchKeys(matcher, { alg: "ES256", kid: "b" })).toHaveLength(1);
  });

  it("returns every candidate when the token has no kid and several keys fit", async () => {
    const { matcher } = keyMatcher({ keys: [ecJwk("a"), ecJwk("b")] });
    expect(await matchKeys(matcher, { alg: "ES256", kid: undefined })).toHaveLength(2);
  });

  it("null when nothing fits the kid or the key type", async () => {
    const { matcher } = keyMatcher({ keys: [ecJwk("a")] });
    expect(await matchKeys(matcher, { alg: "ES256", kid: "zzz" })).toBeNull();
    expect(await matchKeys(matcher, { alg: "RS256", kid: "a" })).toBeNull();
  });

  it("a key the JWKS marks for encryption is not used for signatures", async () => {
    const { matcher } = keyMatcher({ keys: [{ ...ecJwk("a"), use: "enc" }] });
    expect(await matchKeys(matcher, { alg: "ES256", kid: "a" })).toBeNull();
  });

  it("a malformed key set throws", () => {
    expect(() => keyMatcher({ nope: true })).toThrow();
  });
});

describe("StaticKeySource", () => {
  it("answers unknown_key naming its origin", async () => {
    const source = new StaticKeySource({ keys: [ecJwk("a")] } as JSONWebKeySet, "the test key");
    expect(await source.keysFor({ alg: "ES256", kid: "a" })).toHaveLength(1);
    await expectIdentityError(
      () => source.keysFor({ alg: "ES256", kid: "b" }),
      "unknown_key",
      "no ES256 key with kid b in the test key",
    );
    expect(source.status()).toMatchObject({ source: "the test key", keys: 1, failures: 0, lastError: null });
  });

  it("a hostile kid is clipped in messages", async () => {
    const source = new StaticKeySource({ keys: [ecJwk("a")] } as JSONWebKeySet, "k");
    const error = await expectIdentityError(
      () => source.keysFor({ alg: "ES256", kid: "x".repeat(5000) }),
      "unknown_key",
    );
    expect(error.message.length).toBeLessThan(300);
  });

  it("keys it returns verify signatures made by the matching private key", async () => {
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const source = new StaticKeySource(
      { keys: [{ ...(publicKey.export({ format: "jwk" }) as JWK), kid: "k" }] } as JSONWebKeySet,
      "k",
    );
    const [key] = await source.keysFor({ alg: "ES256", kid: "k" });
    const data = new TextEncoder().encode("hello");
    const signature = sign("sha256", data, { key: privateKey, dsaEncoding: "ieee-p1363" });
    const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key!, signature, data);
    expect(ok).toBe(true);
  });
});
