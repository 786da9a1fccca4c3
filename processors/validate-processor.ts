/**
 * Sub-topology 0: parses and validates each raw UCMv2 record. Invalid -> a dead-letter record (with category,
 * message naming the field, origin and the redacted payload). Valid -> re-keyed by urpCaseId towards its case;
 * a CASE_CREATED also feeds the ucmCaseId index; a status change without urpCaseId goes to correlation (keyed by
 * ucmCaseId). Nothing is dropped and nothing throws.
 */
import type { Processor, ProcessorContext } from '../topology/processor.js';
import type { StreamRecord } from '../topology/record.js';
import type { CaseSyncMetrics } from './case-sync-metrics.js';
import type { CaseSyncSettings } from './domain/case-sync-settings.js';
import { buildDlqRecord, payloadHash, replayLineage } from './domain/dlq-record.js';
import type { DlqRecord } from './domain/event-contract.js';
import { redactParsed } from './domain/redact.js';
import { parseCaseEvent } from './domain/validate-event.js';
import type { Origin, RoutedMessage } from './routed-event.js';

export const VALIDATE_CHILDREN = { byUrp: 'by-urp-sink', byUcm: 'by-ucm-sink', dlq: 'dlq-invalid' } as const;

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
        const origin: Origin = {
          topic: meta.topic,
          partition: meta.partition,
          offset: meta.offset,
          key: record.key === null ? null : record.key.toString('utf8'),
          payloadHash: hash,
          ...(lineage.retryCount > 0 ? { lineage } : {}),
        };
        const out = { timestamp: record.timestamp, headers: {} };
        const parsed = parseCaseEvent(record.value, settings);
        if (!parsed.ok) {
          metrics.failed.inc({ reason: parsed.category });
          metrics.dlqWrites.inc({ category: parsed.category });
          const now = ctx.currentSystemTimeMs();
          ctx.logger.warn(
            {
              eventId: parsed.eventId,
              category: parsed.category,
              field: parsed.field,
              topic: meta.topic,
              partition: meta.partition,
              offset: meta.offset,
            },
            'invalid UCM event; sent to the dead-letter topic, processing continues',
          );
          const dlq = buildDlqRecord({
            origin: { ...origin, key: record.key },
            payloadHash: hash,
            eventId: parsed.eventId,
            consumer,
            category: parsed.category,
            message: parsed.message,
            payload: parsed.redacted ?? parsed.text,
            includePayload: settings.dlqIncludePayload,
            firstFailureMs: lineage.firstFailureMs ?? now,
            lastFailureMs: now,
            retryCount: lineage.retryCount,
          });
          await ctx.forward(
            { key: origin.key ?? parsed.eventId ?? hash, value: dlq, ...out },
            VALIDATE_CHILDREN.dlq,
          );
          return;
        }
        const event = parsed.event;
        metrics.consumed.inc({ type: event.eventType });
        if (event.eventType === 'CASE_CREATED') {
          await ctx.forward(
            {
              key: event.ucmCaseId,
              value: { kind: 'index', ucmCaseId: event.ucmCaseId, urpCaseId: event.urpCaseId },
              ...out,
            },
            VALIDATE_CHILDREN.byUcm,
          );
        }
        if (event.urpCaseId !== undefined) {
          await ctx.forward(
            {
              key: event.urpCaseId,
              value: { kind: 'event', event, urpCaseId: event.urpCaseId, origin },
              ...out,
            },
            VALIDATE_CHILDREN.byUrp,
          );
        } else if (event.eventType === 'CASE_STATUS_CHANGED') {
          // Carry the redacted original: if correlation fails, the DLQ record needs it.
          const payload = settings.dlqIncludePayload
            ? (JSON.parse(record.value!.toString('utf8')) as unknown)
            : undefined;
          await ctx.forward(
            {
              key: event.ucmCaseId,
              value: {
                kind: 'resolve',
                event,
                origin: { ...origin, payload: redactForDlq(payload, settings) },
              },
              ...out,
            },
            VALIDATE_CHILDREN.byUcm,
          );
        }
      },
    };
  };
}

function redactForDlq(payload: unknown, settings: CaseSyncSettings): unknown {
  return payload === undefined ? undefined : redactParsed(payload, settings.attributeAllowlist);
}
