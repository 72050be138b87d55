import { renderPac } from "@copilot-audit/gateway";
import { Command } from "commander";
import { configFrom, globalOptions, repeatable } from "../options.js";

export function pacCommand(): Command {
  return globalOptions(new Command("pac"))
    .description("print a PAC file: the intercepted hosts go to the gateway, everything else DIRECT")
    .option(
      "--proxy <host:port>",
      "gateway address (repeatable for several replicas; default 127.0.0.1:8080)",
      repeatable,
    )
    .option("--intercept <host>", "intercepted hosts (repeatable; default: the Copilot hosts)", repeatable)
    .action((opts) => {
      const config = configFrom(opts, { intercept: opts.intercept });
      const proxies = (opts.proxy as string[] | undefined) ?? [`${config.listen.host}:${config.listen.port}`];
      for (const p of proxies) {
        if (!/^[^\s;:]+:\d{1,5}$|^\[[0-9a-f:]+\]:\d{1,5}$/i.test(p)) {
          throw new Error(`--proxy ${p}: expected HOST:PORT`);
        }
      }
      process.stdout.write(renderPac(config.intercept, proxies));
    });
}
