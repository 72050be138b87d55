/** A pino-compatible logger (only these three methods are used). Never given secrets or bodies. */
export interface StoreLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}
