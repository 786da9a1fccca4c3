/**
 * `urp-case-sync dlq replay`: re-publishes chosen dead-letter records to the input topic after a fix (a mapping
 * added to STATUS_MAPPING, a CASE_CREATED that finally arrived, a bug fixed...). Reads the DLQ once to its current
 * end (read_committed), selects records by filters, and publishes each record's payload (the projected event, see
 * ADR 0003) with headers naming the DLQ record and continuing its lineage (REPLAY_HEADERS: retry count + 1, first
 * failure time), so a record that fails again says how often it was retried. The key is the original key when the
 * dead letter kept it (it was one of the event's ids), else the payload's `payload.ucmCaseId` (UCMv2 keys its
 * topic by ucmCaseId), else none. Records without a payload (INVALID_JSON and size/depth LIMIT_EXCEEDED never
 * carry one; DLQ_INCLUDE_PAYLOAD=false) or not `replayEligible` are reported, not replayed (unless `force`).
 */
import { createKafka, publishRecords, readRangesToEnd, wholeTopicRanges } from '../kafka/index.js';
import { REPLAY_HEADERS } from '../processors/domain/dlq-record.js';
import { isValidId } from '../processors/domain/field-rules.js';
import type { Logger } from '../topology/processor.js';
import type { ServiceConfig } from './config.js';

export interface DlqReplayFilter {
  readonly eventIds?: readonly string[];
  readonly categories?: readonly string[];
  /** `partition:offset` references of DLQ records. */
  readonly refs?: readonly string[];
  /** Every record (still subject to eligibility). */
  readonly all?: boolean;
  /** Replay records marked not replay-eligible too. */
  readonly force?: boolean;
}

export interface DlqReplayReport {
  readonly scanned: number;
  readonly matched: number;
  readonly replayed: number;
  readonly skipped: readonly { readonly ref: string; readonly reason: string }[];
}

interface DlqValue {
  originalKey?: string | null;
  retryCount?: number;
  firstFailureAt?: string;
  eventId?: string | null;
  errorCategory?: string;
  payload?: unknown;
  replayEligible?: boolean;
}

/** The key to re-publish with: the kept original key, else the payload's ucmCaseId, else none. */
export function replayKey(value: { originalKey?: string | null; payload?: unknown }): string | null {
  if (typeof value.originalKey === 'string') return value.originalKey;
  const payload = value.payload as { payload?: { ucmCaseId?: unknown } } | null | undefined;
  const ucmCaseId = typeof payload === 'object' && payload !== null ? payload.payload?.ucmCaseId : undefined;
  return isValidId(ucmCaseId) ? ucmCaseId : null;
}

/** Why a dead letter without a payload cannot be replayed. */
export function noPayloadReason(category: string | undefined): string {
  return category === 'INVALID_JSON' || category === 'LIMIT_EXCEEDED'
    ? `no payload: ${category} dead letters carry none (the value could not be read within the bounds); ` +
        'the producer must send a corrected event'
    : 'no payload stored (DLQ_INCLUDE_PAYLOAD=false when it was dead-lettered)';
}

function matches(filter: DlqReplayFilter, ref: string, value: DlqValue): boolean {
  if (filter.all) return true;
  if (filter.refs?.includes(ref)) return true;
  if (value.eventId && filter.eventIds?.includes(value.eventId)) return true;
  if (value.errorCategory && filter.categories?.includes(value.errorCategory)) return true;
  return false;
}

/** Selects and (unless dryRun) re-publishes DLQ records; returns what it did and why it skipped others. */
export async function replayDlq(
  config: ServiceConfig,
  brokers: readonly string[],
  filter: DlqReplayFilter,
  options: { readonly dryRun: boolean; readonly logger: Logger },
): Promise<DlqReplayReport> {
  const kafka = createKafka({ ...config.kafka, brokers }, options.logger);
  const selected: { key: string | null; value: Buffer; headers: Record<string, string> }[] = [];
  const skipped: { ref: string; reason: string }[] = [];
  let scanned = 0;
  await readRangesToEnd(
    kafka,
    await wholeTopicRanges(kafka, config.caseSync.dlqTopic),
    async (range, batch) => {
      for (const record of batch.records) {
        scanned++;
        const ref = `${range.partition}:${record.offset}`;
        let value: DlqValue;
        try {
          value = JSON.parse(record.value?.toString('utf8') ?? 'null') as DlqValue;
        } catch {
          skipped.push({ ref, reason: 'DLQ record is not JSON' });
          continue;
        }
        if (!value || !matches(filter, ref, value)) continue;
        if (value.payload === undefined || value.payload === null) {
          skipped.push({ ref, reason: noPayloadReason(value.errorCategory) });
        } else if (value.replayEligible === false && !filter.force) {
          skipped.push({
            ref,
            reason: `not replay-eligible (${value.errorCategory ?? 'unknown'}); use --force`,
          });
        } else {
          const payload = typeof value.payload === 'string' ? value.payload : JSON.stringify(value.payload);
          selected.push({
            key: replayKey(value),
            value: Buffer.from(payload, 'utf8'),
            headers: {
              [REPLAY_HEADERS.replayOf]: `${config.caseSync.dlqTopic}/${ref}`,
              [REPLAY_HEADERS.retryCount]: String((value.retryCount ?? 0) + 1),
              ...(value.firstFailureAt ? { [REPLAY_HEADERS.firstFailureAt]: value.firstFailureAt } : {}),
            },
          });
        }
      }
    },
    { groupPrefix: `${config.streams.applicationId}-dlq-replay`, logger: options.logger },
  );
  if (!options.dryRun && selected.length > 0) {
    await publishRecords(kafka, config.caseSync.inputTopic, selected);
  }
  const report = {
    scanned,
    matched: selected.length + skipped.length,
    replayed: options.dryRun ? 0 : selected.length,
    skipped,
  };
  options.logger.info({ ...report, dryRun: options.dryRun }, 'dlq replay finished');
  return report;
}
