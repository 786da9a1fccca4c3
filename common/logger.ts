import { createRequire } from 'node:module';
import { pino, destination, stdTimeFunctions, type DestinationStream } from 'pino';

/** Structured logger (pino-compatible subset) used by every layer and handed to processors. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** LOG_FORMAT: `auto` (pretty when the log stream is a terminal, JSON otherwise), `json` or `pretty`. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The format `format` means when the log stream is (or is not) a terminal. */
export function resolveLogFormat(format: LogFormat, isTerminal: boolean): 'json' | 'pretty' {
  if (format === 'auto') return isTerminal ? 'pretty' : 'json';
  return format;
}

/** pino-pretty's `prettyFactory`: a log object (or JSON line) to its human-readable line. */
type PrettyFactory = (options: Record<string, unknown>) => (line: string | object) => string;

const REDACT_PATHS = ['password', 'token', 'authorization', '*.password', '*.token', '*.authorization'];

export interface LoggerOptions {
  /** Default `auto`. */
  readonly format?: LogFormat;
  /** Whether the log stream is a terminal (default: whether stderr is a TTY). */
  readonly isTerminal?: boolean;
  /** Where lines go (default stderr, fd 2). */
  readonly destination?: { write(line: string): unknown };
  /** Loads pino-pretty; only called when the pretty format is chosen (default: require('pino-pretty')). */
  readonly loadPretty?: () => PrettyFactory;
}

function requirePretty(): PrettyFactory {
  // Lazy: pino-pretty (and its dependencies) are loaded only when the pretty format is chosen.
  const mod = createRequire(import.meta.url)('pino-pretty') as { prettyFactory: PrettyFactory };
  return mod.prettyFactory;
}

/**
 * A synchronous stream rendering pino's JSON lines human-readable. It sees lines after pino serialised and
 * redacted them, so a redacted secret is never in its input.
 */
function prettyStream(
  factory: PrettyFactory,
  out: { write(line: string): unknown; flush?: (cb: (err?: Error) => void) => void },
  colorize: boolean,
): DestinationStream & { flush(cb?: (err?: Error) => void): void } {
  const render = factory({
    colorize,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    singleLine: true,
  });
  return {
    write: (line: string) => void out.write(render(line)),
    flush: (cb?: (err?: Error) => void) => {
      if (typeof out.flush === 'function') out.flush(cb ?? (() => {}));
      else cb?.();
    },
  };
}

/**
 * Structured logger (pino) writing to stderr, so stdout stays free for command output: JSON lines, or
 * human-readable lines (pino-pretty) when the format is `pretty`, or `auto` and stderr is a terminal. Secrets are
 * never passed to the logger; as a second line of defence, common credential fields are redacted (before either
 * format renders the line).
 */
export function createLogger(
  level: LogLevel,
  bindings: Record<string, unknown> = {},
  options: LoggerOptions = {},
): Logger {
  const format = resolveLogFormat(
    options.format ?? 'auto',
    options.isTerminal ?? Boolean(process.stderr.isTTY),
  );
  const out = options.destination ?? destination(2);
  const stream =
    format === 'pretty'
      ? prettyStream(
          (options.loadPretty ?? requirePretty)(),
          out,
          options.isTerminal ?? Boolean(process.stderr.isTTY),
        )
      : (out as DestinationStream);
  return pino(
    {
      level,
      base: { service: 'urp-case-sync', ...bindings },
      redact: { paths: REDACT_PATHS },
      timestamp: stdTimeFunctions.isoTime,
    },
    stream,
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
