/**
 * Sub-topology 1 (partitioned by ucmCaseId): keeps the index ucmCaseId -> urpCaseId (from CASE_CREATED) and
 * resolves status changes that arrived without a urpCaseId. An unresolved event waits durably in the `pending`
 * store (changelogged like every store) and is released the moment its CASE_CREATED is indexed; after
 * CORRELATION_GRACE_MS of waiting (wall clock) it goes to the dead-letter topic as UNRESOLVED_CORRELATION, carrying
 * its envelope rebuilt from the normalised event (project.ts `toEnvelope`).
 *
 * Pending entries are read back defensively (routed-event.ts `readPendingEvent`): one that cannot be read (or
 * whose dead letter cannot be built) is dead-lettered as PROCESSING_ERROR with what is known and deleted, and the
 * others go on. Store and Kafka failures (instance-level errors) still propagate: they are not about one entry.
 */
import { isInstanceLevelError } from '../common/errors.js';
import { errorName } from '../common/sanitize.js';
import type { KeyValueStore } from '../stores/contracts.js';
import type { Processor, ProcessorContext } from '../topology/processor.js';
import type { StreamRecord } from '../topology/record.js';
import type { CaseSyncMetrics } from './case-sync-metrics.js';
import type { CaseSyncSettings } from './domain/case-sync-settings.js';
import { buildDlqRecord, deadLetterKey, payloadHash } from './domain/dlq-record.js';
import type { DlqCategory, DlqRecord } from './domain/event-contract.js';
import { isValidId } from './domain/field-rules.js';
import { idsOf, projectEventLike, toEnvelope } from './domain/project.js';
import { processingErrorMessage } from './record-error-handler.js';
import { decodeOrigin, readPendingEvent, type PendingEvent, type RoutedMessage } from './routed-event.js';

export const INDEX_STORE = 'ucm-index';
export const PENDING_STORE = 'pending-correlation';
export const CORRELATE_CHILDREN = { resolved: 'resolved-sink', dlq: 'dlq-unresolved' } as const;
const NODE = 'correlate';

/** Index entry: the URP case a UCM case belongs to. */
export interface IndexEntry {
  readonly urpCaseId: string;
}

/** `<ucmCaseId>|<eventId>`: ids never contain "|", so a prefix scan of `<ucmCaseId>|` is exact. */
const pendingKey = (ucmCaseId: string, eventId: string) => `${ucmCaseId}|${eventId}`;

/** The ids a pending-store key names (each only if valid). */
function idsOfPendingKey(key: string): { eventId?: string; ucmCaseId?: string } {
  const bar = key.indexOf('|');
  const ucmCaseId = bar < 0 ? undefined : key.slice(0, bar);
  const eventId = bar < 0 ? undefined : key.slice(bar + 1);
  return {
    ...(isValidId(eventId) ? { eventId } : {}),
    ...(isValidId(ucmCaseId) ? { ucmCaseId } : {}),
  };
}

export function correlateProcessor(
  settings: CaseSyncSettings,
  metrics: CaseSyncMetrics,
  consumer: string,
): () => Processor<string, RoutedMessage, string, RoutedMessage | DlqRecord> {
  return () => {
    let ctx: ProcessorContext<string, RoutedMessage | DlqRecord>;
    let index: KeyValueStore<string, IndexEntry>;
    let pending: KeyValueStore<string, unknown>;
    let counted = 0;

    const count = (categories: readonly DlqCategory[]) => {
      for (const category of categories) {
        metrics.failed.inc({ reason: category });
        metrics.dlqWrites.inc({ category });
      }
    };

    const release = async (p: PendingEvent, urpCaseId: string, timestamp: number) => {
      await ctx.forward(
        {
          key: urpCaseId,
          value: { kind: 'event', event: { ...p.event, urpCaseId }, urpCaseId, origin: p.origin },
          timestamp,
          headers: {},
        },
        CORRELATE_CHILDREN.resolved,
      );
    };

    const deadLetterUnresolved = async (p: PendingEvent, now: number) => {
      const dlq = buildDlqRecord({
        origin: p.origin,
        payloadHash: p.origin.payloadHash,
        payloadSize: p.origin.payloadSize,
        eventId: p.event.eventId,
        consumer,
        category: 'UNRESOLVED_CORRELATION',
        message:
          'payload.urpCaseId is missing and no CASE_CREATED of payload.ucmCaseId arrived within ' +
          `CORRELATION_GRACE_MS (${settings.correlationGraceMs} ms)`,
        field: 'payload.urpCaseId',
        payload: toEnvelope(p.event),
        includePayload: settings.dlqIncludePayload,
        firstFailureMs: p.origin.lineage?.firstFailureMs ?? p.sinceMs,
        lastFailureMs: now,
        retryCount: p.origin.lineage?.retryCount ?? 0,
      });
      await ctx.forward(
        { key: deadLetterKey(p.event, p.origin.payloadHash), value: dlq, timestamp: now, headers: {} },
        CORRELATE_CHILDREN.dlq,
      );
      ctx.logger.warn(
        {
          eventId: p.event.eventId,
          ucmCaseId: p.event.ucmCaseId,
          category: 'UNRESOLVED_CORRELATION',
          waitedMs: now - p.sinceMs,
          topic: p.origin.topic,
          partition: p.origin.partition,
          offset: p.origin.offset,
        },
        'no CASE_CREATED for this UCM case within the grace period; sent to the dead-letter topic',
      );
    };

    /** A pending entry that cannot be read or dead-lettered normally: PROCESSING_ERROR with what is known. */
    const deadLetterBroken = async (
      key: string,
      raw: unknown,
      err: unknown,
      now: number,
      stage: 'process' | 'punctuate',
    ) => {
      const fromKey = idsOfPendingKey(key);
      const entry = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
      const payload = projectEventLike(entry.event, settings.attributeAllowlist);
      const found = idsOf(payload);
      const ids = {
        eventId: found.eventId ?? fromKey.eventId,
        ucmCaseId: found.ucmCaseId ?? fromKey.ucmCaseId,
      };
      const origin = decodeOrigin(entry.origin, ids) ?? {
        // The origin is unreadable: name the store's changelog and this task's partition instead.
        topic: `${ctx.applicationId}-${PENDING_STORE}-changelog`,
        partition: ctx.taskId.partition,
        offset: '0',
        key: null,
        payloadHash: payloadHash(null),
      };
      const dlq = buildDlqRecord({
        origin,
        payloadHash: origin.payloadHash,
        payloadSize: origin.payloadSize,
        eventId: ids.eventId ?? null,
        consumer,
        category: 'PROCESSING_ERROR',
        message: processingErrorMessage(NODE, stage, err),
        payload: payload ?? (ids.eventId || ids.ucmCaseId ? idsPayload(ids) : undefined),
        includePayload: settings.dlqIncludePayload,
        firstFailureMs: origin.lineage?.firstFailureMs ?? now,
        lastFailureMs: now,
        retryCount: origin.lineage?.retryCount ?? 0,
      });
      await ctx.forward(
        { key: deadLetterKey(ids, origin.payloadHash), value: dlq, timestamp: now, headers: {} },
        CORRELATE_CHILDREN.dlq,
      );
      ctx.logger.warn(
        { ...ids, category: 'PROCESSING_ERROR', node: NODE, error: errorName(err) },
        'a pending event could not be read or dead-lettered (a bug); sent to the dead-letter topic, the others go on',
      );
    };

    /**
     * Settles one pending entry: `action` (release or dead-letter it), or if that fails for a reason of its own,
     * a PROCESSING_ERROR dead letter; then deletes it. Returns the dead-letter category written, if any; an entry
     * for which not even that dead letter can be written stays (logged) and is retried later.
     */
    const settle = async (
      key: string,
      raw: unknown,
      now: number,
      stage: 'process' | 'punctuate',
      action: (p: PendingEvent) => Promise<DlqCategory | undefined>,
    ): Promise<DlqCategory | undefined | 'kept'> => {
      let written: DlqCategory | undefined;
      try {
        written = await action(readPendingEvent(raw));
      } catch (err) {
        if (isInstanceLevelError(err)) throw err;
        try {
          await deadLetterBroken(key, raw, err, now, stage);
          written = 'PROCESSING_ERROR';
        } catch (again) {
          if (isInstanceLevelError(again)) throw again;
          ctx.logger.error(
            { ...idsOfPendingKey(key), node: NODE, error: errorName(again) },
            'a pending event could not be dead-lettered; kept, retried at the next expiry',
          );
          return 'kept';
        }
      }
      await pending.delete(key);
      metrics.pendingCorrelations.dec();
      counted--;
      return written;
    };

    const expire = async (now: number) => {
      const due: [string, unknown][] = [];
      for await (const { key, value } of pending.range()) {
        const since = (value as { sinceMs?: unknown } | null | undefined)?.sinceMs;
        // An entry without a readable start time is due at once (it is dead-lettered as PROCESSING_ERROR).
        if (typeof since !== 'number' || !(now - since < settings.correlationGraceMs)) due.push([key, value]);
      }
      const written: DlqCategory[] = [];
      for (const [key, raw] of due) {
        const category = await settle(key, raw, now, 'punctuate', async (p) => {
          await deadLetterUnresolved(p, now);
          return 'UNRESOLVED_CORRELATION';
        });
        if (category !== undefined && category !== 'kept') written.push(category);
      }
      // Counted once every dead letter of the punctuation is on its way (a failed punctuation is rolled back).
      count(written);
    };

    return {
      init: async (c) => {
        ctx = c;
        index = c.getStateStore<string, IndexEntry>(INDEX_STORE);
        pending = c.getStateStore<string, unknown>(PENDING_STORE);
        counted = await pending.approximateNumEntries();
        metrics.pendingCorrelations.inc(counted);
        const every = Math.max(1_000, Math.min(10_000, Math.floor(settings.correlationGraceMs / 10)));
        c.schedule(every, 'wall-clock', (now) => expire(now));
      },
      process: async (record: StreamRecord<string, RoutedMessage>) => {
        const msg = record.value;
        if (msg.kind === 'index') {
          await index.put(msg.ucmCaseId, { urpCaseId: msg.urpCaseId });
          const waiting: [string, unknown][] = [];
          for await (const { key, value } of pending.prefixScan(`${msg.ucmCaseId}|`))
            waiting.push([key, value]);
          const written: DlqCategory[] = [];
          for (const [key, raw] of waiting) {
            const category = await settle(key, raw, ctx.currentSystemTimeMs(), 'process', async (p) => {
              await release(p, msg.urpCaseId, record.timestamp);
              return undefined;
            });
            if (category !== undefined && category !== 'kept') written.push(category);
          }
          count(written);
          return;
        }
        if (msg.kind !== 'resolve') return;
        // Rebuilt from known fields: whatever else an older version put in the message is not stored.
        const entry = readPendingEvent({
          event: msg.event,
          origin: msg.origin,
          sinceMs: ctx.currentSystemTimeMs(),
        });
        const known = await index.get(entry.event.ucmCaseId);
        if (known) {
          await release(entry, known.urpCaseId, record.timestamp);
          return;
        }
        const key = pendingKey(entry.event.ucmCaseId, entry.event.eventId);
        if ((await pending.get(key)) !== undefined) return; // the same event re-delivered while waiting
        await pending.put(key, entry);
        metrics.pendingCorrelations.inc();
        counted++;
        ctx.logger.debug(
          { eventId: entry.event.eventId, ucmCaseId: entry.event.ucmCaseId },
          'waiting for CASE_CREATED',
        );
      },
      close: () => {
        metrics.pendingCorrelations.dec(counted);
      },
    };
  };
}

/** Identifiers as an envelope fragment (for a dead letter of a pending entry whose event is unreadable). */
function idsPayload(ids: { eventId?: string; ucmCaseId?: string }): Record<string, unknown> {
  return {
    ...(ids.eventId !== undefined ? { eventId: ids.eventId } : {}),
    ...(ids.ucmCaseId !== undefined ? { payload: { ucmCaseId: ids.ucmCaseId } } : {}),
  };
}
