/**
 * Messages on the application's repartition topics (msgpack, JSON from versions before ADR 0006; see
 * {@link routedMessageSerde}): a validated event on its way to its case, an index entry ucmCaseId -> urpCaseId,
 * or an event that still needs its urpCaseId resolved. Each event carries where it came from, so a later
 * dead-letter record has full context. Events are normalised (contract fields and allowlisted attributes only)
 * and the origin carries no value and no key other than one of the event's ids: a dead letter rebuilds the event
 * from `event` (project.ts `toEnvelope`).
 */
import { compatSerde, type CompatLimits, type Serde } from '../topology/serde.js';
import type { CaseSyncSettings } from './domain/case-sync-settings.js';
import { runFromHeaders, RUN_HEADERS, type ReplayLineage } from './domain/dlq-record.js';
import type { CaseEvent, StatusChanged } from './domain/event-contract.js';
import { isoTimeMs, isValidId } from './domain/field-rules.js';
import { minimiseKey, type EventIds, type MinimisedKey } from './domain/project.js';
import { isStatus } from './domain/statuses.js';

export interface Origin {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** Original key as UTF-8 when it equals one of the event's validated ids; otherwise null. */
  readonly key: string | null;
  /** sha256 (hex) of the original key bytes when `key` is null but the record had a key. */
  readonly keyHash?: string;
  readonly payloadHash: string;
  /** Size of the original value in bytes. */
  readonly payloadSize?: number;
  /** Set when the record is a `dlq replay` of an earlier failure (see REPLAY_HEADERS). */
  readonly lineage?: ReplayLineage;
}

export type RoutedMessage =
  | { readonly kind: 'event'; readonly event: CaseEvent; readonly urpCaseId: string; readonly origin: Origin }
  | { readonly kind: 'index'; readonly ucmCaseId: string; readonly urpCaseId: string }
  | { readonly kind: 'resolve'; readonly event: StatusChanged; readonly origin: Origin };

/**
 * What a value on an internal topic may be, for its serde and for the record-error handler's salvage: the depth
 * of the input bound plus two (a message nests its event one level below the top; an origin's lineage is at depth
 * three), and 8 x MAX_RECORD_BYTES + 64 KiB. A message is its normalised event (a projection of an input of at
 * most MAX_RECORD_BYTES) plus an origin of well under 1 KiB; msgpack writes a short JSON number such as `9e9,` in
 * 9 bytes (2.25x) and JSON.stringify (the previous version) `1e20,` in 22 (4.4x): nothing we wrote comes near
 * the bound, which only stops a foreign value from costing more than a valid one.
 */
export function internalTopicLimits(settings: CaseSyncSettings): CompatLimits {
  return { maxDepth: settings.maxNestingDepth + 2, maxBytes: 8 * settings.maxRecordBytes + 65_536 };
}

/**
 * The serde of the repartition topics (by-urp, by-ucm, resolved): compact msgpack, reading the JSON of the
 * previous version too (a value starting with `{`), within {@link internalTopicLimits}. A value it cannot read
 * throws `USC_ERR_SERDE_FAILED` and becomes one PROCESSING_ERROR dead letter (record-error-handler.ts).
 */
export function routedMessageSerde(settings: CaseSyncSettings): Serde<RoutedMessage | null> {
  return compatSerde<RoutedMessage>(internalTopicLimits(settings));
}

/** A pending (unresolved) event in the correlation store. */
export interface PendingEvent {
  readonly event: StatusChanged;
  readonly origin: Origin;
  /** Wall-clock time it started waiting. */
  readonly sinceMs: number;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;
const HEX64 = /^[0-9a-f]{64}$/;
/** Largest epoch ms a Date can render (year 275760). */
const MAX_DATE_MS = 8.64e15;

/**
 * An {@link Origin} rebuilt from a decoded value of any shape (a repartition record, a store value, possibly
 * written by an older version): known fields only, each only if well-typed, the key minimised again against
 * `ids` (see project.ts `minimiseKey`). Undefined when the coordinates or the payload hash are unreadable. Never
 * throws.
 */
export function decodeOrigin(raw: unknown, ids: EventIds): Origin | undefined {
  if (!isObject(raw)) return undefined;
  const { topic, partition, offset, key, keyHash, payloadHash, payloadSize, lineage } = raw;
  if (typeof topic !== 'string' || !TOPIC.test(topic)) return undefined;
  if (typeof partition !== 'number' || !Number.isSafeInteger(partition) || partition < 0) return undefined;
  if (typeof offset !== 'string' || !/^\d{1,20}$/.test(offset)) return undefined;
  if (typeof payloadHash !== 'string' || !HEX64.test(payloadHash)) return undefined;
  const minimised =
    typeof key === 'string'
      ? minimiseKey(key, ids)
      : typeof keyHash === 'string' && HEX64.test(keyHash)
        ? { key: null, keyHash }
        : { key: null };
  let replay: ReplayLineage | undefined;
  if (isObject(lineage)) {
    const { retryCount, firstFailureMs } = lineage;
    if (typeof retryCount === 'number' && Number.isSafeInteger(retryCount) && retryCount > 0) {
      const first =
        typeof firstFailureMs === 'number' && Math.abs(firstFailureMs) <= MAX_DATE_MS
          ? firstFailureMs
          : undefined;
      replay = { retryCount, firstFailureMs: first };
    }
  }
  return makeOrigin(
    topic,
    partition,
    offset,
    minimised,
    payloadHash,
    typeof payloadSize === 'number' && Number.isSafeInteger(payloadSize) && payloadSize >= 0
      ? payloadSize
      : undefined,
    replay,
  );
}

/**
 * An {@link Origin} with only the fields that are set (an absent optional field is left out, not undefined).
 * Built field by field rather than with object spreads: V8 (Node 20) takes a slow path for a literal that spreads
 * one object and then adds properties (~5 us for an origin, once per valid event), see validate-event.ts.
 */
export function makeOrigin(
  topic: string,
  partition: number,
  offset: string,
  key: MinimisedKey,
  payloadHash: string,
  payloadSize?: number,
  lineage?: ReplayLineage,
): Origin {
  const origin: { -readonly [F in keyof Origin]: Origin[F] } =
    key.keyHash === undefined
      ? { topic, partition, offset, key: key.key, payloadHash }
      : { topic, partition, offset, key: key.key, keyHash: key.keyHash, payloadHash };
  if (payloadSize !== undefined) origin.payloadSize = payloadSize;
  if (lineage !== undefined) origin.lineage = lineage;
  return origin;
}

/** Thrown by {@link readPendingEvent} for a value that is not a pending event; names the field only. */
export class MalformedPendingEvent extends Error {
  constructor(field: string) {
    super(`pending entry field ${field} is missing or malformed`);
    this.name = 'MalformedPendingEvent';
  }
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const text = (v: unknown, max: number): v is string =>
  typeof v === 'string' && v.length >= 1 && v.length <= max;

/**
 * A pending event rebuilt from a decoded value (the pending store, or a `resolve` message): the normalised
 * status change's fields and the origin, nothing else (an older version's extra fields are dropped). Throws
 * {@link MalformedPendingEvent} naming the first field that is missing or mistyped.
 */
export function readPendingEvent(raw: unknown): PendingEvent {
  if (!isObject(raw)) throw new MalformedPendingEvent('(entry)');
  if (!finite(raw.sinceMs)) throw new MalformedPendingEvent('sinceMs');
  const e = raw.event;
  if (!isObject(e)) throw new MalformedPendingEvent('event');
  if (e.eventType !== 'CASE_STATUS_CHANGED') throw new MalformedPendingEvent('event.eventType');
  if (!isValidId(e.eventId)) throw new MalformedPendingEvent('event.eventId');
  if (!isValidId(e.ucmCaseId)) throw new MalformedPendingEvent('event.ucmCaseId');
  if (!Number.isFinite(isoTimeMs(e.eventTime)) || !finite(e.eventMs))
    throw new MalformedPendingEvent('event.eventTime');
  if (!Number.isFinite(isoTimeMs(e.businessTime)) || !finite(e.businessMs))
    throw new MalformedPendingEvent('event.businessTime');
  if (!text(e.source, 128)) throw new MalformedPendingEvent('event.source');
  if (!(typeof e.newStatus === 'string' && isStatus(e.newStatus)))
    throw new MalformedPendingEvent('event.newStatus');
  if (!(e.oldStatus === null || (typeof e.oldStatus === 'string' && isStatus(e.oldStatus))))
    throw new MalformedPendingEvent('event.oldStatus');
  if (!(e.reason === undefined || e.reason === null || text(e.reason, 1000)))
    throw new MalformedPendingEvent('event.reason');
  // The operator run that published it, re-validated like the record headers it came from.
  const run = isObject(e.run)
    ? runFromHeaders({ [RUN_HEADERS.runId]: str(e.run.id), [RUN_HEADERS.runKind]: str(e.run.kind) })
    : undefined;
  // A literal, `run` added after it (a leading conditional spread takes V8's slow path for every field after it).
  const event: { -readonly [F in keyof StatusChanged]: StatusChanged[F] } = {
    eventId: e.eventId,
    eventType: 'CASE_STATUS_CHANGED',
    eventTime: e.eventTime as string,
    eventMs: e.eventMs,
    source: e.source,
    ucmCaseId: e.ucmCaseId,
    businessTime: e.businessTime as string,
    businessMs: e.businessMs,
    urpCaseId: undefined,
    oldStatus: e.oldStatus,
    newStatus: e.newStatus,
    reason: typeof e.reason === 'string' ? e.reason : undefined,
  };
  if (run) event.run = run;
  const origin = decodeOrigin(raw.origin, { eventId: event.eventId, ucmCaseId: event.ucmCaseId });
  if (!origin) throw new MalformedPendingEvent('origin');
  return { event, origin, sinceMs: raw.sinceMs };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
