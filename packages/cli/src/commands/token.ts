import { DEFAULT_TOKEN_TTL_SECONDS, parseDuration } from "@copilot-audit/identity";
import { Command, Option } from "commander";
import { ConfigError } from "../config.js";
import { configureIdentity } from "../identity.js";
import { configFrom, formatOption, globalOptions } from "../options.js";
import { print } from "../output.js";

export function tokenCommand(): Command {
  return globalOptions(new Command("token"))
    .description("issue a proxy token from the embedded issuer (zero-setup identity), or check one")
    .option("--sub <subject>", "the user's stable id")
    .option("--email <email>", "the user's email (shown in the audit log)")
    .option("--name <name>", "display name")
    .option("--groups <list>", "comma-separated groups, e.g. dev,sec")
    .option("--ttl <duration>", "lifetime, e.g. 8h, 30m, 7d", "8h")
    .option("--env", "print HTTPS_PROXY=http://oidc:<token>@<gateway> instead of the bare token")
    .option("--proxy <host:port>", "gateway address for --env (default: the configured listen address)")
    .option("--check", "read a token from stdin, verify it like the gateway would, and print the identity")
    .addOption(formatOption())
    .addOption(new Option("--listen <host:port>").hideHelp())
    .action(async (opts) => {
      const config = configFrom(opts, { listen: opts.listen });
      const proxy = opts.proxy ?? `${config.listen.host}:${config.listen.port}`;
      const identity = await configureIdentity(config, proxy);
      if (opts.check) {
        const token = (await readStdin()).trim();
        const id = await identity.authenticator.verify(token);
        print(opts.format, [
          {
            issuer: id.issuer,
            subject: id.subject,
            email: id.email,
            groups: id.groups === null ? `(unknown: ${id.groupsUnknownReason})` : id.groups.join(","),
            expiresAt: id.expiresAt.toISOString(),
            fingerprint: id.tokenFingerprint,
          },
        ]);
        return;
      }
      if (!identity.embedded) {
        throw new ConfigError(
          `tokens come from your identity provider (${config.oidcIssuer}); \`token\` only issues embedded-issuer tokens`,
        );
      }
      if (!opts.sub) throw new ConfigError("invalid sub: --sub <subject> is required");
      const ttlSeconds = opts.ttl ? parseDuration(opts.ttl) : DEFAULT_TOKEN_TTL_SECONDS;
      const groups = opts.groups
        ? String(opts.groups)
            .split(",")
            .map((g: string) => g.trim())
            .filter(Boolean)
        : undefined;
      const token = await identity.embedded.mintToken({
        sub: opts.sub,
        ...(opts.email ? { email: opts.email } : {}),
        ...(opts.name ? { name: opts.name } : {}),
        ...(groups ? { groups } : {}),
        ttlSeconds,
      });
      process.stdout.write(opts.env ? `HTTPS_PROXY=http://oidc:${token}@${proxy}\n` : `${token}\n`);
    });
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new ConfigError("--check reads the token from stdin: pipe it in (never pass tokens as arguments)");
  let s = "";
  for await (const chunk of process.stdin) s += chunk;
  return s;
}
