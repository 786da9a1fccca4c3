/**
 * The pending events of a correlate task (correlate-processor.ts): events waiting durably for their CASE_CREATED
 * in the `pending` store (changelogged like every store; layout in pending-correlation.ts), each kept together with
 * its due-index key, and their expiry.
 * - An event is due at its own record timestamp + CORRELATION_GRACE_MS (Kafka Streams' grace: a record's deadline
 *   is a function of its own timestamp, not of when it happened to be processed); an entry of the previous version
 *   (no due time) at its `sinceMs` + grace.
 * - Expiry dead-letters, as UNRESOLVED_CORRELATION, the events due up to a horizon (the task's stream time, or the
 *   processor's wall-clock fallback), reading the due part of the due index only, a bounded batch at a time; an
 *   in-memory lower bound of the next due time makes it free while nothing is due.
 * - Entries are read back defensively (routed-event.ts `readPendingEvent`): one that cannot be read (or whose dead
 *   letter cannot be built) is dead-lettered as PROCESSING_ERROR with what is known and deleted, and the others go
 *   on. Store and Kafka failures (instance-level errors) still propagate: they are not about one entry.
 */
import { isInstanceLevelError } from '../common/errors.js';
import { errorName } from '../common/sanitize.js';
import type { KeyValueStore } from '../stores/contracts.js';
import type { Logger } from '../topology/processor.js';
import type { CaseSyncMetrics, CorrelationClock } from './case-sync-metrics.js';
import { idsOfPendingKey, type CorrelationDeadLetters, type Tally } from './correlation-dead-letters.js';
import type { CorrelationStreamTime } from './correlation-stream-time.js';
import {
  DUE_END,
  DUE_MARKER,
  DUE_PREFIX,
  dueAfter,
  dueKey,
  dueKeysUpTo,
  parseDueKey,
  PENDING_KEYS_END,
  storedDueMs,
} from './pending-correlation.js';
import { readPendingEvent, type PendingEvent } from './routed-event.js';

/** Most pending events one punctuation expires (the rest: the next punctuation); bounds one transaction. */
export const EXPIRE_BATCH = 1_000;

/** What became of one pending entry. */
export type Outcome = 'settled' | 'indexed' | 'kept';

/** What the pending events of a correlate task need; given by the processor at init. */
export interface PendingEntriesDeps {
  /** The pending-correlation store. */
  readonly pending: KeyValueStore<string, unknown>;
  readonly metrics: CaseSyncMetrics;
  readonly logger: Logger;
  /** The processor's node, named in logs. */
  readonly node: string;
  /** CORRELATION_GRACE_MS. */
  readonly graceMs: number;
  readonly deadLetters: CorrelationDeadLetters;
  /** The task's stream time: an event due by it is expired by stream time, any other by the wall clock. */
  readonly streamTime: CorrelationStreamTime;
}

/**
 * The pending events of one correlate task: the first key space of the pending store and the due index, kept
 * together; the pending-correlations gauge counts the events it holds. Every method throws what the store (or
 * forwarding) throws when that is an instance-level error; the caller's record or punctuation is rolled back.
 */
export class PendingEntries {
  /** Pending events (keys of the first key space) this task holds, for the gauge. */
  private counted = 0;
  /**
   * UCM cases that may have pending events: a superset (added when an event starts waiting, dropped only by a
   * rebuild from the store), so a CASE_CREATED of a case with nothing waiting, the common case, costs no scan.
   */
  private mayHavePending = new Set<string>();
  /** Never above the earliest due time in the due index: while stream time is below it, nothing is due. */
  private nextDueMs = Number.POSITIVE_INFINITY;

  constructor(private readonly deps: PendingEntriesDeps) {}

  /**
   * At init, one read-only pass over the pending events: the gauge, the cases that may have pending events, and
   * the lower bound of the next due time. Returns the keys of the entries without a due time (of the previous
   * version, or unreadable), to be indexed by legacy-pending-entries.ts.
   */
  async load(): Promise<string[]> {
    const { pending } = this.deps;
    const unindexed: string[] = [];
    for await (const { key, value } of pending.range(undefined, PENDING_KEYS_END)) {
      this.counted++;
      this.mayHavePending.add(ucmOfPendingKey(key));
      if (storedDueMs(value) === undefined) unindexed.push(key);
    }
    this.deps.metrics.pendingCorrelations.inc(this.counted);
    for await (const { key } of pending.range(DUE_PREFIX, DUE_END)) {
      this.nextDueMs = parseDueKey(key)?.dueMs ?? 0;
      break;
    }
    return unindexed;
  }

  /** The stored entry under `key` (undefined: none). */
  get(key: string): Promise<unknown> {
    return this.deps.pending.get(key);
  }

  /**
   * Whether `ucmCaseId`'s event under `key` is waiting already; no read for a case with nothing waiting (the norm:
   * a status change that waits is usually its case's first).
   */
  async isWaiting(ucmCaseId: string, key: string): Promise<boolean> {
    return this.mayHavePending.has(ucmCaseId) && (await this.deps.pending.get(key)) !== undefined;
  }

  /** The stored entries (key, value) of `ucmCaseId`'s waiting events; no scan for a case with none (the norm). */
  async waitingFor(ucmCaseId: string): Promise<[string, unknown][]> {
    const waiting: [string, unknown][] = [];
    if (this.mayHavePending.has(ucmCaseId)) {
      for await (const { key, value } of this.deps.pending.prefixScan(`${ucmCaseId}|`))
        waiting.push([key, value]);
    }
    return waiting;
  }

  /** Adds a new pending event (already read) under `key`, due at `dueMs`, and counts it into the gauge. */
  async add(key: string, p: PendingEvent, dueMs: number): Promise<void> {
    await this.put(key, p, dueMs);
    this.deps.metrics.pendingCorrelations.inc();
    this.counted++;
  }

  /** (Re)writes a pending event (already read, already counted) under its key and its due-index key. */
  async put(key: string, p: PendingEvent, dueMs: number): Promise<void> {
    // Rebuilt from known fields: whatever else an older version put in the entry is not stored.
    await this.deps.pending.put(key, { event: p.event, origin: p.origin, sinceMs: p.sinceMs, dueMs });
    await this.deps.pending.put(dueKey(dueMs, key), DUE_MARKER);
    this.mayHavePending.add(p.event.ucmCaseId);
    if (dueMs < this.nextDueMs) this.nextDueMs = dueMs;
  }

  /**
   * Settles one pending entry through `action`, given the event and its due time (an entry of the previous
   * version: `sinceMs` + grace): a clock when it dead-lettered the event, 'released', or 'indexed' (the entry
   * stays). If reading or `action` fails for a reason of its own: a PROCESSING_ERROR dead letter. A settled
   * entry is deleted with its due-index key; one for which not even that dead letter can be written stays
   * ('kept', logged) and is retried at the next expiry. Dead letters written are added to `tally`.
   */
  async settle(
    key: string,
    raw: unknown,
    now: number,
    stage: 'process' | 'punctuate',
    tally: Tally,
    action: (p: PendingEvent, dueMs: number) => Promise<CorrelationClock | 'released' | 'indexed'>,
  ): Promise<Outcome> {
    try {
      const p = readPendingEvent(raw);
      const done = await action(p, storedDueMs(raw) ?? dueAfter(p.sinceMs, this.deps.graceMs));
      if (done === 'indexed') return 'indexed';
      if (done !== 'released') tally.unresolved.push(done);
    } catch (err) {
      if (isInstanceLevelError(err)) throw err;
      try {
        await this.deps.deadLetters.broken(key, raw, err, now, stage);
        tally.broken++;
      } catch (again) {
        if (isInstanceLevelError(again)) throw again;
        this.deps.logger.error(
          { ...idsOfPendingKey(key), node: this.deps.node, error: errorName(again) },
          'a pending event could not be dead-lettered; kept, retried at the next expiry',
        );
        return 'kept';
      }
    }
    await this.remove(key, raw);
    return 'settled';
  }

  /**
   * Dead-letters the pending events due at or before `horizon` (at most EXPIRE_BATCH), reading the due index from
   * its start to `horizon` and then its first key beyond, which is where the next expiry needs to look. Dead
   * letters written are added to `tally`.
   */
  async expire(horizon: number, now: number, tally: Tally): Promise<void> {
    const { pending } = this.deps;
    if (horizon < this.nextDueMs) return;
    const due: { indexKey: string; dueMs: number; key: string | undefined }[] = [];
    for await (const { key } of pending.range(DUE_PREFIX, dueKeysUpTo(horizon))) {
      const parsed = parseDueKey(key);
      due.push({ indexKey: key, dueMs: parsed?.dueMs ?? horizon, key: parsed?.key });
      if (due.length === EXPIRE_BATCH) break;
    }
    if (due.length === EXPIRE_BATCH) {
      this.nextDueMs = due[due.length - 1]!.dueMs;
    } else {
      this.nextDueMs = Number.POSITIVE_INFINITY;
      for await (const { key } of pending.range(dueKeysUpTo(horizon), DUE_END)) {
        const parsed = parseDueKey(key);
        if (parsed) {
          this.nextDueMs = parsed.dueMs;
          break;
        }
        due.push({ indexKey: key, dueMs: horizon, key: undefined }); // not an index key of ours: deleted
      }
    }
    const streamNow = this.deps.streamTime.ms;
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
      const outcome = await this.settle(d.key, raw, now, 'punctuate', tally, async (p) => {
        const clock: CorrelationClock = d.dueMs <= streamNow ? 'stream-time' : 'wall-clock';
        await this.deps.deadLetters.unresolved(p, d.dueMs, now, clock);
        return clock;
      });
      if (outcome === 'kept') this.nextDueMs = Math.min(this.nextDueMs, d.dueMs);
      // An unreadable entry has no due time of its own: its index key goes with it.
      else if (stored === undefined) await pending.delete(d.indexKey);
    }
  }

  /** Rebuilds the superset of cases with waiting events once it is mostly stale (amortised: O(1) per event). */
  async trimMayHavePending(): Promise<void> {
    if (this.mayHavePending.size <= 2 * this.counted + 1024) return;
    const rebuilt = new Set<string>();
    for await (const { key } of this.deps.pending.range(undefined, PENDING_KEYS_END))
      rebuilt.add(ucmOfPendingKey(key));
    this.mayHavePending = rebuilt;
  }

  /** At close: takes the events this task holds out of the gauge. */
  close(): void {
    this.deps.metrics.pendingCorrelations.dec(this.counted);
  }

  /** Deletes a settled pending event: its key and its due-index key; counts it out of the gauge. */
  private async remove(key: string, raw: unknown): Promise<void> {
    await this.deps.pending.delete(key);
    const due = storedDueMs(raw);
    if (due !== undefined) await this.deps.pending.delete(dueKey(due, key));
    this.deps.metrics.pendingCorrelations.dec();
    this.counted--;
  }
}

const ucmOfPendingKey = (key: string) => key.slice(0, Math.max(0, key.indexOf('|')));

/** True when `raw` reads as a pending event. */
function readable(raw: unknown): boolean {
  try {
    readPendingEvent(raw);
    return true;
  } catch {
    return false;
  }
}
