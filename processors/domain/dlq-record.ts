/**
 * Builds dead-letter records. `replayEligible` says whether re-publishing the same bytes can succeed later
 * without changing them: true for UNKNOWN_STATUS (after STATUS_MAPPING is extended) and UNRESOLVED_CORRELATION
 * (after the CASE_CREATED arrives); false for INVALID_JSON, SCHEMA_INVALID and UNKNOWN_EVENT_TYPE, which need a
 * corrected event from the producer.
 */
import { createHash } from 'node:crypto';
import type { DlqCategory, DlqRecord } from './event-contract.js';

export const REPLAY_ELIGIBLE: Readonly<Record<DlqCategory, boolean>> = {
  INVALID_JSON: false,
  SCHEMA_INVALID: false,
  UNKNOWN_EVENT_TYPE: false,
  UNKNOWN_STATUS: true,
  UNRESOLVED_CORRELATION: true,
};

/**
 * Headers `dlq replay` puts on a re-published record, so that if it fails again its new DLQ record continues the
 * old one's lineage: retryCount + 1 and the original firstFailureAt.
 */
export const REPLAY_HEADERS = {
  replayOf: 'x-usc-replay-of',
  retryCount: 'x-usc-retry-count',
  firstFailureAt: 'x-usc-first-failure-at',
} as const;

export interface ReplayLineage {
  readonly retryCount: number;
  readonly firstFailureMs: number | undefined;
}

/** The lineage of a record from its headers (a first delivery: retryCount 0, no earlier failure). */
export function replayLineage(headers: Readonly<Record<string, string | undefined>>): ReplayLineage {
  const count = Number(headers[REPLAY_HEADERS.retryCount]);
  const first = Date.parse(headers[REPLAY_HEADERS.firstFailureAt] ?? '');
  return {
    retryCount: Number.isInteger(count) && count > 0 ? count : 0,
    firstFailureMs: Number.isFinite(first) ? first : undefined,
  };
}

export interface DlqInput {
  readonly origin: {
    readonly topic: string;
    readonly partition: number;
    readonly offset: string;
    readonly key: Buffer | null;
  };
  /** sha256 hex of the original value bytes (see {@link payloadHash}). */
  readonly payloadHash: string;
  readonly eventId: string | null;
  readonly consumer: string;
  readonly category: DlqCategory;
  readonly message: string;
  /** Redacted payload (parsed JSON or text); dropped when includePayload is false. */
  readonly payload: unknown;
  readonly includePayload: boolean;
  readonly firstFailureMs: number;
  readonly lastFailureMs: number;
  readonly retryCount: number;
}

export function payloadHash(value: Buffer | null): string {
  return createHash('sha256')
    .update(value ?? Buffer.alloc(0))
    .digest('hex');
}

export function buildDlqRecord(input: DlqInput): DlqRecord {
  const record: DlqRecord = {
    originalTopic: input.origin.topic,
    originalPartition: input.origin.partition,
    originalOffset: input.origin.offset,
    originalKey: input.origin.key === null ? null : input.origin.key.toString('utf8'),
    eventId: input.eventId,
    consumer: input.consumer,
    errorCategory: input.category,
    errorMessage: input.message,
    retryCount: input.retryCount,
    firstFailureAt: new Date(input.firstFailureMs).toISOString(),
    lastFailureAt: new Date(input.lastFailureMs).toISOString(),
    payloadHash: input.payloadHash,
    replayEligible: REPLAY_ELIGIBLE[input.category],
  };
  return input.includePayload && input.payload !== undefined ? { ...record, payload: input.payload } : record;
}
