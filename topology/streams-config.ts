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
  /** How often the instance commits (one transaction for all its tasks under exactly_once). Default 100 ms. */
  readonly commitIntervalMs: number;
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
