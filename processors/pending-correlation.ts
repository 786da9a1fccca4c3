/**
 * Layout of the `pending-correlation` store: three key spaces in one store, so that one changelog, one commit and
 * one savepoint cover them together (ADR 0007).
 *
 *   <ucmCaseId>|<eventId>                          the pending event {event, origin, sinceMs, dueMs}
 *   ~due|<dueMs, 16 digits>|<ucmCaseId>|<eventId>  the due index: expiry range-scans it up to the current time
 *   ~stream-time                                   the largest stream time the task has seen {streamTimeMs}
 *
 * Ids are 1-128 characters of [A-Za-z0-9._:-] (field-rules.ts `isValidId`): they never contain "|" and never
 * start with "~" (0x7E, above every id character). So a prefix scan of `<ucmCaseId>|` sees that UCM case's pending
 * events only, `range(undefined, "~")` the pending events only, and the due index sorts by due time (fixed width).
 *
 * Every value outside the first key space carries `sinceMs` far in the future: the previous version's expiry
 * scanned the whole store and dead-lettered every value whose `sinceMs` was not within the grace period, so after
 * a rollback it leaves these keys alone instead of dead-lettering each as PROCESSING_ERROR.
 */
export const DUE_PREFIX = '~due|';
/** Just above every key of the due index ("}" follows "|"). */
export const DUE_END = '~due}';
/** Just above every pending-event key (`<ucmCaseId>|<eventId>`). */
export const PENDING_KEYS_END = '~';
export const STREAM_TIME_KEY = '~stream-time';

/** Largest epoch ms a Date can render (year 275760): due times are clamped to [0, MAX_DUE_MS]. */
export const MAX_DUE_MS = 8.64e15;
const DIGITS = 16;
/** See the module comment: the previous version never expires a value with this `sinceMs`. */
const NEVER_DUE_FOR_PREVIOUS_VERSION = MAX_DUE_MS;

/** `<ucmCaseId>|<eventId>`: ids never contain "|", so a prefix scan of `<ucmCaseId>|` is exact. */
export const pendingKey = (ucmCaseId: string, eventId: string) => `${ucmCaseId}|${eventId}`;

const pad = (ms: number) => String(ms).padStart(DIGITS, '0');

/** The due-index key of the pending event stored under `key`, due at `dueMs`. */
export const dueKey = (dueMs: number, key: string) => `${DUE_PREFIX}${pad(dueMs)}|${key}`;

/** Exclusive upper bound of the due-index keys due at or before `ms`. */
export const dueKeysUpTo = (ms: number) =>
  `${DUE_PREFIX}${pad(Math.max(0, Math.min(MAX_DUE_MS, Math.floor(ms)) + 1))}`;

/** The due time and pending-event key a due-index key names; undefined for any other key. */
export function parseDueKey(key: string): { dueMs: number; key: string } | undefined {
  if (!key.startsWith(DUE_PREFIX) || key[DUE_PREFIX.length + DIGITS] !== '|') return undefined;
  const digits = key.slice(DUE_PREFIX.length, DUE_PREFIX.length + DIGITS);
  if (!/^\d+$/.test(digits)) return undefined;
  const rest = key.slice(DUE_PREFIX.length + DIGITS + 1);
  return rest.includes('|') ? { dueMs: Number(digits), key: rest } : undefined;
}

/** The value of a due-index key. */
export const DUE_MARKER: Readonly<{ sinceMs: number }> = Object.freeze({
  sinceMs: NEVER_DUE_FOR_PREVIOUS_VERSION,
});

/** The value of {@link STREAM_TIME_KEY}. */
export const streamTimeValue = (streamTimeMs: number) => ({
  streamTimeMs,
  sinceMs: NEVER_DUE_FOR_PREVIOUS_VERSION,
});

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isDueMs = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= MAX_DUE_MS;

/**
 * The due time a stored pending event carries, or undefined: an entry of the previous version (indexed by the
 * start-up pass, see pending-entries.ts and legacy-pending-entries.ts) or an unreadable one.
 */
export function storedDueMs(raw: unknown): number | undefined {
  return isObject(raw) && isDueMs(raw.dueMs) ? raw.dueMs : undefined;
}

/** The stream time stored under {@link STREAM_TIME_KEY}, or -1. */
export function storedStreamTime(raw: unknown): number {
  return isObject(raw) && isDueMs(raw.streamTimeMs) ? raw.streamTimeMs : -1;
}

/** `fromMs` + `graceMs`, clamped to the range of the due index. */
export function dueAfter(fromMs: number, graceMs: number): number {
  return Math.max(0, Math.min(MAX_DUE_MS, Math.floor(fromMs) + graceMs));
}
