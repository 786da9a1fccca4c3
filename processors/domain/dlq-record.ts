/**
 * Builds dead-letter records (ADR 0003). `replayEligible` says whether replaying the event can succeed later
 * without the producer correcting it: true for UNKNOWN_STATUS (after STATUS_MAPPING is extended),
 * UNRESOLVED_CORRELATION (after the CASE_CREATED arrives) and PROCESSING_ERROR (after the bug is fixed); false for
 * the others, whose bytes are wrong. A replay-eligible dead letter carries the projected event (enough to replay
 * it), any other one identifiers only; nothing else of the input is ever carried.
 */
import { hash, randomBytes } from 'node:crypto';
import {
  RUN_ID_PATTERN,
  RUN_KINDS,
  type DlqCategory,
  type DlqRecord,
  type RunKind,
  type RunRef,
} from './event-contract.js';
import { projectIdentifiers, projectKnownFields } from './project.js';

export const REPLAY_ELIGIBLE: Readonly<Record<DlqCategory, boolean>> = {
  INVALID_JSON: false,
  LIMIT_EXCEEDED: false,
  SCHEMA_INVALID: false,
  UNKNOWN_EVENT_TYPE: false,
  UNKNOWN_STATUS: true,
  FUTURE_TIME: false,
  UNRESOLVED_CORRELATION: true,
  PROCESSING_ERROR: true,
};

/**
 * The payload a dead letter of `category` carries for a parsed (bounded) value of any shape: the contract's known
 * fields when the category is replay-eligible, identifiers only otherwise; undefined when nothing was parsed.
 */
export function deadLetterPayload(
  category: DlqCategory,
  parsed: unknown,
  allowlist: ReadonlySet<string>,
): Record<string, unknown> | undefined {
  if (parsed === undefined) return undefined;
  return REPLAY_ELIGIBLE[category] ? projectKnownFields(parsed, allowlist) : projectIdentifiers(parsed);
}

/** Kafka key of a dead letter: the valid eventId, else the valid ucmCaseId, else the payload hash. */
export function deadLetterKey(ids: { eventId?: string | null; ucmCaseId?: string }, hash: string): string {
  return ids.eventId ?? ids.ucmCaseId ?? hash;
}

/**
 * Headers `dlq replay` puts on a re-published record, so that if it fails again its new DLQ record continues the
 * old one's lineage: retryCount + 1 and the original firstFailureAt.
 */
export const REPLAY_HEADERS = {
  replayOf: 'x-usc-replay-of',
  retryCount: 'x-usc-retry-count',
  firstFailureAt: 'x-usc-first-failure-at',
} as const;

/**
 * Headers of every record an operator run publishes (`backfill`, `dlq replay`), so that a case's history says
 * which events came from a run and never passes a backfill off as a live action (see {@link runFromHeaders}).
 */
export const RUN_HEADERS = {
  runId: 'x-usc-run-id',
  runKind: 'x-usc-run-kind',
} as const;

const RUN_ID = new RegExp(RUN_ID_PATTERN);
const RUN_PREFIX: Readonly<Record<RunKind, string>> = { backfill: 'bf', 'dlq-replay': 'rp' };

/** A new run id: `bf-` / `rp-`, the UTC time to the second (20260102T030405Z) and 8 random hex digits. */
export function newRunId(kind: RunKind, nowMs: number, random: Buffer = randomBytes(4)): string {
  const stamp = new Date(nowMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return `${RUN_PREFIX[kind]}-${stamp}-${random.subarray(0, 4).toString('hex').padStart(8, '0')}`;
}

/** The headers marking a record as published by `run`. */
export function runHeaders(run: RunRef): Record<string, string> {
  return { [RUN_HEADERS.runId]: run.id, [RUN_HEADERS.runKind]: run.kind };
}

/**
 * The operator run of a record from its headers: only a well-formed id (RUN_ID_PATTERN, bounded length) with a
 * known kind matching its prefix; anything else (absent, malformed, inconsistent) is ignored: a live event.
 */
export function runFromHeaders(headers: Readonly<Record<string, string | undefined>>): RunRef | undefined {
  const id = headers[RUN_HEADERS.runId];
  const kind = headers[RUN_HEADERS.runKind];
  if (typeof id !== 'string' || typeof kind !== 'string' || id.length > 40 || !RUN_ID.test(id))
    return undefined;
  if (!(RUN_KINDS as readonly string[]).includes(kind)) return undefined;
  const runKind = kind as RunKind;
  return id.startsWith(`${RUN_PREFIX[runKind]}-`) ? { id, kind: runKind } : undefined;
}

export interface ReplayLineage {
  readonly retryCount: number;
  readonly firstFailureMs: number | undefined;
}

/** The lineage of a record from its headers (a first delivery: retryCount 0, no earlier failure). */
export function replayLineage(headers: Readonly<Record<string, string | undefined>>): ReplayLineage {
  const count = Number(headers[REPLAY_HEADERS.retryCount]);
  const first = Date.parse(headers[REPLAY_HEADERS.firstFailureAt] ?? '');
  return {
    retryCount: Number.isSafeInteger(count) && count > 0 ? count : 0,
    firstFailureMs: Number.isFinite(first) ? first : undefined,
  };
}

export interface DlqInput {
  readonly origin: {
    readonly topic: string;
    readonly partition: number;
    readonly offset: string;
    /** The original key only when it equals one of the event's validated ids (see minimiseKey), else null. */
    readonly key: string | null;
    /** sha256 (hex) of the original key bytes when `key` is null but there was one. */
    readonly keyHash?: string;
  };
  /** sha256 hex of the original value bytes (see {@link payloadHash}). */
  readonly payloadHash: string;
  /** Size of the original value in bytes, when known. */
  readonly payloadSize?: number;
  readonly eventId: string | null;
  readonly consumer: string;
  readonly category: DlqCategory;
  /** Names the field and the rule, never a value. */
  readonly message: string;
  readonly field?: string;
  readonly errorPosition?: number;
  /** A projection (project.ts / {@link deadLetterPayload}), never the original; dropped when includePayload is false. */
  readonly payload: unknown;
  readonly includePayload: boolean;
  readonly firstFailureMs: number;
  readonly lastFailureMs: number;
  readonly retryCount: number;
}

const EMPTY = Buffer.alloc(0);

/** sha256 (hex) of a record's value (of nothing for a null value); one-shot: no Hash object per record. */
export function payloadHash(value: Buffer | null): string {
  return hash('sha256', value ?? EMPTY, 'hex');
}

/** The dead-letter record of `input`. Throws RangeError only for non-finite times (a caller bug). */
export function buildDlqRecord(input: DlqInput): DlqRecord {
  return {
    originalTopic: input.origin.topic,
    originalPartition: input.origin.partition,
    originalOffset: input.origin.offset,
    originalKey: input.origin.key,
    ...(input.origin.key === null && input.origin.keyHash !== undefined
      ? { originalKeyHash: input.origin.keyHash }
      : {}),
    eventId: input.eventId,
    consumer: input.consumer,
    errorCategory: input.category,
    errorMessage: input.message,
    ...(input.field !== undefined ? { errorField: input.field } : {}),
    ...(input.errorPosition !== undefined ? { errorPosition: input.errorPosition } : {}),
    retryCount: input.retryCount,
    firstFailureAt: new Date(input.firstFailureMs).toISOString(),
    lastFailureAt: new Date(input.lastFailureMs).toISOString(),
    payloadHash: input.payloadHash,
    ...(input.payloadSize !== undefined ? { payloadSize: input.payloadSize } : {}),
    ...(input.includePayload && input.payload !== undefined ? { payload: input.payload } : {}),
    replayEligible: REPLAY_ELIGIBLE[input.category],
  };
}
