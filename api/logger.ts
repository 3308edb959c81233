import pino, { type Logger } from "pino";

/** JSON lines on stdout; secrets never reach it (cookies and bodies are not logged, see request-log). */
export function createLogger(level: string, service: string): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ["password", "*.password", "token", "*.token", "headers.cookie"], censor: "[redacted]" },
  });
}
