/**
 * Contract of the per-task processing core shared by the Kafka runtime and the TopologyTestDriver, so both run
 * the very same code path: deserialize a source record, walk the processor graph, serialize + partition sink
 * records into a {@link RecordCollector}, track stream time and fire punctuations.
 *
 * The engine does not know about Kafka, transactions or commits: the owner (runtime task or test driver) feeds it
 * records, drains the collector at commit time and drives wall-clock punctuation.
 */
import type { IncomingRecord, OutgoingRecord } from './record.js';

export type { IncomingRecord, OutgoingRecord };
import type { Logger } from './processor.js';
import type { TaskId } from './task-id.js';
import type { Subtopology, Topology } from './topology.js';
import type { KeyValueStore } from '../stores/contracts.js';
import type { RecordErrorResponse, RecordFailure } from './record-error.js';

/** Receives sink output. The runtime buffers it for the task's next transaction; the test driver stores it. */
export interface RecordCollector {
  send(record: OutgoingRecord): void;
}

export interface TaskEngineOptions {
  readonly applicationId: string;
  readonly taskId: TaskId;
  readonly topology: Topology;
  readonly subtopology: Subtopology;
  /** Processor-facing stores of this task, by store name. */
  readonly stores: ReadonlyMap<string, KeyValueStore<unknown, unknown>>;
  readonly collector: RecordCollector;
  /** Partition count of a resolved topic (sinks need it to partition). */
  partitionsFor(topic: string): number;
  /** Logical -> Kafka topic name (identity for external topics). */
  resolveTopic(logicalName: string, internal: boolean): string;
  /** Injected clock (epoch ms). */
  readonly clock: () => number;
  readonly logger: Logger;
  /** Called when a processor calls ctx.requestCommit(). */
  readonly onCommitRequested?: () => void;
  /**
   * Savepoints of the task's stores: marked before each record and punctuation, rolled back when it fails (see
   * record-error.ts). Without it a failed record's store writes are not undone.
   */
  readonly undo?: { savepoint(): void; rollback(): void };
  /** Told of every record error after the policy decided (metrics, logs). */
  readonly onRecordError?: (failure: RecordFailure, action: RecordErrorResponse['action']) => void;
}

export interface TaskEngine {
  readonly taskId: TaskId;
  /** Creates processors (one per node, from their suppliers) and calls their init(), sources first. */
  init(): Promise<void>;
  /**
   * Processes one source record through the graph as a unit, then advances stream time and fires due stream-time
   * punctuations (each a unit too). A unit that fails because of its record is rolled back and handed to the
   * topology's record-error policy (dead letters, go on); throws UscError USC_ERR_RECORD_FAILED when the policy
   * says fail, and rethrows task-level failures (store I/O, a store used after close) untouched.
   */
  process(record: IncomingRecord): Promise<void>;
  /**
   * Processes records of one source topic partition, in offset order. When the source's only child implements
   * `processBatch`, the batch goes to it as one unit (stream time advanced to the batch's greatest timestamp
   * first); if that unit fails because of a record, it is rolled back and the records are run again one by one
   * through {@link process}, so the failing record alone is handed to the record-error policy. Otherwise the
   * records go through {@link process} one by one. Same failures as {@link process}.
   */
  processBatch(records: readonly IncomingRecord[]): Promise<void>;
  /** Fires wall-clock punctuations due at `now`. Returns true if any ran. */
  punctuateWallClock(now: number): Promise<boolean>;
  /** Largest record timestamp seen (-1 before the first). */
  streamTime(): number;
  /** Calls close() on every processor. Does not touch stores. */
  close(): Promise<void>;
}
