/**
 * The contracts of the case-sync application, defined once: the UCMv2 event envelope (input), the normalised
 * event the topology passes between its processors, the case record (output topic value and API answer), the
 * history entry and the dead-letter record. The JSON Schemas here are published in docs/contracts/ (a test keeps
 * the files identical) and embedded in the API's OpenAPI document.
 */
import { ID_PATTERN } from '../../api/params.js';
import { STATUSES, type Status } from './statuses.js';

export const EVENT_TYPES = ['CASE_CREATED', 'CASE_STATUS_CHANGED'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Operator runs whose published records carry a run id (headers x-usc-run-id / x-usc-run-kind). */
export const RUN_KINDS = ['backfill', 'dlq-replay'] as const;
export type RunKind = (typeof RUN_KINDS)[number];
/** `bf-` (backfill) or `rp-` (dlq replay), a UTC timestamp and 8 random hex digits: bf-20260102T030405Z-0a1b2c3d. */
export const RUN_ID_PATTERN = '^(bf|rp)-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$';

/** The operator run that published an event (absent for live events). */
export interface RunRef {
  readonly id: string;
  readonly kind: RunKind;
}

/** Fields every normalised event has. Times are kept as sent (ISO-8601 with zone) plus epoch ms. */
interface EventBase {
  readonly eventId: string;
  readonly eventTime: string;
  readonly eventMs: number;
  readonly source: string;
  readonly ucmCaseId: string;
  /** Business time: createdAt / statusChangedAt. */
  readonly businessTime: string;
  readonly businessMs: number;
  /** Set when an operator run (backfill, dlq replay) published the record; absent for live events. */
  readonly run?: RunRef;
}

export interface CaseCreated extends EventBase {
  readonly eventType: 'CASE_CREATED';
  readonly urpCaseId: string;
  readonly status: Status;
  /** Allowlisted extraAttributes only. */
  readonly attributes: Readonly<Record<string, unknown>>;
}

export interface StatusChanged extends EventBase {
  readonly eventType: 'CASE_STATUS_CHANGED';
  /** May be missing: resolved through the ucmCaseId index. */
  readonly urpCaseId: string | undefined;
  readonly oldStatus: Status | null;
  readonly newStatus: Status;
  readonly reason: string | undefined;
}

/** A valid UCMv2 case event, normalised: contract fields and allowlisted attributes only. */
export type CaseEvent = CaseCreated | StatusChanged;

export interface UcmCaseView {
  readonly ucmCaseId: string;
  readonly status: Status;
  readonly statusLabel: string;
  readonly statusChangedAt: string;
  readonly createdAt: string | null;
}

/** One record per URP case: the `urp-case-sync` value and the API's answer. */
export interface CaseRecord {
  readonly urpCaseId: string;
  readonly ucmCaseId: string;
  readonly status: Status;
  readonly statusLabel: string;
  readonly statusChangedAt: string;
  readonly createdAt: string | null;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly ucmCases: readonly UcmCaseView[];
  readonly lastEventId: string;
  readonly lastEventTime: string;
  readonly eventCount: number;
  readonly updatedAt: string;
  /** Run id of the operator run that published the latest event (lastEventId); null when it was live. */
  readonly lastRunId: string | null;
}

export interface HistoryEntry {
  readonly eventId: string;
  readonly eventType: EventType;
  readonly ucmCaseId: string;
  readonly oldStatus: Status | null;
  readonly newStatus: Status;
  readonly businessTime: string;
  readonly eventTime: string;
  readonly source: string;
  readonly reason: string | null;
  /** oldStatus differs from the status this UCM case had just before (in order-key order). */
  readonly gap: boolean;
  /** The operator run that published this event; both null for a live event. */
  readonly runId: string | null;
  readonly runKind: RunKind | null;
}

/** Dead-letter categories (ADR 0003; dlq-record.ts says which are replay-eligible). */
export const DLQ_CATEGORIES = [
  'INVALID_JSON',
  'LIMIT_EXCEEDED',
  'SCHEMA_INVALID',
  'UNKNOWN_EVENT_TYPE',
  'UNKNOWN_STATUS',
  'FUTURE_TIME',
  'UNRESOLVED_CORRELATION',
  'PROCESSING_ERROR',
] as const;
export type DlqCategory = (typeof DLQ_CATEGORIES)[number];

export interface DlqRecord {
  readonly originalTopic: string;
  readonly originalPartition: number;
  readonly originalOffset: string;
  /** UTF-8 of the original key when it equals one of the event's validated ids; otherwise null. */
  readonly originalKey: string | null;
  /** sha256 (hex) of the original key bytes when `originalKey` is null but the record had a key. */
  readonly originalKeyHash?: string;
  readonly eventId: string | null;
  readonly consumer: string;
  readonly errorCategory: DlqCategory;
  /** Names the field and the rule, never a value of the input. */
  readonly errorMessage: string;
  /** Path of the field at fault (e.g. `payload.newStatus`), when there is one. */
  readonly errorField?: string;
  /** JSON syntax errors: the position (UTF-16 offset in the text) the parser stopped at, when known. */
  readonly errorPosition?: number;
  readonly retryCount: number;
  readonly firstFailureAt: string;
  readonly lastFailureAt: string;
  /** sha256 (hex) of the original value bytes. */
  readonly payloadHash: string;
  /** Size of the original value in bytes, when known. */
  readonly payloadSize?: number;
  /**
   * A projection of the original (never the original): replay-eligible categories carry the event's contract
   * fields (enough to replay it), the others identifiers only; absent for values that were not JSON or over a
   * bound, and when DLQ_INCLUDE_PAYLOAD=false.
   */
  readonly payload?: unknown;
  readonly replayEligible: boolean;
}

const isoTime = { type: 'string', format: 'date-time', description: 'ISO-8601 with a zone offset' } as const;
const id = { type: 'string', pattern: ID_PATTERN } as const;
const status = { type: 'string', enum: [...STATUSES] } as const;
const runId = {
  oneOf: [{ type: 'string', pattern: RUN_ID_PATTERN }, { type: 'null' }],
} as const;
const ucmStatus = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  description: `One of ${STATUSES.join(', ')} (any case; spaces/hyphens as underscores) or a status mapped by STATUS_MAPPING`,
} as const;

export const ucmCaseEventSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://urp-case-sync/contracts/ucm-case-event.schema.json',
  title: 'UCMv2 case lifecycle event (topic ucm-case-events)',
  type: 'object',
  required: ['eventId', 'eventType', 'eventTime', 'source', 'payload'],
  properties: {
    eventId: { ...id, description: 'Unique per event; re-deliveries keep it (dedupe key)' },
    eventType: { type: 'string', enum: [...EVENT_TYPES] },
    eventTime: isoTime,
    source: { type: 'string', minLength: 1, maxLength: 128 },
    payload: { type: 'object' },
  },
  oneOf: [
    {
      properties: {
        eventType: { const: 'CASE_CREATED' },
        payload: {
          type: 'object',
          required: ['ucmCaseId', 'urpCaseId', 'initialStatus', 'createdAt'],
          properties: {
            ucmCaseId: id,
            urpCaseId: id,
            initialStatus: ucmStatus,
            createdAt: isoTime,
            extraAttributes: {
              type: 'object',
              description: 'Only keys in ATTRIBUTE_ALLOWLIST are kept; others are dropped on arrival',
            },
          },
        },
      },
    },
    {
      properties: {
        eventType: { const: 'CASE_STATUS_CHANGED' },
        payload: {
          type: 'object',
          required: ['ucmCaseId', 'oldStatus', 'newStatus', 'statusChangedAt'],
          properties: {
            ucmCaseId: id,
            urpCaseId: { ...id, description: 'Preferred; when missing it is resolved from the CASE_CREATED' },
            oldStatus: { oneOf: [ucmStatus, { type: 'null' }] },
            newStatus: ucmStatus,
            statusChangedAt: isoTime,
            reason: { type: 'string', maxLength: 1000 },
          },
        },
      },
    },
  ],
} as const;

export const ucmCaseViewSchema = {
  type: 'object',
  required: ['ucmCaseId', 'status', 'statusLabel', 'statusChangedAt', 'createdAt'],
  properties: {
    ucmCaseId: id,
    status,
    statusLabel: { type: 'string' },
    statusChangedAt: isoTime,
    createdAt: { oneOf: [isoTime, { type: 'null' }] },
  },
} as const;

export const caseRecordSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://urp-case-sync/contracts/urp-case-record.schema.json',
  title: 'URP case record (topic urp-case-sync, key urpCaseId; GET /cases/{urpCaseId})',
  type: 'object',
  required: [
    'urpCaseId',
    'ucmCaseId',
    'status',
    'statusLabel',
    'statusChangedAt',
    'createdAt',
    'attributes',
    'ucmCases',
    'lastEventId',
    'lastEventTime',
    'eventCount',
    'updatedAt',
    'lastRunId',
  ],
  properties: {
    urpCaseId: id,
    ucmCaseId: { ...id, description: 'UCM case of the latest event (by order key)' },
    status,
    statusLabel: { type: 'string' },
    statusChangedAt: isoTime,
    createdAt: { oneOf: [isoTime, { type: 'null' }], description: 'null until the CASE_CREATED arrives' },
    attributes: { type: 'object', description: 'Allowlisted extraAttributes of the latest CASE_CREATED' },
    ucmCases: {
      type: 'array',
      items: ucmCaseViewSchema,
      description: 'Every UCM case linked to this URP case',
    },
    lastEventId: { type: 'string' },
    lastEventTime: isoTime,
    eventCount: { type: 'integer', minimum: 1, description: 'Distinct accepted events' },
    updatedAt: { ...isoTime, description: 'Processing time of the last change' },
    lastRunId: {
      ...runId,
      description:
        'Run id of the backfill or dlq replay that published the latest event (lastEventId); null when that ' +
        'event was live',
    },
  },
} as const;

export const historyEntrySchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://urp-case-sync/contracts/history-entry.schema.json',
  title: 'One accepted event in a case timeline (GET /cases/{urpCaseId}/history)',
  type: 'object',
  required: [
    'eventId',
    'eventType',
    'ucmCaseId',
    'oldStatus',
    'newStatus',
    'businessTime',
    'eventTime',
    'source',
    'reason',
    'gap',
    'runId',
    'runKind',
  ],
  properties: {
    eventId: { type: 'string' },
    eventType: { type: 'string', enum: [...EVENT_TYPES] },
    ucmCaseId: id,
    oldStatus: { oneOf: [status, { type: 'null' }] },
    newStatus: status,
    businessTime: isoTime,
    eventTime: isoTime,
    source: { type: 'string' },
    reason: { oneOf: [{ type: 'string' }, { type: 'null' }] },
    gap: {
      type: 'boolean',
      description: 'oldStatus does not match the status this UCM case had just before',
    },
    runId: {
      ...runId,
      description: 'Run id of the backfill or dlq replay that published this event; null for a live event',
    },
    runKind: {
      oneOf: [{ type: 'string', enum: [...RUN_KINDS] }, { type: 'null' }],
      description: 'backfill or dlq-replay; null for a live event',
    },
  },
} as const;

export const dlqRecordSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://urp-case-sync/contracts/dlq-record.schema.json',
  title: 'Dead-letter record (topic ucm-case-events-dlq)',
  type: 'object',
  required: [
    'originalTopic',
    'originalPartition',
    'originalOffset',
    'originalKey',
    'eventId',
    'consumer',
    'errorCategory',
    'errorMessage',
    'retryCount',
    'firstFailureAt',
    'lastFailureAt',
    'payloadHash',
    'replayEligible',
  ],
  properties: {
    originalTopic: { type: 'string' },
    originalPartition: { type: 'integer', minimum: 0 },
    originalOffset: { type: 'string', pattern: '^\\d+$' },
    originalKey: {
      oneOf: [{ type: 'string' }, { type: 'null' }],
      description: "The original key when it equals one of the event's validated ids (else null)",
    },
    originalKeyHash: {
      type: 'string',
      pattern: '^[0-9a-f]{64}$',
      description: 'sha256 of the original key bytes when originalKey is null; absent for a null key',
    },
    eventId: { oneOf: [id, { type: 'null' }] },
    consumer: { type: 'string' },
    errorCategory: { type: 'string', enum: [...DLQ_CATEGORIES] },
    errorMessage: {
      type: 'string',
      maxLength: 1000,
      description: 'Names the field and the rule, never a value of the input',
    },
    errorField: { type: 'string', description: 'Path of the field at fault, e.g. payload.newStatus' },
    errorPosition: {
      type: 'integer',
      minimum: 0,
      description: 'INVALID_JSON: where the JSON parser stopped (UTF-16 offset), when known',
    },
    retryCount: { type: 'integer', minimum: 0 },
    firstFailureAt: isoTime,
    lastFailureAt: isoTime,
    payloadHash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    payloadSize: { type: 'integer', minimum: 0, description: 'Size of the original value in bytes' },
    payload: {
      type: 'object',
      description:
        'A projection of the original, never the original: replay-eligible categories (UNKNOWN_STATUS, ' +
        'UNRESOLVED_CORRELATION, PROCESSING_ERROR) carry its contract fields, each only if well-typed, and ' +
        'allowlisted extraAttributes; other categories carry identifiers only (eventId, eventType, eventTime, ' +
        'payload.ucmCaseId, payload.urpCaseId, each only if valid). Absent when the value was not JSON or ' +
        'over a bound, and when DLQ_INCLUDE_PAYLOAD=false',
    },
    replayEligible: { type: 'boolean' },
  },
} as const;
