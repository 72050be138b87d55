/**
 * There is no Docker engine on CI machines, so the compose file is checked statically: its structure,
 * and that the gateway's command line is one the CLI accepts (parsed by the real commander program).
 */
import { readFileSync } from "node:fs";
import { buildProgram } from "@copilot-audit/cli";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = new URL("../", import.meta.url);

interface Compose {
  services: Record<
    string,
    {
      image?: string;
      build?: string;
      command?: string[];
      environment?: Record<string, string>;
      depends_on?: Record<string, { condition: string }>;
      ports?: string[];
      volumes?: string[];
    }
  >;
  volumes: Record<string, unknown>;
}

describe("docker-compose.yml", () => {
  const compose = parse(readFileSync(new URL("docker-compose.yml", root), "utf8")) as Compose;

  it("runs Postgres and the gateway, the gateway after Postgres is healthy", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["gateway", "postgres"]);
    expect(compose.services.postgres?.image).toMatch(/^postgres:1[5-9]/);
    expect(compose.services.gateway?.depends_on?.postgres?.condition).toBe("service_healthy");
    expect(compose.services.gateway?.build).toBe(".");
    expect(Object.keys(compose.volumes).sort()).toEqual(["gateway-data", "pgdata"]);
  });

  it("points the gateway at the compose Postgres with credentials that match", () => {
    const env = compose.services.postgres?.environment ?? {};
    const url = new URL(compose.services.gateway?.environment?.DATABASE_URL ?? "");
    expect(url.hostname).toBe("postgres");
    expect(url.username).toBe(env.POSTGRES_USER);
    expect(url.password).toBe(env.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${env.POSTGRES_DB}`);
  });

  it("has a gateway command line the CLI accepts", async () => {
    const command = compose.services.gateway?.command ?? [];
    expect(command[0]).toBe("start");
    const program = buildProgram();
    program.exitOverride();
    const start = program.commands.find((c) => c.name() === "start")!;
    let parsed: Record<string, unknown> | null = null;
    start.action((opts: Record<string, unknown>) => {
      parsed = opts;
    });
    await program.parseAsync(["node", "copilot-audit", ...command]);
    expect(parsed).toMatchObject({ listen: "0.0.0.0:8080", dataDir: "/data", caDir: "/certs" });
  });

  it("mounts the CA directory and the data directory the command uses", () => {
    const volumes = compose.services.gateway?.volumes ?? [];
    expect(volumes).toContain("./certs:/certs");
    expect(volumes).toContain("gateway-data:/data");
  });

  it("matches the Dockerfile's entry point", () => {
    const dockerfile = readFileSync(new URL("Dockerfile", root), "utf8");
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "packages\/cli\/bin\/copilot-audit.js"\]/);
  });
});
