export { buildProgram, reportError } from "./program.js";
export { loadConfig, ConfigError, KEYS, type AppConfig } from "./config.js";
