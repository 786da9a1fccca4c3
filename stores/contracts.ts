/**
 * State store contracts. Implementations live in stores/internal/ and are built by {@link createTaskStore}
 * (stores/store-factory.ts) as layers around a bytes-only backend:
 *
 *   metered (key/value serde + metrics)
 *     -> caching (optional: collapses repeated writes of a key within one commit interval)
 *       -> change-logging (turns every write that reaches it into a changelog record)
 *         -> write buffer (dirty writes held until the commit they belong to is durable in Kafka)
 *           -> backend (LevelDB via classic-level, or in-memory)
 *
 * Ownership: the runtime (or TopologyTestDriver) creates, inits, commits and closes stores. Processors only read
 * and write them through `ctx.getStateStore(name)`; they never close or flush a store.
 */
import type { Serde } from '../topology/serde.js';

export interface KeyValue<K, V> {
  readonly key: K;
  readonly value: V;
}

/** Reads. Keys are ordered by their serialized bytes (UTF-8 byte order for string keys). */
export interface ReadOnlyKeyValueStore<K, V> {
  /**
   * The value for `key`, or undefined. Sees this task's own uncommitted writes. The value may be shared with the
   * store's cache of deserialised values: treat it as immutable (put a new object to change it).
   */
  get(key: K): Promise<V | undefined>;
  /** The values of `keys` (undefined where absent), in their order: one backend read for all cache misses. */
  getMany(keys: readonly K[]): Promise<(V | undefined)[]>;
  /** Entries with from <= key < to (either bound optional), in key order. */
  range(from?: K, to?: K): AsyncIterable<KeyValue<K, V>>;
  /** Entries whose serialized key starts with the serialized `prefix`, in key order. */
  prefixScan(prefix: K): AsyncIterable<KeyValue<K, V>>;
  /** A cheap estimate of the number of entries (exact for the in-memory backend). */
  approximateNumEntries(): Promise<number>;
}

/** Reads and writes of one task's key-value store. Writes become durable when the task commits. */
export interface KeyValueStore<K, V> extends ReadOnlyKeyValueStore<K, V> {
  readonly name: string;
  put(key: K, value: V): Promise<void>;
  /** Removes `key` (a tombstone in the changelog). */
  delete(key: K): Promise<void>;
}

/** A changelog record produced by a commit: raw bytes, exactly what the backend stores. */
export interface ChangelogRecord {
  readonly key: Buffer;
  /** null = tombstone. */
  readonly value: Buffer | null;
}

/** A changelog record read back from Kafka during restore or by a standby task. */
export interface RestoreRecord extends ChangelogRecord {
  /** Offset in the changelog partition, decimal string. */
  readonly offset: string;
}

/** How a store is declared in a topology. */
export interface StoreDefinition<K = unknown, V = unknown> {
  readonly name: string;
  readonly type: 'key-value';
  /** true: LevelDB on disk under the task's state directory; false: in-memory (restored fully on start). */
  readonly persistent: boolean;
  /** Backed by `<applicationId>-<name>-changelog` (compacted). Default true. */
  readonly logging: boolean;
  /** Extra topic configs for the changelog topic (cleanup.policy=compact is always set). */
  readonly changelogConfig?: Readonly<Record<string, string>>;
  /** Collapse repeated writes of a key within a commit interval before logging. Default true. */
  readonly caching: boolean;
  /** Default: UTF-8 string keys. */
  readonly keySerde?: Serde<K>;
  /** Default: msgpack (msgpackr, useRecords: false). */
  readonly valueSerde?: Serde<V>;
}

/**
 * A store as the runtime holds it: the processor-facing store plus the commit/restore protocol.
 *
 * Commit protocol (one task, one commit; the runtime calls these in this order and never concurrently with
 * processing of the same task):
 *  1. `prepareCommit()` flushes the cache and returns the changelog records this commit must send (already
 *     staged in the write buffer; reads keep seeing them).
 *  2. The runtime sends them (with outputs and input offsets) in one Kafka transaction and commits it.
 *  3. `completeCommit(nextOffset)` writes the staged batch AND the checkpoint `nextOffset` (the changelog offset
 *     after the last record this commit wrote, or undefined when nothing was logged) to the backend in ONE atomic
 *     batch. After a crash the backend is therefore either before or after the commit, never in between; and the
 *     checkpoint never claims more than Kafka holds.
 *  4. If the transaction aborts or the task migrates, `abortCommit()` drops the cache and write buffer: reads go
 *     back to the last completed commit.
 */
export interface TaskStore {
  readonly definition: StoreDefinition;
  /** The processor-facing view (metered -> caching -> logging -> buffer -> backend). */
  readonly store: KeyValueStore<unknown, unknown>;
  /** Committed state only (interactive queries): the value cache and the backend, never staged writes. */
  readonly committed: ReadOnlyKeyValueStore<unknown, unknown>;
  /** Changelog topic-partition, or undefined when logging is off. */
  readonly changelog: { readonly topic: string; readonly partition: number } | undefined;
  /** Opens the backend. Throws TaskCorruptedError if the on-disk data is unreadable (caller wipes + restores). */
  open(): Promise<void>;
  /** The changelog offset the backend reflects (next offset to restore from), or undefined if never written. */
  checkpoint(): Promise<string | undefined>;
  prepareCommit(): Promise<readonly ChangelogRecord[]>;
  /**
   * With caching off: the changelog records of the writes since the last call (or the commit's start), in order,
   * to be sent ahead of the commit in its transaction (as Kafka Streams logs an uncached store's every write);
   * `prepareCommit` then returns only the rest. Never called within a record or punctuation (between savepoints
   * and their end), so no write it returned can be rolled back other than by the commit's abort. With caching on:
   * nothing (the cache collapses a key's writes until the commit).
   */
  takeChangelogAhead(): readonly ChangelogRecord[];
  completeCommit(nextChangelogOffset: string | undefined): Promise<void>;
  abortCommit(): void;
  /**
   * Marks a savepoint inside the current commit (the runtime does so before each record and punctuation).
   * Cheap: an undo log of the keys written after it.
   */
  savepoint(): void;
  /** Drops every write since the last savepoint: a failed record leaves nothing behind. */
  rollbackToSavepoint(): void;
  /** Writes restored records straight to the backend with checkpoint = last offset + 1, in one batch. */
  restoreBatch(records: readonly RestoreRecord[]): Promise<void>;
  /** Deletes all local data (and the checkpoint). The store stays open and empty. */
  wipe(): Promise<void>;
  close(): Promise<void>;
}

/** Instrumentation a store reports to; the runtime passes prom-client backed implementations. */
export interface StoreMetrics {
  observeOperation(store: string, op: 'get' | 'put' | 'delete' | 'range' | 'flush', seconds: number): void;
  recordsRestored(store: string, count: number): void;
}

export const noopStoreMetrics: StoreMetrics = {
  observeOperation: () => {},
  recordsRestored: () => {},
};
