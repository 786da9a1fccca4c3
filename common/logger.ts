import { pino, destination, stdTimeFunctions } from 'pino';
import type { Logger } from '../topology/processor.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/**
 * Structured JSON logger (pino) writing to stderr, so stdout stays free for command output. Secrets are never
 * passed to the logger; as a second line of defence, common credential fields are redacted.
 */
export function createLogger(level: LogLevel, bindings: Record<string, unknown> = {}): Logger {
  return pino(
    {
      level,
      base: { service: 'urp-case-sync', ...bindings },
      redact: { paths: ['password', 'token', 'authorization', '*.password', '*.token', '*.authorization'] },
      timestamp: stdTimeFunctions.isoTime,
    },
    destination(2),
  ) as unknown as Logger;
}

/** A logger that drops everything (unit tests, benchmarks). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
