import { startFakeIssuer } from "@copilot-audit/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Authenticator, createAuthenticator } from "../src/authenticator.js";
import { expectIdentityError } from "./helpers.js";

type Fake = Awaited<ReturnType<typeof startFakeIssuer>>;

// Each case verifies a real token against the fake issuer's discovery + JWKS over HTTP.
describe.each(["RS256", "ES256"] as const)("token checks (%s)", (algorithm) => {
  let fake: Fake;
  let auth: Authenticator;
  beforeAll(async () => {
    fake = await startFakeIssuer({ algorithm });
    auth = createAuthenticator({ issuer: fake.issuer, audience: "copilot-audit", jwksCooldownMs: 0 });
  });
  afterAll(async () => {
    auth.close();
    await fake.close();
  });

  const bearer = (token: string) => `Bearer ${token}`;

  it("a valid token yields the identity", async () => {
    const token = await fake.mint({
      sub: "u-1",
      email: "alice@example.com",
      name: "Alice",
      groups: ["dev"],
      jti: "t-1",
    });
    const identity = await auth.authenticate(bearer(token));
    expect(identity).toMatchObject({
      issuer: fake.issuer,
      subject: "u-1",
      email: "alice@example.com",
      name: "Alice",
      groups: ["dev"],
      groupsUnknownReason: null,
      tokenId: "t-1",
    });
    expect(identity.tokenFingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(identity.expiresAt.getTime()).toBeGreaterThan(Date.now());
  });

  it("expired: token_expired with both times and expiredAt", async () => {
    const token = await fake.mint({ exp: Date.UTC(2026, 10, 24, 8, 0, 0) / 1000 });
    const error = await expectIdentityError(
      () => auth.authenticate(bearer(token), new Date(Date.UTC(2026, 10, 24, 8, 5, 1))),
      "token_expired",
      "token expired at 2026-11-24T08:00:00.000Z (now 2026-11-24T08:05:01.000Z)",
    );
    expect(error.expiredAt?.toISOString()).toBe("2026-11-24T08:00:00.000Z");
  });

  it("expired by less than the clock tolerance (30 s) still passes; by more fails", async () => {
    const token = await fake.mint({}, { expiresIn: -20 });
    await expect(auth.authenticate(bearer(token))).resolves.toMatchObject({ subject: "alice" });
    const older = await fake.mint({}, { expiresIn: -40 });
    await expectIdentityError(() => auth.authenticate(bearer(older)), "token_expired", "token expired at");
  });

  it("not yet valid: token_not_yet_valid with notBefore", async () => {
    const token = await fake.mint({}, { notBefore: 3600 });
    const error = await expectIdentityError(
      () => auth.authenticate(bearer(token)),
      "token_not_yet_valid",
      "token is not valid before",
      "(now ",
    );
    expect(error.notBefore!.getTime()).toBeGreaterThan(Date.now() + 3500_000);
  });

  it("nbf within the clock tolerance passes", async () => {
    const token = await fake.mint({}, { notBefore: 10 });
    await expect(auth.authenticate(bearer(token))).resolves.toMatchObject({ subject: "alice" });
  });

  it("wrong issuer: wrong_issuer naming both, without fetching keys", async () => {
    const before = fake.stats.jwks;
    const token = await fake.mint({}, { issuer: "https://evil.example" });
    await expectIdentityError(
      () => auth.authenticate(bearer(token)),
      "wrong_issuer",
      `token issuer "https://evil.example" is not the trusted issuer "${fake.issuer}"`,
    );
    expect(fake.stats.jwks).toBe(before);
  });

  it("issuer differing only by a trailing slash is wrong", async () => {
    const token = await fake.mint({}, { issuer: `${fake.issuer}/` });
    await expectIdentityError(() => auth.authenticate(bearer(token)), "wrong_issuer", `"${fake.issuer}/"`);
  });

  it("no iss: wrong_issuer", async () => {
    const token = await fake.mint({ iss: undefined });
    await expectIdentityError(
      () => auth.authenticate(bearer(token)),
      "wrong_issuer",
      'token has no "iss" claim',
    );
  });

  it("wrong audience: wrong_audience listing the token's audiences", async () => {
    const token = await fake.mint({}, { audience: ["account", "other-app"] });
    await expectIdentityError(
      () => auth.authenticate(bearer(token)),
      "wrong_audience",
      "token audience [account, other-app] does not include copilot-audit",
    );
  });

  it("an audience list containing ours passes", async () => {
    const token = await fake.mint({}, { audience: ["account", "copilot-audit"] });
    await expect(auth.authenticate(bearer(token))).resolves.toMatchObject({ subject: "alice" });
  });

  it("no aud: wrong_audience", async () => {
    const token = await fake.mint({ aud: undefined });
    await expectIdentityError(
      () => auth.authenticate(bearer(token)),
      "wrong_audience",
      'token has no "aud" claim',
    );
  });

  it("tampered payload: bad_signature", async () => {
    const token = await fake.mint({}, { sign: "tampered" });
    await expectIdentityError(
      () => auth.authenticate(bearer(token)),
      "bad_signature",
      `token signature does not verify with the key with kid ${fake.kid} of ${fake.jwksUri}`,
    );
  });

  it("signature from another key under a known kid: bad_signature", async () => {
    const token = await fake.mint({}, { sign: "unknown-key", kid: fake.kid });
    await expectIdentityError(() => auth.authenticate(bearer(token)), "bad_signature", "does not verify");
  });

  it('alg "none": algorithm_not_allowed, before any key lookup', async () => {
    const token = await fake.mint({}, { sign: "none" });
    await expectIdentityError(
      () => auth.authenticate(bearer(token)),
      "algorithm_not_allowed",
      'token is unsigned (alg "none")',
      "allowed: RS256, ES256",
    );
  });

  it("HS256 signed with the public key: algorithm_not_allowed", async () => {
    const token = await fake.mint({}, { sign: "hs256-with-public-key" });
    await expectIdentityError(
      () => auth.authenticate(bearer(token)),
      "algorithm_not_allowed",
      'token alg "HS256" (HMAC, shared secret) is not allowed',
    );
  });

  it("an asymmetric alg outside the allow-list: algorithm_not_allowed", async () => {
    const strict = createAuthenticator({
      issuer: fake.issuer,
      audience: "copilot-audit",
      algorithms: [algorithm === "RS256" ? "ES256" : "RS256"],
    });
    const token = await fake.mint();
    await expectIdentityError(
      () => strict.authenticate(bearer(token)),
      "algorithm_not_allowed",
      `token alg "${algorithm}" is not allowed`,
    );
    strict.close();
  });

  it("no sub: missing_claim", async () => {
    const token = await fake.mint({ sub: undefined });
    await expectIdentityError(() => auth.authenticate(bearer(token)), "missing_claim", 'no "sub"');
  });

  it("no exp: missing_claim", async () => {
    const token = await fake.mint({ exp: undefined });
    await expectIdentityError(() => auth.authenticate(bearer(token)), "missing_claim", 'no "exp" claim');
  });

  it("exp that is not a number: malformed_token", async () => {
    const token = await fake.mint({ exp: "tomorrow" });
    await expectIdentityError(
      () => auth.authenticate(bearer(token)),
      "malformed_token",
      '"exp" claim is not a NumericDate',
    );
  });

  it("no kid with one key in the JWKS still verifies", async () => {
    const token = await fake.mint({}, { omitKid: true });
    await expect(auth.authenticate(bearer(token))).resolves.toMatchObject({ subject: "alice" });
  });

  it.each([
    ["not a JWT", "abc", "expected 3 dot-separated base64url parts, got 1"],
    ["a JWE", "a.b.c.d.e", "encrypted JWT (JWE)"],
    ["a bad header", "!!!.e30.sig", "token header is not base64url-encoded JSON"],
    ["a header without alg", `${Buffer.from("{}").toString("base64url")}.e30.c2ln`, 'no "alg"'],
  ])("%s: malformed_token", async (_name, token, message) => {
    await expectIdentityError(() => auth.authenticate(bearer(token)), "malformed_token", message);
  });

  it("a payload that is not JSON: malformed_token", async () => {
    const [h] = (await fake.mint()).split(".");
    await expectIdentityError(
      () => auth.authenticate(bearer(`${h}.${Buffer.from("nope").toString("base64url")}.c2ln`)),
      "malformed_token",
      "payload is not a base64url-encoded JSON object",
    );
  });

  it("an oversized token is refused before hashing or decoding", async () => {
    await expectIdentityError(
      () => auth.authenticate(bearer("a".repeat(40_000))),
      "malformed_token",
      "at most 32768",
    );
  });

  it("messages never contain the token", async () => {
    const tokens = [
      await fake.mint({}, { expiresIn: -3600 }),
      await fake.mint({}, { sign: "tampered" }),
      await fake.mint({}, { audience: "x" }),
    ];
    for (const token of tokens) {
      const error = await auth.authenticate(bearer(token)).catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).not.toContain(token.split(".")[1]);
    }
  });
});
