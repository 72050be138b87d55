/**
 * GitHub token checksums. Classic tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`) are the prefix, 30 base62
 * characters and a 6-character checksum: the CRC-32 (IEEE, as zlib) of the 30 characters, written in base62
 * (alphabet 0-9A-Za-z) and left-padded with `0`. Source: "Behind GitHub's new authentication token formats"
 * (github.blog, 2021-04-05); the exact encoding is the one used by open-source scanners (credsweeper, others).
 */

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, the zlib one) of the UTF-16 code units of `text`, which must be ASCII. */
export function crc32(text: string): number {
  let crc = -1;
  for (let i = 0; i < text.length; i++) {
    crc = (crc >>> 8) ^ CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff]!;
  }
  return (crc ^ -1) >>> 0;
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** `value` (a non-negative integer) in base62, left-padded with `0` to `width`. */
export function base62(value: number, width: number): string {
  let out = "";
  let n = Math.floor(value);
  do {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  } while (n > 0);
  return out.padStart(width, "0");
}

/** The 6-character checksum GitHub appends to the 30 random characters of a classic token. */
export function githubTokenChecksum(random30: string): string {
  return base62(crc32(random30), 6);
}

/** True if `token` is `<prefix>_` + 30 base62 characters + their checksum. */
export function isValidGithubToken(token: string): boolean {
  const underscore = token.indexOf("_");
  if (underscore < 0) return false;
  const body = token.slice(underscore + 1);
  if (body.length !== 36 || !/^[A-Za-z0-9]{36}$/.test(body)) return false;
  return githubTokenChecksum(body.slice(0, 30)) === body.slice(30);
}
