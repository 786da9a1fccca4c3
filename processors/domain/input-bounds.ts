/**
 * The input bounds of ADR 0003 that need more than a comparison: the nesting depth of JSON text (found by a
 * linear scan before anything parses it), the longest string of a parsed value (keys included), and the position
 * of a JSON syntax error (without the parser's message, which quotes the input). None of these recurses, so no
 * input can overflow the stack here.
 */

/** Path segment standing for a key that is not a contract field (keys are input: they are never echoed). */
export const UNKNOWN_KEY = '*';

const ENVELOPE_FIELDS = new Set(['eventId', 'eventType', 'eventTime', 'source', 'payload']);
const PAYLOAD_FIELDS = new Set([
  'ucmCaseId',
  'urpCaseId',
  'initialStatus',
  'createdAt',
  'extraAttributes',
  'oldStatus',
  'newStatus',
  'statusChangedAt',
  'reason',
]);

/**
 * The path of `key` under `parent` for messages: contract fields (and allowlisted attribute keys) by name, any
 * other key as {@link UNKNOWN_KEY}.
 */
export function childPath(parent: string, key: string, allowlist: ReadonlySet<string>): string {
  let known: boolean;
  if (parent === '') known = ENVELOPE_FIELDS.has(key);
  else if (parent === 'payload') known = PAYLOAD_FIELDS.has(key);
  else if (parent === 'payload.extraAttributes') known = allowlist.has(key);
  else known = false;
  const segment = known ? key : UNKNOWN_KEY;
  return parent === '' ? segment : `${parent}.${segment}`;
}

/**
 * True when arrays and objects in `text` nest deeper than `max`. Counts `[` and `{` outside JSON strings
 * (escapes handled), so it works on any text, JSON or not, in one pass without recursion.
 */
export function nestingDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) {
      depth--;
    }
  }
  return false;
}

/** A string over the length bound: where it is (see {@link childPath}). */
export interface OverlongString {
  readonly field: string;
  /** Set when the string is a key: the path of the object holding it ("event" for the top level). */
  readonly keyIn?: string;
}

/**
 * The first string (object keys included) of a parsed JSON value longer than `max` UTF-16 code units, or
 * undefined. Iterative (an explicit stack), so the depth of the value does not matter.
 */
export function findOverlongString(
  value: unknown,
  max: number,
  allowlist: ReadonlySet<string>,
): OverlongString | undefined {
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.length > max) return { field: path === '' ? 'event' : path };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path === '' ? 'event' : path}[${i}]`]);
    } else if (typeof v === 'object' && v !== null) {
      const entries = Object.entries(v as Record<string, unknown>);
      for (const [k] of entries) {
        if (k.length > max)
          return { field: childPath(path, k, allowlist), keyIn: path === '' ? 'event' : path };
      }
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, child] = entries[i]!;
        stack.push([child, childPath(path, k, allowlist)]);
      }
    }
  }
  return undefined;
}

/**
 * Where JSON.parse stopped on `text`, from V8's message (only its trailing "in JSON at position N", never the
 * quoted input some messages carry); the end of the text for "Unexpected end of JSON input"; else undefined.
 */
export function syntaxErrorPosition(err: unknown, text: string): number | undefined {
  const message = err instanceof Error ? err.message : '';
  if (message === 'Unexpected end of JSON input') return text.length;
  const m = / in JSON at position (\d{1,10})(?: \(line \d+ column \d+\))?$/.exec(message);
  if (!m) return undefined;
  const position = Number(m[1]);
  return position <= text.length ? position : undefined;
}
