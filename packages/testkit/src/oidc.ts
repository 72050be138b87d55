// A fake OIDC issuer over real HTTP: discovery, JWKS, key rotation, outages, and tokens signed every
// way a verifier must handle (valid, retired key, unknown key, alg "none", HS256 keyed with the public key,
// tampered payload). For tests and scripts only.
import {
  createHmac,
  generateKeyPair,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
  sign,
} from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type FakeIssuerAlgorithm = "RS256" | "ES256";

/** How {@link FakeIssuer.mint} signs the token. */
export type FakeSignMode =
  /** The current published key. */
  | "current"
  /** The key replaced by the last rotate() (no longer published unless rotate({ keepRetired: true })). */
  | "retired"
  /** A key that was never published (kid "unknown-N"). */
  | "unknown-key"
  /** alg "none", empty signature. */
  | "none"
  /** HS256 with the current public key (SPKI PEM) as the HMAC secret: the algorithm-confusion attack. */
  | "hs256-with-public-key"
  /** Signed with the current key, then the payload is changed (adds "tampered": true, changes nothing else). */
  | "tampered";

export interface FakeMintOptions {
  /** Seconds from now (negative = already expired) or "30s", "15m", "1h", "2d", "-5m". Default 3600. */
  expiresIn?: number | string;
  /** Seconds from now for `nbf` (e.g. 3600 = valid in an hour). Default: no nbf. */
  notBefore?: number;
  /** `iss` claim. Default: this issuer. */
  issuer?: string;
  /** `aud` claim. Default: the issuer's audience ("copilot-audit"). */
  audience?: string | string[];
  /** Header kid override (signing key unchanged). */
  kid?: string;
  /** Omit the kid from the header. */
  omitKid?: boolean;
  sign?: FakeSignMode;
}

export interface FakeIssuerOptions {
  algorithm?: FakeIssuerAlgorithm;
  /** Listen address. Default 127.0.0.1. */
  host?: string;
  /** Path of the issuer. Default "/realms/test" (a path catches URL-joining bugs). */
  path?: string;
  /** Audience put in tokens by default. Default "copilot-audit". */
  audience?: string;
}

export interface FakeIssuerStats {
  /** Requests received for the discovery document (also while down). */
  discovery: number;
  /** Requests received for the JWKS (also while down). */
  jwks: number;
}

export interface FakeIssuer {
  /** e.g. http://127.0.0.1:PORT/realms/test */
  readonly issuer: string;
  readonly audience: string;
  readonly algorithm: FakeIssuerAlgorithm;
  readonly discoveryUrl: string;
  readonly jwksUri: string;
  /** kid of the current key. */
  readonly kid: string;
  readonly stats: FakeIssuerStats;
  /** Mints a token. `claims` override the defaults (sub "alice", iss, aud, iat, exp, jti); undefined removes one. */
  mint(claims?: Record<string, unknown>, opts?: FakeMintOptions): Promise<string>;
  /** New current key. The old one is removed from the JWKS (kept for sign: "retired") unless keepRetired. */
  rotate(opts?: { keepRetired?: boolean }): void;
  /** Answer 503 to everything until up(). */
  down(): void;
  up(): void;
  /** Delay every answer by ms (to test fetch timeouts). */
  setLatency(ms: number): void;
  /** Merge these fields into the discovery document (e.g. a wrong issuer); null restores it. */
  setDiscoveryOverrides(fields: Record<string, unknown> | null): void;
  /** Really close the listener: connections are refused until restart(). */
  stop(): Promise<void>;
  /** Listen again on the same port after stop(). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

function relativeSeconds(value: number | string): number {
  if (typeof value === "number") return value;
  const match = /^(-?\d+)\s*([smhd])$/.exec(value.trim());
  if (!match) throw new Error(`expiresIn "${value}" must look like 30s, 15m, 1h, 2d or -5m`);
  return Number(match[1]) * (UNITS[match[2] ?? "s"] ?? 1);
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString("base64url");
}

interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function generateSync(algorithm: FakeIssuerAlgorithm): KeyPair {
  return algorithm === "RS256"
    ? generateKeyPairSync("rsa", { modulusLength: 2048 })
    : generateKeyPairSync("ec", { namedCurve: "P-256" });
}

function generateAsync(algorithm: FakeIssuerAlgorithm): Promise<KeyPair> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject) =>
      err ? reject(err) : resolve({ publicKey, privateKey });
    if (algorithm === "RS256") generateKeyPair("rsa", { modulusLength: 2048 }, done);
    else generateKeyPair("ec", { namedCurve: "P-256" }, done);
  });
}

// RSA key generation takes ~250 ms: keep one pair per algorithm generating in the background (off the
// event loop) so the next issuer, rotation or unknown key usually finds one ready.
const spares = new Map<FakeIssuerAlgorithm, { promise: Promise<KeyPair>; ready: KeyPair | null }>();

function refill(algorithm: FakeIssuerAlgorithm): void {
  const spare: { promise: Promise<KeyPair>; ready: KeyPair | null } = {
    promise: generateAsync(algorithm),
    ready: null,
  };
  spare.promise.then(
    (pair) => {
      spare.ready = pair;
    },
    () => undefined,
  );
  spares.set(algorithm, spare);
}

async function takeKeyPair(algorithm: FakeIssuerAlgorithm): Promise<KeyPair> {
  const spare = spares.get(algorithm);
  refill(algorithm);
  return spare ? spare.promise : generateAsync(algorithm);
}

function takeKeyPairSync(algorithm: FakeIssuerAlgorithm): KeyPair {
  const spare = spares.get(algorithm);
  if (spare?.ready) {
    refill(algorithm);
    return spare.ready;
  }
  return generateSync(algorithm);
}

function signWith(algorithm: FakeIssuerAlgorithm, key: KeyObject, input: string): string {
  const signature =
    algorithm === "RS256"
      ? sign("sha256", Buffer.from(input), key)
      : sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
  return signature.toString("base64url");
}

function publicJwk(algorithm: FakeIssuerAlgorithm, key: SigningKey): Record<string, unknown> {
  return { ...key.publicKey.export({ format: "jwk" }), kid: key.kid, alg: algorithm, use: "sig" };
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Starts a fake OIDC issuer on an ephemeral port. */
export async function startFakeIssuer(opts: FakeIssuerOptions = {}): Promise<FakeIssuer> {
  const algorithm = opts.algorithm ?? "RS256";
  const host = opts.host ?? "127.0.0.1";
  const path = (opts.path ?? "/realms/test").replace(/\/+$/, "");
  const audience = opts.audience ?? "copilot-audit";
  let keyCounter = 1;
  let current: SigningKey = { kid: `key-${keyCounter}`, ...(await takeKeyPair(algorithm)) };
  let retired: SigningKey | null = null;
  let publishRetired = false;
  let unknownCounter = 0;
  let isDown = false;
  let latencyMs = 0;
  let overrides: Record<string, unknown> | null = null;
  const stats: FakeIssuerStats = { discovery: 0, jwks: 0 };

  let issuer = "";
  const discoveryPath = `${path}/.well-known/openid-configuration`;
  const jwksPath = `${path}/protocol/openid-connect/certs`;

  function route(req: IncomingMessage, res: ServerResponse): void {
    const url = (req.url ?? "/").split("?")[0];
    let body: unknown;
    if (url === discoveryPath) {
      stats.discovery += 1;
      body = {
        issuer,
        jwks_uri: `${issuer}/protocol/openid-connect/certs`,
        response_types_supported: ["id_token"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: [algorithm],
        ...overrides,
      };
    } else if (url === jwksPath) {
      stats.jwks += 1;
      const keys = [publicJwk(algorithm, current)];
      if (publishRetired && retired) keys.push(publicJwk(algorithm, retired));
      body = { keys };
    }
    if (isDown) {
      res.writeHead(503, { "content-type": "application/json" }).end('{"error":"fake issuer is down"}');
    } else if (body === undefined) {
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
    } else {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    }
  }

  const server = createServer((req, res) => {
    if (latencyMs > 0) setTimeout(() => route(req, res), latencyMs).unref();
    else route(req, res);
  });
  const port = await listen(server, 0, host);
  issuer = `http://${formatHost(host)}:${port}${path}`;

  async function mint(claims: Record<string, unknown> = {}, mintOpts: FakeMintOptions = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const payload: Record<string, unknown> = {
      iss: mintOpts.issuer ?? issuer,
      aud: mintOpts.audience ?? audience,
      sub: "alice",
      iat: now,
      exp: now + relativeSeconds(mintOpts.expiresIn ?? 3600),
      jti: randomUUID(),
      ...(mintOpts.notBefore === undefined ? {} : { nbf: now + mintOpts.notBefore }),
      ...claims,
    };
    for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
    const mode = mintOpts.sign ?? "current";
    let key = current;
    if (mode === "retired") {
      if (retired === null) throw new Error('sign: "retired" needs a rotate() first');
      key = retired;
    } else if (mode === "unknown-key") {
      unknownCounter += 1;
      key = { kid: `unknown-${unknownCounter}`, ...(await takeKeyPair(algorithm)) };
    }
    const alg = mode === "none" ? "none" : mode === "hs256-with-public-key" ? "HS256" : algorithm;
    const header: Record<string, unknown> = { alg, typ: "JWT" };
    if (mode !== "none" && !mintOpts.omitKid) header.kid = mintOpts.kid ?? key.kid;
    if (mode === "none" && mintOpts.kid !== undefined) header.kid = mintOpts.kid;
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
    if (mode === "none") return `${input}.`;
    if (mode === "hs256-with-public-key") {
      const secret = current.publicKey.export({ format: "pem", type: "spki" });
      return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
    }
    const signature = signWith(algorithm, key.privateKey, input);
    if (mode === "tampered") {
      const forged = b64url(JSON.stringify({ ...payload, tampered: true }));
      return `${input.split(".")[0]}.${forged}.${signature}`;
    }
    return `${input}.${signature}`;
  }

  function closeServer(): Promise<void> {
    return new Promise((resolve) => {
      if (!server.listening) {
        resolve();
        return;
      }
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  return {
    issuer,
    audience,
    algorithm,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    jwksUri: `${issuer}/protocol/openid-connect/certs`,
    get kid() {
      return current.kid;
    },
    stats,
    mint,
    rotate(rotateOpts = {}) {
      keyCounter += 1;
      retired = current;
      publishRetired = rotateOpts.keepRetired === true;
      current = { kid: `key-${keyCounter}`, ...takeKeyPairSync(algorithm) };
    },
    down() {
      isDown = true;
    },
    up() {
      isDown = false;
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    setDiscoveryOverrides(fields) {
      overrides = fields;
    },
    stop: closeServer,
    async restart() {
      if (!server.listening) await listen(server, port, host);
    },
    close: closeServer,
  };
}
