import { startFakeIssuer } from "@copilot-audit/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { type Authenticator, createAuthenticator } from "../src/authenticator.js";
import type { OidcOptions } from "../src/options.js";
import { RemoteKeySource } from "../src/remote-keys.js";
import { expectIdentityError } from "./helpers.js";

type Fake = Awaited<ReturnType<typeof startFakeIssuer>>;
const cleanup: (() => unknown)[] = [];

afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function setup(opts: Partial<OidcOptions> = {}): Promise<{ fake: Fake; auth: Authenticator }> {
  const fake = await startFakeIssuer({ algorithm: "ES256" });
  cleanup.push(() => fake.close());
  const auth = createAuthenticator({
    issuer: fake.issuer,
    audience: "copilot-audit",
    retryMinMs: 0,
    retryMaxMs: 0,
    ...opts,
  });
  cleanup.push(() => auth.close());
  return { fake, auth };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await sleep(10);
  }
}

describe("key rotation", () => {
  it("unknown kid → refetch → success after rotation, without a restart", async () => {
    const { fake, auth } = await setup({ jwksCooldownMs: 0 });
    await auth.authenticate(`Bearer ${await fake.mint()}`);
    expect(fake.stats).toEqual({ discovery: 1, jwks: 1 });
    fake.rotate();
    const identity = await auth.authenticate(`Bearer ${await fake.mint({ sub: "after-rotation" })}`);
    expect(identity.subject).toBe("after-rotation");
    expect(fake.stats).toEqual({ discovery: 1, jwks: 2 });
  });

  it("a token signed by the retired key is unknown_key after the refetch", async () => {
    const { fake, auth } = await setup({ jwksCooldownMs: 0 });
    fake.rotate();
    await auth.authenticate(`Bearer ${await fake.mint()}`);
    const retired = await fake.mint({}, { sign: "retired" });
    const error = await expectIdentityError(
      () => auth.authenticate(`Bearer ${retired}`),
      "unknown_key",
      `no ES256 key with kid key-1 in ${fake.jwksUri} (refetched)`,
    );
    expect(error.kid).toBe("key-1");
  });

  it("both keys verify while the IdP publishes the old one beside the new", async () => {
    const { fake, auth } = await setup({ jwksCooldownMs: 0 });
    fake.rotate({ keepRetired: true });
    await auth.authenticate(`Bearer ${await fake.mint({}, { sign: "retired" })}`);
    await auth.authenticate(`Bearer ${await fake.mint()}`);
    expect(fake.stats.jwks).toBe(1);
  });

  it("within the cooldown an unknown kid is not refetched", async () => {
    const { fake, auth } = await setup({ jwksCooldownMs: 60_000 });
    await auth.authenticate(`Bearer ${await fake.mint()}`);
    const stranger = await fake.mint({}, { sign: "unknown-key" });
    await expectIdentityError(
      () => auth.authenticate(`Bearer ${stranger}`),
      "unknown_key",
      "no ES256 key with kid unknown-1",
      "not refetched within the 60s cooldown",
    );
    await expectIdentityError(() => auth.authenticate(`Bearer ${stranger}`), "unknown_key");
    expect(fake.stats.jwks).toBe(1);
  });

  it("a storm of unknown kids after the cooldown causes one refetch", async () => {
    const { fake, auth } = await setup({ jwksCooldownMs: 0 });
    await auth.authenticate(`Bearer ${await fake.mint()}`);
    fake.rotate();
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => fake.mint({ sub: `u${i}` })));
    const identities = await Promise.all(tokens.map((t) => auth.authenticate(`Bearer ${t}`)));
    expect(identities.map((i) => i.subject)).toEqual(tokens.map((_, i) => `u${i}`));
    expect(fake.stats.jwks).toBe(2);
  });
});

describe("IdP outages", () => {
  it("IdP down with a warm key cache: new tokens still verify", async () => {
    const { fake, auth } = await setup();
    await auth.authenticate(`Bearer ${await fake.mint()}`);
    fake.down();
    const identity = await auth.authenticate(`Bearer ${await fake.mint({ sub: "during-outage" })}`);
    expect(identity.subject).toBe("during-outage");
  });

  it("IdP refusing connections with a warm cache: still verifies", async () => {
    const { fake, auth } = await setup();
    await auth.prefetch();
    const token = await fake.mint({ sub: "bob" });
    await fake.stop();
    expect((await auth.authenticate(`Bearer ${token}`)).subject).toBe("bob");
  });

  it("IdP down and cold: idp_unavailable (not a token error), then recovers when it is back", async () => {
    const { fake, auth } = await setup();
    const token = await fake.mint();
    fake.down();
    const error = await expectIdentityError(
      () => auth.authenticate(`Bearer ${token}`),
      "idp_unavailable",
      `cannot load signing keys of the IdP ${fake.issuer}`,
      "answered HTTP 503",
      "the token may be valid",
    );
    expect(error.retryAfterSec).toBeGreaterThanOrEqual(1);
    fake.up();
    expect((await auth.authenticate(`Bearer ${token}`)).subject).toBe("alice");
  });

  it("cold with connections refused: idp_unavailable naming the error", async () => {
    const { fake, auth } = await setup();
    const token = await fake.mint();
    await fake.stop();
    await expectIdentityError(() => auth.authenticate(`Bearer ${token}`), "idp_unavailable", "ECONNREFUSED");
    await fake.restart();
    expect((await auth.authenticate(`Bearer ${token}`)).subject).toBe("alice");
  });

  it("after a failure it backs off: no request reaches the IdP until the backoff ends", async () => {
    const { fake, auth } = await setup({ retryMinMs: 300, retryMaxMs: 300 });
    const token = await fake.mint();
    fake.down();
    await expectIdentityError(() => auth.authenticate(`Bearer ${token}`), "idp_unavailable");
    expect(fake.stats.discovery).toBe(1);
    fake.up();
    await expectIdentityError(
      () => auth.authenticate(`Bearer ${token}`),
      "idp_unavailable",
      "answered HTTP 503",
    );
    expect(fake.stats.discovery).toBe(1);
    await sleep(320);
    expect((await auth.authenticate(`Bearer ${token}`)).subject).toBe("alice");
    expect(fake.stats.discovery).toBe(2);
  });

  it("the backoff doubles per failure up to retryMaxMs", async () => {
    const fake = await startFakeIssuer({ algorithm: "ES256" });
    cleanup.push(() => fake.close());
    fake.down();
    const source = new RemoteKeySource({
      issuer: fake.issuer,
      fetchTimeoutMs: 1000,
      jwksCooldownMs: 0,
      jwksMaxAgeMs: 600_000,
      retryMinMs: 200,
      retryMaxMs: 500,
    });
    cleanup.push(() => source.close());
    const attempt = async () => {
      await expectIdentityError(() => source.prefetch(), "idp_unavailable", "answered HTTP 503");
      return fake.stats.discovery;
    };
    expect(await attempt()).toBe(1); // backoff 200 ms
    await sleep(220);
    expect(await attempt()).toBe(2); // backoff 400 ms
    await sleep(220);
    expect(await attempt()).toBe(2); // still backing off
    await sleep(220);
    expect(await attempt()).toBe(3); // backoff capped at 500 ms (not 800)
    await sleep(520);
    expect(await attempt()).toBe(4);
    expect(source.status()).toMatchObject({ keys: 0, failures: 4, loadedAt: null });
  });

  it("unknown kid while the IdP is down and keys are cached: idp_unavailable, the token may be valid", async () => {
    const { fake, auth } = await setup({ jwksCooldownMs: 0 });
    await auth.prefetch();
    fake.rotate();
    const rotated = await fake.mint();
    fake.down();
    const error = await expectIdentityError(
      () => auth.authenticate(`Bearer ${rotated}`),
      "idp_unavailable",
      "no ES256 key with kid key-2 in the cached keys of",
      "refreshing them failed (GET ",
      "the token may be valid",
    );
    expect(error.kid).toBe("key-2");
    // Known keys keep working during the same outage.
    await auth.authenticate(`Bearer ${await fake.mint({}, { sign: "retired" })}`);
    fake.up();
    expect((await auth.authenticate(`Bearer ${rotated}`)).subject).toBe("alice");
  });

  it("a slow IdP: idp_unavailable after fetchTimeoutMs", async () => {
    const { fake, auth } = await setup({ fetchTimeoutMs: 100 });
    fake.setLatency(1000);
    await expectIdentityError(() => auth.prefetch(), "idp_unavailable", "timed out after 100 ms");
  });

  it("a JWKS that is not a key set: idp_unavailable", async () => {
    const { fake, auth } = await setup();
    fake.setDiscoveryOverrides({ jwks_uri: fake.discoveryUrl });
    await expectIdentityError(() => auth.prefetch(), "idp_unavailable", "did not return a JSON Web Key Set");
  });

  it("a discovery issuer mismatch: idp_unavailable that explains the mismatch", async () => {
    const { fake, auth } = await setup();
    fake.setDiscoveryOverrides({ issuer: "https://other.example" });
    await expectIdentityError(
      () => auth.prefetch(),
      "idp_unavailable",
      'names issuer "https://other.example"',
    );
  });

  it("concurrent cold requests share one discovery and one JWKS fetch", async () => {
    const { fake, auth } = await setup();
    const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => fake.mint({ sub: `u${i}` })));
    await Promise.all(tokens.map((t) => auth.authenticate(`Bearer ${t}`)));
    expect(fake.stats).toEqual({ discovery: 1, jwks: 1 });
  });
});

describe("key freshness", () => {
  it("keys older than jwksMaxAgeMs are refreshed in the background while verification continues", async () => {
    const { fake, auth } = await setup({ jwksMaxAgeMs: 200 });
    await auth.prefetch();
    await sleep(250);
    await auth.authenticate(`Bearer ${await fake.mint()}`);
    await waitFor(() => auth.status().loadedAt!.getTime() > Date.now() - 200);
    expect(fake.stats.jwks).toBe(2);
    expect(auth.status().lastError).toBeNull();
  });

  it("a failing background refresh keeps the cached keys (stale-if-error)", async () => {
    const { fake, auth } = await setup({ jwksMaxAgeMs: 200 });
    await auth.prefetch();
    await sleep(250);
    fake.down();
    await auth.authenticate(`Bearer ${await fake.mint({ sub: "a" })}`);
    await waitFor(() => auth.status().failures === 1);
    expect(auth.status()).toMatchObject({ keys: 1, failures: 1 });
    expect(auth.status().lastError).toContain("HTTP 503");
    expect((await auth.authenticate(`Bearer ${await fake.mint({ sub: "b" })}`)).subject).toBe("b");
  });
});
