/**
 * Stream time of a correlate task (ADR 0007): the clock its pending events expire by (correlate-processor.ts), so
 * that the same input gives the same dead letters whatever the wall clock, the punctuation phase, restarts or
 * rebalances.
 * - Stream time is the largest record timestamp the task has processed, the record being processed included. It
 *   is tracked by the processor: each record that reaches it counts as it is processed, and the task's stream time
 *   is taken in at each punctuation (when every record fetched so far is done; a batch advances the context's
 *   stream time to its greatest timestamp before its first record, so it is not read while processing).
 * - It is saved in the pending store (`~stream-time`, pending-correlation.ts) so that it survives a restart or a
 *   move to another instance.
 * - The wall-clock time of the last record or advance is kept for the wall-clock fallback (a partition that
 *   receives no records does not advance its stream time; see correlate-processor.ts).
 */
import type { KeyValueStore } from '../stores/contracts.js';
import { MAX_DUE_MS, STREAM_TIME_KEY, storedStreamTime, streamTimeValue } from './pending-correlation.js';

/**
 * Stream time of one correlate task, starting from the one saved in the store. Kept by the processor (not read
 * from the context while processing) so that it covers exactly the records processed so far, however the runtime
 * fetches and batches them.
 */
export class CorrelationStreamTime {
  /** The largest record timestamp the task has processed (-1: none yet). */
  private streamTimeMs = -1;
  /** Wall-clock time a record last reached the processor or stream time last advanced (or it started). */
  private activeAtMs = 0;
  /** The stream time saved in the store (-1: none yet). */
  private savedStreamTime = -1;

  /** `pending`: the store that holds `~stream-time` (the pending-correlation store). */
  constructor(private readonly pending: KeyValueStore<string, unknown>) {}

  /** Stream time now: the largest record timestamp processed (-1 before any). */
  get ms(): number {
    return this.streamTimeMs;
  }

  /**
   * At init: starts from the stream time saved in the store; the start (wall clock `now`) counts as activity.
   * Throws what the store throws (the task fails to start).
   */
  async restore(now: number): Promise<void> {
    this.activeAtMs = now;
    this.savedStreamTime = storedStreamTime(await this.pending.get(STREAM_TIME_KEY));
    this.streamTimeMs = this.savedStreamTime;
  }

  /** A record reached the processor at wall clock `now`: activity, and (as in Kafka Streams) stream time. */
  recordArrived(timestamp: number, now: number): void {
    this.activeAtMs = now;
    this.advance(timestamp, now);
  }

  /** Takes in `timestamp` (a record's, or the task's stream time) when valid and later; an advance is activity. */
  advance(timestamp: number, now: number): void {
    if (!validTimestamp(timestamp) || timestamp <= this.streamTimeMs) return;
    this.streamTimeMs = timestamp;
    this.activeAtMs = now;
  }

  /** Saves stream time in the store when it advanced since the last save. Throws what the store throws. */
  async save(): Promise<void> {
    if (this.streamTimeMs <= this.savedStreamTime) return;
    await this.pending.put(STREAM_TIME_KEY, streamTimeValue(this.streamTimeMs));
    this.savedStreamTime = this.streamTimeMs;
  }

  /** True when for `graceMs` of wall clock up to `now` no record reached the processor and stream time stayed. */
  idleFor(graceMs: number, now: number): boolean {
    return now - this.activeAtMs >= graceMs;
  }

  /** A record's timestamp, or (none: Kafka's -1) the stream time, or the wall clock before any record. */
  recordTime(timestamp: number, now: number): number {
    if (validTimestamp(timestamp)) return timestamp;
    return this.streamTimeMs >= 0 ? this.streamTimeMs : now;
  }
}

const validTimestamp = (t: number) => Number.isSafeInteger(t) && t >= 0 && t <= MAX_DUE_MS;
