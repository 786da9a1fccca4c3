/**
 * The TopologyTestDriver's topic handles (its public contract): an input topic records are piped into, and an
 * output topic read back in the order the records were written, each record read once.
 */
import type { Headers } from './record.js';

/** A record as the driver read it back from a topic. */
export interface TestRecord<K, V> {
  readonly key: K;
  readonly value: V;
  readonly timestamp: number;
  readonly headers: Headers;
  readonly partition: number;
  readonly offset: number;
}

/** Pipes records into one topic of the driver; each call processes them (and commits, with autoCommit). */
export interface TestInputTopic<K, V> {
  pipeInput(key: K, value: V, timestamp?: number, headers?: Headers): Promise<void>;
  /** Appends all, then processes them: the records of one partition reach their task as one fetched batch. */
  pipeRecords(records: readonly { key: K; value: V; timestamp?: number; headers?: Headers }[]): Promise<void>;
}

/**
 * Reads one topic of the driver, across its partitions in write order; every read method consumes what it
 * returns, so the next call sees only records written since. Reads see committed records only.
 */
export interface TestOutputTopic<K, V> {
  readRecord(): TestRecord<K, V> | undefined;
  readRecordsToList(): TestRecord<K, V>[];
  readValuesToList(): V[];
  /** Latest value per key (a table view of the topic). */
  readKeyValuesToMap(): Map<K, V>;
  isEmpty(): boolean;
  queueSize(): number;
}
