import { renderPac } from "@copilot-audit/gateway";
import { Command } from "commander";
import { ConfigError } from "../config.js";
import { configFrom, globalOptions, repeatable } from "../options.js";

const PROXY = /^(?:[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?|\[[0-9a-f:.]+\]):\d{1,5}$/i;

export function pacCommand(): Command {
  return globalOptions(new Command("pac"))
    .description("print a PAC file: the intercepted hosts go to the gateway, everything else DIRECT")
    .option(
      "--proxy <host:port>",
      "gateway address (repeatable for several replicas; default: pacProxies, else the listen address)",
      repeatable,
    )
    .option("--intercept <host>", "intercepted hosts (repeatable; default: the Copilot hosts)", repeatable)
    .action((opts) => {
      const config = configFrom(opts, { intercept: opts.intercept });
      const listen = `${config.listen.host === "0.0.0.0" || config.listen.host === "::" ? "127.0.0.1" : config.listen.host}:${config.listen.port}`;
      const proxies: string[] =
        (opts.proxy as string[] | undefined) ?? (config.pacProxies.length > 0 ? config.pacProxies : [listen]);
      for (const p of proxies) {
        if (!PROXY.test(p))
          throw new ConfigError(`invalid --proxy "${p}": expected HOST:PORT, e.g. gw1.corp.example:8080`);
      }
      process.stdout.write(renderPac(config.intercept, proxies));
    });
}
