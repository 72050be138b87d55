/**
 * Rewrite the string values of a JSON text in place: every other byte (whitespace, key order, numbers that
 * JSON.parse would round) stays as it was. The caller validates the text with JSON.parse first; this scanner
 * assumes valid JSON and uses an explicit stack, so deep nesting cannot overflow the call stack.
 */

export type PathSegment = string | number;

export interface StringVisit {
  /** The decoded string. */
  value: string;
  /** The key or index that holds it (undefined at the top level). */
  key: PathSegment | undefined;
  /** Path segments from the root. */
  segments(): PathSegment[];
  /** JSONPath-style location: `$.messages[1].content`. */
  path(): string;
}

interface Frame {
  array: boolean;
  key: PathSegment | undefined;
  expectKey: boolean;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function formatPath(segments: readonly PathSegment[]): string {
  let out = "$";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else out += IDENT.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** End index (exclusive) of the JSON string starting at `start` (a `"`). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const q = text.indexOf('"', i);
    if (q < 0) throw new SyntaxError("unterminated JSON string");
    let backslashes = 0;
    for (let k = q - 1; k > start && text.charCodeAt(k) === 92; k--) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    i = q + 1;
  }
}

function decode(text: string, start: number, end: number): string {
  const inner = text.slice(start + 1, end - 1);
  return inner.includes("\\") ? (JSON.parse(text.slice(start, end)) as string) : inner;
}

/**
 * Calls `visit` for every string value (not keys) of the JSON `text`. A returned string replaces the value.
 * Returns the new text, or null when nothing was replaced.
 */
export function rewriteJsonStrings(
  text: string,
  visit: (v: StringVisit) => string | undefined,
): string | null {
  const stack: Frame[] = [];
  const pieces: string[] = [];
  let last = 0;
  let i = 0;
  const n = text.length;
  const segments = (): PathSegment[] =>
    stack.map((f) => f.key).filter((k): k is PathSegment => k !== undefined);
  while (i < n) {
    const c = text.charCodeAt(i);
    const top = stack[stack.length - 1];
    switch (c) {
      case 0x7b: // {
        stack.push({ array: false, key: undefined, expectKey: true });
        i++;
        break;
      case 0x5b: // [
        stack.push({ array: true, key: 0, expectKey: false });
        i++;
        break;
      case 0x7d: // }
      case 0x5d: // ]
        stack.pop();
        i++;
        break;
      case 0x2c: // ,
        if (top !== undefined) {
          if (top.array) top.key = (top.key as number) + 1;
          else top.expectKey = true;
        }
        i++;
        break;
      case 0x3a: // :
        if (top !== undefined) top.expectKey = false;
        i++;
        break;
      case 0x22: {
        // "
        const end = stringEnd(text, i);
        if (top !== undefined && !top.array && top.expectKey) {
          top.key = decode(text, i, end);
        } else {
          const value = decode(text, i, end);
          const segs = segments;
          const replacement = visit({
            value,
            key: top?.key,
            segments: segs,
            path: () => formatPath(segs()),
          });
          if (replacement !== undefined && replacement !== value) {
            pieces.push(text.slice(last, i), JSON.stringify(replacement));
            last = end;
          }
        }
        i = end;
        break;
      }
      default:
        i++;
    }
  }
  if (pieces.length === 0) return null;
  pieces.push(text.slice(last));
  return pieces.join("");
}
