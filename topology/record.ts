/** Record headers: UTF-8 strings (binary header values are decoded as UTF-8 by the runtime). */
export type Headers = Readonly<Record<string, string>>;

/**
 * An immutable record flowing through a topology. `timestamp` is the record's event time in epoch milliseconds
 * (Kafka record timestamp for source records); stream time of a task is the largest timestamp it has seen.
 * Processors create new records with {@link withRecord} instead of mutating.
 */
export interface StreamRecord<K, V> {
  readonly key: K;
  readonly value: V;
  readonly timestamp: number;
  readonly headers: Headers;
}

/** Where the record being processed came from; undefined inside punctuations. */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offset as a decimal string (offsets exceed 2^53 in theory). */
  readonly offset: string;
}

/** A record with some fields replaced. */
export function withRecord<K, V, K2 = K, V2 = V>(
  record: StreamRecord<K, V>,
  changes: Partial<StreamRecord<K2, V2>>,
): StreamRecord<K2, V2> {
  return { ...(record as unknown as StreamRecord<K2, V2>), ...changes };
}

/** A serialized record on its way to a Kafka topic. */
export interface OutgoingRecord {
  /** Resolved Kafka topic name. */
  readonly topic: string;
  readonly partition: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
  readonly headers: Headers;
  /**
   * From a sink declared `latestPerKey`: a later record of the same topic, partition and key sent before the
   * task commits replaces this one.
   */
  readonly latestPerKey?: boolean;
}

/** A serialized record read from a source topic partition. */
export interface IncomingRecord {
  /** Resolved Kafka topic name. */
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
  readonly headers: Headers;
}
