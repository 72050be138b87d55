const MAX_BYTES = 1024 * 1024;

/** Why a request failed, in words fit for an operator (no bodies). */
export class FetchFailure extends Error {
  override readonly name = "FetchFailure";
}

function describeNetworkError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return err.name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : "aborted";
  }
  const cause =
    err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (cause && typeof cause.message === "string") return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * GETs a JSON document (discovery or JWKS). Redirects are refused, bodies over 1 MiB are refused.
 * Throws {@link FetchFailure} with a message that names the URL and what went wrong.
 */
export async function fetchJson(url: string, timeoutMs: number, signal: AbortSignal): Promise<unknown> {
  const combined = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
  let response: Response;
  try {
    response = await fetch(url, {
      method: "GET",
      redirect: "manual",
      signal: combined,
      headers: { accept: "application/json, application/jwk-set+json" },
    });
  } catch (err) {
    throw new FetchFailure(`GET ${url} failed: ${describeNetworkError(err, timeoutMs)}`, { cause: err });
  }
  try {
    if (response.status !== 200) {
      throw new FetchFailure(`GET ${url} answered HTTP ${response.status}, expected 200`);
    }
    const declared = Number(response.headers.get("content-length") ?? "0");
    if (declared > MAX_BYTES)
      throw new FetchFailure(`GET ${url} returned ${declared} bytes; at most ${MAX_BYTES}`);
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      throw new FetchFailure(
        `GET ${url} failed while reading the body: ${describeNetworkError(err, timeoutMs)}`,
        {
          cause: err,
        },
      );
    }
    if (text.length > MAX_BYTES) throw new FetchFailure(`GET ${url} returned more than ${MAX_BYTES} bytes`);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new FetchFailure(`GET ${url} did not return JSON`);
    }
  } finally {
    if (!response.bodyUsed) await response.body?.cancel().catch(() => undefined);
  }
}
