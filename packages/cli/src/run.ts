import { readFile } from "node:fs/promises";
import {
  createLogger,
  ensureCaFiles,
  Gateway,
  type GatewayOptions,
  HostMatcher,
  type LoadedCa,
  type Logger,
  patternsOutsideConstraints,
  readCaFiles,
} from "@copilot-audit/gateway";
import { type Detector, parseRedactConfig, type RedactConfig } from "@copilot-audit/redact";
import { openStore } from "@copilot-audit/store";
import { startApprovals } from "./approvals-runtime.js";
import { type AppConfig, absolute, ConfigError, redactSection } from "./config.js";
import { type ConfiguredIdentity, configureIdentity } from "./identity.js";

/** `copilot-audit start`: builds every part from the config, listens, and shuts down cleanly on SIGINT/SIGTERM. */
export async function runGateway(config: AppConfig, opts: { explain?: boolean } = {}): Promise<void> {
  const log = createLogger({ level: config.logLevel });
  const matcher = new HostMatcher(config.intercept);
  const loaded = await loadOrCreateCa(config, matcher);
  for (const w of loaded.warnings) log.warn(w);
  if (loaded.created) {
    log.info(
      { certificate: loaded.paths.certPath, permitted: loaded.ca.permittedDns },
      "created a new CA: developer machines must trust this certificate (see certs/README.md)",
    );
  }
  const outside = patternsOutsideConstraints(matcher.patterns, loaded.ca.permittedDns);
  if (outside.length > 0) {
    const permitted = loaded.ca.permittedDns ?? [];
    const all = [...permitted, ...outside.map((p) => p.replace(/^\*\./, ""))];
    throw new ConfigError(
      `intercept ${outside.join(", ")} is outside the CA's name constraints (${permitted.join(", ")}): clients would reject its certificates. ` +
        (config.caCert
          ? "Have your PKI issue a CA (intermediate) that permits these names too"
          : `Re-create the CA with \`copilot-audit ca init --force --dir ${absolute(config.caDir)} ${all.map((d) => `--permit ${d}`).join(" ")}\``) +
        " and redistribute ca.pem",
    );
  }
  const upstreamCaPems = await Promise.all(
    config.upstreamCa.map(async (f) => {
      try {
        return await readFile(absolute(f), "utf8");
      } catch (e) {
        throw new ConfigError(
          `invalid upstreamCa (--upstream-ca ${f}): cannot read it (${(e as NodeJS.ErrnoException).code})`,
        );
      }
    }),
  );
  const proxyAddress = `${config.listen.host}:${config.listen.port === 0 ? "<port>" : config.listen.port}`;
  const identity = await configureIdentity(config, proxyAddress, log);
  const { config: redact, detector } = parseRedactConfig(redactSection(config));
  if (opts.explain) {
    const gateway = new Gateway(
      gatewayOptions(config, loaded, identity, log, upstreamCaPems, { redact, detector }, () => ""),
    );
    process.stdout.write(
      `${gateway.pipeline
        .explain()
        .map((l, i) => `${i + 1}. ${l}`)
        .join("\n")}\n`,
    );
    return;
  }
  const store = await openStore({
    databaseUrl: config.databaseUrl ?? undefined,
    dataDir: absolute(config.dataDir),
    migrate: config.migrate,
    bodyCapBytes: config.bodyCapBytes,
    fingerprintKey: config.fingerprintKey ?? undefined,
    logger: log.child({ component: "store" }),
  });
  // Two lanes (chains) on PostgreSQL: two group commits in flight, ~2x the ingest of one (docs/benchmarks.md).
  const writer = await store.createWriter({
    writerName: config.instanceName,
    lanes: config.writerLanes ?? (store.kind === "pg" ? 2 : 1),
  });
  log.info({ database: store.kind, chain: writer.chainId, writer: writer.writerName }, "audit store open");
  const fingerprint = (secret: string) => store.fingerprint(secret);
  const jit = await startApprovals(config, store, writer, log);
  const gateway = new Gateway({
    ...gatewayOptions(config, loaded, identity, log, upstreamCaPems, { redact, detector }, fingerprint),
    writer,
    ...(jit ? { stageDeps: { approvals: jit.deps } } : {}),
  });
  let address: Awaited<ReturnType<Gateway["listen"]>>;
  try {
    address = await gateway.listen();
  } catch (e) {
    await jit?.close().catch(() => undefined);
    await writer.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    const err = e as NodeJS.ErrnoException;
    if (err.code === "EADDRINUSE")
      throw new ConfigError(`invalid listen: ${config.listen.host}:${config.listen.port} is already in use`);
    if (err.code === "EACCES")
      throw new ConfigError(
        `invalid listen: no permission to listen on ${config.listen.host}:${config.listen.port}`,
      );
    throw e;
  }
  const proxyUrl = `http://${address.address.includes(":") ? `[${address.address}]` : address.address}:${address.port}`;
  log.info(
    {
      address: address.address,
      port: address.port,
      url: proxyUrl,
      ca: loaded.paths.certPath,
      intercept: config.intercept,
      certificatesPreminted: gateway.certs.stats.mints,
      issuer: identity.authenticator.issuer,
      passthroughAuth: config.passthroughAuth,
    },
    "copilot-audit listening",
  );
  if (process.stderr.isTTY) {
    process.stderr.write(
      `\n  copilot-audit is listening on ${proxyUrl}\n\n  On a developer machine:\n` +
        (identity.embedded
          ? `    export $(npx copilot-audit token --sub <you> --env)     # HTTPS_PROXY=http://oidc:<token>@${address.address}:${address.port}\n`
          : `    export HTTPS_PROXY=http://oidc:<token from ${config.oidcIssuer}>@${address.address}:${address.port}\n`) +
        `    export NODE_EXTRA_CA_CERTS=${loaded.paths.certPath}\n\n`,
    );
  }
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        log.warn("second signal: exiting now");
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, "shutting down: finishing in-flight exchanges");
      gateway.close().then(resolve, (e) => {
        log.error({ err: e }, "shutdown failed");
        resolve();
      });
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
  await jit?.close();
  await writer.close();
  await store.close();
  log.info("stopped");
  log.flush();
}

function gatewayOptions(
  config: AppConfig,
  loaded: LoadedCa,
  identity: ConfiguredIdentity,
  log: Logger,
  upstreamCaPems: string[],
  masking: { redact: RedactConfig; detector: Detector },
  fingerprint: (secret: string) => string,
): GatewayOptions {
  return {
    listen: config.listen,
    intercept: config.intercept,
    ca: loaded.ca,
    logger: log,
    resolve: new Map(config.resolve),
    upstreamCaPems,
    allowPorts: config.allowPorts,
    leafKeyType: config.leafKeyType,
    maxRequestBodyBytes: config.maxRequestBodyBytes,
    maxHeaderBytes: config.maxHeaderBytes,
    pacProxies: config.pacProxies.length > 0 ? config.pacProxies : undefined,
    auth: {
      authenticator: identity.authenticator,
      policy: {
        allowGroups: config.allowGroups,
        approvalGroups: config.approvalGroups,
        approverGroups: config.approverGroups,
      },
      passthroughAuth: config.passthroughAuth,
      tokenHelp: identity.tokenHelp,
      fingerprint,
    },
    redact: {
      detector: masking.detector,
      requestMode: masking.redact.requestMode,
      responseMode: masking.redact.responseMode,
      fingerprint,
      maxDecodedBytes: config.maxRequestBodyBytes * 4,
      maxHoldBytes: masking.redact.maxHoldBytes,
      maxBufferBytes: masking.redact.maxBufferBytes,
      maxEventBytes: masking.redact.maxEventBytes,
    },
  };
}

async function loadOrCreateCa(
  config: AppConfig,
  matcher: HostMatcher,
): Promise<LoadedCa & { created: boolean }> {
  if (config.caCert || config.caKey) {
    if (!config.caCert || !config.caKey) {
      throw new ConfigError("invalid caCert/caKey: --ca-cert and --ca-key must be given together");
    }
    const paths = { certPath: absolute(config.caCert), keyPath: absolute(config.caKey) };
    return { ...(await readCaFiles(paths, config.caKeyPassphrase ?? undefined)), created: false };
  }
  return ensureCaFiles(absolute(config.caDir), { keyType: "ec", permit: matcher.permittedSubtrees() });
}
