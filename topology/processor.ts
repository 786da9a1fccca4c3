/**
 * The processor API (the contract user code implements). Mirrors Kafka Streams' `processor.api`: a processor is
 * created per task by its supplier, initialised with a context, receives records one at a time, and forwards
 * records to its children. All methods may be async; the runtime awaits each call before the next, so within a
 * task processing is strictly sequential and deterministic.
 */
import type { RecordMetadata, StreamRecord } from './record.js';
import type { KeyValueStore } from '../stores/contracts.js';
import type { TaskId } from './task-id.js';

export type PunctuationType = 'stream-time' | 'wall-clock';

/** Returned by `schedule`; call `cancel()` to stop the punctuation. */
export interface Cancellable {
  cancel(): void;
}

export type Punctuator = (timestamp: number) => void | Promise<void>;

/** Structured logger handed to processors (defined in common/ so that every layer can use it without a cycle). */
export type { Logger } from '../common/logger.js';
import type { Logger } from '../common/logger.js';

export interface ProcessorContext<KOut = unknown, VOut = unknown> {
  readonly applicationId: string;
  readonly taskId: TaskId;
  /** Logger bound to `{ taskId, processor }`. */
  readonly logger: Logger;
  /**
   * Sends a record to all children, or only to the child named `childName`. Resolves once the whole downstream
   * sub-graph has processed it. A record forwarded to a sink is buffered and sent with the task's next commit.
   */
  forward(record: StreamRecord<KOut, VOut>, childName?: string): Promise<void>;
  /** A store this processor is connected to. Throws UscError USC_ERR_STORE_UNKNOWN otherwise. */
  getStateStore<K, V>(name: string): KeyValueStore<K, V>;
  /**
   * Calls `callback` every `intervalMs`: on stream time (driven by record timestamps of this task) or on
   * wall-clock time (driven by the runtime's clock). Punctuations run inside the task, in its commit scope.
   */
  schedule(intervalMs: number, type: PunctuationType, callback: Punctuator): Cancellable;
  /** Largest record timestamp this task has seen (-1 before the first record). */
  currentStreamTimeMs(): number;
  /** The runtime's clock (injected; the test driver's mock time). */
  currentSystemTimeMs(): number;
  /** Source of the record being processed; undefined inside a punctuation. */
  recordMetadata(): RecordMetadata | undefined;
  /**
   * The partition the sink `childName` (a child of this processor, or a sink below it through repartitions'
   * names) would send `key` to: lets a processor tell whether a record already sits on the partition its key
   * belongs to (and can be handled in place) or must be repartitioned first.
   */
  partitionFor(childName: string, key: KOut): number;
  /** Asks the runtime to commit this task as soon as the current record is done. */
  requestCommit(): void;
}

export interface Processor<KIn = unknown, VIn = unknown, KOut = unknown, VOut = unknown> {
  /** Called once per task before the first record; keep the context, get stores, schedule punctuations. */
  init?(ctx: ProcessorContext<KOut, VOut>): void | Promise<void>;
  process(record: StreamRecord<KIn, VIn>): void | Promise<void>;
  /**
   * Optional, for a processor that is the only child of a source: receives a fetched batch of that source's
   * records at once (in offset order), so it can read its stores once per batch (`getMany`) and fold records of
   * one key in memory. It must leave the stores and outputs exactly as `process` called on each record in turn
   * would at the end of the batch (outputs of a `latestPerKey` sink may be collapsed to one per key). If it throws
   * for a reason about a record, the runtime drops everything the batch did and calls `process` per record.
   * `recordMetadata()` is undefined during a batch; stream time is already the batch's greatest timestamp.
   */
  processBatch?(records: readonly StreamRecord<KIn, VIn>[]): void | Promise<void>;
  /** Release resources. Do not close stores here: the runtime owns them. */
  close?(): void | Promise<void>;
}

/** Creates a fresh processor instance per task. Never return a shared instance. */
export type ProcessorSupplier<KIn = unknown, VIn = unknown, KOut = unknown, VOut = unknown> = () => Processor<
  KIn,
  VIn,
  KOut,
  VOut
>;
