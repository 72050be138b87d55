/**
 * Built-in rules, most specific first (on overlap the earlier rule names the mask). Written from the providers'
 * published token formats; the shapes of several follow gitleaks' config/gitleaks.toml (MIT, see README).
 * Every token rule is bounded on both sides by "not a token character" so that a rule never fires inside a
 * longer identifier, and every repetition is bounded so that the stream redactor's hold is bounded too.
 */
import { isValidGithubToken } from "./checksum.js";
import type { RuleConfig } from "./types.js";

/** A built-in rule: a RuleConfig plus a validator (checksum, placeholder filter). */
export interface BuiltinRule extends RuleConfig {
  description: string;
  validate?: (secret: string) => boolean;
}

const B = "(?<![A-Za-z0-9])"; // no alphanumeric before
const E = "(?![A-Za-z0-9])"; // no alphanumeric after

/** Values that only stand in for a secret: placeholders, variables, references, paths, URLs. */
const PLACEHOLDER =
  /^(?:x+|\*+|\.+|-+|_+|#+|0+|null|none|nil|undefined|true|false|todo|tbd|fixme|changeit|password|passw0rd|secret)$|example|placeholder|dummy|sample|changeme|change[_-]me|redacted|xxxx|\*\*\*\*|^(?:your|my|the|some|insert|enter|replace|put)[-_]/i;
const REFERENCE = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$|^[A-Z][A-Z0-9_]*$|^[A-Za-z_-]+$|^\d+(?:\.\d+)*$/;
const PATH_OR_URL = /^(?:\.{0,2}\/|~\/|[A-Za-z]:\\)|^[a-z][a-z0-9+.-]*:\/\//i;

function genericValue(secret: string): boolean {
  return !PLACEHOLDER.test(secret) && !REFERENCE.test(secret) && !PATH_OR_URL.test(secret);
}

const URL_PLACEHOLDER =
  /^(?:(?:your|my|some|the|new|old|db|user|example|sample|test)[-_]?)?(?:password|passwd|pass|pwd|secret|token|api[-_]?key|changeme|example|test|dummy|placeholder)$|^(?:\*+|x+|\.\.\.|…)$|^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$|^%[A-Za-z_][A-Za-z0-9_]*%$|^\d{1,5}$/i;

export const BUILTIN_RULES: readonly BuiltinRule[] = [
  {
    id: "github-pat",
    description: "GitHub personal access token (classic, ghp_)",
    regex: `${B}ghp_[A-Za-z0-9]{36}${E}`,
    validate: isValidGithubToken,
  },
  {
    id: "github-oauth",
    description: "GitHub OAuth access token (gho_)",
    regex: `${B}gho_[A-Za-z0-9]{36}${E}`,
    validate: isValidGithubToken,
  },
  {
    id: "github-app-token",
    description: "GitHub App user-to-server or installation token (ghu_, ghs_)",
    regex: `${B}(?:ghu|ghs)_[A-Za-z0-9]{36}${E}`,
    validate: isValidGithubToken,
  },
  {
    id: "github-refresh-token",
    description: "GitHub refresh token (ghr_)",
    regex: `${B}ghr_[A-Za-z0-9]{36}${E}`,
    validate: isValidGithubToken,
  },
  {
    id: "github-fine-grained-pat",
    description: "GitHub fine-grained personal access token (github_pat_)",
    regex: `${B}github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}${E}`,
  },
  {
    id: "gitlab-token",
    description: "GitLab token (glpat-, gldt-, glrt-, glptt-, …)",
    regex: `${B}(?:glpat|gldt|glrt|glptt|glsoat|glcbt|gloas|glimt|glagent|glft|glffct)-[0-9A-Za-z_-]{20,64}(?:\\.[0-9a-z]{2}\\.[0-9a-z]{7,9})?(?![0-9A-Za-z_-])`,
  },
  {
    id: "anthropic-api-key",
    description: "Anthropic API or admin key (sk-ant-)",
    regex: `(?<![A-Za-z0-9_-])sk-ant-(?:api|admin)\\d{2}-[A-Za-z0-9_-]{80,120}(?![A-Za-z0-9_-])`,
  },
  {
    id: "openai-api-key",
    description: "OpenAI API key (sk-…T3BlbkFJ…, sk-proj-, sk-svcacct-, sk-admin-)",
    regex:
      "(?<![A-Za-z0-9_-])sk-(?:[A-Za-z0-9_-]{16,250}T3BlbkFJ[A-Za-z0-9_-]{16,250}|(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,250})(?![A-Za-z0-9_-])",
  },
  {
    id: "aws-access-key-id",
    description: "AWS access key id (AKIA, ASIA, …)",
    regex: `${B}(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}${E}`,
    allowlist: ["EXAMPLE$"],
  },
  {
    id: "aws-secret-access-key",
    description: "AWS secret access key next to its name",
    regex:
      "(?:aws_?secret_?(?:access_?)?key|secret_?access_?key)[A-Za-z0-9_.-]{0,20}[\"']?\\s{0,5}(?::=|=>|==|:|=)\\s{0,5}[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
    flags: "i",
    entropy: 3.5,
    allowlist: ["EXAMPLE"],
  },
  {
    id: "google-api-key",
    description: "Google API key (AIza)",
    regex: "(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])",
  },
  {
    id: "azure-storage-key",
    description: "Azure storage / Service Bus key in a connection string (AccountKey=, SharedAccessKey=)",
    regex:
      "(?:AccountKey|SharedAccessKey)[\"']?\\s{0,5}[:=]\\s{0,5}[\"']?([A-Za-z0-9+/]{40,100}={0,2})(?![A-Za-z0-9+/=])",
    flags: "i",
    entropy: 3.5,
    // The Azurite (local emulator) account key, published by Microsoft.
    allowlist: ["^Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==$"],
  },
  {
    id: "slack-token",
    description: "Slack token (xoxb-, xoxp-, xoxa-, …, xapp-)",
    regex:
      "(?<![A-Za-z0-9_-])(?:xox[abposre]-(?:\\d{6,14}-){1,3}[A-Za-z0-9]{10,64}|xapp-\\d-[A-Z0-9]{8,14}-\\d{8,16}-[a-f0-9]{32,80})(?![A-Za-z0-9-])",
  },
  {
    id: "slack-webhook",
    description: "Slack incoming webhook URL",
    regex:
      "(?<![A-Za-z0-9])https://hooks\\.slack\\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,150}(?![A-Za-z0-9+/_-])",
  },
  {
    id: "stripe-key",
    description: "Stripe secret or restricted key, or webhook secret",
    regex:
      "(?<![A-Za-z0-9_])(?:(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,247}|whsec_[A-Za-z0-9]{32,128})(?![A-Za-z0-9])",
    // The test key printed in Stripe's public API reference.
    allowlist: ["^sk_test_4eC39HqLyjWDarjtT1zdp7dc$"],
  },
  {
    id: "npm-token",
    description: "npm access token (npm_)",
    regex: "(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])",
    entropy: 3.5,
  },
  {
    id: "private-key",
    description: "Private key PEM block",
    regex:
      "-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\\s\\S]{64,8192}?-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----",
  },
  {
    id: "jwt",
    description: "JSON Web Token",
    regex:
      "(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,4096}\\.eyJ[A-Za-z0-9_-]{10,8192}\\.[A-Za-z0-9_-]{0,4096}(?![A-Za-z0-9_-])",
    // The sample token of jwt.io ({"sub":"1234567890","name":"John Doe"}).
    allowlist: [
      "^eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\\.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ\\.",
    ],
  },
  {
    id: "url-password",
    description: "Password embedded in a URL or connection string (scheme://user:password@host)",
    regex:
      "(?<=(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,30})://[!$%&(-.0-9;=A-Z_a-z~]{1,128}:([!$%&(-.0-:;=A-Z_a-z~]{1,256})@(?=[A-Za-z0-9.\\-\\[])",
    validate: (secret) => !URL_PLACEHOLDER.test(secret),
  },
  {
    id: "generic-secret",
    description: "Secret-looking value assigned to a password/secret/token/key name",
    regex:
      "(?:password|passwd|passphrase|pwd|secret|token(?!iz)|api_key|api-key|apikey|access_key|access-key|accesskey|auth_key|auth-key|authkey|private_key|private-key|privatekey|credentials?)[A-Za-z0-9_.-]{0,30}[\"']?\\s{0,5}(?::=|=>|==|:|=)\\s{0,5}[\"'`]?([!#-&*+\\-./0-:=?-Z^_a-z|~]{8,200})(?=[\"'`\\s,;]|$)",
    flags: "i",
    entropy: 3.0,
    validate: genericValue,
  },
];
