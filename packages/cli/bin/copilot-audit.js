#!/usr/bin/env node
// The copilot-audit command line. The TypeScript sources build to ../dist (npm ci runs the build).
import("../dist/main.js").catch((err) => {
  if (err && err.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes("dist/main.js")) {
    process.stderr.write(
      "copilot-audit: not built yet; run `npm ci` (or `npm run build`) in the repository first\n",
    );
    process.exit(1);
  }
  throw err;
});
