import { describe, expect, it } from "vitest";
import { base62, crc32, githubTokenChecksum, isValidGithubToken } from "../src/checksum.js";
import { Gen } from "./corpus.js";

describe("checksum", () => {
  it("crc32 is the IEEE/zlib CRC-32 (standard check value)", () => {
    expect(crc32("123456789")).toBe(0xcbf43926);
    expect(crc32("")).toBe(0);
  });

  it("base62 uses 0-9A-Za-z and pads with 0", () => {
    expect(base62(0, 6)).toBe("000000");
    expect(base62(61, 1)).toBe("z");
    expect(base62(62, 1)).toBe("10");
    expect(base62(0xffffffff, 6)).toBe("4gfFC3");
  });

  it("matches a GitHub-format token published as a test vector by an open-source scanner", () => {
    // From a public secret-scanner's test suite (a format example, not a live credential).
    expect(githubTokenChecksum("M7H4jxUDDWHP4kZ6A4dxlQYsQIWJuq")).toBe("11T4V4");
    expect(isValidGithubToken("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")).toBe(true);
    expect(isValidGithubToken("ghp_M7H4jxUDDWHP4kZ6A4dxlQYsQIWJuq11T4V3")).toBe(false);
  });

  it("accepts generated tokens and rejects any single-character change", () => {
    const g = new Gen(3);
    for (let i = 0; i < 50; i++) {
      const t = g.githubClassic("ghp");
      expect(isValidGithubToken(t)).toBe(true);
      const at = 4 + g.int(36);
      const c = t[at] === "a" ? "b" : "a";
      expect(isValidGithubToken(t.slice(0, at) + c + t.slice(at + 1))).toBe(false);
    }
  });

  it("rejects wrong shapes", () => {
    expect(isValidGithubToken("ghp_short")).toBe(false);
    expect(isValidGithubToken("nounderscore")).toBe(false);
    expect(isValidGithubToken(`ghp_${"-".repeat(36)}`)).toBe(false);
  });
});
