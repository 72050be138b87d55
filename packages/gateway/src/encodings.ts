/** Content codings the gateway can decode; audited requests only advertise these upstream. */
export const DECODABLE_ENCODINGS = ["gzip", "deflate", "br"] as const;
