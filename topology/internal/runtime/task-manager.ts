/**
 * Owns this instance's tasks across rebalances. kafkajs rebalances eagerly, so every generation delivers the whole
 * assignment; the manager diffs it against the tasks it holds:
 *  - kept tasks stay open and running (no store close, no restore): their partitions are re-sought to the task
 *    position, because kafkajs resets fetch positions to the committed offsets and the task may have uncommitted
 *    work in its open transaction;
 *  - revoked tasks are closed clean (commit, then close stores) — safe even after the partition moved, because the
 *    new owner's producer fences us or waits for our transaction before it reads offsets;
 *  - new tasks are paused, then: producer fences the previous owner -> stores open (standby copy released first)
 *    -> changelog tail restored -> committed offsets read -> seek -> resume -> running.
 */
import {
  TaskCorruptedError,
  TaskMigratedError,
  UscError,
  describeError,
  hasCode,
} from '../../../common/errors.js';
import {
  classifyKafkaError,
  isDefinitelyFatal,
  TaskProducer,
  committedOffsets,
  topicOffsets,
  openAdmin,
  topicPartitionKey,
  type BatchControls,
  type ConsumedBatch,
  type GroupConsumer,
  type KafkaClient,
} from '../../../kafka/index.js';
import type { TaskStore } from '../../../stores/contracts.js';
import { createTaskStore, taskSavepoints } from '../../../stores/store-factory.js';
import type { Logger } from '../../processor.js';
import type { StreamsConfig } from '../../streams-config.js';
import { parseTaskId, taskIdToString, type TaskId } from '../../task-id.js';
import type { Topology } from '../../topology.js';
import { createTaskEngine } from '../index.js';
import { restoreStores } from './state-restorer.js';
import { StandbyTasks } from './standby-tasks.js';
import { StreamTask, type SourcePartition } from './stream-task.js';
import type { StreamsMetrics } from './streams-metrics.js';

export interface TaskManagerDeps {
  readonly kafka: KafkaClient;
  readonly config: StreamsConfig;
  readonly topology: Topology;
  readonly resolveTopic: (logical: string, internal: boolean) => string;
  readonly partitionsFor: (topic: string) => number;
  readonly consumer: () => GroupConsumer;
  /** Shared producer for at_least_once (undefined under exactly_once). */
  readonly sharedProducer: TaskProducer | undefined;
  readonly clock: () => number;
  readonly logger: Logger;
  readonly metrics: StreamsMetrics;
  /** A failure that must stop the instance. */
  readonly onFatal: (error: unknown) => void;
  /** Called whenever the set or state of active tasks changes. */
  readonly onTasksChanged: () => void;
}

const STUCK_AFTER_MS = 30_000;

/**
 * Task ids for a log line, partitions of a subtopology in ranges: `0_0..0_11, 1_0..1_11, 2_3` (sorted by
 * subtopology, then partition; ids that are not `<subtopology>_<partition>` are listed as they are).
 */
export function describeTaskIds(ids: Iterable<string>): string {
  const bySub = new Map<number, number[]>();
  const other: string[] = [];
  for (const id of ids) {
    const m = /^(\d+)_(\d+)$/.exec(id);
    if (!m) other.push(id);
    else (bySub.get(Number(m[1])) ?? bySub.set(Number(m[1]), []).get(Number(m[1]))!).push(Number(m[2]));
  }
  const parts: string[] = [];
  for (const sub of [...bySub.keys()].sort((a, b) => a - b)) {
    const ps = [...new Set(bySub.get(sub))].sort((a, b) => a - b);
    for (let i = 0; i < ps.length;) {
      let j = i;
      while (j + 1 < ps.length && ps[j + 1] === ps[j]! + 1) j++;
      parts.push(j > i ? `${sub}_${ps[i]}..${sub}_${ps[j]}` : `${sub}_${ps[i]}`);
      i = j + 1;
    }
  }
  return [...parts, ...other.sort()].join(', ') || '(none)';
}

export class TaskManager {
  private readonly active = new Map<string, StreamTask>();
  private readonly byPartition = new Map<string, StreamTask>();
  private desired = new Set<string>();
  private reconciling: Promise<void> = Promise.resolve();
  /** Consecutive reconcile attempts that failed on a retriable Kafka error (drives the backoff). */
  private reconcileFailures = 0;
  private reconcileRetry: NodeJS.Timeout | undefined;
  private readonly ticking = new Set<StreamTask>();
  private readonly stuckReported = new WeakMap<StreamTask, number>();
  private shuttingDown = false;
  /** Aborted when shutdown starts: a restore in progress stops instead of holding the shutdown up. */
  private readonly stopping = new AbortController();
  readonly standbys: StandbyTasks;
  private readonly exactlyOnce: boolean;
  /** Source topic (resolved) -> subtopology id. */
  private readonly subtopologyOfTopic = new Map<string, number>();

  constructor(private readonly deps: TaskManagerDeps) {
    this.exactlyOnce = deps.config.processingGuarantee === 'exactly_once';
    this.standbys = new StandbyTasks(
      deps.kafka,
      `${deps.config.applicationId}-standby-${deps.config.instanceId}`,
      deps.logger.child({ component: 'standby' }),
      deps.metrics,
    );
    for (const sub of deps.topology.subtopologies) {
      for (const t of sub.sourceTopics) this.subtopologyOfTopic.set(this.resolve(t), sub.id);
    }
  }

  private resolve(logical: string): string {
    return this.deps.resolveTopic(logical, this.deps.topology.internalTopics.has(logical));
  }

  /** Source partitions of a task (all co-partitioned sources of its subtopology). */
  sourcesOf(id: TaskId): SourcePartition[] {
    const sub = this.deps.topology.subtopologies[id.subtopology];
    return (sub?.sourceTopics ?? []).map((t) => ({ topic: this.resolve(t), partition: id.partition }));
  }

  activeTasks(): readonly StreamTask[] {
    return [...this.active.values()];
  }

  /** True when every assigned active task is running. */
  allRunning(): boolean {
    if (this.active.size !== this.desired.size) return false;
    for (const t of this.active.values()) if (t.state !== 'running') return false;
    return true;
  }

  /**
   * A generation's assignment (called synchronously before its first fetch): pause what is not ready, re-seek kept
   * tasks, then reconcile asynchronously.
   */
  onAssigned(assignment: Readonly<Record<string, readonly number[]>>): void {
    if (this.shuttingDown) return;
    const desired = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      const sub = this.subtopologyOfTopic.get(topic);
      if (sub === undefined) continue;
      for (const p of partitions) desired.add(taskIdToString({ subtopology: sub, partition: p }));
    }
    this.desired = desired;
    const consumer = this.deps.consumer();
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        const task = this.active.get(
          taskIdToString({ subtopology: this.subtopologyOfTopic.get(topic) ?? -1, partition }),
        );
        if (task && task.state === 'running') {
          const pos = task.position(topic, partition);
          if (pos !== undefined) consumer.seek(topic, partition, pos);
          consumer.resume([{ topic, partitions: [partition] }]);
        } else {
          consumer.pause([{ topic, partitions: [partition] }]);
        }
      }
    }
    this.scheduleReconcile();
  }

  private scheduleReconcile(): void {
    this.reconciling = this.reconciling
      .then(() => this.reconcile())
      .then(
        () => void (this.reconcileFailures = 0),
        (err: unknown) => this.onReconcileError(err),
      );
  }

  /**
   * A retriable Kafka error while creating or restoring tasks (a leader moving, a broker restarting, a request
   * timing out) closes the tasks that are not running yet, dirty, and tries again with exponential backoff (0.5 s
   * doubling up to 10 s): their stores keep what was restored, the next attempt reads only the rest. Anything else
   * is fatal.
   */
  private async onReconcileError(err: unknown): Promise<void> {
    if (this.shuttingDown) return; // a restore stopped by the shutdown itself
    if (classifyKafkaError(err) !== 'retriable') return this.deps.onFatal(err);
    const delay = Math.min(10_000, 500 * 2 ** this.reconcileFailures++);
    this.deps.logger.warn(
      { err: describeError(err), retryInMs: delay, attempt: this.reconcileFailures },
      'creating or restoring tasks failed on a retriable error; retrying',
    );
    for (const task of [...this.active.values()]) {
      if (task.state !== 'running') await this.removeTask(task, false).catch(() => {});
    }
    this.reconcileLater(delay);
  }

  /** Warns (every 30 s per task) about a task whose current job has run for 30 s or more. */
  private reportStuckTasks(): void {
    const wall = Date.now();
    for (const task of this.active.values()) {
      const busy = task.busy();
      if (!busy || wall - busy.sinceMs < STUCK_AFTER_MS) continue;
      const last = this.stuckReported.get(task) ?? 0;
      if (wall - last < STUCK_AFTER_MS) continue;
      this.stuckReported.set(task, wall);
      this.deps.logger.warn(
        { taskId: task.idString, job: busy.label, forMs: wall - busy.sinceMs },
        'task is stuck in a job (a Kafka or store call that does not settle)',
      );
    }
  }

  private reconcileLater(delayMs: number): void {
    if (this.reconcileRetry || this.shuttingDown) return;
    this.reconcileRetry = setTimeout(() => {
      this.reconcileRetry = undefined;
      this.scheduleReconcile();
    }, delayMs);
  }

  /** Resolves when the latest reconcile finished. */
  settled(): Promise<void> {
    return this.reconciling;
  }

  private async reconcile(): Promise<void> {
    const desired = this.desired;
    for (const [id, task] of [...this.active]) {
      if (!desired.has(id)) await this.removeTask(task, true);
    }
    const added = [...desired].filter((id) => !this.active.has(id));
    if (added.length === 0) return this.deps.onTasksChanged();
    const created: StreamTask[] = [];
    for (const id of added) {
      if (this.desired !== desired) break;
      // A standby of this task on this instance hands its open, warm stores over: no close, reopen or restore of
      // what it already applied.
      const warm = await this.standbys.take(id);
      created.push(await this.createTask(parseTaskId(id), warm));
    }
    for (const task of created) {
      this.active.set(task.idString, task);
      for (const s of task.sources) this.byPartition.set(topicPartitionKey(s.topic, s.partition), task);
    }
    this.deps.metrics.tasks.set({ kind: 'active' }, this.active.size);
    this.deps.onTasksChanged();
    await this.restoreAndStart(created);
  }

  private async restoreAndStart(tasks: readonly StreamTask[]): Promise<void> {
    if (tasks.length === 0) return;
    const { kafka, config, logger, metrics } = this.deps;
    const startedMs = this.deps.clock();
    for (const t of tasks) t.beginRestore();
    const restored = await restoreStores(
      kafka,
      tasks.flatMap((t) => [...t.stores.values()]),
      {
        groupPrefix: `${config.applicationId}-restore-${config.instanceId}`,
        logger,
        metrics,
        signal: this.stopping.signal,
      },
    );
    const topics = [...new Set(tasks.flatMap((t) => t.sources.map((s) => s.topic)))];
    const admin = await openAdmin(kafka);
    let committed: Map<string, Map<number, string>>;
    // Where a source partition without a committed offset starts: its earliest offset (auto.offset.reset =
    // earliest). It must be set explicitly: a task re-created after a dirty close shares the consumer, whose
    // fetch position is wherever the old incarnation got to, past records whose effects were just aborted.
    const earliest = new Map<string, string>();
    try {
      committed = await committedOffsets(admin, config.applicationId, topics);
      for (const topic of topics) {
        const missing = tasks.some((t) =>
          t.sources.some(
            (s) => s.topic === topic && BigInt(committed.get(topic)?.get(s.partition) ?? '-1') < 0n,
          ),
        );
        if (!missing) continue;
        for (const [partition, { low }] of await topicOffsets(admin, topic)) {
          earliest.set(topicPartitionKey(topic, partition), low);
        }
      }
    } finally {
      await admin.disconnect();
    }
    const consumer = this.deps.consumer();
    const started: string[] = [];
    for (const task of tasks) {
      if (this.active.get(task.idString) !== task || task.state !== 'restoring') continue;
      const offsets = new Map<string, string>();
      for (const s of task.sources) {
        const key = topicPartitionKey(s.topic, s.partition);
        const o = committed.get(s.topic)?.get(s.partition);
        const start = o !== undefined && BigInt(o) >= 0n ? o : earliest.get(key);
        if (start !== undefined) offsets.set(key, start);
      }
      await task.startRunning(offsets);
      for (const s of task.sources) {
        const pos = task.position(s.topic, s.partition);
        if (pos !== undefined) consumer.seek(s.topic, s.partition, pos);
        consumer.resume([{ topic: s.topic, partitions: [s.partition] }]);
      }
      logger.debug({ taskId: task.idString }, 'task restored and running');
      started.push(task.idString);
    }
    if (started.length > 0) {
      const seconds = (this.deps.clock() - startedMs) / 1000;
      logger.info(
        {
          tasks: started.length,
          taskIds: describeTaskIds(started),
          restoredRecords: restored.restoredTotal,
          seconds,
        },
        `${started.length} task${started.length === 1 ? '' : 's'} restored and running (${restored.restoredTotal} records restored in ${seconds.toFixed(1)} s)`,
      );
    }
    this.deps.onTasksChanged();
  }

  /** Opens a task's stores, wiping any that are corrupted (they are then restored from scratch). */
  async openStores(id: TaskId): Promise<Map<string, TaskStore>> {
    const { config, topology, logger, metrics } = this.deps;
    const sub = topology.subtopologies[id.subtopology];
    const stores = new Map<string, TaskStore>();
    for (const name of sub?.stores ?? []) {
      const definition = topology.stores.get(name);
      if (!definition) continue;
      const make = () =>
        createTaskStore(definition, {
          applicationId: config.applicationId,
          taskId: id,
          stateDir: config.stateDir,
          metrics,
          logger,
        });
      let store = make();
      try {
        await store.open();
      } catch (err) {
        if (!(err instanceof TaskCorruptedError)) throw err;
        logger.warn(
          { err, taskId: taskIdToString(id), store: name },
          'store is corrupted; wiping it and restoring from the changelog',
        );
        await store.close().catch(() => {});
        await wipeStoreDir(config.stateDir, config.applicationId, taskIdToString(id), name);
        store = make();
        await store.open();
      }
      stores.set(name, store);
    }
    return stores;
  }

  private async createTask(id: TaskId, warm?: ReadonlyMap<string, TaskStore>): Promise<StreamTask> {
    const { kafka, config, topology, logger, metrics } = this.deps;
    const idString = taskIdToString(id);
    const subtopology = topology.subtopologies[id.subtopology]!;
    const taskLogger = logger.child({ taskId: idString });
    // Fence first: a previous owner's open transaction is aborted (or completes) before we read anything.
    let producer: TaskProducer;
    try {
      producer = this.exactlyOnce
        ? await TaskProducer.transactional(kafka, `${config.applicationId}-${idString}`)
        : this.deps.sharedProducer!;
    } catch (err) {
      for (const store of warm?.values() ?? []) await store.close().catch(() => {});
      throw err;
    }
    const stores = warm ?? (await this.openStores(id));
    const facing = new Map([...stores].map(([name, s]) => [name, s.store] as const));
    return new StreamTask({
      taskId: id,
      applicationId: config.applicationId,
      exactlyOnce: this.exactlyOnce,
      sources: this.sourcesOf(id),
      stores,
      producer,
      commitOffsets: (offsets) => this.deps.consumer().commitOffsets(offsets),
      maxUncommittedRecords: config.maxUncommittedRecords ?? 10_000,
      commitTimeoutMs: config.commitTimeoutMs ?? 30_000,
      clock: this.deps.clock,
      logger: taskLogger,
      metrics,
      createEngine: (collector, requestCommit) =>
        createTaskEngine({
          applicationId: config.applicationId,
          taskId: id,
          topology,
          subtopology,
          stores: facing,
          collector,
          partitionsFor: this.deps.partitionsFor,
          resolveTopic: this.deps.resolveTopic,
          clock: this.deps.clock,
          logger: taskLogger,
          onCommitRequested: requestCommit,
          undo: taskSavepoints(stores),
          onRecordError: (failure, action) => metrics.recordErrors.inc({ stage: failure.stage, action }),
        }),
    });
  }

  private async removeTask(task: StreamTask, clean: boolean): Promise<void> {
    // Identity check: a failed task's replacement may already be registered under the same id.
    if (this.active.get(task.idString) === task) this.active.delete(task.idString);
    for (const s of task.sources) {
      const key = topicPartitionKey(s.topic, s.partition);
      if (this.byPartition.get(key) === task) this.byPartition.delete(key);
    }
    await task.close(clean);
    this.deps.metrics.tasks.set({ kind: 'active' }, this.active.size);
  }

  /** Routes a fetched batch to its task; pauses the partition if the task is not running yet. */
  async onBatch(batch: ConsumedBatch, controls: BatchControls): Promise<void> {
    const task = this.byPartition.get(topicPartitionKey(batch.topic, batch.partition));
    let processed = false;
    try {
      processed = task !== undefined && (await task.processBatch(batch, controls));
    } catch (err) {
      // A commit inside the batch (too many uncommitted records, a requested commit) failed: a task error, the
      // same recovery as a failed interval commit. Anything else is a processing failure.
      if (task && (err instanceof TaskMigratedError || classifyKafkaError(err) !== 'fatal')) {
        await this.onTaskError(task, err);
        return;
      }
      // Only failures the record-error policy does not handle get here (store I/O, a policy that says fail). The
      // message is ours (never record contents); the failed record's writes were already rolled back.
      this.deps.logger.error(
        { err: describeError(err), taskId: task?.idString, topic: batch.topic, partition: batch.partition },
        'processing failed; stopping the instance (tasks close dirty: uncommitted work is discarded)',
      );
      this.deps.onFatal(err);
      return;
    }
    if (!processed) this.deps.consumer().pause([{ topic: batch.topic, partitions: [batch.partition] }]);
  }

  /** The consumer skipped markers/aborted records of a partition (see GroupConsumerHandlers.onSkipped). */
  onSkipped(topic: string, partition: number, nextOffset: string): void {
    const task = this.byPartition.get(topicPartitionKey(topic, partition));
    task?.advancePosition(topic, partition, nextOffset).catch((err: unknown) => this.deps.onFatal(err));
  }

  /**
   * Commit/punctuation tick: fires due wall-clock punctuations and commits tasks whose interval elapsed. A task
   * whose previous tick is still running is skipped (while Kafka is slow a commit can outlast the interval, and
   * piling more commits behind it would only repeat its failure); other tasks are not held up by it.
   */
  async tick(force = false): Promise<void> {
    this.reportStuckTasks();
    const now = this.deps.clock();
    await Promise.all(
      [...this.active.values()]
        .filter((task) => !this.ticking.has(task))
        .map(async (task) => {
          this.ticking.add(task);
          try {
            await task.punctuate(now);
            await task.maybeCommit(now, this.deps.config.commitIntervalMs, force);
          } catch (err) {
            await this.onTaskError(task, err).catch((handlingError: unknown) => {
              // Never an unhandled rejection out of the commit timer: stop the instance with a clear error.
              this.deps.logger.error(
                { taskId: task.idString, err: describeError(handlingError), cause: describeError(err) },
                'could not handle a failed task; stopping the instance (committed state is intact)',
              );
              this.deps.onFatal(handlingError);
            });
          } finally {
            this.ticking.delete(task);
          }
        }),
    );
  }

  private async onTaskError(task: StreamTask, err: unknown): Promise<void> {
    if (this.active.get(task.idString) !== task) {
      // Already replaced (work of the old incarnation failing late): just make sure it is closed.
      await task.close(false).catch(() => {});
      return;
    }
    if (hasCode(err, 'USC_ERR_RECORD_FAILED')) {
      // A punctuation failed and the record-error policy said fail: the same answer as for a record in process()
      // (the instance stops, tasks close dirty), not a re-created task that fails again at the next tick.
      this.deps.logger.error(
        { taskId: task.idString, err: describeError(err) },
        'a punctuation failed and the record-error policy says fail; stopping the instance',
      );
      this.deps.onFatal(err);
      return;
    }
    if (isDefinitelyFatal(err)) {
      // Re-creating the task would fail the same way forever (a record the broker never accepts, a missing ACL).
      this.deps.logger.error(
        { taskId: task.idString, err: describeError(err) },
        'commit failed on an error no retry can fix; stopping the instance (committed state is intact)',
      );
      this.deps.onFatal(err);
      return;
    }
    await this.removeTask(task, false).catch(() => {});
    for (const s of task.sources) this.deps.consumer().pause([{ topic: s.topic, partitions: [s.partition] }]);
    if (err instanceof TaskMigratedError) {
      // Another producer took the task's transactional id. If the group moved the task, the rebalance that is
      // coming removes it from `desired`; if it is still ours (the fencer was a stale incarnation), re-create it.
      // Waiting a heartbeat or two first lets a pending rebalance arrive instead of fencing the new owner.
      this.deps.logger.warn(
        { taskId: task.idString, err: describeError(err) },
        'task migrated; closed it dirty, re-creating it unless a rebalance moves it away',
      );
      this.reconcileLater(2_000);
      return;
    }
    this.deps.logger.warn(
      { taskId: task.idString, err: describeError(err) },
      'commit failed; re-initialising the task from its last commit',
    );
    this.scheduleReconcile();
  }

  /**
   * Updates standby tasks to `wanted` (from the assignment's userData). Runs in the same serial chain as task
   * creation and removal, so a task's stores are never opened as a standby while its active incarnation still has
   * them open (or the reverse): one LevelDB directory, one owner at a time.
   */
  updateStandbys(wanted: ReadonlySet<string>): Promise<void> {
    const run = async () => {
      if (this.shuttingDown) return;
      const filtered = new Set([...wanted].filter((id) => !this.desired.has(id) && !this.active.has(id)));
      await this.standbys.update(filtered, (id) => this.openStores(parseTaskId(id)));
    };
    const done = this.reconciling.then(run);
    this.reconciling = done.catch((err: unknown) => {
      this.deps.logger.warn(
        { err: describeError(err) },
        'updating standby tasks failed; they are retried at the next rebalance',
      );
    });
    return this.reconciling;
  }

  /**
   * Closes every task and standby. `clean`: commit first (graceful shutdown). Not clean (after a fatal error):
   * uncommitted work is dropped, so nothing of a record that failed half-way is ever committed.
   */
  async shutdown(clean: boolean): Promise<void> {
    this.desired = new Set();
    this.shuttingDown = true;
    this.stopping.abort(new UscError('USC_ERR_STREAMS_NOT_RUNNING', 'the instance is shutting down'));
    clearTimeout(this.reconcileRetry);
    await this.reconciling.catch(() => {});
    for (const task of [...this.active.values()]) await this.removeTask(task, clean).catch(() => {});
    await this.standbys.closeAll();
  }
}

async function wipeStoreDir(
  stateDir: string,
  applicationId: string,
  taskId: string,
  store: string,
): Promise<void> {
  const { rm } = await import('node:fs/promises');
  const { join } = await import('node:path');
  await rm(join(stateDir, applicationId, taskId, store), { recursive: true, force: true });
}
