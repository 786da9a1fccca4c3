/**
 * An active task: one subtopology on one partition, with its stores and engine. It takes part in the instance's
 * commits (see ./commit-protocol.ts): one transaction per commit interval for all tasks of the instance, written
 * by the instance's producer. A failed commit leaves the task's stores at their last commit (their staged writes
 * dropped); the task manager then closes it dirty and re-creates it from there.
 */
import { performance } from 'node:perf_hooks';
import { topicPartitionKey, type ConsumedBatch } from '../../../kafka/index.js';
import type { TaskStore } from '../../../stores/contracts.js';
import type { Logger } from '../../processor.js';
import type { IncomingRecord, OutgoingRecord, TaskEngine } from '../../task-engine.js';
import { PendingOutputs } from '../engine/pending-outputs.js';
import type { TaskId } from '../../task-id.js';
import { taskIdToString } from '../../task-id.js';
import {
  abortStores,
  completeStores,
  prepareStores,
  takeStoresAhead,
  type CommitOffset,
  type CommitParticipant,
  type PreparedCommit,
  type WrittenOffsets,
} from './commit-protocol.js';
import type { StreamsMetrics } from './streams-metrics.js';
import { SerialQueue } from './serial-queue.js';
import { TaskStateMachine, type TaskState } from './task-state.js';

export interface SourcePartition {
  readonly topic: string;
  readonly partition: number;
}

export interface StreamTaskOptions {
  readonly taskId: TaskId;
  /** Source topic-partitions (resolved names) of this task. */
  readonly sources: readonly SourcePartition[];
  readonly stores: ReadonlyMap<string, TaskStore>;
  /** Builds the engine once the task is restored (processors see restored state in init). */
  readonly createEngine: (
    collector: { send(record: OutgoingRecord): void },
    requestCommit: () => void,
  ) => TaskEngine;
  readonly maxUncommittedRecords: number;
  readonly clock: () => number;
  readonly logger: Logger;
  readonly metrics: StreamsMetrics;
}

export class StreamTask implements CommitParticipant {
  readonly id: TaskId;
  readonly idString: string;
  private readonly machine: TaskStateMachine;
  private readonly queue = new SerialQueue();
  private engine: TaskEngine | undefined;
  private readonly pending = new PendingOutputs();
  /** Next offset to process per source partition; undefined = take whatever the consumer delivers. */
  private readonly positions = new Map<string, bigint>();
  private readonly highWatermarks = new Map<string, bigint>();
  private dirty = false;
  /** A commit of this task is prepared and not yet completed or aborted. */
  private committing = false;
  private commitRequested = false;
  private lastCommitAt: number;
  private readonly subtopologyLabel: string;

  constructor(private readonly options: StreamTaskOptions) {
    this.id = options.taskId;
    this.idString = taskIdToString(options.taskId);
    this.machine = new TaskStateMachine(this.idString);
    this.lastCommitAt = options.clock();
    this.subtopologyLabel = String(options.taskId.subtopology);
  }

  get state(): TaskState {
    return this.machine.state;
  }

  get sources(): readonly SourcePartition[] {
    return this.options.sources;
  }

  get stores(): ReadonlyMap<string, TaskStore> {
    return this.options.stores;
  }

  /** created -> restoring: the stores are open, the restorer fills them next. */
  beginRestore(): void {
    this.machine.transition('restoring');
  }

  /**
   * restoring -> running: builds the engine (processors init against restored stores) and sets the positions to
   * the committed offsets (read once no transaction of a previous owner was pending).
   */
  async startRunning(committed: ReadonlyMap<string, string>): Promise<void> {
    for (const s of this.options.sources) {
      const key = topicPartitionKey(s.topic, s.partition);
      const offset = committed.get(key);
      if (offset !== undefined && BigInt(offset) >= 0n) this.positions.set(key, BigInt(offset));
    }
    this.engine = this.options.createEngine(
      { send: (record) => this.pending.add(record, record.latestPerKey) },
      () => (this.commitRequested = true),
    );
    await this.engine.init();
    this.lastCommitAt = this.options.clock();
    this.machine.transition('running');
  }

  /** The position to seek the consumer to for a source partition (undefined: no committed offset yet). */
  position(topic: string, partition: number): string | undefined {
    return this.positions.get(topicPartitionKey(topic, partition))?.toString();
  }

  /** The job this task is running now (processing a batch, committing...) and since when, if any. */
  busy(): { readonly label: string; readonly sinceMs: number } | undefined {
    return this.queue.current;
  }

  /** Per source partition: the task's position and the high watermark seen in its last fetch. */
  sourcePositions(): {
    topic: string;
    partition: number;
    position: string | null;
    highWatermark: string | null;
  }[] {
    return this.options.sources.map((s) => {
      const key = topicPartitionKey(s.topic, s.partition);
      return {
        topic: s.topic,
        partition: s.partition,
        position: this.positions.get(key)?.toString() ?? null,
        highWatermark: this.highWatermarks.get(key)?.toString() ?? null,
      };
    });
  }

  /** Records between position and the last seen end offset, summed over sources. */
  lag(): number {
    let lag = 0n;
    for (const [key, hw] of this.highWatermarks) {
      const pos = this.positions.get(key) ?? 0n;
      if (hw > pos) lag += hw - pos;
    }
    return Number(lag);
  }

  /**
   * Processes a fetched batch, skipping records below the task position (fetched before a seek took effect).
   * Returns false if the task is not running (the caller pauses the partition; it is sought again when the task
   * starts).
   */
  processBatch(batch: ConsumedBatch): Promise<boolean> {
    return this.queue.run(() => this.doProcessBatch(batch), 'process');
  }

  private async doProcessBatch(batch: ConsumedBatch): Promise<boolean> {
    const engine = this.engine;
    if (this.machine.state !== 'running' || !engine) return false;
    const key = topicPartitionKey(batch.topic, batch.partition);
    this.highWatermarks.set(key, BigInt(batch.highWatermark));
    let position = this.positions.get(key);
    const started = performance.now();
    const records: IncomingRecord[] = [];
    for (const record of batch.records) {
      if (position !== undefined && BigInt(record.offset) < position) continue;
      records.push({
        topic: batch.topic,
        partition: batch.partition,
        offset: record.offset,
        key: record.key,
        value: record.value,
        timestamp: record.timestamp,
        headers: record.headers,
      });
    }
    const processed = records.length;
    if (processed > 0) {
      await engine.processBatch(records);
      position = BigInt(records[processed - 1]!.offset) + 1n;
      this.positions.set(key, position);
      this.dirty = true;
    }
    // The position moves past transaction markers (or aborted records) that follow the last record, as the Java
    // consumer's does, or the committed offset (and the lag) would stay behind a transactional topic's end.
    const next = BigInt(batch.nextOffset);
    if (next >= 0n && (position === undefined || next > position)) {
      this.positions.set(key, next);
      this.dirty = true;
    }
    const hw = BigInt(batch.highWatermark);
    const at = this.positions.get(key) ?? hw;
    this.options.metrics.consumerLag.set(
      { topic: batch.topic, partition: String(batch.partition) },
      Number(hw > at ? hw - at : 0n),
    );
    if (processed > 0) {
      this.options.metrics.recordsProcessed.inc({ subtopology: this.subtopologyLabel }, processed);
      this.options.metrics.processSeconds.observe(
        { subtopology: this.subtopologyLabel },
        (performance.now() - started) / 1000,
      );
    }
    return true;
  }

  /** Fires due wall-clock punctuations (in the task's queue). */
  punctuate(now: number): Promise<void> {
    return this.queue.run(async () => {
      if (this.machine.state !== 'running' || !this.engine) return;
      if (await this.engine.punctuateWallClock(now)) this.dirty = true;
    }, 'punctuate');
  }

  /** Whether this task has uncommitted work that is due: interval elapsed, requested, or too much buffered. */
  commitDue(now: number, intervalMs: number): boolean {
    if (this.machine.state !== 'running' || (!this.dirty && this.pending.length === 0)) return false;
    return (
      this.commitRequested ||
      this.pending.length >= this.options.maxUncommittedRecords ||
      now - this.lastCommitAt >= intervalMs
    );
  }

  /** Uncommitted work of any kind. */
  hasUncommitted(): boolean {
    return this.machine.state === 'running' && (this.dirty || this.pending.length > 0);
  }

  /**
   * What can be sent ahead of the commit (in its transaction) since it was last taken: the records of ordinary
   * sinks and the changelog records of uncached stores. Records of `latestPerKey` sinks and the changelog of cached
   * stores wait for the commit (they collapse per key until then).
   */
  takeAhead(): OutgoingRecord[] {
    if (this.machine.state !== 'running') return [];
    const records = this.pending.takeAhead();
    for (const r of takeStoresAhead(this.options.stores.values(), this.options.clock())) records.push(r);
    return records;
  }

  async prepareCommit(now: number): Promise<PreparedCommit> {
    this.committing = true;
    const records = this.pending.drain();
    for (const r of await prepareStores(this.options.stores.values(), now)) records.push(r);
    const offsets: CommitOffset[] = [];
    for (const s of this.options.sources) {
      const pos = this.positions.get(topicPartitionKey(s.topic, s.partition));
      if (pos !== undefined) offsets.push({ topic: s.topic, partition: s.partition, offset: pos.toString() });
    }
    return { records, offsets };
  }

  async completeCommit(written: WrittenOffsets): Promise<void> {
    await completeStores(this.options.stores.values(), written);
    this.committing = false;
    this.dirty = false;
    this.commitRequested = false;
    this.lastCommitAt = this.options.clock();
  }

  abortCommit(): void {
    this.committing = false;
    abortStores(this.options.stores.values());
  }

  /**
   * Closes the task. Uncommitted work is dropped (a clean close commits before, through the task manager).
   * Stores are closed unless `keepStores` (they are handed to a standby of the same task).
   */
  close(options: { readonly keepStores?: boolean } = {}): Promise<void> {
    return this.queue.run(async () => {
      if (this.machine.state === 'closed') return;
      if (this.committing || this.hasUncommitted()) abortStores(this.options.stores.values());
      this.pending.drain();
      await this.engine?.close().catch((err: unknown) => {
        this.options.logger.warn({ err, taskId: this.idString }, 'processor close failed; continuing');
      });
      if (!options.keepStores) for (const store of this.options.stores.values()) await store.close();
      for (const s of this.options.sources)
        this.options.metrics.consumerLag.remove({ topic: s.topic, partition: String(s.partition) });
      this.machine.transition('closed');
    }, 'close');
  }
}
