/**
 * The secret corpus: positives for every built-in rule and near-misses that must not fire. Secrets are
 * generated at run time from a seeded PRNG (GitHub tokens with the real checksum), so the repository holds no
 * string that a secret scanner would flag and every run sees the same corpus.
 */
import { githubTokenChecksum } from "../src/checksum.js";

export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64 = `${ALNUM}+/`;
const B64URL = `${ALNUM}-_`;
const UPPER32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const HEX = "0123456789abcdef";
const DIGITS = "0123456789";

export class Gen {
  private readonly rand: () => number;
  constructor(seed = 20240601) {
    this.rand = prng(seed);
  }
  pick(alphabet: string, n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(this.rand() * alphabet.length)];
    return s;
  }
  alnum(n: number): string {
    return this.pick(ALNUM, n);
  }
  int(max: number): number {
    return Math.floor(this.rand() * max);
  }
  githubClassic(prefix: "ghp" | "gho" | "ghu" | "ghs" | "ghr"): string {
    const r30 = this.alnum(30);
    return `${prefix}_${r30}${githubTokenChecksum(r30)}`;
  }
  /** Same shape, checksum off by one character. */
  githubBadChecksum(): string {
    const good = this.githubClassic("ghp");
    const last = good[good.length - 1]!;
    return good.slice(0, -1) + (last === "A" ? "B" : "A");
  }
  jwt(): string {
    const b64url = (s: string) => Buffer.from(s).toString("base64url");
    const header = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: this.alnum(8) }));
    const payload = b64url(
      JSON.stringify({ sub: this.alnum(12), iat: 1_700_000_000 + this.int(1e6), scope: "repo" }),
    );
    return `${header}.${payload}.${this.pick(B64URL, 86)}`;
  }
  pem(kind: string): string {
    const lines: string[] = [];
    for (let i = 0; i < 12; i++) lines.push(this.pick(B64, 64));
    return `-----BEGIN ${kind}-----\n${lines.join("\n")}\n${this.pick(B64, 20)}==\n-----END ${kind}-----`;
  }
  password(n = 16): string {
    // Letters, digits and symbols that the generic rule's value class allows; always mixed.
    return `${this.pick(ALNUM, n - 3)}${this.pick(DIGITS, 1)}${this.pick("!@#%^&*+-_=.~", 1)}${this.pick("abcdefxyz", 1)}`;
  }
}

export interface Positive {
  rule: string;
  /** The secret exactly as it must be masked. */
  secret: string;
  /** Text around it, e.g. an assignment; `{}` marks where the secret goes. */
  context: string;
}

export function positives(g = new Gen()): Positive[] {
  const p: Positive[] = [];
  const add = (rule: string, secret: string, context = "export const value = {};") =>
    p.push({ rule, secret, context });
  add("github-pat", g.githubClassic("ghp"), "git clone https://{}@github.com/acme/app.git");
  add("github-pat", g.githubClassic("ghp"), "GITHUB_TOKEN={}");
  add("github-oauth", g.githubClassic("gho"), 'Authorization: "token {}"');
  add("github-app-token", g.githubClassic("ghu"));
  add("github-app-token", g.githubClassic("ghs"), "the installation token is {}.");
  add("github-refresh-token", g.githubClassic("ghr"));
  add("github-fine-grained-pat", `github_pat_${g.alnum(22)}_${g.alnum(59)}`, "token: {}");
  add("gitlab-token", `glpat-${g.pick(B64URL, 20)}`, "GITLAB_TOKEN={}");
  add("gitlab-token", `glrt-${g.pick(ALNUM, 28)}`);
  add("anthropic-api-key", `sk-ant-api03-${g.pick(B64URL, 93)}AA`, "ANTHROPIC_API_KEY={}");
  add(
    "openai-api-key",
    `sk-proj-${g.pick(B64URL, 74)}T3BlbkFJ${g.pick(B64URL, 74)}`,
    'client = OpenAI(api_key="{}")',
  );
  add("openai-api-key", `sk-${g.alnum(20)}T3BlbkFJ${g.alnum(20)}`);
  add("aws-access-key-id", `AKIA${g.pick(UPPER32, 16)}`, "aws_access_key_id = {}");
  add("aws-access-key-id", `ASIA${g.pick(UPPER32, 16)}`, '"AccessKeyId": "{}",');
  add("aws-secret-access-key", g.pick(B64, 40), "aws_secret_access_key = {}");
  add("aws-secret-access-key", g.pick(B64, 40), '"SecretAccessKey": "{}"');
  add("google-api-key", `AIza${g.pick(B64URL, 35)}`, "const key = '{}';");
  add(
    "azure-storage-key",
    `${g.pick(B64, 86)}==`,
    "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={};EndpointSuffix=core.windows.net",
  );
  add("slack-token", `xoxb-${g.pick(DIGITS, 11)}-${g.pick(DIGITS, 12)}-${g.alnum(24)}`, "SLACK_BOT_TOKEN={}");
  add(
    "slack-token",
    `xoxp-${g.pick(DIGITS, 10)}-${g.pick(DIGITS, 11)}-${g.pick(DIGITS, 12)}-${g.pick(HEX, 32)}`,
  );
  add("slack-token", `xapp-1-A${g.pick(UPPER_ALNUM, 10)}-${g.pick(DIGITS, 13)}-${g.pick(HEX, 64)}`);
  add(
    "slack-webhook",
    `https://hooks.slack.com/services/T${g.pick(UPPER_ALNUM, 8)}/B${g.pick(UPPER_ALNUM, 10)}/${g.alnum(24)}`,
    "curl -X POST {} -d @msg.json",
  );
  add("stripe-key", `sk_live_${g.alnum(24)}`, "Stripe.api_key = '{}'");
  add("stripe-key", `rk_test_${g.alnum(40)}`);
  add("stripe-key", `whsec_${g.alnum(32)}`);
  add("npm-token", `npm_${g.alnum(36)}`, "//registry.npmjs.org/:_authToken={}");
  add("private-key", g.pem("RSA PRIVATE KEY"), "key = '''{}'''");
  add("private-key", g.pem("OPENSSH PRIVATE KEY"));
  add("private-key", g.pem("PRIVATE KEY"), "{}\n");
  add("jwt", g.jwt(), "Authorization: Bearer {}");
  add(
    "url-password",
    g.password(14).replace(/[@#]/g, "x"),
    "DATABASE_URL=postgres://app_user:{}@db.internal:5432/app",
  );
  add("url-password", g.alnum(18), "mongodb+srv://admin:{}@cluster0.example.mongodb.net/test");
  add("url-password", g.alnum(12), "redis://default:{}@cache:6379/0");
  add("generic-secret", g.password(16), 'password = "{}"');
  add("generic-secret", g.password(20), "client_secret: {}");
  add("generic-secret", g.password(24), "API_KEY='{}'");
  add("generic-secret", g.password(18), '{"db_password": "{}"}');
  add("generic-secret", g.password(12), "Server=sql1;User Id=sa;Password={};");
  return p;
}

/** Texts in which nothing must be found: near-misses, placeholders, documentation examples. */
export function negatives(g = new Gen(7)): string[] {
  const ak = "AKIA";
  return [
    `a test fixture with a broken checksum: ${g.githubBadChecksum()}`,
    `ghp_${g.alnum(35)}`,
    `xghp_${g.alnum(36)}`,
    `${ak}IOSFODNN7EXAMPLE`,
    `aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY${"EXAMPLE"}KEY`,
    "sk-short",
    "sk-ant-api03-tooshort",
    'password = os.environ["X"]',
    "token = get_token()",
    'password: "changeme"',
    'token = "<your-token>"',
    'secret = "xxxxxxxx"',
    'secret = "********"',
    "token: process.env.GITHUB_TOKEN",
    `password = ${"$"}{DB_PASSWORD}`,
    'api_key = "your_api_key_here"',
    'token = "YOUR_TOKEN_HERE"',
    "max_tokens: 1234567890",
    'tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")',
    'tokenizer: "cl100k_base"',
    '{"Unexpected_token_1012": "未預期的語彙基元。"}',
    "postgres://someuser:somepassword@somehost:5432/somedatabase",
    '{"tokenizer": "o200k_base", "token_type": "bearer", "max_tokens": 4096}',
    "const token = await getAccessToken(scopes);",
    'password_hash = "sha256"',
    "secret_name: my-app-secret",
    'token_url = "https://github.com/login/oauth/access_token"',
    'private_key_path = "/etc/ssl/private/server.key"',
    "https://user:password@example.com",
    "https://user@example.com/repo.git",
    "http://localhost:8080/api/v1",
    `postgres://user:${"$"}{PGPASSWORD}@localhost/db`,
    "https://admin:<password>@host.example.com",
    "jdbc:mysql://localhost:3306/db?user=root",
    // jwt.io's documentation sample
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "eyJhbGciOiJIUzI1NiJ9",
    g.pem("PUBLIC KEY"),
    g.pem("CERTIFICATE"),
    "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
    "xoxb-not-a-token",
    `npm_${"a".repeat(36)}`,
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
    `AIza${g.alnum(30)}`,
    "550e8400-e29b-41d4-a716-446655440000",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
    `headers: { Authorization: \`Bearer ${"$"}{token}\` }`,
    "[REDACTED:github-pat]",
    'password = "[REDACTED:generic-secret]"',
    "postgres://user:[REDACTED:url-password]@db/app",
    "The password must be at least 12 characters long.",
    "function rotateSecret(secretId: string): Promise<void>",
  ];
}

export function embed(p: Positive): { text: string; start: number } {
  const at = p.context.indexOf("{}");
  return { text: p.context.slice(0, at) + p.secret + p.context.slice(at + 2), start: at };
}
