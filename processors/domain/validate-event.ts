/**
 * Raw record value -> a valid, normalised, redacted {@link CaseEvent}, or the reason it is not one (the
 * dead-letter category, a message naming the field and the rule, and whatever could be read of it). Never
 * throws: every input has exactly one outcome.
 */
import type { CaseEvent, DlqCategory } from './event-contract.js';
import { EVENT_TYPES } from './event-contract.js';
import { pickAllowed, redactParsed } from './redact.js';
import { mapStatus, type StatusMapping } from './statuses.js';

export interface ValidationConfig {
  readonly statusMapping: StatusMapping;
  readonly attributeAllowlist: ReadonlySet<string>;
}

export type ParseOutcome =
  | { readonly ok: true; readonly event: CaseEvent }
  | {
      readonly ok: false;
      readonly category: Exclude<DlqCategory, 'UNRESOLVED_CORRELATION'>;
      readonly message: string;
      readonly field?: string;
      readonly eventId: string | null;
      /** The parsed value, redacted (undefined when it was not JSON). */
      readonly redacted: unknown;
      /** The raw text when it was not JSON (for the DLQ payload). */
      readonly text?: string;
    };

const ID = /^[A-Za-z0-9._:-]{1,128}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

class Invalid extends Error {
  constructor(
    readonly category: Exclude<DlqCategory, 'UNRESOLVED_CORRELATION' | 'INVALID_JSON'>,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function obj(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new Invalid('SCHEMA_INVALID', field, `${field} must be an object`);
  }
  return v as Record<string, unknown>;
}

function idField(o: Record<string, unknown>, name: string, path: string): string {
  const v = o[name];
  if (v === undefined || v === null || v === '')
    throw new Invalid('SCHEMA_INVALID', path, `${path} is required`);
  if (typeof v !== 'string' || !ID.test(v)) {
    throw new Invalid(
      'SCHEMA_INVALID',
      path,
      `${path} must be 1-128 characters of letters, digits, ".", "_", ":" or "-"`,
    );
  }
  return v;
}

/** Epoch ms of an ISO-8601 date-time with a zone, or NaN. */
export function isoTimeMs(v: unknown): number {
  return typeof v === 'string' && ISO.test(v) ? Date.parse(v) : NaN;
}

export const ISO_TIME_RULE = 'must be an ISO-8601 date-time with a zone (e.g. 2026-01-31T12:00:00Z)';

function timeField(o: Record<string, unknown>, name: string, path: string): { text: string; ms: number } {
  const v = o[name];
  if (v === undefined || v === null) throw new Invalid('SCHEMA_INVALID', path, `${path} is required`);
  const ms = isoTimeMs(v);
  if (!Number.isFinite(ms)) throw new Invalid('SCHEMA_INVALID', path, `${path} ${ISO_TIME_RULE}`);
  return { text: v as string, ms };
}

function textField(
  o: Record<string, unknown>,
  name: string,
  path: string,
  max: number,
  required: boolean,
): string | undefined {
  const v = o[name];
  if (v === undefined || v === null) {
    if (required) throw new Invalid('SCHEMA_INVALID', path, `${path} is required`);
    return undefined;
  }
  if (typeof v !== 'string' || v.length === 0 || v.length > max) {
    throw new Invalid('SCHEMA_INVALID', path, `${path} must be a string of 1-${max} characters`);
  }
  return v;
}

function statusField(o: Record<string, unknown>, name: string, path: string, mapping: StatusMapping) {
  const raw = textField(o, name, path, 64, true)!;
  const status = mapStatus(raw, mapping);
  if (!status) {
    throw new Invalid(
      'UNKNOWN_STATUS',
      path,
      `${path} ${JSON.stringify(raw)} is not a known status and STATUS_MAPPING does not map it`,
    );
  }
  return status;
}

export function parseCaseEvent(value: Buffer | null, config: ValidationConfig): ParseOutcome {
  if (value === null || value.length === 0) {
    return {
      ok: false,
      category: 'INVALID_JSON',
      message: 'the record has no value',
      eventId: null,
      redacted: undefined,
    };
  }
  let text: string;
  try {
    text = utf8.decode(value);
  } catch {
    return {
      ok: false,
      category: 'INVALID_JSON',
      message: 'the value is not valid UTF-8',
      eventId: null,
      redacted: undefined,
    };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return {
      ok: false,
      category: 'INVALID_JSON',
      message: `the value is not JSON: ${(err as Error).message}`,
      eventId: null,
      redacted: undefined,
      text,
    };
  }
  const redacted = redactParsed(parsed, config.attributeAllowlist);
  const rawId = (parsed as { eventId?: unknown } | null)?.eventId;
  const eventId = typeof rawId === 'string' && ID.test(rawId) ? rawId : null;
  try {
    return { ok: true, event: normalize(parsed, config) };
  } catch (err) {
    if (!(err instanceof Invalid)) throw err;
    return { ok: false, category: err.category, message: err.message, field: err.field, eventId, redacted };
  }
}

function normalize(parsed: unknown, config: ValidationConfig): CaseEvent {
  const e = obj(parsed, 'event');
  const type = e.eventType;
  if (typeof type !== 'string' || type === '')
    throw new Invalid('SCHEMA_INVALID', 'eventType', 'eventType is required');
  if (!(EVENT_TYPES as readonly string[]).includes(type)) {
    throw new Invalid(
      'UNKNOWN_EVENT_TYPE',
      'eventType',
      `eventType ${JSON.stringify(type.slice(0, 64))} is not one of ${EVENT_TYPES.join(', ')}`,
    );
  }
  const eventId = idField(e, 'eventId', 'eventId');
  const eventTime = timeField(e, 'eventTime', 'eventTime');
  const source = textField(e, 'source', 'source', 128, true)!;
  const p = obj(e.payload, 'payload');
  const ucmCaseId = idField(p, 'ucmCaseId', 'payload.ucmCaseId');
  const base = { eventId, eventTime: eventTime.text, eventMs: eventTime.ms, source, ucmCaseId };
  if (type === 'CASE_CREATED') {
    const urpCaseId = idField(p, 'urpCaseId', 'payload.urpCaseId');
    const status = statusField(p, 'initialStatus', 'payload.initialStatus', config.statusMapping);
    const createdAt = timeField(p, 'createdAt', 'payload.createdAt');
    if (p.extraAttributes !== undefined && p.extraAttributes !== null)
      obj(p.extraAttributes, 'payload.extraAttributes');
    return {
      ...base,
      eventType: 'CASE_CREATED',
      urpCaseId,
      status,
      businessTime: createdAt.text,
      businessMs: createdAt.ms,
      attributes: pickAllowed(p.extraAttributes, config.attributeAllowlist),
    };
  }
  const urpCaseId =
    p.urpCaseId === undefined || p.urpCaseId === null
      ? undefined
      : idField(p, 'urpCaseId', 'payload.urpCaseId');
  const oldStatus =
    p.oldStatus === null ? null : statusField(p, 'oldStatus', 'payload.oldStatus', config.statusMapping);
  const newStatus = statusField(p, 'newStatus', 'payload.newStatus', config.statusMapping);
  const changedAt = timeField(p, 'statusChangedAt', 'payload.statusChangedAt');
  return {
    ...base,
    eventType: 'CASE_STATUS_CHANGED',
    urpCaseId,
    oldStatus,
    newStatus,
    businessTime: changedAt.text,
    businessMs: changedAt.ms,
    reason: textField(p, 'reason', 'payload.reason', 1000, false),
  };
}
