import { startFakeIssuer } from "@copilot-audit/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { discoverJwksUri, discoveryUrl } from "../src/discovery.js";
import { FetchFailure } from "../src/fetch-json.js";

type Fake = Awaited<ReturnType<typeof startFakeIssuer>>;

describe("discoveryUrl", () => {
  it.each([
    ["https://idp.example", "https://idp.example/.well-known/openid-configuration"],
    ["https://idp.example/", "https://idp.example/.well-known/openid-configuration"],
    ["https://idp.example/realms/main", "https://idp.example/realms/main/.well-known/openid-configuration"],
    ["https://idp.example/tenant/v2.0/", "https://idp.example/tenant/v2.0/.well-known/openid-configuration"],
  ])("%s", (issuer, url) => {
    expect(discoveryUrl(issuer)).toBe(url);
  });
});

describe("discoverJwksUri against the fake issuer", () => {
  let fake: Fake;
  const signal = new AbortController().signal;
  beforeAll(async () => {
    fake = await startFakeIssuer({ algorithm: "ES256" });
  });
  afterAll(() => fake.close());

  async function failure(issuer = fake.issuer, timeoutMs = 2000): Promise<string> {
    const err = await discoverJwksUri(issuer, timeoutMs, signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FetchFailure);
    return (err as Error).message;
  }

  it("returns jwks_uri from the document under the issuer path", async () => {
    expect(await discoverJwksUri(fake.issuer, 2000, signal)).toBe(fake.jwksUri);
  });

  it("requires the document's issuer to equal the configured one exactly", async () => {
    fake.setDiscoveryOverrides({ issuer: `${fake.issuer}/` });
    try {
      const message = await failure();
      expect(message).toContain(`names issuer "${fake.issuer}/"`);
      expect(message).toContain("must match exactly");
    } finally {
      fake.setDiscoveryOverrides(null);
    }
  });

  it("refuses a configured issuer with a trailing slash when the IdP's has none", async () => {
    expect(await failure(`${fake.issuer}/`)).toContain(`configured issuer is "${fake.issuer}/"`);
  });

  it.each([
    [{ jwks_uri: undefined }, "has no jwks_uri"],
    [{ jwks_uri: "not a url" }, "invalid jwks_uri"],
    [{ jwks_uri: "file:///etc/passwd" }, "must be an https:// URL"],
  ])("refuses %j", async (overrides, message) => {
    fake.setDiscoveryOverrides(overrides);
    try {
      expect(await failure()).toContain(message);
    } finally {
      fake.setDiscoveryOverrides(null);
    }
  });

  it("reports an HTTP error status with the URL", async () => {
    fake.down();
    try {
      expect(await failure()).toBe(`GET ${fake.discoveryUrl} answered HTTP 503, expected 200`);
    } finally {
      fake.up();
    }
  });

  it("reports a timeout", async () => {
    fake.setLatency(500);
    try {
      expect(await failure(fake.issuer, 100)).toContain("timed out after 100 ms");
    } finally {
      fake.setLatency(0);
    }
  });

  it("reports a refused connection", async () => {
    const gone = await startFakeIssuer({ algorithm: "ES256" });
    await gone.close();
    expect(await failure(gone.issuer)).toMatch(/ECONNREFUSED/);
  });
});
