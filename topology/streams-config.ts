/**
 * Settings of one streams instance (the runtime). Built by the application's config module; the runtime never
 * reads the environment.
 */
export type ProcessingGuarantee = 'exactly_once' | 'at_least_once';

export interface StreamsConfig {
  /** Consumer group id, prefix of internal topics and transactional ids. */
  readonly applicationId: string;
  /** Stable id of this instance (state directory lock, logs, owner map). */
  readonly instanceId: string;
  /** URL other instances use to reach this instance's API (interactive queries). */
  readonly advertisedUrl: string;
  /** Root of local state: `<stateDir>/<applicationId>/<taskId>/<store>`. */
  readonly stateDir: string;
  readonly processingGuarantee: ProcessingGuarantee;
  /**
   * Longest a processed record waits for its commit (one transaction for all tasks of the instance under
   * exactly_once). Default 100 ms, like Kafka Streams' `commit.interval.ms` under exactly-once.
   */
  readonly commitIntervalMs: number;
  /**
   * An instance that has processed everything it fetched commits without waiting for `commitIntervalMs`, but not
   * sooner than this after its previous commit (default {@link DEFAULT_COMMIT_MIN_INTERVAL_MS}). While it catches
   * up (a backlog), it commits every `commitIntervalMs` as before; at live rates a record waits for the next poll
   * instead of the next interval, at the price of more, smaller transactions. `commitIntervalMs` or more turns
   * early commits off (Kafka Streams' behaviour). See docs/adr/0009-commit-when-drained.md.
   */
  readonly commitMinIntervalMs?: number;
  readonly numStandbyReplicas: number;
  /** Replication factor for internal topics (-1 = broker default). */
  readonly replicationFactor: number;
  /** Records buffered in a task before it commits early (bounds memory and transaction size). */
  readonly maxUncommittedRecords?: number;
  /**
   * Longest a task's commit (transaction or at-least-once send) may take before it counts as failed (default
   * 30 s): the task is then re-created from its last commit, its new producer fencing the stuck one. Guards against
   * client requests that never settle after a broker restart. Like Kafka Streams' task.timeout.ms.
   */
  readonly commitTimeoutMs?: number;
  /** Consumer session timeout (failure detection of a dead instance). Default 10 s. */
  readonly sessionTimeoutMs?: number;
  /**
   * Group protocol: `classic` (default; cooperative-sticky, static membership) or `consumer` (KIP-848: the broker
   * assigns; session timeout and heartbeat interval are then the broker's group settings).
   */
  readonly groupProtocol?: 'classic' | 'consumer';
  /**
   * Longest a transaction may stay open before the broker aborts it (default 10 s): bounds how long a crashed
   * instance's open transaction holds back read_committed readers of the partitions it wrote.
   */
  readonly transactionTimeoutMs?: number;
  /**
   * Memory for all LevelDB stores of the instance together (block caches and write buffers; default 32 MiB),
   * split evenly over every store the instance could hold (stores/memory-budget.ts).
   */
  readonly storeMemoryBytes?: number;
  /**
   * Deserialised committed store values kept in memory for all stores of the instance together (default 16 MiB;
   * 0 turns the cache off), like Kafka Streams' `statestore.cache.max.bytes` (stores/internal/value-cache.ts).
   */
  readonly storeCacheBytes?: number;
}

export const DEFAULT_COMMIT_INTERVAL_MS = 100;
export const DEFAULT_COMMIT_MIN_INTERVAL_MS = 20;
