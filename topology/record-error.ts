/**
 * The record-error policy (Kafka Streams' deserialization and processing exception handlers, KIP-1033 / KIP-1034):
 * anything that fails because of ONE record (its source serde, a processor's `process()`, a sink serde, a
 * punctuation) is handed to the topology's {@link RecordErrorHandler}. Before the handler runs, every effect of the
 * failed record (store writes, records forwarded to sinks) is rolled back, so a record is applied whole or not at
 * all. The handler then either dead-letters it and lets processing go on, or fails the task.
 *
 * Failures that are not about one record never reach the handler: Kafka errors (fencing, authorization, timeouts),
 * store I/O (disk, corruption), a store used after close. Those stop the task (see {@link isInstanceLevelError}).
 *
 * Without a handler a record error fails the task (as Kafka Streams' default LogAndFailExceptionHandler).
 */
import type { Headers, IncomingRecord } from './record.js';
import type { TaskId } from './task-id.js';

/** Where the record failed. */
export type RecordErrorStage =
  /** The source node's key or value serde could not read the record. */
  | 'deserialize'
  /** A processor threw while processing the record (a sink's serde failing counts here too). */
  | 'process'
  /** A punctuation threw (there is no record; `record` is undefined). */
  | 'punctuate';

export interface RecordFailure {
  readonly stage: RecordErrorStage;
  readonly taskId: TaskId;
  /** The node that was running when it failed (processor, sink or source name), when known. */
  readonly node: string | undefined;
  readonly error: unknown;
  /** The source record being processed, as read from Kafka (raw bytes); undefined for a punctuation. */
  readonly record: IncomingRecord | undefined;
  /** The runtime's clock at the failure (epoch ms). */
  readonly nowMs: number;
}

/** A record the handler wants written to the topology's dead-letter topic (already serialized). */
export interface DeadLetter {
  readonly key: Buffer | null;
  readonly value: Buffer;
  readonly headers?: Headers;
}

/** What to do after a record error. */
export type RecordErrorResponse =
  /** Skip the record (its effects are already rolled back), write these dead letters, go on with the next one. */
  | { readonly action: 'continue'; readonly deadLetters: readonly DeadLetter[] }
  /** Stop: the task fails with the error (nothing of the record is committed). */
  | { readonly action: 'fail' };

/**
 * Decides what happens to a record that failed. Must not throw: a handler that throws counts as `fail`. Called
 * synchronously within the task, in the commit scope of the record (dead letters commit with the input offset).
 */
export type RecordErrorHandler = (failure: RecordFailure) => RecordErrorResponse;

/** The record-error policy of a topology: the handler and the topic its dead letters go to. */
export interface RecordErrorPolicy {
  readonly handler: RecordErrorHandler;
  /** Logical (external) topic of the dead letters; must exist like every external topic. */
  readonly deadLetterTopic: string;
}
