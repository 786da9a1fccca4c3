/**
 * Sub-topology 0 (partitioned by ucmCaseId, beside validate, ADR 0008): keeps the index ucmCaseId -> urpCaseId
 * (from CASE_CREATED) and resolves status changes that arrived without a urpCaseId. Its messages come from validate
 * in place (records on their ucmCaseId's partition) or through by-ucm (all others). An unresolved event waits durably in the `pending`
 * store (changelogged like every store; layout in pending-correlation.ts) and is released the moment its
 * CASE_CREATED is indexed; once its grace period has passed it goes to the dead-letter topic as
 * UNRESOLVED_CORRELATION.
 *
 * The grace period runs in stream time (ADR 0007), so the same input gives the same dead letters whatever the wall
 * clock, the punctuation phase, restarts or rebalances. Stream time is the largest record timestamp the task has
 * processed, the record being processed included, saved in the store (correlation-stream-time.ts). An event is due
 * at its own record timestamp + CORRELATION_GRACE_MS (pending-entries.ts). It is dead-lettered if and only if
 * stream time reaches its due time before a CASE_CREATED of its UCM case is processed: a CASE_CREATED does not
 * release an event that is already due (it dead-letters it), and an event that arrives already due while its case
 * is unknown (a late record) is dead-lettered at once. A stream-time punctuation runs whenever stream time advances
 * and expires what is due (pending-entries.ts `expire`).
 * Wall-clock fallback: a partition that receives no records does not advance its stream time. When for a whole
 * grace period (wall clock) stream time has not advanced and no record has reached this processor, a wall-clock
 * punctuation also expires the events due at least one grace period ago by the wall clock (two grace periods after
 * their record timestamp). Any record that arrives later is timestamped past their due time unless it lags the
 * wall clock by more than the grace period, so the fallback decides as stream time would have.
 *
 * Elsewhere: the pending events, their due index, their expiry and the defensive reading of entries (an unreadable
 * one is dead-lettered as PROCESSING_ERROR, the others go on) in pending-entries.ts; the dead letters and their
 * metrics in correlation-dead-letters.ts; the entries of the previous version (no due time), indexed by the
 * punctuations, in legacy-pending-entries.ts.
 */
import type { KeyValueStore } from '../stores/contracts.js';
import type { Processor, ProcessorContext } from '../topology/processor.js';
import type { StreamRecord } from '../topology/record.js';
import type { CaseSyncMetrics } from './case-sync-metrics.js';
import { countDeadLetters, CorrelationDeadLetters, emptyTally } from './correlation-dead-letters.js';
import { CorrelationStreamTime } from './correlation-stream-time.js';
import type { CaseSyncSettings } from './domain/case-sync-settings.js';
import type { DlqRecord } from './domain/event-contract.js';
import { LegacyPendingEntries } from './legacy-pending-entries.js';
import { dueAfter, pendingKey } from './pending-correlation.js';
import { PendingEntries } from './pending-entries.js';
import { readPendingEvent, type PendingEvent, type RoutedMessage } from './routed-event.js';

export const INDEX_STORE = 'ucm-index';
export const PENDING_STORE = 'pending-correlation';
/**
 * A resolved event goes straight to `by-urp` (the apply sub-topology's input). `legacyResolved` is the `resolved`
 * topic of the previous version: still declared (and read by apply) for records it left there, never written.
 */
export const CORRELATE_CHILDREN = {
  resolved: 'by-urp-sink',
  legacyResolved: 'resolved-sink',
  dlq: 'dlq-unresolved',
} as const;
const NODE = 'correlate';

/** Index entry: the URP case a UCM case belongs to. */
export interface IndexEntry {
  readonly urpCaseId: string;
}

/**
 * The correlate processor (see the module comment): its stores are {@link INDEX_STORE} and {@link PENDING_STORE},
 * its children {@link CORRELATE_CHILDREN}. Store and Kafka failures propagate (the runtime rolls the record or
 * punctuation back); a pending entry that fails for a reason of its own is dead-lettered, the others go on.
 */
export function correlateProcessor(
  settings: CaseSyncSettings,
  metrics: CaseSyncMetrics,
  consumer: string,
): () => Processor<string, RoutedMessage, string, RoutedMessage | DlqRecord> {
  const grace = settings.correlationGraceMs;
  const wallClockEvery = Math.max(1_000, Math.min(10_000, Math.floor(grace / 10)));
  return () => {
    let ctx: ProcessorContext<string, RoutedMessage | DlqRecord>;
    let index: KeyValueStore<string, IndexEntry>;
    let streamTime: CorrelationStreamTime;
    let deadLetters: CorrelationDeadLetters;
    let entries: PendingEntries;
    let legacy: LegacyPendingEntries;

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

    /** Whenever stream time advances: save it, index a batch of old entries, expire what is due. */
    const onStreamTime = async () => {
      const now = ctx.currentSystemTimeMs();
      streamTime.advance(ctx.currentStreamTimeMs(), now);
      await streamTime.save();
      const tally = emptyTally();
      await legacy.indexBatch(now, tally);
      await entries.expire(streamTime.ms, now, tally);
      // Counted once every dead letter of the punctuation is on its way (a failed punctuation is rolled back).
      countDeadLetters(metrics, tally);
    };

    /** The wall-clock fallback (see the module comment), and what a full batch left due in stream time. */
    const onWallClock = async (now: number) => {
      await entries.trimMayHavePending();
      streamTime.advance(ctx.currentStreamTimeMs(), now);
      await streamTime.save();
      const tally = emptyTally();
      await legacy.indexBatch(now, tally);
      const idle = streamTime.idleFor(grace, now);
      await entries.expire(idle ? Math.max(streamTime.ms, now - grace) : streamTime.ms, now, tally);
      countDeadLetters(metrics, tally);
    };

    return {
      init: async (c) => {
        ctx = c;
        index = c.getStateStore<string, IndexEntry>(INDEX_STORE);
        const pending = c.getStateStore<string, unknown>(PENDING_STORE);
        streamTime = new CorrelationStreamTime(pending);
        await streamTime.restore(c.currentSystemTimeMs());
        deadLetters = new CorrelationDeadLetters({
          ctx: c,
          settings,
          consumer,
          node: NODE,
          dlqChild: CORRELATE_CHILDREN.dlq,
          pendingStore: PENDING_STORE,
          streamTime,
        });
        entries = new PendingEntries({
          pending,
          metrics,
          logger: c.logger,
          node: NODE,
          graceMs: grace,
          deadLetters,
          streamTime,
        });
        legacy = LegacyPendingEntries.found(await entries.load(), entries, c.logger);
        c.schedule(1, 'stream-time', onStreamTime);
        c.schedule(wallClockEvery, 'wall-clock', onWallClock);
      },
      process: async (record: StreamRecord<string, RoutedMessage>) => {
        const now = ctx.currentSystemTimeMs();
        // As in Kafka Streams, stream time includes the record being processed.
        streamTime.recordArrived(record.timestamp, now);
        const msg = record.value;
        if (msg.kind === 'index') {
          await index.put(msg.ucmCaseId, { urpCaseId: msg.urpCaseId });
          const waiting = await entries.waitingFor(msg.ucmCaseId);
          const streamNow = streamTime.ms;
          const tally = emptyTally();
          for (const [key, raw] of waiting) {
            await entries.settle(key, raw, now, 'process', tally, async (p, dueMs) => {
              if (dueMs <= streamNow) {
                // Due in stream time already (a full expiry batch left it): this CASE_CREATED came too late.
                await deadLetters.unresolved(p, dueMs, now, 'stream-time');
                return 'stream-time';
              }
              await release(p, msg.urpCaseId, record.timestamp);
              return 'released';
            });
          }
          countDeadLetters(metrics, tally);
          return;
        }
        if (msg.kind !== 'resolve') return;
        // Rebuilt from known fields: whatever else an older version put in the message is not stored.
        const entry = readPendingEvent({ event: msg.event, origin: msg.origin, sinceMs: now });
        const known = await index.get(entry.event.ucmCaseId);
        if (known) {
          await release(entry, known.urpCaseId, record.timestamp);
          return;
        }
        const key = pendingKey(entry.event.ucmCaseId, entry.event.eventId);
        if (await entries.isWaiting(entry.event.ucmCaseId, key)) return; // the same event re-delivered while waiting
        const dueMs = dueAfter(streamTime.recordTime(record.timestamp, now), grace);
        if (dueMs <= streamTime.ms) {
          // A late record: its grace period has already passed in stream time.
          await deadLetters.unresolved(entry, dueMs, now, 'stream-time');
          countDeadLetters(metrics, { unresolved: ['stream-time'], broken: 0 });
          return;
        }
        await entries.add(key, entry, dueMs);
        ctx.logger.debug(
          { eventId: entry.event.eventId, ucmCaseId: entry.event.ucmCaseId, dueMs },
          'waiting for CASE_CREATED',
        );
      },
      close: () => {
        // Undefined only if init failed before reading the store: nothing was counted then.
        if (entries !== undefined) entries.close();
      },
    };
  };
}
