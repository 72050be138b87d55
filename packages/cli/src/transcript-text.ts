import type { JsonObject, Transcript, TranscriptBody, TranscriptExchange } from "@copilot-audit/store";
import { bytes, millis, utc } from "./tabular.js";

// `copilot-audit sessions show ID` for a terminal: the session, then each exchange in wire order with its
// timings, headers, masked bodies and findings. Bodies are cut at `maxBody` characters unless `full`.

export interface TranscriptTextOptions {
  /** Show bodies whole (default: the first 4000 characters of each). */
  full?: boolean;
  maxBody?: number;
}

const INDENT = "      ";

function ms(d: Date): string {
  return d.toISOString().slice(11, 23);
}

function since(start: Date, d: Date | null): string {
  return d ? `+${d.getTime() - start.getTime()} ms` : "–";
}

function headerLines(h: JsonObject | null): string[] {
  if (!h) return [`${INDENT}(none)`];
  return Object.entries(h).flatMap(([k, v]) =>
    (Array.isArray(v) ? v : [v]).map(
      (x) => `${INDENT}${k}: ${typeof x === "string" ? x : JSON.stringify(x)}`,
    ),
  );
}

/** The body as readable text: JSON pretty-printed, SSE and other text as stored, binary described. */
function bodyLines(b: TranscriptBody, o: TranscriptTextOptions): string[] {
  if (b.binary) return [`${INDENT}(binary, ${bytes(b.size)}, sha256 ${b.sha256})`];
  if (b.text === null || b.text.length === 0)
    return [b.size > 0 ? `${INDENT}(not stored: ${bytes(b.size)}, sha256 ${b.sha256})` : `${INDENT}(empty)`];
  let text = b.text;
  if (/^\s*[{[]/.test(text)) {
    try {
      text = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // not JSON after all: as stored
    }
  }
  const max = o.full ? Number.POSITIVE_INFINITY : (o.maxBody ?? 4000);
  const cut = text.length > max;
  const lines = (cut ? text.slice(0, max) : text)
    .replace(/\n+$/, "")
    .split("\n")
    .map((l) => `${INDENT}${l}`);
  if (cut) lines.push(`${INDENT}… ${text.length - max} more characters (--full shows everything)`);
  if (b.truncated)
    lines.push(`${INDENT}(stored part only: the body was ${bytes(b.size)}, sha256 of all of it ${b.sha256})`);
  return lines;
}

function exchangeLines(e: TranscriptExchange, o: TranscriptTextOptions): string[] {
  const title = [e.endpointKind, e.model, e.clientRequestId ? `request id ${e.clientRequestId}` : null]
    .filter(Boolean)
    .join(" · ");
  const result =
    e.outcome === null
      ? "no response recorded (still running, or cut by a crash)"
      : `${e.status ?? "no status"} ${e.outcome}${e.errorCode ? ` (${e.errorCode}${e.errorDetails ? `: ${e.errorDetails}` : ""})` : ""}`;
  const lines = [
    `#${e.seq}  ${e.method} ${e.url}   ${title}`,
    `    requested ${ms(e.requestedAt)}  first byte ${e.ttfbMs === null ? "–" : millis(e.ttfbMs)}  ended ${since(e.requestedAt, e.endedAt)}  → ${result}`,
    `  > request headers`,
    ...headerLines(e.requestHeaders),
    `  > request body (${bytes(e.requestBody.size)}, masked)`,
    ...bodyLines(e.requestBody, o),
  ];
  const found = (dir: "request" | "response") => e.findings.filter((f) => f.direction === dir);
  for (const dir of ["request", "response"] as const) {
    const fs = found(dir);
    if (fs.length === 0) continue;
    lines.push(`  ! ${dir} secrets`);
    for (const f of fs)
      lines.push(
        `${INDENT}${f.ruleId} at ${f.location} [${f.offset}+${f.length}] ${f.action}  ${f.fingerprint}`,
      );
  }
  if (e.responseHeaders !== null || e.responseBody !== null) {
    lines.push(`  < response headers`, ...headerLines(e.responseHeaders));
    if (e.responseBody)
      lines.push(
        `  < response body (${bytes(e.responseBody.size)}, masked)`,
        ...bodyLines(e.responseBody, o),
      );
  }
  if (e.completionText !== null) {
    lines.push(`  < completion`);
    lines.push(
      ...bodyLines(
        {
          text: e.completionText,
          binary: false,
          size: e.completionText.length,
          sha256: "",
          truncated: false,
        },
        o,
      ),
    );
  }
  return lines;
}

export function renderTranscript(t: Transcript, o: TranscriptTextOptions = {}): string {
  const s = t.session;
  const user = s.userSubject
    ? `${s.userSubject}${s.userEmail ? ` <${s.userEmail}>` : ""}${s.userGroups.length ? ` (groups: ${s.userGroups.join(", ")})` : ""}`
    : "(no identity)";
  const closed = s.closedAt
    ? `closed ${utc(s.closedAt)} UTC (${s.closeReason ?? "closed"}, ${millis(s.durationMs)})`
    : "still open (or cut by a crash not yet recovered)";
  const head = [
    `Session ${s.sessionId}`,
    `  user      ${user}`,
    `  client    ${s.clientAddress}:${s.clientPort} → ${s.targetHost}:${s.targetPort} (${s.mode}${s.sni ? `, SNI ${s.sni}` : ""})`,
    `  opened    ${utc(s.openedAt)} UTC, ${closed}`,
    `  traffic   ${s.bytesFromClient === null ? "–" : bytes(s.bytesFromClient)} from the client, ${s.bytesToClient === null ? "–" : bytes(s.bytesToClient)} to it; ` +
      `${t.exchanges.length} exchange(s) recorded${s.exchangeCount === null ? "" : ` (${s.exchangeCount} counted at close)`}, ${s.findings} secret(s)`,
  ];
  if (s.refusal)
    head.push(
      `  refused   ${s.refusal.status ?? ""} ${s.refusal.code ?? ""}${s.refusal.details ? `: ${s.refusal.details}` : ""}`,
    );
  const body = t.exchanges.flatMap((e) => ["", ...exchangeLines(e, o)]);
  return `${[...head, ...body].join("\n")}\n`;
}
