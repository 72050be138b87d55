import { FetchFailure, fetchJson } from "./fetch-json.js";

/** `${issuer}/.well-known/openid-configuration`, without a double slash when the issuer ends with "/". */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
}

/**
 * Reads the discovery document and returns its `jwks_uri`.
 * The document's `issuer` must equal the configured issuer exactly (OpenID Connect Discovery §4.3).
 */
export async function discoverJwksUri(
  issuer: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<string> {
  const url = discoveryUrl(issuer);
  const doc = await fetchJson(url, timeoutMs, signal);
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new FetchFailure(`discovery document at ${url} is not a JSON object`);
  }
  const fields = doc as Record<string, unknown>;
  if (fields.issuer !== issuer) {
    throw new FetchFailure(
      `discovery document at ${url} names issuer ${JSON.stringify(fields.issuer)}, but the configured issuer is ` +
        `"${issuer}"; they must match exactly (including any trailing slash)`,
    );
  }
  const jwksUri = fields.jwks_uri;
  if (typeof jwksUri !== "string") throw new FetchFailure(`discovery document at ${url} has no jwks_uri`);
  let parsed: URL;
  try {
    parsed = new URL(jwksUri);
  } catch {
    throw new FetchFailure(`discovery document at ${url} has an invalid jwks_uri`);
  }
  const issuerIsHttps = new URL(issuer).protocol === "https:";
  if (parsed.protocol !== "https:" && (issuerIsHttps || parsed.protocol !== "http:")) {
    throw new FetchFailure(
      `discovery document at ${url} has jwks_uri ${jwksUri}; it must be an https:// URL`,
    );
  }
  return parsed.href;
}
