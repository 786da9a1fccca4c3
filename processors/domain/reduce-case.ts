/**
 * The case reducer: `(state | undefined, event) -> outcome` (the new state and the event's history entry), pure
 * and deterministic (the processing time is an input). The history itself is the set of entries the reducer
 * returned, stored one per key and read through case-history.ts (newest `historyLimit` by order key, gap flags
 * computed over them). Rules:
 *  - dedupe: an eventId already applied to the case changes nothing (remembered for `dedupeRetentionMs` of event
 *    time behind the newest event of the case, and at most `dedupeMaxIds` ids per case: the newest by event time,
 *    ties by eventId, so memory is bounded however many events a case receives);
 *  - order: current status / statusChangedAt / ucmCaseId come from the accepted event with the greatest order key
 *    (order-key.ts); a late event joins the history without regressing anything;
 *  - a status change may precede its CASE_CREATED: the case exists with what is known, createdAt and attributes
 *    are filled in when CASE_CREATED arrives;
 *  - 1:N: every linked UCM case keeps its own latest status (by its own events' order keys);
 *  - gaps: a status change whose oldStatus differs from the status its UCM case had just before it (in order-key
 *    order) is flagged in the history, not rejected.
 * Any permutation of a set of events, with any duplicates, reduces to the same state and set of history entries
 * (tested) as long as the case stays within the dedupe bounds (beyond them a re-delivered old event can apply
 * again: its history entry is the same key and value, written again).
 */
import { compareOrderKeys, type OrderKey } from './order-key.js';
import type { CaseEvent, HistoryEntry } from './event-contract.js';
import type { Status } from './statuses.js';

/** What a case remembers about one linked UCM case. */
export interface UcmCaseState {
  readonly ucmCaseId: string;
  readonly status: Status;
  readonly statusChangedAt: string;
  /** Order key of the event that set `status`. */
  readonly key: OrderKey;
  readonly createdAt: string | null;
  /** Order key of the CASE_CREATED that set createdAt (the greatest, if several). */
  readonly createdKey: OrderKey | null;
  readonly attributes: Readonly<Record<string, unknown>>;
  /**
   * The statuses of this UCM case's newest applied events (at most {@link TRAIL_MAX}, oldest first, one per order
   * key): what a late event's gap is computed from without reading the history (case-history.ts, `trailGaps`).
   * Absent when the UCM case was first stored by a version without it: then it is never started (it would be
   * incomplete), and late events read the history.
   */
  readonly trail?: readonly TrailStep[];
}

/**
 * One step of a UCM case's trail: the event's order key, the status it set, and, for a status change only, the
 * oldStatus it claimed (a fifth element, possibly null). A CASE_CREATED has four elements.
 */
export type TrailStep =
  | readonly [businessMs: number, eventMs: number, eventId: string, newStatus: Status]
  | readonly [
      businessMs: number,
      eventMs: number,
      eventId: string,
      newStatus: Status,
      oldStatus: Status | null,
    ];

/** Steps a UCM case's trail keeps: a late event older than all of them (in a longer trail) reads the history. */
export const TRAIL_MAX = 8;

/** An applied event still inside the dedupe window: its eventId and eventTime (ms). */
export type SeenEvent = readonly [eventId: string, eventMs: number];

/**
 * The stored state of one URP case (value of the `cases` store). Ids are array elements, never property names:
 * objects keyed by ids (each with its own set of property names) cost V8 a hidden class per object, and msgpack a
 * slow path per decode (case-state.ts reads the object-keyed form an earlier version stored).
 */
export interface CaseState {
  readonly urpCaseId: string;
  /** The linked UCM cases, in ucmCaseId (string) order. */
  readonly ucmCases: readonly UcmCaseState[];
  /**
   * The accepted event with the greatest order key; `runId`: the operator run that published it (null or absent
   * (state written by an older version) when it was live).
   */
  readonly latest: {
    readonly key: OrderKey;
    readonly ucmCaseId: string;
    readonly eventTime: string;
    readonly runId?: string | null;
  };
  /** The applied events still inside the dedupe window, in eventId (string) order. */
  readonly seen: readonly SeenEvent[];
  readonly eventCount: number;
  readonly updatedAt: string;
  /**
   * History entries stored one per key for this case, at most (re-applied events and pruning make it an upper
   * bound; pruning counts again). Absent in a state written by a version that kept the history as one array
   * under the case's key: that array is moved to per-entry keys the next time the case changes.
   */
  readonly historySize?: number;
}

/**
 * History entry plus its order key (stored; the key is not part of the public entry). `gap` is computed when the
 * history is read (case-history.ts), over the entries kept; a stored value's flag is not used.
 */
export interface StoredHistoryEntry extends HistoryEntry {
  readonly key: OrderKey;
}

export interface ReduceOptions {
  readonly nowMs: number;
  readonly dedupeRetentionMs: number;
  /** Max eventIds remembered per case for dedupe (the newest by event time, then eventId, are kept). */
  readonly dedupeMaxIds: number;
}

export type ReduceOutcome =
  | { readonly outcome: 'duplicate' }
  | {
      readonly outcome: 'applied';
      readonly state: CaseState;
      /** The event's history entry. */
      readonly entry: StoredHistoryEntry;
    };

const keyOf = (e: CaseEvent): OrderKey => ({
  businessMs: e.businessMs,
  eventMs: e.eventMs,
  eventId: e.eventId,
});

function historyEntry(e: CaseEvent): StoredHistoryEntry {
  const created = e.eventType === 'CASE_CREATED';
  return {
    eventId: e.eventId,
    eventType: e.eventType,
    ucmCaseId: e.ucmCaseId,
    oldStatus: created ? null : e.oldStatus,
    newStatus: created ? e.status : e.newStatus,
    businessTime: e.businessTime,
    eventTime: e.eventTime,
    source: e.source,
    reason: created ? null : (e.reason ?? null),
    gap: false,
    runId: e.run?.id ?? null,
    runKind: e.run?.kind ?? null,
    key: keyOf(e),
  };
}

/** The step order: the order key's (compareOrderKeys). */
export function compareStepToKey(step: TrailStep, key: OrderKey): number {
  if (step[0] !== key.businessMs) return step[0] - key.businessMs;
  if (step[1] !== key.eventMs) return step[1] - key.eventMs;
  return step[2] < key.eventId ? -1 : step[2] > key.eventId ? 1 : 0;
}

/** The trail with the event's step in its place (replacing a step of the same key), newest TRAIL_MAX kept. */
function withStep(trail: readonly TrailStep[], e: CaseEvent, key: OrderKey): TrailStep[] {
  const step: TrailStep =
    e.eventType === 'CASE_CREATED'
      ? [key.businessMs, key.eventMs, key.eventId, e.status]
      : [key.businessMs, key.eventMs, key.eventId, e.newStatus, e.oldStatus];
  let at = trail.length;
  while (at > 0 && compareStepToKey(trail[at - 1]!, key) > 0) at--;
  const same = at > 0 && compareStepToKey(trail[at - 1]!, key) === 0;
  const next = [...trail.slice(0, same ? at - 1 : at), step, ...trail.slice(at)];
  return next.length > TRAIL_MAX ? next.slice(next.length - TRAIL_MAX) : next;
}

function applyToUcmCase(prev: UcmCaseState | undefined, e: CaseEvent): UcmCaseState {
  const key = keyOf(e);
  const status = e.eventType === 'CASE_CREATED' ? e.status : e.newStatus;
  const newer = !prev || compareOrderKeys(key, prev.key) > 0;
  // Overwrite-only spreads (a spread followed by new properties is V8's slow path).
  let next: UcmCaseState = prev
    ? prev.trail
      ? { ...prev, trail: withStep(prev.trail, e, key) }
      : prev
    : {
        ucmCaseId: e.ucmCaseId,
        status,
        statusChangedAt: e.businessTime,
        key,
        createdAt: null,
        createdKey: null,
        attributes: {},
        trail: withStep([], e, key),
      };
  if (newer) next = { ...next, status, statusChangedAt: e.businessTime, key };
  if (e.eventType === 'CASE_CREATED' && (!next.createdKey || compareOrderKeys(key, next.createdKey) > 0)) {
    next = { ...next, createdAt: e.businessTime, createdKey: key, attributes: e.attributes };
  }
  return next;
}

/** The index of `id` in `items` ordered by `idOf` (string order), or -(insertion point) - 1. */
function search<T>(items: readonly T[], id: string, idOf: (item: T) => string): number {
  let lo = 0;
  let hi = items.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = idOf(items[mid]!);
    if (at < id) lo = mid + 1;
    else if (at > id) hi = mid - 1;
    else return mid;
  }
  return -lo - 1;
}

const seenId = (s: SeenEvent) => s[0];
const ucmId = (u: UcmCaseState) => u.ucmCaseId;

/** Whether the case has applied `eventId` (within the dedupe bounds). */
export function hasSeen(state: CaseState, eventId: string): boolean {
  return search(state.seen, eventId, seenId) >= 0;
}

/** The linked UCM case `ucmCaseId` of a case, if any. */
export function ucmCaseOf(state: CaseState, ucmCaseId: string): UcmCaseState | undefined {
  const at = search(state.ucmCases, ucmCaseId, ucmId);
  return at >= 0 ? state.ucmCases[at] : undefined;
}

/** `items` (ordered by `idOf`) with `item` in its place, replacing the one of the same id. */
function withItem<T>(items: readonly T[], item: T, idOf: (item: T) => string): T[] {
  const at = search(items, idOf(item), idOf);
  const next = items.slice();
  if (at >= 0) next[at] = item;
  else next.splice(-at - 1, 0, item);
  return next;
}

/**
 * The dedupe memory after `event`: ids within `dedupeRetentionMs` of event time behind the newest event, then at
 * most `dedupeMaxIds` of them, the newest by event time (ties: the greater eventId), so the result depends on the
 * set of events only, not their order. No spread of the values (a large set must not overflow the argument
 * stack).
 */
function rememberSeen(before: readonly SeenEvent[], event: CaseEvent, opts: ReduceOptions): SeenEvent[] {
  let newestEventMs = event.eventMs;
  for (const [, ms] of before) if (ms > newestEventMs) newestEventMs = ms;
  const horizon = newestEventMs - opts.dedupeRetentionMs;
  const kept = withItem(
    before.filter(([, ms]) => ms >= horizon),
    [event.eventId, event.eventMs],
    seenId,
  );
  if (kept.length <= opts.dedupeMaxIds) return kept;
  const newest = kept
    .slice()
    .sort(([a, am], [b, bm]) => bm - am || (a < b ? 1 : a > b ? -1 : 0))
    .slice(0, Math.max(0, opts.dedupeMaxIds));
  return newest.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function reduceCase(
  state: CaseState | undefined,
  event: CaseEvent,
  urpCaseId: string,
  opts: ReduceOptions,
): ReduceOutcome {
  if (state && hasSeen(state, event.eventId)) return { outcome: 'duplicate' };
  const key = keyOf(event);
  const prev = state && ucmCaseOf(state, event.ucmCaseId);
  const ucmCases = withItem(state?.ucmCases ?? [], applyToUcmCase(prev, event), ucmId);
  const latest =
    !state || compareOrderKeys(key, state.latest.key) > 0
      ? { key, ucmCaseId: event.ucmCaseId, eventTime: event.eventTime, runId: event.run?.id ?? null }
      : state.latest;
  const seen = rememberSeen(state?.seen ?? [], event, opts);
  return {
    outcome: 'applied',
    state: {
      urpCaseId,
      ucmCases,
      latest,
      seen,
      eventCount: (state?.eventCount ?? 0) + 1,
      updatedAt: new Date(opts.nowMs).toISOString(),
      historySize: (state?.historySize ?? 0) + 1,
    },
    entry: historyEntry(event),
  };
}
