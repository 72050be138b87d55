import { createPublicKey, verify } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeIssuer, startFakeIssuer } from "../src/oidc.js";

const open: FakeIssuer[] = [];

async function start(opts?: Parameters<typeof startFakeIssuer>[0]): Promise<FakeIssuer> {
  const issuer = await startFakeIssuer(opts);
  open.push(issuer);
  return issuer;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((i) => i.close()));
});

interface Jwk {
  kid: string;
  alg: string;
  kty: string;
  [k: string]: unknown;
}

function parts(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  sig: string;
} {
  const [h, p, s] = token.split(".");
  return {
    header: JSON.parse(Buffer.from(h ?? "", "base64url").toString()),
    payload: JSON.parse(Buffer.from(p ?? "", "base64url").toString()),
    sig: s ?? "",
  };
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function jwks(issuer: FakeIssuer): Promise<Jwk[]> {
  return (await getJson(issuer.jwksUri)).body.keys as Jwk[];
}

function verifies(token: string, jwk: Jwk): boolean {
  const [h, p, s] = token.split(".");
  const key = createPublicKey({ key: jwk as never, format: "jwk" });
  const data = Buffer.from(`${h}.${p}`);
  const sig = Buffer.from(s ?? "", "base64url");
  return jwk.kty === "RSA"
    ? verify("sha256", data, key, sig)
    : verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, sig);
}

describe("startFakeIssuer", () => {
  it("serves discovery under the issuer path and a JWKS with the current key", async () => {
    const issuer = await start();
    expect(issuer.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/realms\/test$/);
    const discovery = await getJson(`${issuer.issuer}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
    expect(discovery.body.issuer).toBe(issuer.issuer);
    expect(discovery.body.jwks_uri).toBe(issuer.jwksUri);
    const keys = await jwks(issuer);
    expect(keys.map((k) => [k.kid, k.alg, k.kty])).toEqual([[issuer.kid, "RS256", "RSA"]]);
    expect(keys[0]).not.toHaveProperty("d");
    expect(issuer.stats).toEqual({ discovery: 1, jwks: 1 });
  });

  it("answers 404 for a path without the realm prefix (catches joining bugs)", async () => {
    const issuer = await start();
    const origin = new URL(issuer.issuer).origin;
    expect((await fetch(`${origin}/.well-known/openid-configuration`)).status).toBe(404);
    expect((await fetch(`${issuer.issuer}//.well-known/openid-configuration`)).status).toBe(404);
  });

  it.each(["RS256", "ES256"] as const)(
    "mints %s tokens that verify against the published key",
    async (alg) => {
      const issuer = await start({ algorithm: alg });
      const token = await issuer.mint(
        { sub: "bob", groups: ["dev"] },
        { audience: ["a", "b"], expiresIn: "15m" },
      );
      const { header, payload } = parts(token);
      expect(header).toEqual({ alg, typ: "JWT", kid: issuer.kid });
      expect(payload).toMatchObject({ iss: issuer.issuer, aud: ["a", "b"], sub: "bob", groups: ["dev"] });
      expect((payload.exp as number) - (payload.iat as number)).toBe(900);
      const [key] = await jwks(issuer);
      expect(verifies(token, key!)).toBe(true);
    },
  );

  it("defaults, relative times and removable claims", async () => {
    const issuer = await start();
    const { payload } = parts(await issuer.mint({ jti: undefined }, { expiresIn: -60, notBefore: 120 }));
    const now = Math.floor(Date.now() / 1000);
    expect(payload.sub).toBe("alice");
    expect(payload.aud).toBe("copilot-audit");
    expect(payload).not.toHaveProperty("jti");
    expect(Math.abs((payload.exp as number) - (now - 60))).toBeLessThanOrEqual(1);
    expect(Math.abs((payload.nbf as number) - (now + 120))).toBeLessThanOrEqual(1);
    await expect(issuer.mint({}, { expiresIn: "soon" })).rejects.toThrow(/expiresIn/);
  });

  it("rotate() publishes only the new key; retired tokens no longer verify against the JWKS", async () => {
    const issuer = await start({ algorithm: "ES256" });
    const oldKid = issuer.kid;
    await expect(issuer.mint({}, { sign: "retired" })).rejects.toThrow(/rotate/);
    issuer.rotate();
    expect(issuer.kid).not.toBe(oldKid);
    const keys = await jwks(issuer);
    expect(keys.map((k) => k.kid)).toEqual([issuer.kid]);
    const retired = await issuer.mint({}, { sign: "retired" });
    expect(parts(retired).header.kid).toBe(oldKid);
    expect(verifies(retired, keys[0]!)).toBe(false);
    issuer.rotate({ keepRetired: true });
    expect((await jwks(issuer)).map((k) => k.kid)).toEqual([issuer.kid, keys[0]!.kid]);
  });

  it("signs the attack variants", async () => {
    const issuer = await start();
    const [key] = await jwks(issuer);
    const none = await issuer.mint({}, { sign: "none" });
    expect(parts(none).header.alg).toBe("none");
    expect(parts(none).sig).toBe("");
    const hs = await issuer.mint({}, { sign: "hs256-with-public-key" });
    expect(parts(hs).header).toMatchObject({ alg: "HS256", kid: issuer.kid });
    const tampered = await issuer.mint({}, { sign: "tampered" });
    expect(parts(tampered).payload.tampered).toBe(true);
    expect(verifies(tampered, key!)).toBe(false);
    const unknown = await issuer.mint({}, { sign: "unknown-key" });
    expect(parts(unknown).header.kid).toMatch(/^unknown-\d+$/);
    expect(verifies(unknown, key!)).toBe(false);
    expect(parts(await issuer.mint({}, { omitKid: true })).header).not.toHaveProperty("kid");
  });

  it("down() answers 503 and still counts requests; up() restores", async () => {
    const issuer = await start();
    issuer.down();
    expect((await fetch(issuer.jwksUri)).status).toBe(503);
    expect(issuer.stats.jwks).toBe(1);
    issuer.up();
    expect((await fetch(issuer.jwksUri)).status).toBe(200);
  });

  it("stop() refuses connections, restart() listens on the same port", async () => {
    const issuer = await start();
    await issuer.stop();
    const refused = await fetch(issuer.jwksUri).then(
      () => "connected",
      (err: Error) => (err.cause as { code?: string }).code,
    );
    expect(refused).toBe("ECONNREFUSED");
    await issuer.restart();
    expect((await fetch(issuer.jwksUri)).status).toBe(200);
  });

  it("applies discovery overrides and latency", async () => {
    const issuer = await start();
    issuer.setDiscoveryOverrides({ issuer: "https://elsewhere.example" });
    expect((await getJson(issuer.discoveryUrl)).body.issuer).toBe("https://elsewhere.example");
    issuer.setDiscoveryOverrides(null);
    issuer.setLatency(150);
    const started = Date.now();
    await fetch(issuer.discoveryUrl);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });
});
