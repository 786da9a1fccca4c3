/**
 * Settings of the case-sync application (from the service config's raw app settings), validated with every
 * problem listed.
 */
import { parseStatusMapping, type StatusMapping } from './statuses.js';
import { intSetting as int } from '../../common/settings.js';

export interface CaseSyncSettings {
  readonly inputTopic: string;
  readonly outputTopic: string;
  readonly dlqTopic: string;
  readonly statusMapping: StatusMapping;
  readonly attributeAllowlist: ReadonlySet<string>;
  /** How long an event without a resolvable urpCaseId waits for its CASE_CREATED. */
  readonly correlationGraceMs: number;
  readonly dedupeRetentionMs: number;
  readonly historyLimit: number;
  /** Most eventIds a case remembers for dedupe (the newest by event time are kept). */
  readonly dedupeMaxIds: number;
  readonly dlqIncludePayload: boolean;
  /** Largest record value accepted, in bytes (larger: LIMIT_EXCEEDED, checked before decoding). */
  readonly maxRecordBytes: number;
  /** Deepest nesting of arrays/objects accepted (checked by a linear scan before parsing). */
  readonly maxNestingDepth: number;
  /** Longest string (keys included) accepted, in UTF-16 code units. */
  readonly maxStringLength: number;
  /** How far ahead of the processing time eventTime / createdAt / statusChangedAt may be (else FUTURE_TIME). */
  readonly maxFutureSkewMs: number;
  /**
   * Largest stored case state (msgpack bytes), kept below what its changelog topic accepts: an event that would
   * make a case's state larger is not applied and is dead-lettered (case-state.ts).
   */
  readonly maxCaseStateBytes: number;
}

export const DEFAULTS = {
  correlationGraceMs: 10 * 60_000,
  dedupeRetentionMs: 7 * 24 * 3_600_000,
  historyLimit: 200,
  dedupeMaxIds: 1_000,
  attributeAllowlist: ['priority', 'caseType'],
  maxRecordBytes: 262_144,
  maxNestingDepth: 16,
  maxStringLength: 8_192,
  /** Kafka's own log.message.timestamp.after.max.ms. */
  maxFutureSkewMs: 3_600_000,
  /** librdkafka's default message.max.bytes, below the broker's default (1 MiB + 12) with room for the batch. */
  maxCaseStateBytes: 1_000_000,
} as const;

export type SettingsResult =
  | { readonly ok: true; readonly settings: CaseSyncSettings }
  | { readonly ok: false; readonly problems: readonly string[] };

export function parseCaseSyncSettings(raw: Readonly<Record<string, string | undefined>>): SettingsResult {
  const problems: string[] = [];
  const mapping = parseStatusMapping(raw.STATUS_MAPPING);
  if (!mapping.ok) problems.push(...mapping.problems);
  const allowlist = (raw.ATTRIBUTE_ALLOWLIST ?? DEFAULTS.attributeAllowlist.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const a of allowlist) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(a))
      problems.push(`ATTRIBUTE_ALLOWLIST entry ${JSON.stringify(a)} is not a plain key`);
  }
  const includePayload = raw.DLQ_INCLUDE_PAYLOAD ?? 'true';
  if (!/^(true|false)$/i.test(includePayload)) problems.push('DLQ_INCLUDE_PAYLOAD must be true or false');
  const settings: CaseSyncSettings = {
    inputTopic: raw.INPUT_TOPIC ?? 'ucm-case-events',
    outputTopic: raw.OUTPUT_TOPIC ?? 'urp-case-sync',
    dlqTopic: raw.DLQ_TOPIC ?? 'ucm-case-events-dlq',
    statusMapping: mapping.ok ? mapping.mapping : new Map(),
    attributeAllowlist: new Set(allowlist),
    correlationGraceMs: int(
      raw.CORRELATION_GRACE_MS,
      'CORRELATION_GRACE_MS',
      DEFAULTS.correlationGraceMs,
      1_000,
      7 * 24 * 3_600_000,
      problems,
    ),
    dedupeRetentionMs: int(
      raw.DEDUPE_RETENTION_MS,
      'DEDUPE_RETENTION_MS',
      DEFAULTS.dedupeRetentionMs,
      60_000,
      365 * 24 * 3_600_000,
      problems,
    ),
    historyLimit: int(raw.HISTORY_LIMIT, 'HISTORY_LIMIT', DEFAULTS.historyLimit, 1, 10_000, problems),
    dedupeMaxIds: int(raw.DEDUPE_MAX_IDS, 'DEDUPE_MAX_IDS', DEFAULTS.dedupeMaxIds, 1, 100_000, problems),
    dlqIncludePayload: /^true$/i.test(includePayload),
    // A valid event is a few hundred bytes; 16 MiB is well above Kafka's default max.message.bytes (1 MiB).
    maxRecordBytes: int(
      raw.MAX_RECORD_BYTES,
      'MAX_RECORD_BYTES',
      DEFAULTS.maxRecordBytes,
      1_024,
      16 * 1_048_576,
      problems,
    ),
    // 3 = envelope, payload, extraAttributes: anything less rejects valid events.
    maxNestingDepth: int(
      raw.MAX_NESTING_DEPTH,
      'MAX_NESTING_DEPTH',
      DEFAULTS.maxNestingDepth,
      3,
      256,
      problems,
    ),
    // 1,000 = the longest contract string (reason): anything less rejects valid events.
    maxStringLength: int(
      raw.MAX_STRING_LENGTH,
      'MAX_STRING_LENGTH',
      DEFAULTS.maxStringLength,
      1_000,
      1_048_576,
      problems,
    ),
    maxFutureSkewMs: int(
      raw.MAX_FUTURE_SKEW_MS,
      'MAX_FUTURE_SKEW_MS',
      DEFAULTS.maxFutureSkewMs,
      1_000,
      30 * 24 * 3_600_000,
      problems,
    ),
    maxCaseStateBytes: int(
      raw.MAX_CASE_STATE_BYTES,
      'MAX_CASE_STATE_BYTES',
      DEFAULTS.maxCaseStateBytes,
      16_384,
      16 * 1_048_576,
      problems,
    ),
  };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, settings };
}
