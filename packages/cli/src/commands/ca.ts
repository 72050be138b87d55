import { caPaths, HostMatcher, initCaFiles, readCaFiles } from "@copilot-audit/gateway";
import { Command, Option } from "commander";
import { absolute } from "../config.js";
import { configFrom, formatOption, globalOptions, repeatable } from "../options.js";
import { print } from "../output.js";

export function caCommand(): Command {
  const ca = new Command("ca").description("the certificate authority that signs the per-host certificates");

  globalOptions(
    ca
      .command("init")
      .description("create ca.pem and ca.key (0600), name-constrained to the intercepted domains")
      .option("--dir <dir>", "where to write ca.pem and ca.key", "certs")
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
    const dir = absolute(opts.dir);
    const paths = await initCaFiles(dir, { keyType: opts.keyType, permit, force: Boolean(opts.force) });
    const lines = [
      `created ${paths.certPath}`,
      `created ${paths.keyPath} (mode 0600: keep it secret, never commit it)`,
      permit
        ? `name constraints: only ${permit.join(", ")}`
        : "name constraints: NONE (this CA can impersonate any site)",
      "",
      "Next: distribute ca.pem to developer machines (see certs/README.md), e.g.",
      `  export NODE_EXTRA_CA_CERTS=${paths.certPath}`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  });

  globalOptions(
    ca
      .command("show")
      .description("print the CA in use: subject, validity, fingerprint, name constraints")
      .option("--dir <dir>", "CA directory", "certs")
      .option("--ca-cert <file>", "an existing CA certificate instead of <dir>/ca.pem")
      .option("--ca-key <file>", "its key")
      .addOption(formatOption()),
  ).action(async (opts) => {
    const paths =
      opts.caCert && opts.caKey
        ? { certPath: absolute(opts.caCert), keyPath: absolute(opts.caKey) }
        : caPaths(absolute(opts.dir));
    const { ca: loaded, warnings } = await readCaFiles(paths);
    const c = loaded.certificate;
    print(opts.format, [
      {
        subject: c.subject.replace(/\n/g, ", "),
        key: loaded.signer.keyType === "ec" ? "EC" : "RSA",
        notBefore: loaded.notBefore.toISOString(),
        notAfter: loaded.notAfter.toISOString(),
        sha256: c.fingerprint256,
        permitted: loaded.permittedDns === null ? "(unconstrained)" : loaded.permittedDns.join(" "),
        certificate: paths.certPath,
        warnings: warnings.join("; "),
      },
    ]);
  });
  return ca;
}
