/**
 * The CLI contract (issue 2): names and flags that checks outside the repository drive. Runs the built
 * binary as a user would.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  connectThroughProxy,
  curlAvailable,
  proxyAgent,
  runCli,
  runCurl,
  spawnGateway,
  startFakeCopilot,
} from "@copilot-audit/testkit";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const tmp = () => mkdtempSync(join(tmpdir(), "cli-test-"));

describe("copilot-audit ca init", () => {
  it("creates a name-constrained EC CA with a 0600 key and refuses to overwrite it", async () => {
    const dir = tmp();
    const r = await runCli(["ca", "init", "--dir", join(dir, "certs")], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/name constraints: only api.github.com, copilot-proxy.githubusercontent.com/);
    expect(statSync(join(dir, "certs/ca.key")).mode & 0o777).toBe(0o600);
    const again = await runCli(["ca", "init", "--dir", join(dir, "certs")], { cwd: dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `copilot-audit: error: a CA already exists in ${join(dir, "certs")}; pass --force to replace it (every client must then trust the new ca.pem)\n`,
    );
    const show = await runCli(["ca", "show", "--dir", join(dir, "certs"), "--format", "json"]);
    const [info] = JSON.parse(show.stdout) as Array<Record<string, string>>;
    expect(info?.key).toBe("EC prime256v1");
    expect(info?.permitted).toBe(
      "api.github.com copilot-proxy.githubusercontent.com copilot-telemetry.githubusercontent.com githubcopilot.com origin-tracker.githubusercontent.com",
    );
  });

  it("honours --key-type rsa, --permit, --no-name-constraints and --force", async () => {
    const dir = tmp();
    expect(
      (
        await runCli([
          "ca",
          "init",
          "--dir",
          dir,
          "--key-type",
          "rsa",
          "--permit",
          "githubcopilot.com",
          "--permit",
          "acme.ghe.com",
        ])
      ).code,
    ).toBe(0);
    let [info] = JSON.parse((await runCli(["ca", "show", "--dir", dir, "--format", "json"])).stdout) as Array<
      Record<string, string>
    >;
    expect(info).toMatchObject({ key: "RSA 3072", permitted: "githubcopilot.com acme.ghe.com" });
    const r = await runCli(["ca", "init", "--dir", dir, "--no-name-constraints", "--force"]);
    expect(r.stdout).toMatch(/NONE/);
    [info] = JSON.parse((await runCli(["ca", "show", "--dir", dir, "--format", "json"])).stdout) as Array<
      Record<string, string>
    >;
    expect(info?.permitted).toBe("(unconstrained)");
  });
});

describe("copilot-audit pac", () => {
  it("prints a PAC routing Copilot hosts to the given proxies", async () => {
    const r = await runCli(["pac", "--proxy", "gw1.corp:8080", "--proxy", "gw2.corp:8080"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/function FindProxyForURL/);
    expect(r.stdout).toContain('"PROXY gw1.corp:8080; PROXY gw2.corp:8080"');
    expect(r.stdout).toContain('[".githubcopilot.com"]');
    const bad = await runCli(["pac", "--proxy", "not a proxy"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      'copilot-audit: error: invalid --proxy "not a proxy": expected HOST:PORT, e.g. gw1.corp.example:8080\n',
    );
  });
});

describe("copilot-audit start", () => {
  const dir = tmp();
  let up: Awaited<ReturnType<typeof startFakeCopilot>>;
  let gw: Awaited<ReturnType<typeof spawnGateway>>;
  let token: string;
  beforeAll(async () => {
    up = await startFakeCopilot();
    writeFileSync(join(dir, "upstream-ca.pem"), up.caPem);
    gw = await spawnGateway(
      [...up.resolveArgs(), "--upstream-ca", join(dir, "upstream-ca.pem"), "--data-dir", join(dir, "data")],
      {
        cwd: dir,
      },
    );
    const t = await runCli(
      ["token", "--sub", "alice", "--email", "alice@example.com", "--data-dir", join(dir, "data")],
      { cwd: dir },
    );
    expect(t.code).toBe(0);
    token = t.stdout.trim();
  });
  afterAll(async () => {
    await gw?.stop();
    await up?.close();
  });

  it("creates the default CA under ./certs on first start and serves /ca.pem, /healthz, /proxy.pac", async () => {
    const caPem = readFileSync(join(dir, "certs/ca.pem"), "utf8");
    const get = async (path: string) => {
      const r = await request(`${gw.url}${path}`);
      return { status: r.statusCode, type: r.headers["content-type"], body: await r.body.text() };
    };
    expect(await get("/ca.pem")).toEqual({ status: 200, type: "application/x-pem-file", body: caPem });
    const health = await get("/healthz");
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({
      status: "ok",
      identity: { passthroughAuth: "required" },
    });
    const pac = await get("/proxy.pac");
    expect(pac.type).toBe("application/x-ns-proxy-autoconfig");
    expect(pac.body).toContain(`PROXY 127.0.0.1:${gw.port}`);
    const metrics = await get("/metrics");
    expect(metrics.body).toMatch(/^copilot_audit_open_connections \d+$/m);
  });

  it("intercepts through undici's ProxyAgent with a token from `copilot-audit token`", async () => {
    const caPem = readFileSync(join(dir, "certs/ca.pem"), "utf8");
    const agent = proxyAgent({ proxy: gw.url, ca: caPem, proxyAuthorization: `Bearer ${token}` });
    const r = await request("https://api.githubcopilot.com/models", { dispatcher: agent });
    expect(r.statusCode).toBe(200);
    expect(await r.body.json()).toMatchObject({ object: "list" });
    await agent.close();
  });

  it.skipIf(!curlAvailable())(
    "intercepts and streams through curl --proxy with Basic credentials",
    async () => {
      const r = await runCurl([
        "-sS",
        "-N",
        "--proxy",
        gw.url,
        "--proxy-user",
        `oidc:${token}`,
        "--cacert",
        join(dir, "certs/ca.pem"),
        "-H",
        "content-type: application/json",
        "-H",
        "x-testkit-reply: from%20curl",
        "-d",
        '{"prompt":"x","stream":true}',
        "https://copilot-proxy.githubusercontent.com/v1/engines/gpt-41-copilot/completions",
      ]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain('"text":"from cur"');
      expect(r.stdout).toContain("data: [DONE]");
      const health = await runCurl(["-sS", "--proxy", gw.url, `${gw.url}/healthz`]);
      expect(JSON.parse(health.stdout)).toMatchObject({ status: "ok" });
    },
  );

  it("answers 407 with both challenges and a way to get a token when credentials are missing", async () => {
    const r = await connectThroughProxy(gw.port, "api.githubcopilot.com:443");
    expect(r.statusCode).toBe(407);
    expect(r.headers["proxy-authenticate"]).toMatch(
      /Basic realm="copilot-audit"|Bearer realm="copilot-audit"/,
    );
    expect(r.body).toMatch(
      /^copilot-audit: proxy authentication failed: .+copilot-audit token --sub <you> --env/,
    );
    // Tunnels need a token by default too (passthroughAuth "required").
    const tunnel = await connectThroughProxy(gw.port, "example.invalid:443");
    expect(tunnel.statusCode).toBe(407);
  });

  it("prints a paste-ready HTTPS_PROXY line and checks tokens read from stdin", async () => {
    const data = join(dir, "data");
    const env = await runCli([
      "token",
      "--sub",
      "bob",
      "--groups",
      "dev,sec",
      "--ttl",
      "1h",
      "--env",
      "--proxy",
      `127.0.0.1:${gw.port}`,
      "--data-dir",
      data,
    ]);
    expect(env.stdout).toMatch(
      new RegExp(`^HTTPS_PROXY=http://oidc:[\\w-]+\\.[\\w-]+\\.[\\w-]+@127\\.0\\.0\\.1:${gw.port}\\n$`),
    );
    const jwt = env.stdout.split("oidc:")[1]?.split("@")[0] ?? "";
    const check = await runCli(["token", "--check", "--format", "json", "--data-dir", data], { input: jwt });
    expect(check.code).toBe(0);
    const [id] = JSON.parse(check.stdout) as Array<Record<string, string>>;
    expect(id).toMatchObject({ subject: "bob", groups: "dev,sec" });
    const bad = await runCli(["token", "--check", "--data-dir", data], { input: `${jwt.slice(0, -4)}AAAA` });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^copilot-audit: error: .*signature/i);
    const noSub = await runCli(["token", "--data-dir", data]);
    expect(noSub.code).toBe(2);
    expect(noSub.stderr).toMatch(/--sub <subject> is required/);
  });

  it("logs JSON lines and never a token", () => {
    expect(gw.logs.length).toBeGreaterThan(0);
    expect(gw.stderr()).not.toContain(token);
    expect(gw.stderr()).not.toContain(token.split(".")[2]);
  });
});

describe("configuration errors stop start-up with the key and the expectation", () => {
  it.each([
    [["--listen", "nowhere"], /invalid listen \(--listen\): expected HOST:PORT/],
    [
      ["--intercept", "*.com"],
      /invalid intercept \(--intercept\): expected item 1 \("\*.com"\): "\*.com" is not a valid wildcard/,
    ],
    [["--resolve", "api.githubcopilot.com"], /invalid resolve \(--resolve\): expected item 1 .*HOST=IP:PORT/],
    [
      ["--allow-port", "70000"],
      /invalid allowPorts \(--allow-port\): expected item 1 .*integer from 1 to 65535/,
    ],
    [["--ca-cert", "/nonexistent.pem"], /--ca-cert and --ca-key must be given together/],
    [
      ["--upstream-ca", "/nonexistent.pem"],
      /invalid upstreamCa \(--upstream-ca \/nonexistent.pem\): cannot read it \(ENOENT\)/,
    ],
    [
      ["--intercept", "copilot-api.acme.ghe.com"],
      /intercept copilot-api.acme.ghe.com is outside the CA's name constraints .* ca init --force --dir \S+ --permit api.github.com .*--permit copilot-api.acme.ghe.com`/,
    ],
  ])("start %j", async (args, message) => {
    const dir = tmp();
    // A CA made for the default hosts (start would otherwise create one for whatever it is told to intercept).
    expect((await runCli(["ca", "init", "--dir", join(dir, "certs")])).code).toBe(0);
    const r = await runCli(["start", "--listen", "127.0.0.1:0", ...args], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it("reads the config file and lets flags win; rejects unknown keys", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "c.json"), JSON.stringify({ listen: "bad" }));
    let r = await runCli(["start", "--config", join(dir, "c.json")], { cwd: dir });
    expect(r.stderr).toMatch(new RegExp(`invalid listen \\("listen" in ${join(dir, "c.json")}\\)`));
    writeFileSync(join(dir, "c.json"), JSON.stringify({ lisen: "127.0.0.1:1" }));
    r = await runCli(["start", "--config", join(dir, "c.json")], { cwd: dir });
    expect(r.stderr).toMatch(/unknown key\(s\): lisen/);
    writeFileSync(join(dir, "c.json"), JSON.stringify({ listen: "bad" }));
    r = await runCli(["start", "--config", join(dir, "c.json"), "--listen", "127.0.0.1:0", "--explain"], {
      cwd: dir,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^1\. hostCheck/m);
  });
});
