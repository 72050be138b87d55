/**
 * One typed configuration for every command: defaults < config file (JSON) < environment < flags.
 * Every key is declared once below with its parser and help; a bad value stops start-up with a message
 * that names the key, where it came from, and what was expected.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { hostname } from "node:os";
import { resolve as resolvePath } from "node:path";
import { DEFAULT_INTERCEPT_HOSTS, parseHostPattern } from "@copilot-audit/gateway";
import { parseDuration } from "@copilot-audit/identity";
import { parseRedactConfig } from "@copilot-audit/redact";

export class ConfigError extends Error {
  readonly code = "config_invalid";
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

type Source = "default" | "config file" | "environment" | "flag";
type Parser<T> = (value: unknown) => T;

interface KeySpec<T> {
  /** Environment variable, if any. */
  env?: string;
  /** The command-line flag, when it is not the kebab-case of the key. */
  flag?: string;
  parse: Parser<T>;
  default: T;
  help: string;
}

const fail = (expected: string): never => {
  throw new TypeError(expected);
};

const str: Parser<string> = (v) => (typeof v === "string" && v.length > 0 ? v : fail("a non-empty string"));
const optionalStr: Parser<string | null> = (v) => (v === null || v === undefined || v === "" ? null : str(v));
const int =
  (min: number, max: number): Parser<number> =>
  (v) => {
    const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : Number.NaN;
    return Number.isInteger(n) && n >= min && n <= max ? n : fail(`an integer from ${min} to ${max}`);
  };
const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (v) =>
    values.includes(v as T) ? (v as T) : fail(`one of ${values.join(", ")}`);
const list =
  <T>(item: Parser<T>): Parser<T[]> =>
  (v) => {
    const items = Array.isArray(v)
      ? v
      : typeof v === "string"
        ? v
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean)
        : fail("a list");
    return items.map((x, i) => {
      try {
        return item(x);
      } catch (e) {
        throw new TypeError(`item ${i + 1} (${JSON.stringify(x)}): ${(e as Error).message}`);
      }
    });
  };

export interface HostPort {
  host: string;
  port: number;
}

export const hostPort: Parser<HostPort> = (v) => {
  if (typeof v !== "string") return fail("HOST:PORT, e.g. 127.0.0.1:8080");
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(v) ?? /^()()(\d{1,5})$/.exec(v);
  if (!m) return fail(`HOST:PORT, e.g. 127.0.0.1:8080 (got "${v}")`);
  const port = int(0, 65535)(m[3]);
  return { host: m[1] || m[2] || "127.0.0.1", port };
};

const interceptPattern: Parser<string> = (v) => {
  if (typeof v !== "string") return fail("a hostname or *.domain");
  return parseHostPattern(v).pattern;
};

/** `HOST=IP:PORT` (like curl --resolve, but with `=`; `HOST:PORT:IP` is accepted too). */
const resolveEntry: Parser<[string, HostPort]> = (v) => {
  if (typeof v !== "string") return fail("HOST=IP:PORT");
  const m = /^([^=\s]+)=(.+)$/.exec(v);
  if (!m) return fail(`HOST=IP:PORT, e.g. api.githubcopilot.com=127.0.0.1:8443 (got "${v}")`);
  const dest = hostPort(m[2]);
  if (isIP(dest.host) === 0 && dest.host !== "localhost")
    return fail(`an IP address after "=" (got "${dest.host}")`);
  if (dest.port === 0) return fail("a port from 1 to 65535");
  return [parseHostPattern(m[1] as string).pattern, dest];
};

const bytes: Parser<number> = (v) => {
  if (typeof v === "number") return int(1, Number.MAX_SAFE_INTEGER)(v);
  const m = typeof v === "string" ? /^(\d+)\s*(b|kb|kib|mb|mib|gb|gib)?$/i.exec(v.trim()) : null;
  if (!m) return fail('a size such as 1048576, "512KiB" or "32MiB"');
  const unit = (m[2] ?? "b").toLowerCase();
  const mult = unit.startsWith("k")
    ? 1024
    : unit.startsWith("m")
      ? 1024 ** 2
      : unit.startsWith("g")
        ? 1024 ** 3
        : 1;
  return Number(m[1]) * mult;
};

/** A duration such as 8h, 30m, 1h30m, 90s → seconds (1 s to 30 days). */
const duration: Parser<number> = (v) => {
  let n: number;
  try {
    n = typeof v === "number" ? v : parseDuration(String(v));
  } catch {
    return fail("a duration such as 8h, 30m, 1h30m or 90s");
  }
  return Number.isInteger(n) && n >= 1 && n <= 30 * 86_400 ? n : fail("a duration from 1s to 30d");
};

const httpUrl: Parser<string | null> = (v) => {
  const s = optionalStr(v);
  if (s !== null && !/^https?:\/\/[^\s]+$/.test(s)) fail("an http:// or https:// URL");
  return s;
};

export const KEYS = {
  dataDir: {
    env: "COPILOT_AUDIT_DATA_DIR",
    parse: str,
    default: "./data",
    help: "state directory (embedded database, keys, spool)",
  },
  databaseUrl: {
    env: "DATABASE_URL",
    parse: (v: unknown) => {
      const s = optionalStr(v);
      if (s !== null && !/^postgres(ql)?:\/\//.test(s)) fail("a postgres:// URL");
      return s;
    },
    default: null as string | null,
    help: "PostgreSQL URL; without it the embedded PGlite database under <dataDir>/db is used",
  },
  listen: {
    env: "COPILOT_AUDIT_LISTEN",
    parse: hostPort,
    default: { host: "127.0.0.1", port: 8080 },
    help: "proxy address",
  },
  intercept: {
    env: "COPILOT_AUDIT_INTERCEPT",
    parse: list(interceptPattern),
    default: [...DEFAULT_INTERCEPT_HOSTS],
    help: "hosts to intercept (exact or *.domain); everything else is tunnelled untouched",
  },
  resolve: {
    parse: list(resolveEntry),
    default: [] as Array<[string, HostPort]>,
    help: "HOST=IP:PORT upstream overrides",
  },
  upstreamCa: {
    env: "COPILOT_AUDIT_UPSTREAM_CA",
    parse: list(str),
    default: [] as string[],
    help: "extra CA files trusted upstream",
  },
  allowPorts: {
    flag: "--allow-port",
    parse: list(int(1, 65535)),
    default: [] as number[],
    help: "ports allowed besides 443 (CONNECT) and 80 (HTTP)",
  },
  caDir: {
    env: "COPILOT_AUDIT_CA_DIR",
    parse: str,
    default: "./certs",
    help: "where the default CA lives (created on first start)",
  },
  caCert: {
    env: "COPILOT_AUDIT_CA_CERT",
    parse: optionalStr,
    default: null as string | null,
    help: "an existing CA certificate (PEM)",
  },
  caKey: {
    env: "COPILOT_AUDIT_CA_KEY",
    parse: optionalStr,
    default: null as string | null,
    help: "its private key (PEM)",
  },
  caKeyPassphrase: {
    env: "CA_KEY_PASSPHRASE",
    flag: "(none)",
    parse: optionalStr,
    default: null as string | null,
    help: "passphrase of an encrypted CA key",
  },
  leafKeyType: {
    parse: oneOf("ec", "rsa"),
    default: "ec" as "ec" | "rsa",
    help: "key type of minted leaf certificates",
  },
  logLevel: {
    env: "LOG_LEVEL",
    parse: oneOf("fatal", "error", "warn", "info", "debug", "trace", "silent"),
    default: "info",
    help: "log level",
  },
  pacProxies: {
    flag: "--pac-proxy",
    parse: list(str),
    default: [] as string[],
    help: "proxy addresses written into /proxy.pac (default: the address it was fetched from)",
  },
  maxRequestBodyBytes: {
    flag: "--max-request-body",
    parse: bytes,
    default: 32 * 1024 * 1024,
    help: "largest request body buffered for inspection (413 above)",
  },
  oidcIssuer: {
    env: "COPILOT_AUDIT_OIDC_ISSUER",
    parse: (v: unknown) => {
      const s = optionalStr(v);
      if (s !== null && !/^https?:\/\/[^\s]+$/.test(s))
        fail("an http(s):// issuer URL, exactly as in the tokens' iss claim");
      return s;
    },
    default: null as string | null,
    help: "OIDC issuer URL; without it the embedded issuer under <dataDir>/issuer is trusted",
  },
  oidcAudience: {
    env: "COPILOT_AUDIT_OIDC_AUDIENCE",
    parse: list(str),
    default: [] as string[],
    help: "audience(s) a token must carry (required with oidcIssuer)",
  },
  groupsClaim: {
    env: "COPILOT_AUDIT_GROUPS_CLAIM",
    parse: str,
    default: "groups",
    help: "claim path holding the user's groups (e.g. roles, cognito:groups, realm_access.roles)",
  },
  algorithms: {
    env: "COPILOT_AUDIT_ALGORITHMS",
    parse: list(
      oneOf("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"),
    ),
    default: ["RS256", "ES256"],
    help: "accepted token signature algorithms (never none or HS*)",
  },
  allowGroups: {
    env: "COPILOT_AUDIT_ALLOW_GROUPS",
    flag: "--allow-group",
    parse: list(str),
    default: [] as string[],
    help: "only members of these groups may use Copilot (default: any verified identity)",
  },
  passthroughAuth: {
    env: "COPILOT_AUDIT_PASSTHROUGH_AUTH",
    parse: oneOf("required", "open", "deny"),
    default: "required" as "required" | "open" | "deny",
    help: "tunnels to non-Copilot hosts: require a valid token, allow anyone, or refuse",
  },
  tokenHelp: {
    env: "COPILOT_AUDIT_TOKEN_HELP",
    parse: optionalStr,
    default: null as string | null,
    help: "the sentence every 407 ends with: how developers get a token (default: depends on the issuer)",
  },
  redact: {
    parse: (v: unknown) =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? (v as Record<string, unknown>)
        : fail("an object (see docs/configuration.md#redact)"),
    default: {} as Record<string, unknown>,
    help: "masking: requestMode, responseMode, rules, disable, allowlist, maxHoldBytes, maxBufferBytes, maxEventBytes (config file)",
  },
  redactRequest: {
    env: "COPILOT_AUDIT_REDACT_REQUEST",
    parse: oneOf("off", "report", "mask", "block"),
    default: null as "off" | "report" | "mask" | "block" | null,
    help: "secrets in prompts: off | report | mask | block (overrides redact.requestMode; default mask)",
  },
  redactResponse: {
    env: "COPILOT_AUDIT_REDACT_RESPONSE",
    parse: oneOf("off", "report", "mask", "block"),
    default: null as "off" | "report" | "mask" | "block" | null,
    help: "secrets in completions: off | report | mask | block (overrides redact.responseMode; default mask)",
  },
  bodyCapBytes: {
    env: "COPILOT_AUDIT_BODY_CAP",
    flag: "--body-cap",
    parse: bytes,
    default: 1024 * 1024,
    help: "largest body stored per request/response (the sha256 and size always cover all of it)",
  },
  fingerprintKey: {
    env: "COPILOT_AUDIT_FINGERPRINT_KEY",
    parse: optionalStr,
    default: null as string | null,
    help: "HMAC key for fingerprints of secrets (64 hex digits or base64 of >= 32 bytes); default <dataDir>/fingerprint.key — replicas sharing a database must share it",
  },
  instanceName: {
    env: "COPILOT_AUDIT_INSTANCE",
    parse: str,
    default: hostname(),
    help: "this gateway's name in the audit log (each instance keeps its own hash chain)",
  },
  writerLanes: {
    env: "COPILOT_AUDIT_WRITER_LANES",
    parse: (v: unknown) => (v === null ? null : int(1, 16)(v)),
    default: null as number | null,
    help: "independent hash chains this gateway writes in parallel (default: 2 on PostgreSQL, 1 on PGlite)",
  },
  migrate: {
    env: "COPILOT_AUDIT_MIGRATE",
    flag: "--no-migrate",
    parse: (v: unknown) =>
      v === true || v === "true" || v === "1"
        ? true
        : v === false || v === "false" || v === "0"
          ? false
          : fail("true or false"),
    default: true,
    help: "apply database migrations at start",
  },
  maxHeaderBytes: { parse: bytes, default: 32 * 1024, help: "largest request head (431 above)" },
  approvalGroups: {
    env: "COPILOT_AUDIT_APPROVAL_GROUPS",
    flag: "--approval-group",
    parse: list(str),
    default: [] as string[],
    help: "members need a live just-in-time approval before their Copilot traffic is forwarded",
  },
  approverGroups: {
    env: "COPILOT_AUDIT_APPROVER_GROUPS",
    flag: "--approver-group",
    parse: list(str),
    default: [] as string[],
    help: "members may grant, deny and revoke approvals through the gateway API",
  },
  approvalTtl: {
    env: "COPILOT_AUDIT_APPROVAL_TTL",
    parse: duration,
    default: 8 * 3600,
    help: "lifetime of a grant when the approver names none: a duration such as 8h (default 8h = 28800 s)",
  },
  approvalTtlByGroup: {
    flag: "(none)",
    parse: (v: unknown) => {
      if (v === null || typeof v !== "object" || Array.isArray(v))
        return fail('an object such as {"contractors": "4h"}');
      const out: Record<string, number> = {};
      for (const [g, d] of Object.entries(v as Record<string, unknown>)) {
        try {
          out[g] = duration(d);
        } catch (e) {
          throw new TypeError(`"${g}": ${(e as Error).message}`);
        }
      }
      return out;
    },
    default: {} as Record<string, number>,
    help: 'per-group grant lifetimes, e.g. {"contractors": "4h"} (config file); a member of several gets the shortest',
  },
  approvalWebhook: {
    env: "COPILOT_AUDIT_APPROVAL_WEBHOOK",
    parse: httpUrl,
    default: null as string | null,
    help: "POST JSON (with a Slack-compatible text) on each new approval request and decision",
  },
  gateway: {
    env: "COPILOT_AUDIT_GATEWAY",
    parse: httpUrl,
    default: null as string | null,
    help: "gateway URL for `approvals` and `access` (the API); without it `approvals` works on the database",
  },
  tokenFile: {
    env: "COPILOT_AUDIT_TOKEN_FILE",
    parse: optionalStr,
    default: null as string | null,
    help: "file holding your token for the gateway API (`approvals`, `access`); else $COPILOT_AUDIT_TOKEN",
  },
} satisfies Record<string, KeySpec<unknown>>;

type Keys = typeof KEYS;
export type AppConfig = { [K in keyof Keys]: Keys[K]["default"] } & {
  sources: Partial<Record<keyof Keys, Source>>;
};

export interface ConfigInput {
  /** Flag values already mapped to config keys; undefined = not given. */
  flags: Partial<Record<keyof Keys, unknown>>;
  env?: NodeJS.ProcessEnv;
  /** Path of a JSON config file (from --config or COPILOT_AUDIT_CONFIG). */
  configFile?: string | undefined;
}

export function loadConfig(input: ConfigInput): AppConfig {
  const config = loadKeys(input);
  try {
    parseRedactConfig(redactSection(config));
  } catch (e) {
    throw new ConfigError(`invalid ${(e as Error).message}`);
  }
  if (config.oidcIssuer && config.oidcAudience.length === 0) {
    throw new ConfigError(
      "invalid oidcAudience: required with oidcIssuer (--oidc-audience AUD, the audience your IdP puts in tokens for this gateway)",
    );
  }
  return config;
}

function loadKeys(input: ConfigInput): AppConfig {
  const env = input.env ?? process.env;
  const filePath = input.configFile ?? env.COPILOT_AUDIT_CONFIG;
  let file: Record<string, unknown> = {};
  if (filePath) {
    let text: string;
    try {
      text = readFileSync(filePath, "utf8");
    } catch (e) {
      throw new ConfigError(
        `cannot read the config file ${filePath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
        throw new Error("the top level must be an object");
      file = parsed as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(`the config file ${filePath} is not valid JSON: ${(e as Error).message}`);
    }
    const unknown = Object.keys(file).filter((k) => !(k in KEYS) && !k.startsWith("$"));
    if (unknown.length > 0) {
      throw new ConfigError(
        `the config file ${filePath} has unknown key(s): ${unknown.join(", ")} (known: ${Object.keys(KEYS).join(", ")})`,
      );
    }
  }
  const out: Record<string, unknown> = {};
  const sources: Partial<Record<keyof Keys, Source>> = {};
  for (const [name, spec] of Object.entries(KEYS) as Array<[keyof Keys, KeySpec<unknown>]>) {
    let raw: unknown;
    let source: Source = "default";
    if (input.flags[name] !== undefined) {
      raw = input.flags[name];
      source = "flag";
    } else if (spec.env && env[spec.env] !== undefined && env[spec.env] !== "") {
      raw = env[spec.env];
      source = "environment";
    } else if (file[name] !== undefined) {
      raw = file[name];
      source = "config file";
    }
    if (source === "default") {
      out[name] = spec.default;
      continue;
    }
    try {
      out[name] = spec.parse(raw);
    } catch (e) {
      const where =
        source === "flag"
          ? (spec.flag ?? `--${kebab(name)}`)
          : source === "environment"
            ? `$${spec.env}`
            : `"${name}" in ${filePath}`;
      throw new ConfigError(`invalid ${name} (${where}): expected ${(e as Error).message}`);
    }
    sources[name] = source;
  }
  return { ...(out as { [K in keyof Keys]: Keys[K]["default"] }), sources };
}

/** The `redact` section with the per-direction flags applied on top. */
export function redactSection(config: AppConfig): Record<string, unknown> {
  return {
    ...config.redact,
    ...(config.redactRequest ? { requestMode: config.redactRequest } : {}),
    ...(config.redactResponse ? { responseMode: config.redactResponse } : {}),
  };
}

export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function absolute(path: string): string {
  return resolvePath(process.cwd(), path);
}
