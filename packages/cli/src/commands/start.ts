import { Command, Option } from "commander";
import { configFrom, globalOptions, repeatable } from "../options.js";
import { runGateway } from "../run.js";
import { approvalStartFlags, approvalStartOptions } from "./approval-options.js";

export function startCommand(): Command {
  return approvalStartOptions(globalOptions(new Command("start")))
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
    .option("--oidc-issuer <url>", "trust this OIDC issuer (default: the embedded issuer under <data-dir>)")
    .option(
      "--oidc-audience <aud>",
      "audience tokens must carry (repeatable; required with --oidc-issuer)",
      repeatable,
    )
    .option(
      "--groups-claim <path>",
      "claim path of the user's groups, e.g. roles, cognito:groups, realm_access.roles",
    )
    .option("--algorithms <list>", "accepted signature algorithms (default RS256,ES256)")
    .option(
      "--allow-group <group>",
      "only members may use Copilot (repeatable; default: any verified identity)",
      repeatable,
    )
    .addOption(
      new Option(
        "--passthrough-auth <mode>",
        "tunnels to other hosts need a token (required), or not (open), or are refused (deny)",
      ).choices(["required", "open", "deny"]),
    )
    .addOption(
      new Option("--redact-request <mode>", "secrets in prompts (default mask)").choices([
        "off",
        "report",
        "mask",
        "block",
      ]),
    )
    .addOption(
      new Option("--redact-response <mode>", "secrets in completions (default mask)").choices([
        "off",
        "report",
        "mask",
        "block",
      ]),
    )
    .option("--body-cap <size>", "largest body stored per request/response, e.g. 1MiB")
    .option("--instance-name <name>", "this gateway's name in the audit log (default: the hostname)")
    .option("--no-migrate", "do not apply database migrations at start")
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
        oidcIssuer: opts.oidcIssuer,
        oidcAudience: opts.oidcAudience,
        groupsClaim: opts.groupsClaim,
        algorithms: opts.algorithms,
        allowGroups: opts.allowGroup,
        passthroughAuth: opts.passthroughAuth,
        redactRequest: opts.redactRequest,
        redactResponse: opts.redactResponse,
        bodyCapBytes: opts.bodyCap,
        instanceName: opts.instanceName,
        migrate: opts.migrate === false ? false : undefined,
        ...approvalStartFlags(opts),
      });
      await runGateway(config, { explain: Boolean(opts.explain) });
    });
}
