/**
 * Sub-topology 1 (partitioned by ucmCaseId): keeps the index ucmCaseId -> urpCaseId (from CASE_CREATED) and
 * resolves status changes that arrived without a urpCaseId. An unresolved event waits durably in the `pending`
 * store (changelogged like every store) and is released the moment its CASE_CREATED is indexed; after
 * CORRELATION_GRACE_MS of waiting (wall clock) it goes to the dead-letter topic as UNRESOLVED_CORRELATION.
 */
import type { KeyValueStore } from '../stores/contracts.js';
import type { Processor, ProcessorContext } from '../topology/processor.js';
import type { StreamRecord } from '../topology/record.js';
import type { CaseSyncMetrics } from './case-sync-metrics.js';
import type { CaseSyncSettings } from './domain/case-sync-settings.js';
import { buildDlqRecord } from './domain/dlq-record.js';
import type { DlqRecord } from './domain/event-contract.js';
import type { PendingEvent, RoutedMessage } from './routed-event.js';

export const INDEX_STORE = 'ucm-index';
export const PENDING_STORE = 'pending-correlation';
export const CORRELATE_CHILDREN = { resolved: 'resolved-sink', dlq: 'dlq-unresolved' } as const;

/** Index entry: the URP case a UCM case belongs to. */
export interface IndexEntry {
  readonly urpCaseId: string;
}

/** `<ucmCaseId>|<eventId>`: ids never contain "|", so a prefix scan of `<ucmCaseId>|` is exact. */
const pendingKey = (ucmCaseId: string, eventId: string) => `${ucmCaseId}|${eventId}`;

export function correlateProcessor(
  settings: CaseSyncSettings,
  metrics: CaseSyncMetrics,
  consumer: string,
): () => Processor<string, RoutedMessage, string, RoutedMessage | DlqRecord> {
  return () => {
    let ctx: ProcessorContext<string, RoutedMessage | DlqRecord>;
    let index: KeyValueStore<string, IndexEntry>;
    let pending: KeyValueStore<string, PendingEvent>;
    let counted = 0;

    const release = async (p: PendingEvent, urpCaseId: string, timestamp: number) => {
      await ctx.forward(
        {
          key: urpCaseId,
          value: {
            kind: 'event',
            event: { ...p.event, urpCaseId },
            urpCaseId,
            origin: { ...p.origin, payload: undefined },
          },
          timestamp,
          headers: {},
        },
        CORRELATE_CHILDREN.resolved,
      );
    };

    const expire = async (now: number) => {
      const due: [string, PendingEvent][] = [];
      for await (const { key, value } of pending.range()) {
        if (now - value.sinceMs >= settings.correlationGraceMs) due.push([key, value]);
      }
      for (const [key, p] of due) {
        await pending.delete(key);
        metrics.pendingCorrelations.dec();
        counted--;
        metrics.failed.inc({ reason: 'UNRESOLVED_CORRELATION' });
        metrics.dlqWrites.inc({ category: 'UNRESOLVED_CORRELATION' });
        ctx.logger.warn(
          { eventId: p.event.eventId, ucmCaseId: p.event.ucmCaseId, waitedMs: now - p.sinceMs },
          'no CASE_CREATED for this UCM case within the grace period; sent to the dead-letter topic',
        );
        const dlq = buildDlqRecord({
          origin: { ...p.origin, key: p.origin.key === null ? null : Buffer.from(p.origin.key, 'utf8') },
          payloadHash: p.origin.payloadHash,
          eventId: p.event.eventId,
          consumer,
          category: 'UNRESOLVED_CORRELATION',
          message: `no CASE_CREATED linked UCM case ${p.event.ucmCaseId} to a URP case within ${settings.correlationGraceMs} ms`,
          payload: p.origin.payload,
          includePayload: settings.dlqIncludePayload,
          firstFailureMs: p.origin.lineage?.firstFailureMs ?? p.sinceMs,
          lastFailureMs: now,
          retryCount: p.origin.lineage?.retryCount ?? 0,
        });
        await ctx.forward(
          { key: p.origin.key ?? p.event.eventId, value: dlq, timestamp: now, headers: {} },
          CORRELATE_CHILDREN.dlq,
        );
      }
    };

    return {
      init: async (c) => {
        ctx = c;
        index = c.getStateStore<string, IndexEntry>(INDEX_STORE);
        pending = c.getStateStore<string, PendingEvent>(PENDING_STORE);
        counted = await pending.approximateNumEntries();
        metrics.pendingCorrelations.inc(counted);
        const every = Math.max(1_000, Math.min(10_000, Math.floor(settings.correlationGraceMs / 10)));
        c.schedule(every, 'wall-clock', (now) => expire(now));
      },
      process: async (record: StreamRecord<string, RoutedMessage>) => {
        const msg = record.value;
        if (msg.kind === 'index') {
          await index.put(msg.ucmCaseId, { urpCaseId: msg.urpCaseId });
          const waiting: [string, PendingEvent][] = [];
          for await (const { key, value } of pending.prefixScan(`${msg.ucmCaseId}|`))
            waiting.push([key, value]);
          for (const [key, p] of waiting) {
            await pending.delete(key);
            metrics.pendingCorrelations.dec();
            counted--;
            await release(p, msg.urpCaseId, record.timestamp);
          }
          return;
        }
        if (msg.kind !== 'resolve') return;
        const known = await index.get(msg.event.ucmCaseId);
        if (known) {
          await release(
            { event: msg.event, origin: msg.origin, sinceMs: 0 },
            known.urpCaseId,
            record.timestamp,
          );
          return;
        }
        const key = pendingKey(msg.event.ucmCaseId, msg.event.eventId);
        if ((await pending.get(key)) !== undefined) return; // the same event re-delivered while waiting
        await pending.put(key, { event: msg.event, origin: msg.origin, sinceMs: ctx.currentSystemTimeMs() });
        metrics.pendingCorrelations.inc();
        counted++;
        ctx.logger.debug(
          { eventId: msg.event.eventId, ucmCaseId: msg.event.ucmCaseId },
          'waiting for CASE_CREATED',
        );
      },
      close: () => {
        metrics.pendingCorrelations.dec(counted);
      },
    };
  };
}
