import type { Logger } from "@copilot-audit/gateway";
import {
  type Authenticator,
  createAuthenticator,
  type EmbeddedIssuer,
  openEmbeddedIssuer,
} from "@copilot-audit/identity";
import { type AppConfig, absolute } from "./config.js";

export interface ConfiguredIdentity {
  authenticator: Authenticator;
  embedded: EmbeddedIssuer | null;
  tokenHelp: string;
}

/** The embedded issuer under the data dir (zero-setup default), or the configured OIDC issuer. */
export async function configureIdentity(
  config: AppConfig,
  proxy: string,
  log?: Logger,
): Promise<ConfiguredIdentity> {
  if (config.oidcIssuer) {
    const authenticator = createAuthenticator({
      issuer: config.oidcIssuer,
      audience: config.oidcAudience,
      algorithms: config.algorithms,
      groupsClaim: config.groupsClaim,
    });
    if (log) {
      // Load keys now so the first CONNECT does not wait; an IdP that is down only delays Copilot traffic.
      authenticator.prefetch().then(
        () => log.info({ issuer: config.oidcIssuer, keys: authenticator.status().keys }, "OIDC keys loaded"),
        (e: Error) =>
          log.warn(
            { issuer: config.oidcIssuer, err: e.message },
            "OIDC issuer unreachable at start: Copilot requests get 503 until it answers",
          ),
      );
    }
    return {
      authenticator,
      embedded: null,
      tokenHelp:
        config.tokenHelp ??
        `Get a fresh token from ${config.oidcIssuer} (audience ${config.oidcAudience.join(" or ")}) and put it in the proxy URL: HTTPS_PROXY=http://oidc:<token>@${proxy}`,
    };
  }
  const embedded = await openEmbeddedIssuer(absolute(config.dataDir));
  return {
    authenticator: createAuthenticator({ embedded, groupsClaim: config.groupsClaim }),
    embedded,
    tokenHelp:
      config.tokenHelp ??
      `Ask the gateway operator for one (\`npx copilot-audit token --sub <you> --env\`) and set HTTPS_PROXY=http://oidc:<token>@${proxy}`,
  };
}
