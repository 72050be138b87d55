import { describe, expect, it } from "vitest";
import { parseProxyAuthorization } from "../src/credentials.js";
import { basic, expectIdentityError } from "./helpers.js";

const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";

describe("parseProxyAuthorization", () => {
  it.each([
    ["Bearer", `Bearer ${JWT}`],
    ["lower-case scheme", `bearer ${JWT}`],
    ["upper-case scheme", `BEARER ${JWT}`],
    ["extra spaces", `  Bearer    ${JWT}  `],
    ["a tab", `Bearer\t${JWT}`],
    ["Basic with any user", basic("oidc", JWT)],
    ["Basic with an empty user", basic("", JWT)],
    ["basic lower-case", basic("x", JWT).replace("Basic", "basic")],
    ["Basic without padding", basic("oidc", JWT).replace(/=+$/, "")],
    ["a one-element array", [`Bearer ${JWT}`]],
    ["duplicate identical headers", [`Bearer ${JWT}`, `Bearer ${JWT}`]],
  ])("accepts %s", (_name, header) => {
    expect(parseProxyAuthorization(header)).toBe(JWT);
  });

  it("keeps everything after the first colon as the password (RFC 7617)", () => {
    expect(parseProxyAuthorization(basic("u", "a:b"))).toBe("a:b");
  });

  it.each([
    ["undefined", undefined],
    ["an empty string", ""],
    ["only spaces", "   "],
    ["an empty array", []],
  ])("missing_credentials for %s, with how to send a token", async (_name, header) => {
    await expectIdentityError(
      () => parseProxyAuthorization(header),
      "missing_credentials",
      "no Proxy-Authorization header",
      "http://oidc:<token>@gateway:8080",
    );
  });

  it.each([
    [
      "wrong scheme",
      "Negotiate YIIGhgYJKoZIhvcSAQICAQBuggY1",
      'unsupported Proxy-Authorization scheme "Negotiate"',
    ],
    ["Digest", 'Digest username="a"', 'unsupported Proxy-Authorization scheme "Digest"'],
    ["a bare token", JWT, "has no scheme"],
    ["Bearer without a value", "Bearer", "Bearer credentials are empty"],
    ["Bearer with two words", `Bearer ${JWT} extra`, "single token without spaces"],
    ["Basic without a value", "Basic ", "Basic credentials are empty"],
    ["bad base64", "Basic !!!not-base64***", "not valid base64"],
    ["impossible base64 length", "Basic abcde", "not valid base64"],
    [
      "Basic without colon",
      `Basic ${Buffer.from(JWT).toString("base64")}`,
      "must be user:password with the token as the password: http://oidc:<token>@gateway:8080",
    ],
    ["empty password", basic("oidc", ""), "empty password", "http://oidc:<token>@gateway:8080"],
    ["token as the user name", basic(JWT, ""), "the token was sent as the user name"],
    [
      "two different headers",
      [`Bearer ${JWT}`, "Bearer other.token.here"],
      "2 different Proxy-Authorization headers",
    ],
  ])("malformed_credentials for %s", async (_name, header, ...parts) => {
    const error = await expectIdentityError(
      () => parseProxyAuthorization(header),
      "malformed_credentials",
      ...(parts as string[]),
    );
    expect(error.message).not.toContain(JWT);
  });

  it("never echoes a long or odd scheme", async () => {
    const error = await expectIdentityError(
      () => parseProxyAuthorization(`${"S".repeat(200)} value`),
      "malformed_credentials",
      "has no scheme",
    );
    expect(error.message).not.toContain("SSSS");
  });
});
