import { startFakeIssuer } from "@copilot-audit/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { type Authenticator, createAuthenticator } from "../src/authenticator.js";
import type { OidcOptions } from "../src/options.js";
import { fingerprintToken } from "../src/token-cache.js";
import { basic, expectIdentityError } from "./helpers.js";

type Fake = Awaited<ReturnType<typeof startFakeIssuer>>;
const cleanup: (() => unknown)[] = [];

afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function setup(
  opts: Partial<OidcOptions> = {},
  algorithm: "RS256" | "ES256" = "ES256",
): Promise<{ fake: Fake; auth: Authenticator }> {
  const fake = await startFakeIssuer({ algorithm });
  cleanup.push(() => fake.close());
  const auth = createAuthenticator({ issuer: fake.issuer, audience: "copilot-audit", ...opts });
  cleanup.push(() => auth.close());
  return { fake, auth };
}

describe("authenticate: credential forms", () => {
  it("Bearer and Basic (token as the password) give the same identity", async () => {
    const { fake, auth } = await setup({}, "RS256");
    const token = await fake.mint({ sub: "u-7", email: "dev@example.com", groups: ["dev"] });
    const viaBearer = await auth.authenticate(`Bearer ${token}`);
    const viaBasic = await auth.authenticate(basic("oidc", token));
    expect(viaBasic).toEqual(viaBearer);
    expect(viaBearer).toMatchObject({ subject: "u-7", email: "dev@example.com", groups: ["dev"] });
    expect(viaBearer.tokenFingerprint).toBe(fingerprintToken(token));
  });

  it("missing header: missing_credentials, without contacting the IdP", async () => {
    const { fake, auth } = await setup();
    await expectIdentityError(
      () => auth.authenticate(undefined),
      "missing_credentials",
      "http://oidc:<token>@gateway:8080",
    );
    expect(fake.stats).toEqual({ discovery: 0, jwks: 0 });
  });

  it.each([
    ["wrong scheme", "Digest abc", "unsupported Proxy-Authorization scheme"],
    ["bad base64", "Basic %%%", "not valid base64"],
    ["Basic without colon", `Basic ${Buffer.from("token-only").toString("base64")}`, "user:password"],
    ["empty password", basic("oidc", ""), "empty password"],
  ])("%s: malformed_credentials", async (_name, header, message) => {
    const { auth } = await setup();
    await expectIdentityError(() => auth.authenticate(header), "malformed_credentials", message);
  });

  it("returns a rejected promise rather than throwing synchronously", () => {
    const auth = createAuthenticator({ issuer: "https://idp.example", audience: "a" });
    cleanup.push(() => auth.close());
    const result = auth.authenticate(undefined);
    expect(result).toBeInstanceOf(Promise);
    return expect(result).rejects.toMatchObject({ code: "missing_credentials" });
  });

  it("groups from a nested claim path", async () => {
    const { fake, auth } = await setup({ groupsClaim: "realm_access.roles" });
    const token = await fake.mint({ realm_access: { roles: ["copilot-users"] } });
    expect((await auth.authenticate(`Bearer ${token}`)).groups).toEqual(["copilot-users"]);
  });

  it("groups from cognito:groups", async () => {
    const { fake, auth } = await setup({ groupsClaim: "cognito:groups" });
    const token = await fake.mint({ "cognito:groups": ["eu-devs"] });
    expect((await auth.authenticate(`Bearer ${token}`)).groups).toEqual(["eu-devs"]);
  });

  it("groups from roles", async () => {
    const { fake, auth } = await setup({ groupsClaim: "roles" });
    expect((await auth.authenticate(`Bearer ${await fake.mint({ roles: ["r"] })}`)).groups).toEqual(["r"]);
  });

  it("Entra overage: verified identity with groups unknown and the reason", async () => {
    const { fake, auth } = await setup();
    const token = await fake.mint({
      _claim_names: { groups: "src1" },
      _claim_sources: { src1: { endpoint: "https://graph.microsoft.com/v1.0/users/x/getMemberObjects" } },
    });
    const identity = await auth.authenticate(`Bearer ${token}`);
    expect(identity.groups).toBeNull();
    expect(identity.groupsUnknownReason).toBe(
      "token has Entra group overage (_claim_names.groups); groups must be resolved via Graph",
    );
  });
});

describe("verified-token cache", () => {
  it("a second authenticate is a cache hit: no refetch, no re-verification", async () => {
    const { fake, auth } = await setup({ jwksCooldownMs: 0 });
    const token = await fake.mint();
    await auth.authenticate(`Bearer ${token}`);
    // Remove the token's key from the IdP and make the authenticator learn that.
    fake.rotate();
    await auth.authenticate(`Bearer ${await fake.mint()}`);
    expect(fake.stats.jwks).toBe(2);
    // Still accepted: it was verified once and is cached until exp.
    expect((await auth.authenticate(basic("x", token))).subject).toBe("alice");
    expect(fake.stats.jwks).toBe(2);
    expect(auth.status()).toMatchObject({ cacheEntries: 2, cacheHits: 1, cacheMisses: 2 });
  });

  it("with the cache disabled every call verifies (the removed key is noticed)", async () => {
    const { fake, auth } = await setup({ jwksCooldownMs: 0, cacheMaxEntries: 0 });
    const token = await fake.mint();
    await auth.authenticate(`Bearer ${token}`);
    fake.rotate();
    await auth.authenticate(`Bearer ${await fake.mint()}`);
    await expectIdentityError(() => auth.authenticate(`Bearer ${token}`), "unknown_key", "(refetched)");
    expect(auth.status().cacheEntries).toBe(0);
  });

  it("a cached token past exp is an expiry error, not a hit, and leaves the cache", async () => {
    const { fake, auth } = await setup();
    const token = await fake.mint({}, { expiresIn: 120 });
    const identity = await auth.authenticate(`Bearer ${token}`);
    expect(auth.status().cacheEntries).toBe(1);
    const later = new Date(identity.expiresAt.getTime() + 31_000);
    const error = await expectIdentityError(
      () => auth.authenticate(`Bearer ${token}`, later),
      "token_expired",
      `token expired at ${identity.expiresAt.toISOString()} (now ${later.toISOString()})`,
    );
    expect(error.expiredAt).toEqual(identity.expiresAt);
    expect(auth.status().cacheEntries).toBe(0);
  });

  it("evicts the least recently used token beyond cacheMaxEntries", async () => {
    const { fake, auth } = await setup({ cacheMaxEntries: 2 });
    const [a, b, c] = await Promise.all([
      fake.mint({ sub: "a" }),
      fake.mint({ sub: "b" }),
      fake.mint({ sub: "c" }),
    ]);
    await auth.authenticate(`Bearer ${a}`);
    await auth.authenticate(`Bearer ${b}`);
    await auth.authenticate(`Bearer ${a}`);
    await auth.authenticate(`Bearer ${c}`);
    expect(auth.status().cacheEntries).toBe(2);
    const hits = auth.status().cacheHits;
    await auth.authenticate(`Bearer ${a}`);
    expect(auth.status().cacheHits).toBe(hits + 1);
    await auth.authenticate(`Bearer ${b}`);
    expect(auth.status().cacheHits).toBe(hits + 1);
  });

  it("callers get copies: mutating one does not change the next", async () => {
    const { fake, auth } = await setup();
    const token = await fake.mint({ groups: ["dev"] });
    const first = await auth.authenticate(`Bearer ${token}`);
    first.groups?.push("admins");
    first.subject = "mallory";
    const second = await auth.authenticate(`Bearer ${token}`);
    expect(second).toMatchObject({ subject: "alice", groups: ["dev"] });
  });

  it("a CONNECT storm with one new token resolves every caller with the same identity", async () => {
    const { fake, auth } = await setup();
    const token = await fake.mint({ sub: "storm" });
    const all = await Promise.all(Array.from({ length: 50 }, () => auth.authenticate(`Bearer ${token}`)));
    expect(new Set(all.map((i) => i.subject))).toEqual(new Set(["storm"]));
    expect(fake.stats).toEqual({ discovery: 1, jwks: 1 });
    expect(auth.status().cacheEntries).toBe(1);
  });

  it("failed verifications are not cached", async () => {
    const { fake, auth } = await setup();
    const token = await fake.mint({}, { audience: "other" });
    await expectIdentityError(() => auth.authenticate(`Bearer ${token}`), "wrong_audience");
    await expectIdentityError(() => auth.authenticate(`Bearer ${token}`), "wrong_audience");
    expect(auth.status().cacheEntries).toBe(0);
  });
});

describe("lifecycle", () => {
  it("assertNotExpired checks an identity at a given time (per-exchange check in tunnels)", async () => {
    const { fake, auth } = await setup({ clockToleranceSec: 0 });
    const identity = await auth.authenticate(`Bearer ${await fake.mint({}, { expiresIn: 60 })}`);
    expect(() => auth.assertNotExpired(identity)).not.toThrow();
    await expectIdentityError(
      () => auth.assertNotExpired(identity, new Date(identity.expiresAt.getTime() + 1000)),
      "token_expired",
      `token expired at ${identity.expiresAt.toISOString()}`,
    );
  });

  it("prefetch loads keys; status reports them", async () => {
    const { fake, auth } = await setup();
    expect(auth.status()).toMatchObject({ issuer: fake.issuer, keys: 0, loadedAt: null, lastError: null });
    await auth.prefetch();
    expect(auth.status()).toMatchObject({ source: fake.jwksUri, keys: 1, failures: 0 });
    expect(auth.status().loadedAt).toBeInstanceOf(Date);
    expect(auth.issuer).toBe(fake.issuer);
    expect(auth.audiences).toEqual(["copilot-audit"]);
  });

  it("after close() authenticate answers idp_unavailable", async () => {
    const { fake, auth } = await setup();
    const token = await fake.mint();
    await auth.authenticate(`Bearer ${token}`);
    auth.close();
    await expectIdentityError(() => auth.authenticate(`Bearer ${token}`), "idp_unavailable", "closed");
    expect(auth.status().cacheEntries).toBe(0);
  });

  it("verify() takes a bare token", async () => {
    const { fake, auth } = await setup();
    expect((await auth.verify(await fake.mint({ sub: "cli" }))).subject).toBe("cli");
  });
});
