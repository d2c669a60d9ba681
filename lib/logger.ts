/**
 * pino JSON logs for every process. Secrets never reach a log line: the redaction list covers the
 * places credentials travel (authorization headers, passwords, tokens, secret data).
 */
import { pino, type Logger } from "pino";

export type { Logger };

const REDACT = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "password",
  "*.password",
  "token",
  "*.token",
  "accessKeySecret",
  "*.accessKeySecret",
  "data",
  "*.data",
];

export function createLogger(name: string, level: string = "info"): Logger {
  return pino({ name, level, redact: { paths: REDACT, censor: "[redacted]" } });
}

/** A logger that drops everything: for tests and benchmarks that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
