/**
 * Reads the SNI and ALPN list from the first TLS record of a connection, without consuming it.
 * Pure: takes the bytes seen so far and says whether it needs more.
 */
export type ClientHelloResult =
  | { kind: "need-more" }
  | { kind: "not-tls" }
  | { kind: "client-hello"; serverName: string | null; alpn: string[] }
  | { kind: "malformed"; reason: string };

/** Give up on a ClientHello larger than this (it may legally span several records; 64 KiB is plenty). */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

const HANDSHAKE = 0x16;
const CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;

export function parseClientHello(buf: Uint8Array): ClientHelloResult {
  if (buf.length === 0) return { kind: "need-more" };
  if (buf[0] !== HANDSHAKE) return { kind: "not-tls" };
  if (buf.length >= 2 && buf[1] !== 3) return { kind: "not-tls" };
  // Reassemble the handshake layer from as many records as it takes.
  const fragments: Uint8Array[] = [];
  let handshakeBytes = 0;
  let pos = 0;
  for (;;) {
    if (buf.length < pos + 5) return { kind: "need-more" };
    if (buf[pos] !== HANDSHAKE)
      return { kind: "malformed", reason: "ClientHello interrupted by a non-handshake record" };
    const recordLength = ((buf[pos + 3] as number) << 8) | (buf[pos + 4] as number);
    if (recordLength === 0 || recordLength > 16384 + 2048)
      return { kind: "malformed", reason: "bad TLS record length" };
    if (buf.length < pos + 5 + recordLength) return { kind: "need-more" };
    fragments.push(buf.subarray(pos + 5, pos + 5 + recordLength));
    handshakeBytes += recordLength;
    pos += 5 + recordLength;
    const hs =
      fragments.length === 1 ? (fragments[0] as Uint8Array) : Buffer.concat(fragments, handshakeBytes);
    if (hs.length < 4) continue;
    if (hs[0] !== CLIENT_HELLO)
      return { kind: "malformed", reason: "first handshake message is not a ClientHello" };
    const helloLength = ((hs[1] as number) << 16) | ((hs[2] as number) << 8) | (hs[3] as number);
    if (helloLength + 4 > MAX_CLIENT_HELLO_BYTES)
      return { kind: "malformed", reason: "ClientHello too large" };
    if (hs.length < 4 + helloLength) continue;
    return parseHello(hs, 4, 4 + helloLength);
  }
}

function parseHello(buf: Uint8Array, start: number, end: number): ClientHelloResult {
  const r = new Reader(buf, start, end);
  try {
    r.skip(2 + 32); // client_version, random
    r.skip(r.u8()); // session_id
    r.skip(r.u16()); // cipher_suites
    r.skip(r.u8()); // compression_methods
    if (r.remaining() === 0) return { kind: "client-hello", serverName: null, alpn: [] };
    const extEnd = r.pos + r.u16();
    if (extEnd > end) return { kind: "malformed", reason: "extensions overrun the ClientHello" };
    let serverName: string | null = null;
    let alpn: string[] = [];
    while (r.pos < extEnd) {
      const type = r.u16();
      const len = r.u16();
      const ext = new Reader(buf, r.pos, r.pos + len);
      r.skip(len);
      if (type === EXT_SERVER_NAME) serverName = readServerName(ext);
      else if (type === EXT_ALPN) alpn = readAlpn(ext);
    }
    return { kind: "client-hello", serverName, alpn };
  } catch (e) {
    return { kind: "malformed", reason: (e as Error).message };
  }
}

function readServerName(r: Reader): string | null {
  const listEnd = r.pos + r.u16();
  while (r.pos < listEnd) {
    const nameType = r.u8();
    const len = r.u16();
    const bytes = r.bytes(len);
    if (nameType === 0) {
      let s = "";
      for (const b of bytes) {
        if (b < 0x21 || b > 0x7e) throw new Error("SNI host_name is not printable ASCII");
        s += String.fromCharCode(b);
      }
      return s.toLowerCase().replace(/\.$/, "");
    }
  }
  return null;
}

function readAlpn(r: Reader): string[] {
  const listEnd = r.pos + r.u16();
  const out: string[] = [];
  while (r.pos < listEnd) {
    const len = r.u8();
    out.push(String.fromCharCode(...r.bytes(len)));
  }
  return out;
}

class Reader {
  pos: number;
  constructor(
    private readonly buf: Uint8Array,
    start: number,
    private readonly end: number,
  ) {
    this.pos = start;
  }
  remaining(): number {
    return this.end - this.pos;
  }
  private need(n: number): void {
    if (this.pos + n > this.end) throw new Error("truncated ClientHello");
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }
  u16(): number {
    this.need(2);
    const v = ((this.buf[this.pos] as number) << 8) | (this.buf[this.pos + 1] as number);
    this.pos += 2;
    return v;
  }
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

/** A fatal TLS alert record (TLS 1.0 record version, as servers send before version negotiation). */
export function tlsAlert(description: number): Buffer {
  return Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, description]);
}
export const TLS_ALERT_ACCESS_DENIED = 49;
export const TLS_ALERT_UNRECOGNIZED_NAME = 112;
