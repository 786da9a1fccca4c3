/**
 * `urp-case-sync dlq replay` and `POST /dlq/replay`: re-publish chosen dead-letter records to the input topic after
 * a fix (a mapping added to STATUS_MAPPING, a CASE_CREATED that finally arrived, a bug fixed...). Reads the DLQ once
 * to its current end (read_committed, dlq-reader.ts), selects records by filters ({@link planReplay}, pure), and
 * publishes each record's payload (the projected event, see ADR 0003) with headers naming the DLQ record and
 * continuing its lineage (REPLAY_HEADERS: retry count + 1, first failure time), so a record that fails again says
 * how often it was retried. The key is the original key when the dead letter kept it (it was one of the event's
 * ids), else the payload's `payload.ucmCaseId` (UCMv2 keys its topic by ucmCaseId), else none. Records without a
 * payload (INVALID_JSON and size/depth LIMIT_EXCEEDED never carry one; DLQ_INCLUDE_PAYLOAD=false) or not
 * `replayEligible` are reported, not replayed (unless `force`); so are chosen refs that name no dead letter.
 */
import { createKafka, publishRecords, type KafkaClient } from '../kafka/index.js';
import { newRunId, REPLAY_HEADERS, runHeaders } from '../processors/domain/dlq-record.js';
import { isValidId } from '../processors/domain/field-rules.js';
import type { Logger } from '../topology/processor.js';
import type { ServiceConfig } from './config.js';
import { dlqGroupPrefix, readDlqEntries, type DlqEntry } from './dlq-reader.js';

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

/** A record chosen for re-publishing: its ref, its eventId and the key it is (or would be) published with. */
export interface ReplayedRecord {
  readonly ref: string;
  readonly eventId: string | null;
  readonly key: string | null;
}

export interface SkippedRecord {
  readonly ref: string;
  readonly reason: string;
}

export interface DlqReplayReport {
  /** This run's id (rp-...): on every re-published record as x-usc-run-id (x-usc-run-kind: dlq-replay). */
  readonly runId: string;
  readonly dryRun: boolean;
  readonly scanned: number;
  readonly matched: number;
  /** How many were published (0 in a dry run). */
  readonly replayed: number;
  /** The records published, or in a dry run those that would be, in DLQ order. */
  readonly selected: readonly ReplayedRecord[];
  readonly skipped: readonly SkippedRecord[];
}

/** Where replay reads from and publishes to. */
export interface ReplayTarget {
  readonly dlqTopic: string;
  readonly inputTopic: string;
  readonly applicationId: string;
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

/** What replay publishes for one chosen record. */
export interface ReplayMessage extends ReplayedRecord {
  readonly value: Buffer;
  readonly headers: Record<string, string>;
}

/**
 * Pure: which of `entries` (the DLQ in partition/offset order) `filter` chooses, and of those which are published
 * (with their key, value and lineage headers) and which skipped, and why. A chosen ref that is not in `entries`
 * is skipped as "no such dead letter".
 */
export function planReplay(
  entries: readonly DlqEntry[],
  filter: DlqReplayFilter,
  dlqTopic: string,
): { readonly selected: ReplayMessage[]; readonly skipped: SkippedRecord[] } {
  const selected: ReplayMessage[] = [];
  const skipped: SkippedRecord[] = [];
  for (const entry of entries) {
    const { ref } = entry;
    if (!entry.ok) {
      if (filter.all || filter.refs?.includes(ref)) skipped.push({ ref, reason: entry.reason });
      continue;
    }
    const value = entry.record as DlqValue;
    if (!matches(filter, ref, value)) continue;
    if (value.payload === undefined || value.payload === null) {
      skipped.push({ ref, reason: noPayloadReason(value.errorCategory) });
    } else if (value.replayEligible === false && !filter.force) {
      skipped.push({ ref, reason: `not replay-eligible (${value.errorCategory ?? 'unknown'}); use --force` });
    } else {
      const payload = typeof value.payload === 'string' ? value.payload : JSON.stringify(value.payload);
      selected.push({
        ref,
        eventId: typeof value.eventId === 'string' ? value.eventId : null,
        key: replayKey(value),
        value: Buffer.from(payload, 'utf8'),
        headers: {
          [REPLAY_HEADERS.replayOf]: `${dlqTopic}/${ref}`,
          [REPLAY_HEADERS.retryCount]: String((value.retryCount ?? 0) + 1),
          ...(value.firstFailureAt ? { [REPLAY_HEADERS.firstFailureAt]: value.firstFailureAt } : {}),
        },
      });
    }
  }
  const seen = new Set(entries.map((e) => e.ref));
  for (const ref of new Set(filter.refs ?? [])) {
    if (!seen.has(ref))
      skipped.push({ ref, reason: 'no such dead letter (the ref is not in the DLQ topic)' });
  }
  return { selected, skipped };
}

/**
 * Selects and (unless dryRun) re-publishes DLQ records with `kafka`; returns what it did (or would do) and why it
 * skipped others. Rejects if reading the DLQ or publishing fails (nothing is published when the read fails; a
 * failed publish may have published a prefix: replaying again only adds duplicates the topology ignores).
 */
export async function replayDeadLetters(
  kafka: KafkaClient,
  target: ReplayTarget,
  filter: DlqReplayFilter,
  options: {
    readonly dryRun: boolean;
    readonly logger: Logger;
    /** Told this run's id before anything is published. */
    readonly onRunId?: (runId: string) => void;
  },
): Promise<DlqReplayReport> {
  const run = { id: newRunId('dlq-replay', Date.now()), kind: 'dlq-replay' } as const;
  options.onRunId?.(run.id);
  const entries = await readDlqEntries(kafka, {
    topic: target.dlqTopic,
    groupPrefix: dlqGroupPrefix(target.applicationId),
    logger: options.logger,
  });
  const { selected, skipped } = planReplay(entries, filter, target.dlqTopic);
  if (!options.dryRun && selected.length > 0) {
    await publishRecords(
      kafka,
      target.inputTopic,
      selected.map((s) => ({ key: s.key, value: s.value, headers: { ...s.headers, ...runHeaders(run) } })),
    );
  }
  const report: DlqReplayReport = {
    runId: run.id,
    dryRun: options.dryRun,
    scanned: entries.length,
    matched: selected.length + skipped.length,
    replayed: options.dryRun ? 0 : selected.length,
    selected: selected.map(({ ref, eventId, key }) => ({ ref, eventId, key })),
    skipped,
  };
  options.logger.info(
    {
      runId: run.id,
      scanned: report.scanned,
      matched: report.matched,
      replayed: report.replayed,
      skipped: skipped.length,
      dryRun: options.dryRun,
    },
    'dlq replay finished',
  );
  return report;
}

/** `dlq replay`: {@link replayDeadLetters} with a client for `brokers` and the service's topics. */
export async function replayDlq(
  config: ServiceConfig,
  brokers: readonly string[],
  filter: DlqReplayFilter,
  options: {
    readonly dryRun: boolean;
    readonly logger: Logger;
    /** Where the run id is printed (default stdout). */
    readonly out?: (line: string) => void;
  },
): Promise<DlqReplayReport> {
  const out = options.out ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const kafka = createKafka({ ...config.kafka, brokers }, options.logger);
  return replayDeadLetters(
    kafka,
    {
      dlqTopic: config.caseSync.dlqTopic,
      inputTopic: config.caseSync.inputTopic,
      applicationId: config.streams.applicationId,
    },
    filter,
    {
      ...options,
      onRunId: (runId) =>
        out(
          `dlq replay run ${runId}${options.dryRun ? ' (dry run: nothing published)' : ''}: re-published records carry x-usc-run-id=${runId}, x-usc-run-kind=dlq-replay`,
        ),
    },
  );
}
