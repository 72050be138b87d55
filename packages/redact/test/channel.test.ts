import { describe, expect, it } from "vitest";
import { type ChannelSecret, TextChannel } from "../src/channel.js";
import { createDetector } from "../src/detector.js";
import { Gen } from "./corpus.js";

const detector = createDetector();
const g = new Gen(5);

function channel(maxHold = 16_384, scan = true) {
  const secrets: ChannelSecret[] = [];
  const ch = new TextChannel("choices[0]", "choices[0]", true, {
    detector,
    scan,
    maxHold,
    onSecret: (s) => secrets.push(s),
  });
  return { ch, secrets };
}

describe("TextChannel", () => {
  it("releases ordinary text at once", () => {
    const { ch } = channel();
    expect(ch.push("Hello, ")).toBe("Hello, ");
    expect(ch.push("world.")).toBe("world.");
    expect(ch.held).toBe(0);
    expect(ch.text()).toBe("Hello, world.");
  });

  it("holds a possible token until it is decided, then masks it and reports offsets in the raw text", () => {
    const { ch, secrets } = channel();
    const key = g.githubClassic("ghp");
    expect(ch.push("key: ")).toBe("key: ");
    expect(ch.push(key.slice(0, 10))).toBe("");
    expect(ch.push(key.slice(10))).toBe("");
    expect(ch.held).toBe(40);
    expect(ch.push(" done")).toBe("[REDACTED:github-pat] done");
    expect(secrets).toEqual([
      { ruleId: "github-pat", description: expect.any(String), offset: 5, length: 40, secret: key },
    ]);
  });

  it("releases a held prefix that turned out not to be a secret", () => {
    const { ch, secrets } = channel();
    expect(ch.push("run gh")).toBe("run ");
    expect(ch.push("p_status now")).toBe("ghp_status now");
    expect(secrets).toEqual([]);
  });

  it("flush() decides what is held at the end", () => {
    const { ch } = channel();
    const key = g.githubClassic("ghs");
    ch.push(`token ${key}`);
    expect(ch.flush()).toBe("[REDACTED:github-app-token]");
    expect(ch.text()).toBe("token [REDACTED:github-app-token]");
    expect(ch.closed).toBe(true);
  });

  it("masks held text that outgrows the hold limit without a decision", () => {
    const { ch, secrets } = channel(64);
    expect(ch.push("-----BEGIN RSA PRIVATE KEY-----\n")).toBe("");
    expect(ch.push(`${g.alnum(40)}\n`)).toBe("[REDACTED:private-key]");
    expect(secrets[0]).toMatchObject({ ruleId: "private-key", offset: 0, length: 73 });
    expect(secrets[0]!.description).toMatch(/hold limit/);
  });

  it("passes text through untouched when scanning is off", () => {
    const { ch, secrets } = channel(16_384, false);
    const key = g.githubClassic("ghp");
    expect(ch.push(key)).toBe(key);
    expect(ch.flush()).toBe("");
    expect(secrets).toEqual([]);
  });

  it("keeps working over long texts (buffer trimming keeps offsets right)", () => {
    const { ch, secrets } = channel();
    const filler = "lorem ipsum dolor sit amet. ".repeat(400);
    const key = g.githubClassic("ghp");
    let out = "";
    for (let i = 0; i < filler.length; i += 50) out += ch.push(filler.slice(i, i + 50));
    out += ch.push(` ${key} end`);
    out += ch.flush();
    expect(out).toBe(`${filler} [REDACTED:github-pat] end`);
    expect(secrets[0]).toMatchObject({ offset: filler.length + 1, length: 40 });
  });
});
