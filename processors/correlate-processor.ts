/**
 * Sub-topology 0 (partitioned by ucmCaseId, beside validate, ADR 0008): keeps the index ucmCaseId -> urpCaseId
 * (from CASE_CREATED) and resolves status changes that arrived without a urpCaseId. Its messages come from validate
 * in place (records on their ucmCaseId's partition) or through by-ucm (all others). An unresolved event waits durably in the `pending`
 * store (changelogged like every store; layout in pending-correlation.ts) and is released the moment its
 * CASE_CREATED is indexed; once its grace period has passed it goes to the dead-letter topic as
 * UNRESOLVED_CORRELATION, carrying its envelope rebuilt from the normalised event (project.ts `toEnvelope`).
 *
 * The grace period runs in stream time (ADR 0007), so the same input gives the same dead letters whatever the wall
 * clock, the punctuation phase, restarts or rebalances:
 * - stream time is the largest record timestamp the task has processed, the record being processed included.
 *   It is tracked here: each record that reaches this processor counts as it is processed, and the task's stream
 *   time is taken in at each punctuation (when every record fetched so far is done; a batch advances the context's
 *   stream time to its greatest timestamp before its first record, so it is not read while processing). It is saved
 *   in the store (`~stream-time`) so that it survives a restart or a move to another instance;
 * - an event is due at its own record timestamp + CORRELATION_GRACE_MS (Kafka Streams' grace: a record's deadline
 *   is a function of its own timestamp, not of when it happened to be processed). It is dead-lettered if and only
 *   if stream time reaches its due time before a CASE_CREATED of its UCM case is processed: a CASE_CREATED does not
 *   release an event that is already due (it dead-letters it), and an event that arrives already due while its
 *   case is unknown (a late record) is dead-lettered at once;
 * - a stream-time punctuation runs whenever stream time advances and expires what is due, reading the due part of
 *   the due index only (an in-memory lower bound of the next due time makes it free while nothing is due).
 * Wall-clock fallback: a partition that receives no records does not advance its stream time. When for a whole
 * grace period (wall clock) stream time has not advanced and no record has reached this processor, a wall-clock
 * punctuation also expires the events due at least one grace period ago by the wall clock (two grace periods after
 * their record timestamp). Any record that arrives later is timestamped past their due time unless it lags the
 * wall clock by more than the grace period, so the fallback decides as stream time would have.
 *
 * Pending entries are read back defensively (routed-event.ts `readPendingEvent`): one that cannot be read (or
 * whose dead letter cannot be built) is dead-lettered as PROCESSING_ERROR with what is known and deleted, and the
 * others go on. Store and Kafka failures (instance-level errors) still propagate: they are not about one entry.
 *
 * Entries of the previous version (wall-clock grace: `sinceMs` only, no due-index key) are found by one read-only
 * pass at init and indexed by the punctuations, a bounded batch each, due at `sinceMs` + grace; until then a
 * CASE_CREATED still releases them.
 */
import { isInstanceLevelError } from '../common/errors.js';
import { errorName } from '../common/sanitize.js';
import type { KeyValueStore } from '../stores/contracts.js';
import type { Processor, ProcessorContext } from '../topology/processor.js';
import type { StreamRecord } from '../topology/record.js';
import type { CaseSyncMetrics, CorrelationClock } from './case-sync-metrics.js';
import type { CaseSyncSettings } from './domain/case-sync-settings.js';
import { buildDlqRecord, deadLetterKey, payloadHash } from './domain/dlq-record.js';
import type { DlqCategory, DlqRecord } from './domain/event-contract.js';
import { isValidId } from './domain/field-rules.js';
import { idsOf, projectEventLike, toEnvelope } from './domain/project.js';
import {
  DUE_END,
  DUE_MARKER,
  DUE_PREFIX,
  dueAfter,
  dueKey,
  dueKeysUpTo,
  MAX_DUE_MS,
  parseDueKey,
  PENDING_KEYS_END,
  pendingKey,
  STREAM_TIME_KEY,
  storedDueMs,
  storedStreamTime,
  streamTimeValue,
} from './pending-correlation.js';
import { processingErrorMessage } from './record-error-handler.js';
import { decodeOrigin, readPendingEvent, type PendingEvent, type RoutedMessage } from './routed-event.js';

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
/** Most pending events one punctuation expires (the rest: the next punctuation); bounds one transaction. */
export const EXPIRE_BATCH = 1_000;
/** Most entries of the previous version one punctuation indexes. */
export const INDEX_BATCH = 1_000;

/** Index entry: the URP case a UCM case belongs to. */
export interface IndexEntry {
  readonly urpCaseId: string;
}

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

/** Dead letters written by one record or punctuation, counted once all of them are on their way. */
interface Tally {
  /** One UNRESOLVED_CORRELATION each, by the clock that decided. */
  readonly unresolved: CorrelationClock[];
  /** PROCESSING_ERROR dead letters of unreadable entries. */
  broken: number;
}

/** What became of one pending entry. */
type Outcome = 'settled' | 'indexed' | 'kept';

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
    let pending: KeyValueStore<string, unknown>;
    /** Pending events (keys of the first key space) this processor holds, for the gauge. */
    let counted = 0;
    /**
     * UCM cases that may have pending events: a superset (added when an event starts waiting, dropped only by a
     * rebuild from the store), so a CASE_CREATED of a case with nothing waiting, the common case, costs no scan.
     */
    let mayHavePending = new Set<string>();
    const ucmOfPendingKey = (key: string) => key.slice(0, Math.max(0, key.indexOf('|')));
    /**
     * Stream time: the largest record timestamp the task has processed (-1: none yet), starting from the one saved
     * in the store. Kept here so that it covers exactly the records processed so far, however the runtime fetches
     * and batches them (see the module comment).
     */
    let streamTimeMs = -1;
    /** Wall-clock time a record last reached this processor or stream time last advanced (or it started). */
    let activeAtMs = 0;
    /** The stream time saved in the store (-1: none yet). */
    let savedStreamTime = -1;
    /** Never above the earliest due time in the due index: while stream time is below it, nothing is due. */
    let nextDueMs = Number.POSITIVE_INFINITY;
    /** Keys of entries of the previous version still to be indexed by due time. */
    let unindexed: string[] = [];

    const streamTime = () => streamTimeMs;

    const advanceStreamTime = (timestamp: number, now: number) => {
      if (!validTimestamp(timestamp) || timestamp <= streamTimeMs) return;
      streamTimeMs = timestamp;
      activeAtMs = now;
    };

    const saveStreamTime = async () => {
      if (streamTimeMs <= savedStreamTime) return;
      await pending.put(STREAM_TIME_KEY, streamTimeValue(streamTimeMs));
      savedStreamTime = streamTimeMs;
    };

    const account = (tally: Tally) => {
      const categories: DlqCategory[] = [
        ...tally.unresolved.map((): DlqCategory => 'UNRESOLVED_CORRELATION'),
        ...Array.from({ length: tally.broken }, (): DlqCategory => 'PROCESSING_ERROR'),
      ];
      for (const category of categories) {
        metrics.failed.inc({ reason: category });
        metrics.dlqWrites.inc({ category });
      }
      for (const clock of tally.unresolved) metrics.correlationsExpired.inc({ clock });
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

    const deadLetterUnresolved = async (
      p: PendingEvent,
      dueMs: number,
      now: number,
      clock: CorrelationClock,
    ) => {
      const dlq = buildDlqRecord({
        origin: p.origin,
        payloadHash: p.origin.payloadHash,
        payloadSize: p.origin.payloadSize,
        eventId: p.event.eventId,
        consumer,
        category: 'UNRESOLVED_CORRELATION',
        message:
          'payload.urpCaseId is missing and no CASE_CREATED of payload.ucmCaseId arrived within ' +
          `CORRELATION_GRACE_MS (${grace} ms)`,
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
          clock,
          dueMs,
          streamTimeMs: streamTime(),
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

    /** Deletes a settled pending event: its key and its due-index key; counts it out of the gauge. */
    const remove = async (key: string, raw: unknown) => {
      await pending.delete(key);
      const due = storedDueMs(raw);
      if (due !== undefined) await pending.delete(dueKey(due, key));
      metrics.pendingCorrelations.dec();
      counted--;
    };

    /**
     * Settles one pending entry through `action`, given the event and its due time (an entry of the previous
     * version: `sinceMs` + grace): a clock when it dead-lettered the event, 'released', or 'indexed' (the entry
     * stays). If reading or `action` fails for a reason of its own: a PROCESSING_ERROR dead letter. A settled
     * entry is deleted with its due-index key; one for which not even that dead letter can be written stays
     * ('kept', logged) and is retried at the next expiry.
     */
    const settle = async (
      key: string,
      raw: unknown,
      now: number,
      stage: 'process' | 'punctuate',
      tally: Tally,
      action: (p: PendingEvent, dueMs: number) => Promise<CorrelationClock | 'released' | 'indexed'>,
    ): Promise<Outcome> => {
      try {
        const p = readPendingEvent(raw);
        const done = await action(p, storedDueMs(raw) ?? dueAfter(p.sinceMs, grace));
        if (done === 'indexed') return 'indexed';
        if (done !== 'released') tally.unresolved.push(done);
      } catch (err) {
        if (isInstanceLevelError(err)) throw err;
        try {
          await deadLetterBroken(key, raw, err, now, stage);
          tally.broken++;
        } catch (again) {
          if (isInstanceLevelError(again)) throw again;
          ctx.logger.error(
            { ...idsOfPendingKey(key), node: NODE, error: errorName(again) },
            'a pending event could not be dead-lettered; kept, retried at the next expiry',
          );
          return 'kept';
        }
      }
      await remove(key, raw);
      return 'settled';
    };

    /** Adds a pending event (already read) under its key and its due-index key. */
    const store = async (key: string, p: PendingEvent, dueMs: number) => {
      // Rebuilt from known fields: whatever else an older version put in the entry is not stored.
      await pending.put(key, { event: p.event, origin: p.origin, sinceMs: p.sinceMs, dueMs });
      await pending.put(dueKey(dueMs, key), DUE_MARKER);
      mayHavePending.add(p.event.ucmCaseId);
      if (dueMs < nextDueMs) nextDueMs = dueMs;
    };

    /** Indexes a bounded batch of the previous version's entries (found at init) by due time. */
    const indexPrevious = async (now: number, tally: Tally) => {
      if (unindexed.length === 0) return;
      const batch = unindexed.slice(0, INDEX_BATCH);
      let indexed = 0;
      for (const key of batch) {
        const raw = await pending.get(key);
        // Released (or settled) meanwhile, or already indexed.
        if (raw === undefined || storedDueMs(raw) !== undefined) continue;
        // An unreadable one is dead-lettered now, as the previous version's next expiry would have done.
        const outcome = await settle(key, raw, now, 'punctuate', tally, async (p, dueMs) => {
          await store(key, p, dueMs);
          return 'indexed';
        });
        if (outcome === 'indexed') indexed++;
      }
      // Only once the batch went through: a failed punctuation is rolled back and retried.
      unindexed = unindexed.slice(batch.length);
      ctx.logger.info(
        { indexed, remaining: unindexed.length },
        'indexed pending events of the previous version by due time (due at their start + CORRELATION_GRACE_MS)',
      );
    };

    /**
     * Dead-letters the pending events due at or before `horizon` (at most EXPIRE_BATCH), reading the due index from
     * its start to `horizon` and then its first key beyond, which is where the next expiry needs to look.
     */
    const expire = async (horizon: number, now: number, tally: Tally) => {
      if (horizon < nextDueMs) return;
      const due: { indexKey: string; dueMs: number; key: string | undefined }[] = [];
      for await (const { key } of pending.range(DUE_PREFIX, dueKeysUpTo(horizon))) {
        const parsed = parseDueKey(key);
        due.push({ indexKey: key, dueMs: parsed?.dueMs ?? horizon, key: parsed?.key });
        if (due.length === EXPIRE_BATCH) break;
      }
      if (due.length === EXPIRE_BATCH) {
        nextDueMs = due[due.length - 1]!.dueMs;
      } else {
        nextDueMs = Number.POSITIVE_INFINITY;
        for await (const { key } of pending.range(dueKeysUpTo(horizon), DUE_END)) {
          const parsed = parseDueKey(key);
          if (parsed) {
            nextDueMs = parsed.dueMs;
            break;
          }
          due.push({ indexKey: key, dueMs: horizon, key: undefined }); // not an index key of ours: deleted
        }
      }
      const streamNow = streamTime();
      for (const d of due) {
        const raw = d.key === undefined ? undefined : await pending.get(d.key);
        const stored = storedDueMs(raw);
        if (d.key === undefined || raw === undefined || (stored !== undefined && stored !== d.dueMs)) {
          // An index key whose entry is gone or is indexed under another due time (a rollback to the previous
          // version settled or rewrote it): nothing is due.
          await pending.delete(d.indexKey);
          continue;
        }
        if (stored === undefined && readable(raw)) {
          // An entry of the previous version under a stale index key: the start-up pass indexes it.
          await pending.delete(d.indexKey);
          continue;
        }
        const outcome = await settle(d.key, raw, now, 'punctuate', tally, async (p) => {
          const clock: CorrelationClock = d.dueMs <= streamNow ? 'stream-time' : 'wall-clock';
          await deadLetterUnresolved(p, d.dueMs, now, clock);
          return clock;
        });
        if (outcome === 'kept') nextDueMs = Math.min(nextDueMs, d.dueMs);
        // An unreadable entry has no due time of its own: its index key goes with it.
        else if (stored === undefined) await pending.delete(d.indexKey);
      }
    };

    /** Whenever stream time advances: save it, index a batch of old entries, expire what is due. */
    const onStreamTime = async () => {
      const now = ctx.currentSystemTimeMs();
      advanceStreamTime(ctx.currentStreamTimeMs(), now);
      await saveStreamTime();
      const tally: Tally = { unresolved: [], broken: 0 };
      await indexPrevious(now, tally);
      await expire(streamTime(), now, tally);
      // Counted once every dead letter of the punctuation is on its way (a failed punctuation is rolled back).
      account(tally);
    };

    /** Rebuilds the superset of cases with waiting events once it is mostly stale (amortised: O(1) per event). */
    const trimMayHavePending = async () => {
      if (mayHavePending.size <= 2 * counted + 1024) return;
      const rebuilt = new Set<string>();
      for await (const { key } of pending.range(undefined, PENDING_KEYS_END))
        rebuilt.add(ucmOfPendingKey(key));
      mayHavePending = rebuilt;
    };

    /** The wall-clock fallback (see the module comment), and what a full batch left due in stream time. */
    const onWallClock = async (now: number) => {
      await trimMayHavePending();
      advanceStreamTime(ctx.currentStreamTimeMs(), now);
      await saveStreamTime();
      const tally: Tally = { unresolved: [], broken: 0 };
      await indexPrevious(now, tally);
      const idle = now - activeAtMs >= grace;
      await expire(idle ? Math.max(streamTime(), now - grace) : streamTime(), now, tally);
      account(tally);
    };

    return {
      init: async (c) => {
        ctx = c;
        index = c.getStateStore<string, IndexEntry>(INDEX_STORE);
        pending = c.getStateStore<string, unknown>(PENDING_STORE);
        activeAtMs = c.currentSystemTimeMs();
        savedStreamTime = storedStreamTime(await pending.get(STREAM_TIME_KEY));
        streamTimeMs = savedStreamTime;
        // One read-only pass over the pending events: the gauge, and the entries of the previous version.
        for await (const { key, value } of pending.range(undefined, PENDING_KEYS_END)) {
          counted++;
          mayHavePending.add(ucmOfPendingKey(key));
          if (storedDueMs(value) === undefined) unindexed.push(key);
        }
        metrics.pendingCorrelations.inc(counted);
        for await (const { key } of pending.range(DUE_PREFIX, DUE_END)) {
          nextDueMs = parseDueKey(key)?.dueMs ?? 0;
          break;
        }
        if (unindexed.length > 0) {
          c.logger.info(
            { entries: unindexed.length },
            'pending events without a due time (previous version, or unreadable): indexing them by due time',
          );
        }
        c.schedule(1, 'stream-time', onStreamTime);
        c.schedule(wallClockEvery, 'wall-clock', onWallClock);
      },
      process: async (record: StreamRecord<string, RoutedMessage>) => {
        const now = ctx.currentSystemTimeMs();
        activeAtMs = now;
        // As in Kafka Streams, stream time includes the record being processed.
        advanceStreamTime(record.timestamp, now);
        const msg = record.value;
        if (msg.kind === 'index') {
          await index.put(msg.ucmCaseId, { urpCaseId: msg.urpCaseId });
          const waiting: [string, unknown][] = [];
          if (mayHavePending.has(msg.ucmCaseId)) {
            for await (const { key, value } of pending.prefixScan(`${msg.ucmCaseId}|`))
              waiting.push([key, value]);
          }
          const streamNow = streamTime();
          const tally: Tally = { unresolved: [], broken: 0 };
          for (const [key, raw] of waiting) {
            await settle(key, raw, now, 'process', tally, async (p, dueMs) => {
              if (dueMs <= streamNow) {
                // Due in stream time already (a full expiry batch left it): this CASE_CREATED came too late.
                await deadLetterUnresolved(p, dueMs, now, 'stream-time');
                return 'stream-time';
              }
              await release(p, msg.urpCaseId, record.timestamp);
              return 'released';
            });
          }
          account(tally);
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
        if ((await pending.get(key)) !== undefined) return; // the same event re-delivered while waiting
        const dueMs = dueAfter(recordTime(record.timestamp, now), grace);
        if (dueMs <= streamTime()) {
          // A late record: its grace period has already passed in stream time.
          await deadLetterUnresolved(entry, dueMs, now, 'stream-time');
          account({ unresolved: ['stream-time'], broken: 0 });
          return;
        }
        await store(key, entry, dueMs);
        metrics.pendingCorrelations.inc();
        counted++;
        ctx.logger.debug(
          { eventId: entry.event.eventId, ucmCaseId: entry.event.ucmCaseId, dueMs },
          'waiting for CASE_CREATED',
        );
      },
      close: () => {
        metrics.pendingCorrelations.dec(counted);
      },
    };

    /** A record's timestamp, or (none: Kafka's -1) the stream time, or the wall clock before any record. */
    function recordTime(timestamp: number, now: number): number {
      if (validTimestamp(timestamp)) return timestamp;
      return streamTimeMs >= 0 ? streamTimeMs : now;
    }
  };
}

const validTimestamp = (t: number) => Number.isSafeInteger(t) && t >= 0 && t <= MAX_DUE_MS;

/** True when `raw` reads as a pending event. */
function readable(raw: unknown): boolean {
  try {
    readPendingEvent(raw);
    return true;
  } catch {
    return false;
  }
}

/** Identifiers as an envelope fragment (for a dead letter of a pending entry whose event is unreadable). */
function idsPayload(ids: { eventId?: string; ucmCaseId?: string }): Record<string, unknown> {
  return {
    ...(ids.eventId !== undefined ? { eventId: ids.eventId } : {}),
    ...(ids.ucmCaseId !== undefined ? { payload: { ucmCaseId: ids.ucmCaseId } } : {}),
  };
}
