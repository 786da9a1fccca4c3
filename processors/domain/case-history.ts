/**
 * A case's history, stored one entry per key in the `case-history` store: `<urpCaseId>|<order code>`, where the
 * order code sorts like the order key (fixed-width business and event times, then the eventId; ids never contain
 * "|", and are ASCII, so byte order is string order). A case's entries are one prefix scan, in order. The
 * changelog carries one entry per applied event instead of the whole history each time.
 *
 * What a reader sees is {@link materialiseHistory}: the newest `limit` entries by order key, with gap flags
 * computed over them, so any permutation of the same events gives the same history. The store may hold a few
 * more than `limit` per case between prunes ({@link pruneDue}).
 *
 * A version before this one kept the whole history as one array under the key `<urpCaseId>`: {@link isLegacyKey}.
 */
import type { ReadOnlyKeyValueStore } from '../../stores/contracts.js';
import {
  compareStepToKey,
  TRAIL_MAX,
  ucmCaseOf,
  type CaseState,
  type StoredHistoryEntry,
  type TrailStep,
} from './reduce-case.js';
import { compareOrderKeys, type OrderKey } from './order-key.js';
import type { Status } from './statuses.js';

export const HISTORY_SEPARATOR = '|';
/** Epoch ms are shifted by the largest Date range so that every code is a non-negative 17-digit number. */
const MS_SHIFT = 8.64e15;
const msCode = (ms: number) => String(Math.trunc(ms) + MS_SHIFT).padStart(17, '0');

/** The key of one history entry. */
export function historyKey(urpCaseId: string, key: OrderKey): string {
  return `${urpCaseId}${HISTORY_SEPARATOR}${msCode(key.businessMs)}.${msCode(key.eventMs)}.${key.eventId}`;
}

/** The prefix of every entry of a case. */
export function historyPrefix(urpCaseId: string): string {
  return `${urpCaseId}${HISTORY_SEPARATOR}`;
}

/** A key written by the previous layout (the whole history as one array under the case's id). */
export function isLegacyKey(key: string): boolean {
  return !key.includes(HISTORY_SEPARATOR);
}

/** Recomputes gap flags: each status change against the previous entry of the same UCM case. */
function withGaps(entries: readonly StoredHistoryEntry[]): StoredHistoryEntry[] {
  const last = new Map<string, Status>();
  return entries.map((entry) => {
    const before = last.get(entry.ucmCaseId);
    last.set(entry.ucmCaseId, entry.newStatus);
    const gap =
      entry.eventType === 'CASE_STATUS_CHANGED' && before !== undefined && entry.oldStatus !== before;
    return gap === entry.gap ? entry : { ...entry, gap };
  });
}

/** What a reader sees: the newest `limit` entries by order key (one per key), oldest first, gaps flagged. */
export function materialiseHistory(
  entries: Iterable<StoredHistoryEntry>,
  limit: number,
): StoredHistoryEntry[] {
  const byKey = new Map<string, StoredHistoryEntry>();
  for (const e of entries) byKey.set(`${e.key.businessMs}.${e.key.eventMs}.${e.key.eventId}`, e);
  const sorted = [...byKey.values()].sort((a, b) => compareOrderKeys(a.key, b.key));
  const kept = sorted.length > limit ? sorted.slice(sorted.length - limit) : sorted;
  return withGaps(kept);
}

/** Entries flagged as gaps in `after` that were not in `before` (the gap metric of one event). */
export function newGapCount(
  before: readonly StoredHistoryEntry[],
  after: readonly StoredHistoryEntry[],
): number {
  const flagged = new Set(before.filter((h) => h.gap).map((h) => h.eventId));
  return after.filter((h) => h.gap && !flagged.has(h.eventId)).length;
}

/** Whether every entry of the case, and one more, fit in the history limit (no entry drops out of what is read). */
function withinLimit(state: CaseState, limit: number): boolean {
  return state.historySize !== undefined && state.historySize + 1 <= limit;
}

/**
 * The gap this event makes when it comes after every earlier event of its UCM case (the common case): its
 * oldStatus against the status that case had. Undefined when it is late for its UCM case (inserting it can change
 * the flag of the entry after it), or when the case may be at its history limit (the entry before it may no longer
 * be among those read): then {@link trailGaps} or the stored history answers.
 */
export function inOrderGaps(
  state: CaseState | undefined,
  entry: StoredHistoryEntry,
  limit: number,
): number | undefined {
  const prev = state && ucmCaseOf(state, entry.ucmCaseId);
  // The first of its UCM case: nothing of that case before or after it to flag.
  if (prev === undefined) return 0;
  if (compareOrderKeys(entry.key, prev.key) <= 0 || !withinLimit(state!, limit)) return undefined;
  return entry.eventType === 'CASE_STATUS_CHANGED' && entry.oldStatus !== prev.status ? 1 : 0;
}

/**
 * The gaps a late event makes (one {@link inOrderGaps} cannot answer), from its UCM case's trail in the state:
 * inserting it between its neighbours P and S (same UCM case, order-key order) can flag itself (a status change
 * whose oldStatus is not P's status) and flag S (S's oldStatus against its own status instead of P's); nothing else
 * changes. Equal to {@link newGapCount} over the materialised history before and after, as long as every entry of
 * the case is within the history limit and the trail holds the neighbours. Undefined otherwise (the history must be
 * read): a state or UCM case without a trail, a case that may have reached its limit, the event older than a full
 * trail, or its order key already stored (an event applied again beyond the dedupe bounds).
 */
export function trailGaps(
  state: CaseState | undefined,
  entry: StoredHistoryEntry,
  limit: number,
): number | undefined {
  if (state === undefined || !withinLimit(state, limit)) return undefined;
  const trail = ucmCaseOf(state, entry.ucmCaseId)?.trail;
  if (trail === undefined) return undefined;
  let at = 0;
  while (at < trail.length && compareStepToKey(trail[at]!, entry.key) < 0) at++;
  if (at < trail.length && compareStepToKey(trail[at]!, entry.key) === 0) return undefined;
  if (at === 0 && trail.length >= TRAIL_MAX) return undefined;
  const before: TrailStep | undefined = trail[at - 1];
  const after: TrailStep | undefined = trail[at];
  let gaps = 0;
  if (entry.eventType === 'CASE_STATUS_CHANGED' && before !== undefined && entry.oldStatus !== before[3])
    gaps++;
  if (after !== undefined && after.length === 5) {
    const flaggedBefore = before !== undefined && after[4] !== before[3];
    if (after[4] !== entry.newStatus && !flaggedBefore) gaps++;
  }
  return gaps;
}

/**
 * Whether a case's stored entries should be pruned to `limit` now: only once they exceed it by a slack (a
 * quarter, at least 8), so that a prune (a prefix scan) happens once per that many events, not per event.
 */
export function pruneDue(historySize: number, limit: number): boolean {
  return historySize > limit + Math.max(8, Math.floor(limit / 4));
}

/**
 * A case's history as readers see it ({@link materialiseHistory}), from one copy of the history store: its
 * per-entry keys, or the array of the previous layout for a case not changed since. Undefined: no history.
 */
export async function readCaseHistory(
  store: ReadOnlyKeyValueStore<unknown, unknown>,
  urpCaseId: string,
  limit: number,
): Promise<StoredHistoryEntry[] | undefined> {
  const entries: StoredHistoryEntry[] = [];
  for await (const { value } of store.prefixScan(historyPrefix(urpCaseId))) {
    entries.push(value as StoredHistoryEntry);
  }
  if (entries.length === 0) {
    const legacy = await store.get(urpCaseId);
    if (!Array.isArray(legacy) || legacy.length === 0) return undefined;
    entries.push(...(legacy as StoredHistoryEntry[]));
  }
  return materialiseHistory(entries, limit);
}
