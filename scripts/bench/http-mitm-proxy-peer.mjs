// http-mitm-proxy 1.1.0 as a peer, configured as fairly as it allows (keepAlive, forceSNI, no console
// noise), to measure what its design costs against ours (docs/decisions.md D1). Prints {"port":…,"caFile":…}.
import { join } from "node:path";
import { Proxy as MitmProxy } from "http-mitm-proxy";

const dir = process.argv[2];
const proxy = new MitmProxy();
proxy._onError = () => undefined;
console.info = () => undefined;
console.debug = () => undefined;
proxy.onError(() => undefined);
proxy.listen({ port: 0, host: "127.0.0.1", keepAlive: true, forceSNI: true, sslCaDir: dir }, (err) => {
  if (err) throw err;
  process.stdout.write(`${JSON.stringify({ port: proxy.httpPort, caFile: join(dir, "certs", "ca.pem") })}\n`);
});
process.on("SIGTERM", () => {
  proxy.close();
  process.exit(0);
});
