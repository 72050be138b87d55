import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BodyCapture, bodyColumns, captureBody, decodeText } from "../src/body.js";

const sha = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

describe("captureBody / BodyCapture", () => {
  it("keeps at most the cap, with size and sha256 of the whole body", () => {
    const body = Buffer.from("x".repeat(100));
    const c = captureBody(body, 10);
    expect(Buffer.from(c.stored).toString()).toBe("x".repeat(10));
    expect(c).toMatchObject({ size: 100, sha256: sha(body), truncated: true });
    expect(captureBody(body, 100)).toMatchObject({ size: 100, truncated: false });
    expect(captureBody(null, 10)).toMatchObject({ size: 0, sha256: sha(""), truncated: false });
  });

  it("a streamed capture equals capturing the whole body, for any chunking and cap", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }),
        fc.nat({ max: 300 }),
        (chunks, cap) => {
          const cap2 = new BodyCapture(cap);
          for (const c of chunks) cap2.write(c);
          const streamed = cap2.finish();
          const whole = captureBody(Buffer.concat(chunks), cap);
          expect(Buffer.from(streamed.stored)).toEqual(Buffer.from(whole.stored));
          expect({ ...streamed, stored: null }).toEqual({ ...whole, stored: null });
        },
      ),
    );
  });

  it("stores valid UTF-8 as text, binary or NUL-bearing bodies as bytes", () => {
    expect(bodyColumns(captureBody("héllo ✓", 100))).toMatchObject({
      body_text: "héllo ✓",
      body_bytes: null,
    });
    const bin = bodyColumns(captureBody(Buffer.from([0xff, 0xfe, 0x00]), 100));
    expect(bin.body_text).toBeNull();
    expect(Buffer.from(bin.body_bytes as Uint8Array)).toEqual(Buffer.from([0xff, 0xfe, 0x00]));
    expect(bodyColumns(captureBody("a\u0000b", 100)).body_text).toBeNull();
    expect(bodyColumns(captureBody(null, 100))).toMatchObject({
      body_text: null,
      body_bytes: null,
      body_size: 0,
    });
  });

  it("a cap that splits a multi-byte character keeps the text up to the last whole character", () => {
    const body = "ab✓✓"; // ✓ is 3 bytes
    const c = captureBody(body, 4); // "ab" + first byte of ✓
    expect(bodyColumns(c)).toMatchObject({ body_text: "ab", body_truncated: true, body_size: 8 });
    expect(decodeText(Buffer.from([0x61, 0xe2, 0x9c]), false)).toBeNull();
  });
});
