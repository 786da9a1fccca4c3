/**
 * Browsing dead letters (pure, no Kafka): the filters an operator asks for (categories, a lastFailureAt window,
 * eventId, urpCaseId / ucmCaseId), newest first, paged with a stable cursor. Used by `urp-case-sync dlq list`
 * and `GET /dlq`, so both accept the same parameters with the same rules.
 *
 * Order: lastFailureAt descending, then partition and offset descending (a total order: every dead letter has one
 * `<partition>:<offset>` ref). The cursor is the ref of the last item of a page; the next page holds the matching
 * dead letters strictly after it in that order, so dead letters written meanwhile (newer) never shift a page.
 */
import { DLQ_CATEGORIES, type DlqCategory, type DlqRecord } from './event-contract.js';
import { ID_RULE, ISO_TIME_RULE, isoTimeMs, isValidId } from './field-rules.js';
import { idsOf } from './project.js';

/** One dead letter as read from the DLQ topic: where it is (`ref` = `<partition>:<offset>`) and its record. */
export interface DeadLetter {
  readonly ref: string;
  readonly partition: number;
  readonly offset: string;
  readonly record: DlqRecord;
}

/** What to show. Every given filter must match (AND); within `categories`, any one (OR). */
export interface DlqFilter {
  readonly categories?: readonly DlqCategory[];
  /** Inclusive lower bound of lastFailureAt (epoch ms). */
  readonly sinceMs?: number;
  /** Exclusive upper bound of lastFailureAt (epoch ms). */
  readonly untilMs?: number;
  /** The record's eventId, or its payload's. */
  readonly eventId?: string;
  /** The payload's `payload.urpCaseId`. */
  readonly urpCaseId?: string;
  /** The payload's `payload.ucmCaseId`. */
  readonly ucmCaseId?: string;
}

export interface DlqQuery extends DlqFilter {
  /** Page size, 1 to the caller's maximum. */
  readonly limit: number;
  /** Ref of the last item of the previous page; absent for the first page. */
  readonly cursor?: string;
}

/** A page, newest first; `nextCursor` is null on the last page. */
export interface DlqPage {
  readonly items: readonly DeadLetter[];
  readonly nextCursor: string | null;
}

export type DlqResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/** Largest page `GET /dlq` answers. */
export const MAX_DLQ_PAGE = 500;
export const DEFAULT_DLQ_PAGE = 50;

const REF = /^(\d{1,9}):(\d{1,19})$/;
export const REF_RULE = 'must be a dead-letter ref <partition>:<offset> (e.g. 3:1207)';

/** Parses a `<partition>:<offset>` ref. */
export function parseRef(
  name: string,
  raw: unknown,
): DlqResult<{ ref: string; partition: number; offset: string }> {
  const m = typeof raw === 'string' ? REF.exec(raw) : null;
  if (!m) return { ok: false, message: `${name} ${REF_RULE}` };
  const partition = Number(m[1]);
  const offset = BigInt(m[2]!).toString();
  return { ok: true, value: { ref: `${partition}:${offset}`, partition, offset } };
}

/** The raw parameters, as query strings or CLI flags carry them (lists comma-separated or repeated). */
export interface RawDlqQuery {
  readonly category?: unknown;
  readonly since?: unknown;
  readonly until?: unknown;
  readonly eventId?: unknown;
  readonly urpCaseId?: unknown;
  readonly ucmCaseId?: unknown;
  readonly limit?: unknown;
  readonly cursor?: unknown;
}

const given = (raw: unknown) => raw !== undefined && raw !== '';

/**
 * Validates raw parameters into a query; the failure names the parameter and the rule (never its value).
 * `limit` defaults to `defaultLimit` and must be 1..`maxLimit`.
 */
export function parseDlqQuery(
  raw: RawDlqQuery,
  bounds: { readonly defaultLimit: number; readonly maxLimit: number } = {
    defaultLimit: DEFAULT_DLQ_PAGE,
    maxLimit: MAX_DLQ_PAGE,
  },
): DlqResult<DlqQuery> {
  const fail = (message: string): DlqResult<DlqQuery> => ({ ok: false, message });
  const query: {
    -readonly [K in keyof DlqQuery]: DlqQuery[K];
  } = { limit: bounds.defaultLimit };

  if (given(raw.category)) {
    const parts = (Array.isArray(raw.category) ? raw.category : [raw.category])
      .flatMap((c) => (typeof c === 'string' ? c.split(',') : [null]))
      .map((c) => (typeof c === 'string' ? c.trim() : c))
      .filter((c) => c !== '');
    const known: readonly unknown[] = DLQ_CATEGORIES;
    if (parts.length === 0 || parts.some((c) => !known.includes(c))) {
      return fail(`category must be a comma-separated list of ${DLQ_CATEGORIES.join(', ')}`);
    }
    query.categories = [...new Set(parts as DlqCategory[])];
  }
  for (const name of ['since', 'until'] as const) {
    if (!given(raw[name])) continue;
    const ms = isoTimeMs(raw[name]);
    if (!Number.isFinite(ms)) return fail(`${name} ${ISO_TIME_RULE}`);
    query[name === 'since' ? 'sinceMs' : 'untilMs'] = ms;
  }
  if (query.sinceMs !== undefined && query.untilMs !== undefined && query.sinceMs >= query.untilMs) {
    return fail('since must be earlier than until');
  }
  for (const name of ['eventId', 'urpCaseId', 'ucmCaseId'] as const) {
    if (!given(raw[name])) continue;
    if (!isValidId(raw[name])) return fail(`${name} ${ID_RULE}`);
    query[name] = raw[name];
  }
  if (given(raw.limit)) {
    const n = typeof raw.limit === 'string' && /^\d{1,9}$/.test(raw.limit) ? Number(raw.limit) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > bounds.maxLimit) {
      return fail(`limit must be an integer between 1 and ${bounds.maxLimit}`);
    }
    query.limit = n;
  }
  if (given(raw.cursor)) {
    const cursor = parseRef('cursor', raw.cursor);
    if (!cursor.ok) return cursor;
    query.cursor = cursor.value.ref;
  }
  return { ok: true, value: query };
}

/** True when the dead letter passes every filter given. */
export function matchesDlqFilter(letter: DeadLetter, filter: DlqFilter): boolean {
  const r = letter.record;
  if (filter.categories && !filter.categories.includes(r.errorCategory)) return false;
  if (filter.sinceMs !== undefined || filter.untilMs !== undefined) {
    const at = isoTimeMs(r.lastFailureAt);
    if (!Number.isFinite(at)) return false;
    if (filter.sinceMs !== undefined && at < filter.sinceMs) return false;
    if (filter.untilMs !== undefined && at >= filter.untilMs) return false;
  }
  if (filter.eventId === undefined && filter.urpCaseId === undefined && filter.ucmCaseId === undefined) {
    return true;
  }
  const ids = idsOf(r.payload);
  if (filter.eventId !== undefined && r.eventId !== filter.eventId && ids.eventId !== filter.eventId) {
    return false;
  }
  if (filter.urpCaseId !== undefined && ids.urpCaseId !== filter.urpCaseId) return false;
  if (filter.ucmCaseId !== undefined && ids.ucmCaseId !== filter.ucmCaseId) return false;
  return true;
}

/** Newest first: lastFailureAt descending, then partition, then offset descending. */
export function compareNewestFirst(a: DeadLetter, b: DeadLetter): number {
  const ta = isoTimeMs(a.record.lastFailureAt);
  const tb = isoTimeMs(b.record.lastFailureAt);
  const at = Number.isFinite(ta) ? ta : -Infinity;
  const bt = Number.isFinite(tb) ? tb : -Infinity;
  if (at !== bt) return bt > at ? 1 : -1;
  if (a.partition !== b.partition) return b.partition - a.partition;
  const ao = BigInt(a.offset);
  const bo = BigInt(b.offset);
  return ao === bo ? 0 : bo > ao ? 1 : -1;
}

/**
 * One page of the dead letters matching `query`, newest first. Fails (a client error) only when the cursor names
 * no dead letter of `letters` (removed by retention since, or never one).
 */
export function queryDeadLetters(letters: Iterable<DeadLetter>, query: DlqQuery): DlqResult<DlqPage> {
  const all = [...letters];
  let after: DeadLetter | undefined;
  if (query.cursor !== undefined) {
    after = all.find((l) => l.ref === query.cursor);
    if (!after) {
      return {
        ok: false,
        message: 'cursor names no dead letter of the topic (removed by retention?); start again without it',
      };
    }
  }
  const matching = all
    .filter((l) => matchesDlqFilter(l, query) && (!after || compareNewestFirst(after, l) < 0))
    .sort(compareNewestFirst);
  const items = matching.slice(0, query.limit);
  const more = matching.length > items.length;
  return { ok: true, value: { items, nextCursor: more ? items.at(-1)!.ref : null } };
}
