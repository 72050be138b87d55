export { type AppConfig, ConfigError, KEYS, loadConfig } from "./config.js";
export { buildProgram, reportError } from "./program.js";
