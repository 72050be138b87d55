/**
 * A TCP relay for fault injection: clients connect to the relay, which pipes bytes to `target`. `cut()`
 * breaks the path without touching the target server (e.g. makes a shared PostgreSQL "unreachable"):
 * "reset" (default) destroys live connections with a TCP RST and resets every new one; "blackhole" stops
 * forwarding and leaves connections hanging (for timeout paths). `restore()` heals it.
 */
import net from "node:net";

export interface TcpRelay {
  /** Port the relay listens on (127.0.0.1). */
  readonly port: number;
  /** Host to connect to: "127.0.0.1". */
  readonly host: string;
  /** Live relayed connections. */
  readonly connections: number;
  /** Rewrites a URL's host and port to point at the relay (e.g. a postgres:// URL). */
  urlFor(url: string): string;
  cut(mode?: "reset" | "blackhole"): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpRelay(target: { host: string; port: number }): Promise<TcpRelay> {
  let mode: "open" | "reset" | "blackhole" = "open";
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  const held = new Set<net.Socket>();

  const server = net.createServer((client) => {
    client.on("error", () => {});
    if (mode === "reset") {
      client.resetAndDestroy();
      return;
    }
    if (mode === "blackhole") {
      held.add(client);
      client.pause();
      client.on("close", () => held.delete(client));
      return;
    }
    const upstream = net.connect(target.port, target.host);
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end);
    upstream.on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    host: "127.0.0.1",
    get connections() {
      return pairs.size;
    },
    urlFor(url: string) {
      const u = new URL(url);
      u.hostname = "127.0.0.1";
      u.port = String(port);
      return u.toString();
    },
    cut(how = "reset") {
      mode = how;
      for (const p of [...pairs]) {
        if (how === "reset") {
          p.client.resetAndDestroy();
          p.upstream.destroy();
          pairs.delete(p);
        } else {
          p.client.unpipe(p.upstream);
          p.upstream.unpipe(p.client);
          p.client.pause();
          p.upstream.pause();
          held.add(p.client);
          held.add(p.upstream);
          pairs.delete(p);
        }
      }
    },
    restore() {
      mode = "open";
      // Connections frozen by a blackhole stay broken (as after a real partition): reset them.
      for (const s of [...held]) s.resetAndDestroy();
      held.clear();
    },
    async close() {
      for (const p of [...pairs]) {
        p.client.destroy();
        p.upstream.destroy();
      }
      for (const s of [...held]) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
