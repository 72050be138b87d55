import { describe, expect, it } from "vitest";
import { createAuthenticator } from "../src/authenticator.js";
import { resolveOidcOptions, validateAlgorithms } from "../src/options.js";
import { expectIdentityError } from "./helpers.js";

const base = { issuer: "https://idp.example.com/realms/main", audience: "copilot-audit" };

describe("resolveOidcOptions", () => {
  it("fills defaults", () => {
    const resolved = resolveOidcOptions(base);
    expect(resolved).toMatchObject({
      issuer: base.issuer,
      audiences: ["copilot-audit"],
      algorithms: ["RS256", "ES256"],
      groupsClaim: "groups",
      clockToleranceSec: 30,
      cacheMaxEntries: 10_000,
      fetchTimeoutMs: 5000,
      jwksCooldownMs: 30_000,
      jwksMaxAgeMs: 600_000,
      retryMinMs: 1000,
      retryMaxMs: 60_000,
    });
  });

  it("keeps the issuer string exactly (a trailing slash is significant)", () => {
    expect(resolveOidcOptions({ ...base, issuer: "https://idp.example.com/" }).issuer).toBe(
      "https://idp.example.com/",
    );
  });

  it("accepts an audience list, a dotted groups claim and http on loopback", () => {
    const resolved = resolveOidcOptions({
      issuer: "http://127.0.0.1:9000/realms/x",
      audience: ["a", "b"],
      groupsClaim: " realm_access.roles ",
      algorithms: ["PS256", "EdDSA", "PS256"],
    });
    expect(resolved.audiences).toEqual(["a", "b"]);
    expect(resolved.groupsClaim).toBe("realm_access.roles");
    expect(resolved.algorithms).toEqual(["PS256", "EdDSA"]);
  });

  it.each([
    [{ ...base, issuer: "" }, "issuer: required"],
    [{ ...base, issuer: "idp.example.com" }, "is not a URL"],
    [{ ...base, issuer: "ftp://idp.example.com" }, "must be an https:// URL"],
    [{ ...base, issuer: "https://idp.example.com/?tenant=1" }, "must not contain a query"],
    [{ ...base, issuer: "http://idp.internal/realms/x" }, "without TLS"],
    [{ ...base, audience: "" }, "audience: required"],
    [{ ...base, audience: [] }, "audience: required"],
    [{ ...base, groupsClaim: " " }, "groupsClaim: must be a non-empty claim path"],
    [{ ...base, clockToleranceSec: 3600 }, "clockToleranceSec: must be an integer from 0 to 300"],
    [{ ...base, cacheMaxEntries: -1 }, "cacheMaxEntries"],
    [{ ...base, fetchTimeoutMs: 0 }, "fetchTimeoutMs"],
    [{ ...base, retryMinMs: 5000, retryMaxMs: 10 }, "retryMaxMs: must be an integer from 5000"],
  ])("config_invalid for %j", async (opts, message) => {
    await expectIdentityError(() => resolveOidcOptions(opts), "config_invalid", message);
  });

  it("allowInsecureIssuer permits http on another host", () => {
    expect(
      resolveOidcOptions({ ...base, issuer: "http://keycloak:8080/realms/x", allowInsecureIssuer: true })
        .issuer,
    ).toBe("http://keycloak:8080/realms/x");
  });
});

describe("validateAlgorithms", () => {
  it.each([
    [["none"], '"none" (unsigned tokens) is never allowed'],
    [["RS256", "NONE"], '"none"'],
    [["HS256"], "HS256 is an HMAC (shared secret) algorithm"],
    [["hs512"], "hs512 is an HMAC"],
    [["RS1"], '"RS1" is not supported; choose from RS256'],
    [[], "must be a non-empty list"],
  ])("refuses %j", async (algorithms, message) => {
    await expectIdentityError(() => validateAlgorithms(algorithms), "config_invalid", "algorithms:", message);
  });

  it("createAuthenticator validates before doing any I/O", async () => {
    await expectIdentityError(
      () => createAuthenticator({ ...base, algorithms: ["HS256"] }),
      "config_invalid",
      "HMAC",
    );
  });
});
