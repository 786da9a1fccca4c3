/**
 * Sub-topology 0: parses and validates each raw UCMv2 record (bounds first, see validate-event.ts). Invalid -> a
 * dead-letter record (category, a message naming the field and the rule, origin, and a projection: identifiers
 * only, or the known fields when the category is replay-eligible). Valid -> the normalised event, re-keyed by
 * urpCaseId towards its case; a CASE_CREATED also feeds the ucmCaseId index; a status change without urpCaseId
 * goes to correlation (keyed by ucmCaseId). Correlation happens in place, in this task, when the record sits on
 * the partition its ucmCaseId belongs to (UCMv2 keys its events by ucmCaseId): no repartition hop; otherwise
 * through the `by-ucm` repartition topic, read by the same sub-topology on the right partition. The original
 * key travels only if it is one of the event's ids. The
 * run headers of an operator run (x-usc-run-id / x-usc-run-kind) become the event's `run`.
 * Nothing is dropped, and no input value reaches a log line.
 */
import type { Processor, ProcessorContext } from '../topology/processor.js';
import type { StreamRecord } from '../topology/record.js';
import type { CaseSyncMetrics } from './case-sync-metrics.js';
import type { CaseSyncSettings } from './domain/case-sync-settings.js';
import {
  buildDlqRecord,
  deadLetterKey,
  deadLetterPayload,
  payloadHash,
  replayLineage,
  runFromHeaders,
} from './domain/dlq-record.js';
import type { DlqRecord } from './domain/event-contract.js';
import { idsOf, minimiseKey } from './domain/project.js';
import { parseCaseEvent } from './domain/validate-event.js';
import { makeOrigin, type Origin, type RoutedMessage } from './routed-event.js';

export const VALIDATE_CHILDREN = {
  byUrp: 'by-urp-sink',
  byUcm: 'by-ucm-sink',
  dlq: 'dlq-invalid',
  correlate: 'correlate',
} as const;

export function validateProcessor(
  settings: CaseSyncSettings,
  metrics: CaseSyncMetrics,
  consumer: string,
): () => Processor<Buffer | null, Buffer | null, string, RoutedMessage | DlqRecord> {
  return () => {
    let ctx: ProcessorContext<string, RoutedMessage | DlqRecord>;
    return {
      init: (c) => {
        ctx = c;
      },
      process: async (record: StreamRecord<Buffer | null, Buffer | null>) => {
        const meta = ctx.recordMetadata()!;
        const hash = payloadHash(record.value);
        const lineage = replayLineage(record.headers);
        const now = ctx.currentSystemTimeMs();
        const out = { timestamp: record.timestamp, headers: {} };
        const parsed = parseCaseEvent(record.value, settings, now);
        const ids = parsed.ok
          ? {
              eventId: parsed.event.eventId,
              ucmCaseId: parsed.event.ucmCaseId,
              urpCaseId: parsed.event.urpCaseId,
            }
          : idsOf(parsed.parsed);
        const origin: Origin = makeOrigin(
          meta.topic,
          meta.partition,
          meta.offset,
          minimiseKey(record.key, ids),
          hash,
          record.value?.length ?? 0,
          lineage.retryCount > 0 ? lineage : undefined,
        );
        if (!parsed.ok) {
          const dlq = buildDlqRecord({
            origin,
            payloadHash: hash,
            payloadSize: origin.payloadSize,
            eventId: parsed.eventId,
            consumer,
            category: parsed.category,
            message: parsed.message,
            field: parsed.field,
            errorPosition: parsed.errorPosition,
            payload: deadLetterPayload(parsed.category, parsed.parsed, settings.attributeAllowlist),
            includePayload: settings.dlqIncludePayload,
            firstFailureMs: lineage.firstFailureMs ?? now,
            lastFailureMs: now,
            retryCount: lineage.retryCount,
          });
          await ctx.forward(
            { key: deadLetterKey(ids, hash), value: dlq, timestamp: out.timestamp, headers: out.headers },
            VALIDATE_CHILDREN.dlq,
          );
          // Counted once the dead letter is on its way: a record that fails after this point is rolled back and
          // dead-lettered (and counted) by the record-error handler instead.
          metrics.failed.inc({ reason: parsed.category });
          metrics.dlqWrites.inc({ category: parsed.category });
          ctx.logger.warn(
            {
              ...ids,
              category: parsed.category,
              field: parsed.field,
              topic: meta.topic,
              partition: meta.partition,
              offset: meta.offset,
            },
            'invalid UCM event; sent to the dead-letter topic, processing continues',
          );
          return;
        }
        // The operator run (backfill, dlq replay) that published the record, from its headers (id pattern only).
        const run = runFromHeaders(record.headers);
        const event = run ? { ...parsed.event, run } : parsed.event;
        // In place when this partition is the one by-ucm would send the ucmCaseId to (same count: co-partitioned).
        const correlation =
          ctx.partitionFor(VALIDATE_CHILDREN.byUcm, event.ucmCaseId) === meta.partition
            ? VALIDATE_CHILDREN.correlate
            : VALIDATE_CHILDREN.byUcm;
        if (event.eventType === 'CASE_CREATED') {
          await ctx.forward(
            {
              key: event.ucmCaseId,
              value: { kind: 'index', ucmCaseId: event.ucmCaseId, urpCaseId: event.urpCaseId },
              timestamp: out.timestamp,
              headers: out.headers,
            },
            correlation,
          );
        }
        if (event.urpCaseId !== undefined) {
          await ctx.forward(
            {
              key: event.urpCaseId,
              value: { kind: 'event', event, urpCaseId: event.urpCaseId, origin },
              timestamp: out.timestamp,
              headers: out.headers,
            },
            VALIDATE_CHILDREN.byUrp,
          );
        } else if (event.eventType === 'CASE_STATUS_CHANGED') {
          await ctx.forward(
            {
              key: event.ucmCaseId,
              value: { kind: 'resolve', event, origin },
              timestamp: out.timestamp,
              headers: out.headers,
            },
            correlation,
          );
        }
        metrics.consumed.inc({ type: event.eventType });
      },
    };
  };
}
