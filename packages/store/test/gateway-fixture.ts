// A database filled THROUGH the gateway, for the auditor's tests (reports, exposure, transcripts, tail,
// views, the reader role, the docs' SQL recipes). Real requests with undici's ProxyAgent, identities from
// the embedded issuer, masking by the real detector: nothing is inserted by hand.
//
// Two gateways share one audit writer: the main one masks secrets in both directions; the "report" one only
// reports them (the secret goes through in clear: an exposed finding).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { createAuthenticator, openEmbeddedIssuer } from "@copilot-audit/identity";
import { createDetector, githubTokenChecksum } from "@copilot-audit/redact";
import { connectThroughProxy, type TestBackend } from "@copilot-audit/testkit";
import { ProxyAgent, request } from "undici";
import { vi } from "vitest";
import { type Stack, startStack, testStore } from "../../gateway/test/helpers.js";

const B62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A checksum-valid GitHub PAT, different for each seed (the detector verifies the checksum). */
export function githubToken(seed: number): string {
  let r = "";
  let x = seed * 7919 + 17;
  for (let i = 0; i < 30; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    r += B62[x % 62];
  }
  return `ghp_${r}${githubTokenChecksum(r)}`;
}

export interface AuditFixture {
  db: Awaited<ReturnType<typeof testStore>>;
  backend: TestBackend;
  /** Tokens the users authenticated to the proxy with (never stored raw). */
  tokens: { alice: string; bob: string };
  /** Secrets sent or received, by what happened to them. */
  secrets: {
    /** In alice's prompt; masked before it left. */
    alicePrompt: string;
    /** Streamed back to alice by the model; masked before she saw it. */
    aliceCompletion: string;
    /** In bob's prompt through the report-only gateway: went to GitHub in clear. */
    bobExposed: string;
    /** Sent as the GitHub OAuth token in the token exchange's Authorization header. */
    githubOauth: string;
    /** The Copilot token the token exchange returned to alice (stored as a fingerprint in the body). */
    copilotToken: string;
  };
  /** x-request-id of alice's chat requests on one connection, in the order they were sent. */
  aliceWireOrder: string[];
  /** Exchanges recorded in total (when `settled` resolved). */
  exchanges: number;
  /** Gateway stacks, still listening (tail tests add traffic). */
  main: Stack;
  reportOnly: Stack;
  /** Sends one more chat request as alice through the main gateway. */
  chat(requestId: string, content: string): Promise<void>;
  /** Waits until every exchange sent so far has its response row. */
  settled(): Promise<void>;
  /** Stops the gateways and closes the writer. */
  stopGateways(): Promise<void>;
  /** Stops the gateways and closes the store, keeping the database: another process may open it (PGlite). */
  release(): Promise<void>;
  close(): Promise<void>;
}

export async function fillThroughGateway(backend: TestBackend): Promise<AuditFixture> {
  const db = await testStore(backend);
  const issuer = await openEmbeddedIssuer(mkdtempSync(join(tmpdir(), "audit-fixture-issuer-")));
  const tokens = {
    alice: await issuer.mintToken({ sub: "alice", email: "alice@example.com", groups: ["dev"] }),
    bob: await issuer.mintToken({ sub: "bob", email: "Bob@Example.com", groups: ["ops", "dev"] }),
  };
  const fingerprint = (secret: string) => db.store.fingerprint(secret);
  const auth = {
    authenticator: createAuthenticator({ embedded: issuer }),
    policy: { allowGroups: [], approvalGroups: [], approverGroups: [] },
    passthroughAuth: "required" as const,
    tokenHelp: "Get a token.",
    fingerprint,
  };
  const detector = createDetector();
  const redact = (mode: "mask" | "report") => ({
    detector,
    requestMode: mode,
    responseMode: mode,
    fingerprint,
    maxDecodedBytes: 1 << 24,
  });
  const main = await startStack(
    { auth, redact: redact("mask"), writer: db.writer },
    { allowUpstreamPort: true },
  );
  const reportOnly = await startStack(
    { auth, redact: redact("report"), writer: db.writer },
    { allowUpstreamPort: true },
  );
  const secrets = {
    alicePrompt: "AKIAZ7QXN4PLR2WMSJ3D",
    aliceCompletion: githubToken(11),
    bobExposed: githubToken(12),
    githubOauth: "gho_auditfixturenotarealtoken00000000",
  };
  let sent = 0;
  // One connection per origin, so alice's conversation is one session whose order is the wire order.
  const alice = new ProxyAgent({
    uri: main.proxyUrl,
    token: `Bearer ${tokens.alice}`,
    requestTls: { ca: main.caPem },
    connections: 1,
  });
  const bob = reportOnly.agent({ proxyAuthorization: `Bearer ${tokens.bob}` });
  const chatBody = (content: string) =>
    JSON.stringify({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content }] });
  const send = async (
    agent: typeof alice,
    url: string,
    requestId: string,
    opts: { body?: string; headers?: Record<string, string>; method?: string } = {},
  ) => {
    sent++;
    const r = await request(url, {
      dispatcher: agent,
      method: (opts.method ?? (opts.body ? "POST" : "GET")) as "GET",
      headers: {
        "content-type": "application/json",
        "x-request-id": requestId,
        ...opts.headers,
      },
      ...(opts.body ? { body: opts.body } : {}),
    });
    return { status: r.statusCode, text: await r.body.text() };
  };
  const chatUrl = "https://api.githubcopilot.com/chat/completions";
  const chat = async (requestId: string, content: string) => {
    await send(alice, chatUrl, requestId, { body: chatBody(content) });
  };

  // alice: the token exchange, then a conversation on one connection (wire order matters), a completion.
  const exchange = await send(alice, "https://api.github.com/copilot_internal/v2/token", "alice-token", {
    headers: { authorization: `token ${secrets.githubOauth}` },
  });
  const copilotToken = (JSON.parse(exchange.text) as { token: string }).token;
  const aliceWireOrder = ["alice-chat-1", "alice-chat-2", "alice-chat-3", "alice-chat-4"];
  await chat("alice-chat-1", "how do I read a file in go?");
  await chat("alice-chat-2", `why does aws_access_key_id=${secrets.alicePrompt} fail?`);
  await send(alice, chatUrl, "alice-chat-3", {
    body: chatBody("give me a token"),
    headers: {
      "x-testkit-pieces": JSON.stringify([
        "use this: ",
        secrets.aliceCompletion.slice(0, 12),
        secrets.aliceCompletion.slice(12),
        " and go",
      ]),
    },
  });
  await send(alice, chatUrl, "alice-chat-4", {
    body: chatBody("thanks"),
    headers: { "x-testkit-status": "429" },
  });
  await send(
    alice,
    "https://copilot-proxy.githubusercontent.com/v1/engines/gpt-41-copilot/completions",
    "alice-completion-1",
    { body: JSON.stringify({ prompt: "def fib(n):", suffix: "\n", stream: true }) },
  );
  // bob, through the report-only gateway: his secret goes through in clear.
  await send(bob, chatUrl, "bob-chat-1", {
    body: chatBody(`deploy with GITHUB_TOKEN=${secrets.bobExposed} please`),
  });
  await send(bob, "https://api.githubcopilot.com/models", "bob-models-1");
  // bob again, refused by the gateway itself: a Host header that is not the CONNECT target (421).
  await refusedHostMismatch(reportOnly, tokens.bob, "bob-refused-1");
  sent++;

  const settled = () =>
    vi.waitFor(
      async () => {
        const r = await db.store.db
          .selectFrom("exchange_responses")
          .select(db.store.db.fn.countAll<string>().as("n"))
          .executeTakeFirstOrThrow();
        if (Number(r.n) < sent) throw new Error(`${r.n} of ${sent} responses recorded`);
      },
      { timeout: 15_000, interval: 50 },
    );
  await settled();
  let stopped = false;
  const stopGateways = async () => {
    if (stopped) return;
    stopped = true;
    await alice.close();
    await main.close();
    await reportOnly.close();
    await db.writer.close();
  };
  return {
    db,
    backend,
    tokens,
    secrets: { ...secrets, copilotToken },
    aliceWireOrder,
    get exchanges() {
      return sent;
    },
    main,
    reportOnly,
    async chat(requestId, content) {
      await chat(requestId, content);
    },
    settled,
    stopGateways,
    async release() {
      await stopGateways();
      await db.store.close();
    },
    async close() {
      await stopGateways().catch(() => undefined);
      await db.close();
    },
  };
}

/** A request inside an intercepted tunnel whose Host is not the CONNECT target: the gateway answers 421. */
async function refusedHostMismatch(stack: Stack, token: string, requestId: string): Promise<void> {
  const t = await connectThroughProxy(stack.port, "api.githubcopilot.com:443", {
    headers: { "Proxy-Authorization": `Bearer ${token}` },
  });
  const tls = connect({
    socket: t.socket,
    servername: "api.githubcopilot.com",
    ca: stack.caPem,
    ALPNProtocols: ["http/1.1"],
  });
  await new Promise((r) => tls.once("secureConnect", r));
  await new Promise<void>((resolve) => {
    let out = "";
    tls.on("data", (d) => {
      out += d;
      if (/\r\n\r\n[\s\S]*\n$/.test(out)) resolve();
    });
    tls.write(`GET /models HTTP/1.1\r\nHost: elsewhere.example\r\nX-Request-Id: ${requestId}\r\n\r\n`);
  });
  tls.destroy();
}
