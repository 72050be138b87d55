import { describe, expect, it } from "vitest";
import { IDENTITY_ERROR_CODES, IdentityError, isIdentityError } from "../src/errors.js";
import * as api from "../src/index.js";

describe("IdentityError", () => {
  it("carries code, name, details and cause", () => {
    const cause = new Error("root");
    const expiredAt = new Date(0);
    const error = new IdentityError("token_expired", "token expired at …", { expiredAt, cause, kid: "k" });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("IdentityError");
    expect(error.code).toBe("token_expired");
    expect(error.expiredAt).toBe(expiredAt);
    expect(error.kid).toBe("k");
    expect(error.notBefore).toBeUndefined();
    expect(error.cause).toBe(cause);
    expect(isIdentityError(error)).toBe(true);
    expect(isIdentityError(new Error("x"))).toBe(false);
  });

  it("the code list is the documented one", () => {
    expect([...IDENTITY_ERROR_CODES].sort()).toEqual(
      [
        "missing_credentials",
        "malformed_credentials",
        "token_expired",
        "token_not_yet_valid",
        "wrong_issuer",
        "wrong_audience",
        "bad_signature",
        "unknown_key",
        "algorithm_not_allowed",
        "malformed_token",
        "missing_claim",
        "idp_unavailable",
        "config_invalid",
      ].sort(),
    );
  });

  it("the README documents every code and every export", async () => {
    const { readFile } = await import("node:fs/promises");
    const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
    for (const code of IDENTITY_ERROR_CODES) expect(readme).toContain(`\`${code}\``);
    for (const name of Object.keys(api)) expect(readme).toContain(name);
  });
});
