/**
 * Data minimisation by projection (ADR 0003): whatever is stored, forwarded or dead-lettered is BUILT from the
 * contract's known fields, each kept only if it has its contract type and bounds, plus allowlisted
 * `extraAttributes`; nothing is copied from the input and then trimmed. Unknown fields, non-allowlisted
 * attributes and wrong-typed values therefore never travel, whatever their name.
 *
 * Every function here takes any value (parsed JSON of any shape, a decoded store or repartition value) and never
 * throws on its shape. Inputs must be bounded (validate-event.ts checks size, depth and string lengths first).
 */
import { hash } from 'node:crypto';
import { EVENT_TYPES, type CaseEvent } from './event-contract.js';
import { isoTimeMs, isValidId } from './field-rules.js';
import { isStatus } from './statuses.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const validTime = (v: unknown): v is string => Number.isFinite(isoTimeMs(v));
const boundedText = (v: unknown, max: number): v is string =>
  typeof v === 'string' && v.length >= 1 && v.length <= max;
const isEventType = (v: unknown): v is string =>
  typeof v === 'string' && (EVENT_TYPES as readonly string[]).includes(v);

/** Longest status string a projection keeps (the contract's bound of UCM statuses). */
export const MAX_STATUS_LENGTH = 64;

/** The allowlisted subset of an attributes object (non-objects give {}). */
export function pickAllowed(attributes: unknown, allowlist: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!isObject(attributes)) return out;
  for (const [key, value] of Object.entries(attributes)) if (allowlist.has(key)) out[key] = value;
  return out;
}

/**
 * The UCM envelope of a normalised event: a valid UCMv2 event again (statuses as normalised, extraAttributes
 * already reduced to the allowlist), enough to replay it.
 */
export function toEnvelope(event: CaseEvent): Json {
  const base = { eventId: event.eventId, eventType: event.eventType, eventTime: event.eventTime };
  if (event.eventType === 'CASE_CREATED') {
    return {
      ...base,
      source: event.source,
      payload: {
        ucmCaseId: event.ucmCaseId,
        urpCaseId: event.urpCaseId,
        initialStatus: event.status,
        createdAt: event.businessTime,
        ...(Object.keys(event.attributes ?? {}).length > 0 ? { extraAttributes: event.attributes } : {}),
      },
    };
  }
  return {
    ...base,
    source: event.source,
    payload: {
      ucmCaseId: event.ucmCaseId,
      ...(event.urpCaseId !== undefined ? { urpCaseId: event.urpCaseId } : {}),
      oldStatus: event.oldStatus,
      newStatus: event.newStatus,
      statusChangedAt: event.businessTime,
      ...(event.reason !== undefined ? { reason: event.reason } : {}),
    },
  };
}

/** The valid ids of a parsed event of any shape (each only if it matches the id pattern). */
export interface EventIds {
  readonly eventId?: string;
  readonly ucmCaseId?: string;
  readonly urpCaseId?: string;
}

export function idsOf(parsed: unknown): EventIds {
  if (!isObject(parsed)) return {};
  const payload = isObject(parsed.payload) ? parsed.payload : {};
  return {
    ...(isValidId(parsed.eventId) ? { eventId: parsed.eventId } : {}),
    ...(isValidId(payload.ucmCaseId) ? { ucmCaseId: payload.ucmCaseId } : {}),
    ...(isValidId(payload.urpCaseId) ? { urpCaseId: payload.urpCaseId } : {}),
  };
}

/**
 * Identifiers only (dead letters whose bytes are wrong): eventId, eventType (a known type), eventTime (a valid
 * ISO time), payload.ucmCaseId and payload.urpCaseId, each only if valid.
 */
export function projectIdentifiers(parsed: unknown): Json {
  if (!isObject(parsed)) return {};
  const ids = idsOf(parsed);
  const payload = {
    ...(ids.ucmCaseId !== undefined ? { ucmCaseId: ids.ucmCaseId } : {}),
    ...(ids.urpCaseId !== undefined ? { urpCaseId: ids.urpCaseId } : {}),
  };
  return {
    ...(ids.eventId !== undefined ? { eventId: ids.eventId } : {}),
    ...(isEventType(parsed.eventType) ? { eventType: parsed.eventType } : {}),
    ...(validTime(parsed.eventTime) ? { eventTime: parsed.eventTime } : {}),
    ...(Object.keys(payload).length > 0 ? { payload } : {}),
  };
}

/**
 * The contract's known fields of a parsed event of any shape (replay-eligible dead letters), each only if it has
 * its contract type and bounds: ids by the id pattern, times as ISO-8601 with a zone, statuses as strings of at
 * most 64 characters (oldStatus may be null; with `statuses: 'vocabulary'` only statuses of the vocabulary),
 * source (1-128) and reason (1-1000) as strings, extraAttributes reduced to the allowlist.
 */
export function projectKnownFields(
  parsed: unknown,
  allowlist: ReadonlySet<string>,
  statuses: 'any' | 'vocabulary' = 'any',
): Json {
  if (!isObject(parsed)) return {};
  const out: Json = projectIdentifiers(parsed);
  if (boundedText(parsed.source, 128)) out.source = parsed.source;
  if (!isObject(parsed.payload)) return out;
  const p = parsed.payload;
  const payload: Json = { ...((out.payload as Json | undefined) ?? {}) };
  const status = (v: unknown) => boundedText(v, MAX_STATUS_LENGTH) && (statuses === 'any' || isStatus(v));
  for (const name of ['initialStatus', 'newStatus'] as const) if (status(p[name])) payload[name] = p[name];
  if (p.oldStatus === null || status(p.oldStatus)) payload.oldStatus = p.oldStatus;
  for (const name of ['createdAt', 'statusChangedAt'] as const) {
    if (validTime(p[name])) payload[name] = p[name];
  }
  if (boundedText(p.reason, 1000)) payload.reason = p.reason;
  if (isObject(p.extraAttributes)) payload.extraAttributes = pickAllowed(p.extraAttributes, allowlist);
  if (Object.keys(payload).length > 0) out.payload = payload;
  return out;
}

/**
 * The known fields of something that should be a normalised event (a decoded repartition or store value): its
 * envelope, re-projected so that a malformed value yields only what is well-typed (statuses only from the
 * vocabulary, as a normalised event has). Undefined if nothing is.
 */
export function projectEventLike(
  event: unknown,
  allowlist: ReadonlySet<string>,
  urpCaseId?: string,
): Json | undefined {
  try {
    if (!isObject(event)) return undefined;
    const withUrp =
      urpCaseId !== undefined && event.urpCaseId === undefined ? { ...event, urpCaseId } : event;
    const projected = projectKnownFields(
      toEnvelope(withUrp as unknown as CaseEvent),
      allowlist,
      'vocabulary',
    );
    return Object.keys(projected).length > 0 ? projected : undefined;
  } catch {
    return undefined;
  }
}

/** sha256 (hex) of bytes. */
export function sha256Hex(bytes: Buffer): string {
  return hash('sha256', bytes, 'hex');
}

/** A record key as carried onward: the key itself only if it is one of the event's validated ids. */
export interface MinimisedKey {
  /** UTF-8 of the key when it equals one of the ids; otherwise null. */
  readonly key: string | null;
  /** sha256 (hex) of the key bytes when `key` is null but there was a key. */
  readonly keyHash?: string;
}

/** Keeps the key only when it equals (UTF-8) one of `ids`; otherwise its sha256. A null key stays null. */
export function minimiseKey(key: Buffer | string | null, ids: EventIds): MinimisedKey {
  if (key === null) return { key: null };
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  const text = bytes.toString('utf8');
  const known = [ids.eventId, ids.ucmCaseId, ids.urpCaseId].some((id) => id !== undefined && id === text);
  return known ? { key: text } : { key: null, keyHash: sha256Hex(bytes) };
}
