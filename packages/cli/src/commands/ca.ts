import { readFile } from "node:fs/promises";
import { caPaths, describeCaCertificate, HostMatcher, initCaFiles } from "@copilot-audit/gateway";
import { Command, Option } from "commander";
import { absolute, ConfigError } from "../config.js";
import { configFrom, formatOption, globalOptions, repeatable } from "../options.js";
import { print } from "../output.js";

export function caCommand(): Command {
  const ca = new Command("ca").description("the certificate authority that signs the per-host certificates");

  globalOptions(
    ca
      .command("init")
      .description("create ca.pem and ca.key (0600), name-constrained to the intercepted domains")
      .option("--dir <dir>", "where to write ca.pem and ca.key (default: caDir from the config, ./certs)")
      .addOption(new Option("--key-type <type>", "CA key type").choices(["ec", "rsa"]).default("ec"))
      .option(
        "--permit <domain>",
        "a DNS subtree the CA may issue for (repeatable; default: the intercepted domains)",
        repeatable,
      )
      .option(
        "--no-name-constraints",
        "issue for any name (not recommended: a stolen key could impersonate any site)",
      )
      .option(
        "--intercept <host>",
        "derive the permitted domains from these intercept patterns (repeatable)",
        repeatable,
      )
      .option("--force", "replace an existing CA"),
  ).action(async (opts) => {
    const config = configFrom(opts, { intercept: opts.intercept });
    const permit: string[] | null =
      opts.nameConstraints === false
        ? null
        : ((opts.permit as string[] | undefined) ?? new HostMatcher(config.intercept).permittedSubtrees());
    const dir = absolute(opts.dir ?? config.caDir);
    const paths = await initCaFiles(dir, { keyType: opts.keyType, permit, force: Boolean(opts.force) });
    const lines = [
      `created ${paths.certPath}`,
      `created ${paths.keyPath} (mode 0600: keep it secret, never commit it)`,
      permit
        ? `name constraints: only ${permit.join(", ")}`
        : "name constraints: NONE (this CA can impersonate any site)",
      "",
      "Next: distribute ca.pem to developer machines (see docs/ca-trust.md), e.g.",
      `  export NODE_EXTRA_CA_CERTS=${paths.certPath}`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  });

  globalOptions(
    ca
      .command("show")
      .description(
        "print a CA certificate: subject, key, validity, fingerprint, name constraints (no key needed)",
      )
      .option("--dir <dir>", "CA directory (default: caDir from the config, ./certs)")
      .option("--ca-cert <file>", "a CA certificate file instead of <dir>/ca.pem")
      .addOption(formatOption()),
  ).action(async (opts) => {
    const config = configFrom(opts);
    const certPath = opts.caCert
      ? absolute(opts.caCert)
      : caPaths(absolute(opts.dir ?? config.caDir)).certPath;
    let pem: string;
    try {
      pem = await readFile(certPath, "utf8");
    } catch (e) {
      throw new ConfigError(
        `cannot read ${certPath} (${(e as NodeJS.ErrnoException).code}); create a CA with \`copilot-audit ca init\``,
      );
    }
    const d = describeCaCertificate(pem);
    const daysLeft = Math.floor((d.notAfter.getTime() - Date.now()) / 86_400_000);
    print(opts.format, [
      {
        certificate: certPath,
        subject: d.subject,
        key: d.keyType,
        ca: d.isCa,
        notBefore: d.notBefore.toISOString(),
        notAfter: d.notAfter.toISOString(),
        daysLeft,
        sha256: d.sha256,
        permitted: d.permittedDns === null ? "(unconstrained)" : d.permittedDns.join(" "),
        chain: d.chainLength,
      },
    ]);
  });
  return ca;
}
