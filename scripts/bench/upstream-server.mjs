// The testkit's fake Copilot upstream in its own process (so it does not share an event loop with the
// load generator). Prints one JSON line: {"port":…,"caFile":…}.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startFakeCopilot } from "../../packages/testkit/dist/index.js";

const dir = process.argv[2];
const up = await startFakeCopilot();
// Keep no request log: the benchmark sends millions of requests.
up.requests.push = () => 0;
const caFile = join(dir, "upstream-ca.pem");
writeFileSync(caFile, up.caPem);
process.stdout.write(`${JSON.stringify({ port: up.port, caFile })}\n`);
process.on("SIGTERM", () => up.close().then(() => process.exit(0)));
