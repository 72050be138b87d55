import { Command, Option } from "commander";
import { configFrom, globalOptions, repeatable } from "../options.js";
import { runGateway } from "../run.js";

export function startCommand(): Command {
  return globalOptions(new Command("start"))
    .description("run the gateway: intercept Copilot hosts, tunnel everything else")
    .option("--listen <host:port>", "proxy address (default 127.0.0.1:8080)")
    .option("--ca-cert <file>", "an existing CA certificate (PEM; may include its chain)")
    .option("--ca-key <file>", "the CA's private key (PEM, RSA or EC)")
    .option("--ca-dir <dir>", "where the default CA lives; created on first start (default ./certs)")
    .option(
      "--intercept <host>",
      "a host to intercept, exact or *.domain (repeatable; default: the Copilot hosts)",
      repeatable,
    )
    .option(
      "--resolve <host=ip:port>",
      "connect to IP:PORT for HOST while verifying TLS for HOST (repeatable)",
      repeatable,
    )
    .option(
      "--upstream-ca <file>",
      "trust this CA for upstream TLS too (repeatable; system roots stay trusted)",
      repeatable,
    )
    .option("--allow-port <port>", "allow CONNECT/HTTP to this port besides 443/80 (repeatable)", repeatable)
    .addOption(new Option("--leaf-key-type <type>", "key type of minted certificates").choices(["ec", "rsa"]))
    .addOption(
      new Option("--log-level <level>", "log level").choices([
        "fatal",
        "error",
        "warn",
        "info",
        "debug",
        "trace",
        "silent",
      ]),
    )
    .option("--pac-proxy <host:port>", "proxy address to put in /proxy.pac (repeatable)", repeatable)
    .option("--max-request-body <size>", "largest request body inspected, e.g. 32MiB (413 above)")
    .option("--explain", "print the exchange pipeline and exit")
    .action(async (opts) => {
      const config = configFrom(opts, {
        listen: opts.listen,
        caCert: opts.caCert,
        caKey: opts.caKey,
        caDir: opts.caDir,
        intercept: opts.intercept,
        resolve: opts.resolve,
        upstreamCa: opts.upstreamCa,
        allowPorts: opts.allowPort,
        leafKeyType: opts.leafKeyType,
        logLevel: opts.logLevel,
        pacProxies: opts.pacProxy,
        maxRequestBodyBytes: opts.maxRequestBody,
      });
      await runGateway(config, { explain: Boolean(opts.explain) });
    });
}
