/**
 * Runtime instrumentation on an injected prom-client registry. Names follow Prometheus practice (`_total`,
 * `_seconds`); labels are bounded (subtopology, store, topic, partition), never record keys.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { StoreMetrics } from '../../../stores/contracts.js';
import type { StoreMemory } from '../../../stores/memory-budget.js';

export class StreamsMetrics implements StoreMetrics {
  readonly recordsProcessed: Counter<'subtopology'>;
  readonly processSeconds: Histogram<'subtopology'>;
  readonly commitSeconds: Histogram<'guarantee'>;
  readonly commitsTotal: Counter<'outcome'>;
  readonly recordErrors: Counter<'stage' | 'action'>;
  readonly restoreRecords: Counter<'store'>;
  readonly restoreRemaining: Gauge<'store'>;
  readonly standbyUpdateRecords: Counter<'store'>;
  readonly tasks: Gauge<'kind'>;
  readonly rebalances: Counter;
  readonly consumerReplacements: Counter;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly standbyLag: Gauge<'store' | 'partition'>;
  readonly storeOperationSeconds: Histogram<'store' | 'op'>;
  readonly storeMemoryBudget: Gauge;
  readonly storeMemoryUsed: Gauge;
  readonly storeCache: readonly (Gauge | Counter)[];
  /** The LevelDB memory budget, once the instance knows its stores (see {@link watchStoreMemory}). */
  private storeMemory: StoreMemory | undefined;

  constructor(registry: Registry) {
    const registers = [registry];
    this.recordsProcessed = new Counter({
      name: 'usc_streams_records_processed_total',
      help: 'Source records processed by active tasks',
      labelNames: ['subtopology'],
      registers,
    });
    this.processSeconds = new Histogram({
      name: 'usc_streams_process_batch_seconds',
      help: 'Time to process one fetched batch through a task',
      labelNames: ['subtopology'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
    this.commitSeconds = new Histogram({
      name: 'usc_streams_commit_seconds',
      help: 'Latency of one commit of the instance tasks (transaction, then local store batches)',
      labelNames: ['guarantee'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    });
    this.commitsTotal = new Counter({
      name: 'usc_streams_commits_total',
      help: 'Task commits by outcome (aborted: partitions lost with records in the open transaction)',
      labelNames: ['outcome'],
      registers,
    });
    this.recordErrors = new Counter({
      name: 'usc_streams_record_errors_total',
      help: 'Records (and punctuations) that failed, by stage and what the record-error policy did',
      labelNames: ['stage', 'action'],
      registers,
    });
    this.restoreRecords = new Counter({
      name: 'usc_streams_restore_records_total',
      help: 'Changelog records restored into the stores of active tasks before they run',
      labelNames: ['store'],
      registers,
    });
    this.restoreRemaining = new Gauge({
      name: 'usc_streams_restore_remaining_records',
      help: 'Changelog records left to restore before active tasks can run',
      labelNames: ['store'],
      registers,
    });
    this.standbyUpdateRecords = new Counter({
      name: 'usc_streams_standby_update_records_total',
      help: 'Changelog records applied to standby replicas while following the active task',
      labelNames: ['store'],
      registers,
    });
    this.tasks = new Gauge({
      name: 'usc_streams_tasks',
      help: 'Tasks on this instance by kind',
      labelNames: ['kind'],
      registers,
    });
    this.rebalances = new Counter({
      name: 'usc_streams_rebalances_total',
      help: 'Group generations this instance joined',
      registers,
    });
    this.consumerReplacements = new Counter({
      name: 'usc_streams_consumer_replacements_total',
      help: 'Group consumers replaced after a fatal client error (e.g. fenced as a static member)',
      registers,
    });
    this.consumerLag = new Gauge({
      name: 'usc_streams_consumer_lag_records',
      help: 'Records between the task position and the partition end, per source partition',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.standbyLag = new Gauge({
      name: 'usc_streams_standby_lag_records',
      help: 'Changelog records a standby replica is behind',
      labelNames: ['store', 'partition'],
      registers,
    });
    this.storeOperationSeconds = new Histogram({
      name: 'usc_streams_store_operation_seconds',
      help: 'State store operation latency',
      labelNames: ['store', 'op'],
      buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05],
      registers,
    });
    const memory = (): StoreMemory | undefined => this.storeMemory;
    this.storeMemoryBudget = new Gauge({
      name: 'usc_streams_store_memory_budget_bytes',
      help: 'Memory budget of all LevelDB stores of this instance (block caches and write buffers)',
      registers,
      collect() {
        this.set(memory()?.budgetBytes ?? 0);
      },
    });
    this.storeMemoryUsed = new Gauge({
      name: 'usc_streams_store_memory_bytes',
      help: 'Memory the open LevelDB stores report using (block cache contents and memtables)',
      registers,
      collect() {
        this.set(memory()?.bytesUsed() ?? 0);
      },
    });
    const cache = () => memory()?.cacheStats() ?? { bytes: 0, hits: 0, misses: 0 };
    this.storeCache = [
      new Gauge({
        name: 'usc_streams_store_cache_budget_bytes',
        help: 'STORE_CACHE_MB: deserialised committed store values this instance may keep in memory',
        registers,
        collect() {
          this.set(memory()?.valueCacheBudgetBytes ?? 0);
        },
      }),
      new Gauge({
        name: 'usc_streams_store_cache_bytes',
        help: 'Deserialised committed store values kept in memory (estimated from their serialised size)',
        registers,
        collect() {
          this.set(cache().bytes);
        },
      }),
      new Counter({
        name: 'usc_streams_store_cache_hits_total',
        help: 'Store reads answered by the value cache (no LevelDB read, no decoding)',
        registers,
        collect() {
          this.reset();
          this.inc(cache().hits);
        },
      }),
      new Counter({
        name: 'usc_streams_store_cache_misses_total',
        help: 'Store reads the value cache could not answer (read from LevelDB)',
        registers,
        collect() {
          this.reset();
          this.inc(cache().misses);
        },
      }),
    ];
    // Label sets known up front are exported at 0 from the start, so a dashboard (and an alert on a rate) sees
    // "nothing happened yet" rather than "no such metric". Store and partition labels appear with their tasks.
    for (const outcome of ['committed', 'failed', 'aborted']) this.commitsTotal.inc({ outcome }, 0);
    for (const stage of ['deserialize', 'process', 'punctuate']) {
      for (const action of ['continue', 'fail']) this.recordErrors.inc({ stage, action }, 0);
    }
    for (const kind of ['active', 'standby']) this.tasks.set({ kind }, 0);
  }

  /** Reports `memory` in the store memory gauges. */
  watchStoreMemory(memory: StoreMemory): void {
    this.storeMemory = memory;
  }

  observeOperation(store: string, op: 'get' | 'put' | 'delete' | 'range' | 'flush', seconds: number): void {
    this.storeOperationSeconds.observe({ store, op }, seconds);
    this.knowStore(store);
  }

  private readonly knownStores = new Set<string>();

  /**
   * A store seen for the first time (its first operation: it is open, so nothing is left to restore unless the
   * restorer says otherwise later) gets its restore and standby series at 0, so they exist before any restore.
   */
  private knowStore(store: string): void {
    if (this.knownStores.has(store)) return;
    this.knownStores.add(store);
    this.restoreRecords.inc({ store }, 0);
    this.standbyUpdateRecords.inc({ store }, 0);
    // The restorer sets this gauge again on each restore pass, so a restore under way is not hidden for long.
    this.restoreRemaining.set({ store }, 0);
  }

  recordsRestored(store: string, count: number): void {
    this.restoreRecords.inc({ store }, count);
    this.knowStore(store);
  }
}
