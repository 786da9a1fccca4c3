/** A logger that keeps every line (bindings, fields and message) as JSON text, for assertions on log content. */
import type { Logger } from '../../../topology/processor.js';

export interface CapturedLogger extends Logger {
  readonly lines: string[];
}

export function captureLogger(lines: string[] = [], bindings: Record<string, unknown> = {}): CapturedLogger {
  const write = (level: string) => (obj: object, msg?: string) => {
    lines.push(JSON.stringify({ level, ...bindings, ...obj, msg }));
  };
  return {
    lines,
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: (more) => captureLogger(lines, { ...bindings, ...more }),
  };
}
