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
