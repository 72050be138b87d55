/**
 * What a client sees when mode "block" stops a response: an error in the shape its stream format uses, so
 * that Copilot shows the message instead of failing silently. It names the rule and where, never the secret.
 */
export type StreamFamily = "openai" | "responses" | "anthropic";

const encoder = new TextEncoder();

export function blockMessage(cause: { ruleId: string; location: string }): string {
  return (
    `copilot-audit: the response was stopped because it contained a secret (rule ${cause.ruleId} at ${cause.location}). ` +
    "The secret was not shown. Contact your security team if you think this is wrong."
  );
}

/** The final SSE event of a blocked stream (no `[DONE]` follows: the stream did not complete). */
export function blockEvent(
  family: StreamFamily,
  cause: { ruleId: string; location: string },
  eol: string,
  lastSequence: number | undefined,
): Uint8Array {
  const message = blockMessage(cause);
  let event: string | undefined;
  let data: unknown;
  if (family === "anthropic") {
    event = "error";
    data = { type: "error", error: { type: "copilot_audit_blocked", message } };
  } else if (family === "responses") {
    event = "error";
    data = {
      type: "error",
      code: "secret_blocked",
      message,
      param: null,
      sequence_number: (lastSequence ?? -1) + 1,
    };
  } else {
    data = { choices: null, error: { message, type: "copilot_audit_blocked", code: "secret_blocked" } };
  }
  const head = event === undefined ? "" : `event: ${event}${eol}`;
  return encoder.encode(`${head}data: ${JSON.stringify(data)}${eol}${eol}`);
}

/** The body that replaces a blocked non-stream response. */
export function blockBody(cause: { ruleId: string; location: string }): Uint8Array {
  return encoder.encode(
    JSON.stringify({
      error: { message: blockMessage(cause), type: "copilot_audit_blocked", code: "secret_blocked" },
    }),
  );
}
