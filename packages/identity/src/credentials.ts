import { IdentityError } from "./errors.js";

const HOW_TO =
  "send 'Proxy-Authorization: Bearer <token>' or put the token in the proxy URL as the password: " +
  "HTTPS_PROXY=http://oidc:<token>@gateway:8080";
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9._~+/-]{0,31}$/;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

function malformed(message: string): IdentityError {
  return new IdentityError("malformed_credentials", message);
}

function single(header: string | string[] | undefined): string | undefined {
  if (!Array.isArray(header)) return header;
  const distinct = [...new Set(header.map((h) => h.trim()).filter((h) => h !== ""))];
  if (distinct.length > 1) {
    throw malformed(`${distinct.length} different Proxy-Authorization headers were sent; send exactly one`);
  }
  return distinct[0];
}

function decodeBasic(value: string): string {
  if (value.length % 4 === 1 || !BASE64.test(value)) {
    throw malformed(
      "Basic credentials are not valid base64; " +
        "let the client build them from the proxy URL: HTTPS_PROXY=http://oidc:<token>@gateway:8080",
    );
  }
  const decoded = Buffer.from(value, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) {
    throw malformed(
      "Basic credentials must be user:password with the token as the password: " +
        "http://oidc:<token>@gateway:8080",
    );
  }
  const password = decoded.slice(colon + 1).trim();
  if (password === "") {
    const user = decoded.slice(0, colon);
    const hint = JWT_SHAPE.test(user) ? " (the token was sent as the user name)" : "";
    throw malformed(
      `Basic credentials carry an empty password${hint}; ` +
        "the token must be the password: http://oidc:<token>@gateway:8080",
    );
  }
  return password;
}

/**
 * Extracts the JWT from a `Proxy-Authorization` header value.
 * Accepts `Bearer <jwt>` and `Basic base64(<anything>:<jwt>)` (scheme case-insensitive, extra spaces tolerated).
 * Throws {@link IdentityError} `missing_credentials` or `malformed_credentials`; messages never echo the value.
 */
export function parseProxyAuthorization(header: string | string[] | undefined): string {
  const raw = single(header)?.trim();
  if (raw === undefined || raw === "") {
    throw new IdentityError("missing_credentials", `no Proxy-Authorization header; ${HOW_TO}`);
  }
  const space = raw.search(/\s/);
  const scheme = space < 0 ? raw : raw.slice(0, space);
  const value = space < 0 ? "" : raw.slice(space + 1).trim();
  const lower = scheme.toLowerCase();
  if (lower === "bearer") {
    if (value === "") throw malformed(`Bearer credentials are empty; ${HOW_TO}`);
    if (/\s/.test(value)) throw malformed("Bearer credentials must be a single token without spaces");
    return value;
  }
  if (lower === "basic") {
    if (value === "") throw malformed(`Basic credentials are empty; ${HOW_TO}`);
    return decodeBasic(value);
  }
  if (JWT_SHAPE.test(scheme) || !SCHEME.test(scheme)) {
    throw malformed(`Proxy-Authorization has no scheme; ${HOW_TO}`);
  }
  throw malformed(`unsupported Proxy-Authorization scheme "${scheme}"; ${HOW_TO}`);
}
