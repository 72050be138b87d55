// Added latency per SSE event (push() of one event) and stream throughput.
// Run: npx tsc -b packages/redact && node packages/redact/benchmarks/sse.mjs
import { loadavg } from "node:os";
import { createResponseRedactor } from "../dist/index.js";
import { promptText, secrets } from "./corpus.mjs";

const enc = new TextEncoder();
const source = promptText(1 << 20);
const EVENTS = 20_000;

/** Chat-completion events with token-sized deltas (1-12 chars, mostly words) of real code and prose. */
function chatEvents(text, n, secretEvery = 0) {
  const events = [];
  const makers = secrets();
  let at = 0;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const len = 1 + ((i * 7919) % 12);
    let delta = text.slice(at, at + len);
    at = (at + len) % (text.length - 20);
    if (secretEvery > 0 && i % secretEvery === secretEvery - 1) {
      const secret = ` ${makers[s++ % makers.length]()} `;
      delta = secret.slice(0, 9); // the secret arrives over several events
      events.push(delta);
      for (let j = 9; j < secret.length; j += 9) events.push(secret.slice(j, j + 9));
      continue;
    }
    events.push(delta);
  }
  return events.map((d) =>
    enc.encode(
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: d }, finish_reason: null }], created: 1, id: "chatcmpl-abc", model: "gpt-4o-mini", object: "chat.completion.chunk", system_fingerprint: "fp_1" })}\n\n`,
    ),
  );
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function run(name, events, mode, warm = 2) {
  let lat = [];
  let bytes = 0;
  let held = 0;
  let total = 0;
  for (let r = 0; r <= warm; r++) {
    const redactor =
      mode === "none"
        ? null
        : createResponseRedactor(
            { kind: "chat", contentType: "text/event-stream" },
            { fingerprint: (s) => String(s.length), mode },
          );
    lat = [];
    bytes = 0;
    held = 0;
    const t0 = process.hrtime.bigint();
    for (const ev of events) {
      const a = process.hrtime.bigint();
      const out = redactor ? redactor.push(ev) : ev;
      lat.push(Number(process.hrtime.bigint() - a) / 1e6);
      bytes += ev.length;
      if (out.length === 0) held++;
    }
    if (redactor) redactor.end();
    total = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  lat.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(44)} p50 ${percentile(lat, 0.5).toFixed(4)} ms  p99 ${percentile(lat, 0.99).toFixed(4)} ms  max ${lat[lat.length - 1].toFixed(3)} ms  ` +
      `${(bytes / 1e6 / total).toFixed(1)} MB/s  (${events.length} events, ${held} deferred)`,
  );
}

console.log(
  `node ${process.version}, ${process.arch}; one event per push(), chat format; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
const clean = chatEvents(source, EVENTS);
run("baseline: no redactor (loop + clock only)", clean, "none");
run("mode off (framing + JSON.parse for the record)", clean, "off");
run("mode mask, no secrets", clean, "mask");
run("mode report, no secrets", clean, "report");
run("mode mask, a secret every 200 events", chatEvents(source, EVENTS, 200), "mask");
