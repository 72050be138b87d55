import { buildProgram, reportError } from "./program.js";

const program = buildProgram();
program.exitOverride();
program.parseAsync(process.argv).then(
  () => undefined,
  (err) => {
    process.exitCode = reportError(err);
  },
);
