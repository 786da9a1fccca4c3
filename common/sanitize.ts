/**
 * Error text that may safely leave the process (dead letters): an arbitrary exception's message can quote the
 * data that made it fail (`Unexpected token 'x', "{"ssn":..." is not valid JSON`), so only a sanitized form of it
 * is ever written anywhere.
 */

/** Longest run of characters without a space that survives {@link sanitizeErrorMessage}. */
const MAX_TOKEN = 19;
/** Default cap of a sanitized message. */
export const MAX_ERROR_MESSAGE_LENGTH = 200;
const QUOTES = new Set(['"', "'", '`']);
const ELLIPSIS = '…';

/** Cuts `text` to at most `max` characters, marking the cut with an ellipsis. */
export function capLength(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}${ELLIPSIS}`;
}

/** Longest part of a message that is looked at (the rest is dropped before sanitizing). */
const MAX_INPUT = 10_000;

/**
 * The message with every quoted substring removed (", ' and `: everything from the first quote character to the
 * last one, whatever their kinds, since V8 quotes input that itself holds quotes and apostrophes, as in
 * `"{"name":"O'Brien"}"`; if a quote character occurs an odd number of times, one is never closed, and everything
 * from the first quote on is removed), every run of 20 or more characters without a space cut out (replaced by
 * "…": long tokens are ids, e-mail addresses, encoded data), whitespace collapsed, and the whole capped at `max`
 * characters. Linear in the input; never throws.
 */
export function sanitizeErrorMessage(message: string, max = MAX_ERROR_MESSAGE_LENGTH): string {
  const text = String(message).slice(0, MAX_INPUT);
  let first = -1;
  let last = -1;
  const counts = new Map<string, number>();
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (!QUOTES.has(c)) continue;
    counts.set(c, (counts.get(c) ?? 0) + 1);
    if (first < 0) first = i;
    last = i;
  }
  // An odd count of a quote character: one is never closed, so everything after the first quote may be quoted.
  const unclosed = [...counts.values()].some((n) => n % 2 === 1);
  const unquoted =
    first < 0 ? text : unclosed ? text.slice(0, first) : `${text.slice(0, first)} ${text.slice(last + 1)}`;
  const tokens = unquoted
    .split(/\s+/)
    .filter((t) => t !== '')
    .map((t) => (t.length > MAX_TOKEN ? ELLIPSIS : t));
  return capLength(tokens.join(' '), max);
}

/** An error's name if it is an identifier of at most 64 characters (a class name), else "Error". */
function safeName(name: unknown): string {
  return typeof name === 'string' && /^[A-Za-z_$][\w$]{0,63}$/.test(name) ? name : 'Error';
}

/** `<ErrorName>[: sanitized message]` of anything thrown; never throws. */
export function describeError(error: unknown, max = MAX_ERROR_MESSAGE_LENGTH): string {
  try {
    if (error instanceof Error) {
      const name = safeName(error.name);
      const message = sanitizeErrorMessage(String(error.message), max);
      return capLength(message === '' ? name : `${name}: ${message}`, max);
    }
    return error === null ? 'null thrown' : `${typeof error} thrown`;
  } catch {
    return 'unreadable error';
  }
}

/** The error's name only (for log lines, which never carry error messages); never throws. */
export function errorName(error: unknown): string {
  try {
    if (error instanceof Error) return safeName(error.name);
    return error === null ? 'null' : typeof error;
  } catch {
    return 'unknown';
  }
}
