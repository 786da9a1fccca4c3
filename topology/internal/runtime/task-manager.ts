/**
 * Owns this instance's tasks across cooperative rebalances. Every change runs in one serial queue (batches,
 * commits, punctuations, assignments, revocations, standby updates), so a task is never processed, committed and
 * closed at the same time:
 *  - a rebalance that keeps a task does not touch it (cooperative: only moved partitions are reported);
 *  - newly assigned lead partitions bring their partition group (see ./placement.ts); each new task: stores
 *    (warm ones from a standby of the same task, else opened) -> committed offsets read (stable: no pending
 *    transaction) -> changelog tail restored (concurrently with the running tasks) -> seek + resume -> running;
 *  - revoked tasks: every task commits (one transaction, exactly-once v2) before the partitions are released, then
 *    the revoked ones close and keep their open stores as a standby copy; lost partitions (eviction) close dirty;
 *  - one commit for all tasks per commit interval (./commit-protocol.ts); a failed commit re-initialises every
 *    task from its last commit (dirty close, re-create, restore the tail).
 */
import { TaskMigratedError, UscError, describeError } from '../../../common/errors.js';
import {
  classifyKafkaError,
  isProducerFatal,
  topicPartitionKey,
  type ConsumedBatch,
  type GroupConsumer,
  type InstanceProducer,
  type KafkaClient,
  type TopicPartition,
} from '../../../kafka/index.js';
import type { Logger } from '../../processor.js';
import type { StreamsConfig } from '../../streams-config.js';
import { parseTaskId, taskIdToString } from '../../task-id.js';
import { commitFailure, commitInstance } from './instance-commit.js';
import type { Placement } from './placement.js';
import { SerialQueue } from './serial-queue.js';
import { StandbyTasks } from './standby-tasks.js';
import type { StreamTask } from './stream-task.js';
import type { StreamsMetrics } from './streams-metrics.js';
import type { TaskFactory } from './task-factory.js';
import { buildTasks, restoreTasks, startTasks } from './task-startup.js';
import { processBatches, punctuateAll } from './task-work.js';
import { describeTaskIds, logTasksStarted, reportStuckTasks } from './task-ids.js';

export { describeTaskIds };

export interface TaskManagerDeps {
  readonly kafka: KafkaClient;
  readonly config: StreamsConfig;
  readonly placement: Placement;
  readonly factory: TaskFactory;
  readonly consumer: () => GroupConsumer;
  /** The instance's producer (transactional under exactly_once); replaced after a fatal producer error. */
  readonly producer: () => InstanceProducer;
  readonly renewProducer: () => Promise<void>;
  readonly clock: () => number;
  readonly logger: Logger;
  readonly metrics: StreamsMetrics;
  /** A failure that must stop the instance. */
  readonly onFatal: (error: unknown) => void;
  /** Called whenever the set or state of active tasks changes. */
  readonly onTasksChanged: () => void;
}

export class TaskManager {
  private readonly active = new Map<string, StreamTask>();
  private readonly byPartition = new Map<string, StreamTask>();
  /** Lead partitions this member owns (its tasks are `placement.tasksOf(p)`). */
  private readonly owned = new Set<number>();
  private readonly queue = new SerialQueue();
  private readonly stuckReported = new Map<string, number>();
  private shuttingDown = false;
  private tickQueued = false;
  /** A commit failed in a way that may have left the producer unusable: replace it before the next tasks run. */
  private producerSuspect = false;
  private commitFailures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Aborted when shutdown starts: restores in progress stop instead of holding the shutdown up. */
  private readonly stopping = new AbortController();
  readonly standbys: StandbyTasks;
  private readonly exactlyOnce: boolean;

  constructor(private readonly deps: TaskManagerDeps) {
    this.exactlyOnce = deps.config.processingGuarantee === 'exactly_once';
    this.standbys = new StandbyTasks(
      deps.kafka,
      `${deps.config.applicationId}-standby-${deps.config.instanceId}`,
      deps.logger.child({ component: 'standby' }),
      deps.metrics,
    );
  }

  activeTasks(): readonly StreamTask[] {
    return [...this.active.values()];
  }

  /** Lead partitions this member owns. */
  ownedLeadPartitions(): number[] {
    return [...this.owned];
  }

  /** Task ids this member should run (from its lead partitions). */
  assignedTaskIds(): string[] {
    return [...this.owned].flatMap((p) => this.deps.placement.tasksOf(p).map(taskIdToString));
  }

  /** True when every assigned active task is running. */
  allRunning(): boolean {
    const wanted = this.assignedTaskIds();
    return wanted.every((id) => this.active.get(id)?.state === 'running');
  }

  /** Resolves when every job queued so far has finished. */
  settled(): Promise<void> {
    return this.queue.drain();
  }

  private run<T>(label: string, job: () => Promise<T>): Promise<T> {
    return this.queue.run(job, label);
  }

  /** Lead partitions assigned by the group: returns every source partition of their tasks (to be assigned). */
  onAssigned(lead: readonly TopicPartition[]): Promise<readonly TopicPartition[]> {
    return this.run('assign', async () => {
      const partitions = lead
        .filter((p) => p.topic === this.deps.placement.leadTopic)
        .map((p) => p.partition);
      if (this.shuttingDown) return this.deps.placement.partitionsOfLead(partitions);
      for (const p of partitions) this.owned.add(p);
      this.deps.metrics.rebalances.inc();
      // After the assign call (it follows this job), the new tasks are created in the queue.
      void this.run('create tasks', () => this.createMissing()).catch((err: unknown) =>
        this.onCreateError(err),
      );
      return this.deps.placement.partitionsOfLead(partitions);
    });
  }

  /** Lead partitions revoked (or lost): commits (unless lost), closes their tasks, returns what to release. */
  onRevoked(lead: readonly TopicPartition[], lost: boolean): Promise<readonly TopicPartition[]> {
    return this.run('revoke', async () => {
      const partitions = lead
        .filter((p) => p.topic === this.deps.placement.leadTopic)
        .map((p) => p.partition);
      const revoked = new Set(partitions.flatMap((p) => this.deps.placement.tasksOf(p).map(taskIdToString)));
      for (const p of partitions) this.owned.delete(p);
      const closing = [...this.active.values()].filter((t) => revoked.has(t.idString));
      if (!lost && closing.some((t) => t.hasUncommitted())) {
        // Exactly-once v2: the revoked tasks' work commits before their partitions are released (with every
        // other task's: one transaction). If that fails, every task goes back to its last commit.
        try {
          await this.commit();
        } catch (err) {
          await this.onCommitError(err);
        }
      }
      for (const task of closing) {
        // Keep the open stores as a standby copy: if this instance stands by for the task next, nothing is
        // reopened or restored (the next owner-map refresh closes it otherwise).
        const keep =
          this.deps.config.numStandbyReplicas > 0 && !this.shuttingDown && task.state === 'running';
        await this.removeTask(task, keep);
        if (keep) await this.standbys.adopt(task.idString, task.stores);
      }
      if (closing.length > 0 || lost) this.deps.onTasksChanged();
      if (lost && closing.length > 0)
        this.deps.logger.warn(
          { tasks: describeTaskIds(closing.map((t) => t.idString)) },
          'partitions lost (this member was evicted from the group); their tasks closed without committing',
        );
      return this.deps.placement.partitionsOfLead(partitions);
    });
  }

  /** The whole assignment is gone (the consumer failed): every task closes without committing. */
  async onLostAll(): Promise<void> {
    const leadTopic = this.deps.placement.leadTopic;
    await this.onRevoked(
      [...this.owned].map((partition) => ({ topic: leadTopic, partition })),
      true,
    );
  }

  /** Routes one poll's batches to their tasks, then commits if a task is due. */
  onBatches(batches: readonly ConsumedBatch[]): Promise<void> {
    return this.run('process', async () => {
      const { idle, failure } = await processBatches(
        batches,
        (k) => this.byPartition.get(k),
        this.deps.logger,
      );
      if (failure !== undefined) return this.deps.onFatal(failure);
      this.pauseQuietly(idle);
      const now = this.deps.clock();
      if ([...this.active.values()].some((t) => t.commitDue(now, this.deps.config.commitIntervalMs)))
        await this.commitOrRecover();
    });
  }

  private pauseQuietly(partitions: readonly TopicPartition[]): void {
    try {
      this.deps.consumer().pause(partitions);
    } catch {
      // not (or no longer) assigned: nothing is fetched for it anyway
    }
  }

  /**
   * Commit/punctuation tick: fires due wall-clock punctuations and commits when a task's interval elapsed
   * (`force`: whatever is uncommitted).
   */
  tick(force = false): Promise<void> {
    reportStuckTasks(
      [...this.active.values(), { idString: '(instance)', busy: () => this.queue.current }],
      this.stuckReported,
      this.deps.logger,
    );
    // One tick at a time in the queue: while a long job runs, ticks do not pile up behind it.
    if (this.tickQueued) return Promise.resolve();
    this.tickQueued = true;
    return this.run('tick', async () => {
      this.tickQueued = false;
      if (this.shuttingDown) return;
      const now = this.deps.clock();
      const failure = await punctuateAll(this.active.values(), now, this.deps.logger);
      if (failure !== undefined) return this.deps.onFatal(failure);
      const tasks = [...this.active.values()];
      const due = force
        ? tasks.some((t) => t.hasUncommitted())
        : tasks.some((t) => t.commitDue(now, this.deps.config.commitIntervalMs));
      if (due) await this.commitOrRecover();
    });
  }

  /** One commit of every running task with uncommitted work (one transaction under exactly_once). */
  private async commit(): Promise<void> {
    const { config } = this.deps;
    await commitInstance(
      {
        exactlyOnce: this.exactlyOnce,
        producer: this.deps.producer,
        consumer: this.deps.consumer,
        clock: this.deps.clock,
        metrics: this.deps.metrics,
        timeoutMs: config.commitTimeoutMs ?? 30_000,
      },
      [...this.active.values()].filter((t) => t.hasUncommitted()),
    );
    this.commitFailures = 0;
  }

  private async commitOrRecover(): Promise<void> {
    try {
      await this.commit();
    } catch (err) {
      await this.onCommitError(err);
    }
  }

  /**
   * A failed commit: the transaction is aborted, so every task's uncommitted work is gone. Errors no retry can fix
   * (authorization, a record the broker refuses; another process running as this instance) stop the instance;
   * otherwise every task is re-initialised from its last commit (a rebalance that follows moves what moved).
   */
  private async onCommitError(err: unknown): Promise<void> {
    const { action, kind } = commitFailure(err);
    if (action === 'stop') {
      this.deps.logger.error(
        { err: describeError(err), kind },
        kind === 'fenced'
          ? `commit fenced: another process runs as instance ${this.deps.config.instanceId}; stopping`
          : 'commit failed on an error no retry can fix; stopping the instance (committed state is intact)',
      );
      this.deps.onFatal(kind === 'fenced' ? new TaskMigratedError('producer fenced', { cause: err }) : err);
      return;
    }
    const delay = Math.min(10_000, kind === 'rebalance' ? 0 : 200 * 2 ** this.commitFailures++);
    this.deps.logger.warn(
      { err: describeError(err), kind, tasks: this.active.size, retryInMs: delay },
      'commit failed; every task goes back to its last commit',
    );
    for (const task of [...this.active.values()]) await this.removeTask(task, false);
    this.deps.onTasksChanged();
    // The aborted (or timed-out) transaction may have left the producer unusable (a fatal state after a broker
    // restart, a transaction that never ended): a new one fences it before the tasks commit again.
    this.producerSuspect = kind !== 'rebalance' || isProducerFatal(err);
    this.retryLater(delay);
  }

  private retryLater(delayMs: number): void {
    if (this.retryTimer || this.shuttingDown) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.run('create tasks', () => this.createMissing()).catch((err: unknown) =>
        this.onCreateError(err),
      );
    }, delayMs);
  }

  /** A retriable error while creating or restoring tasks is retried with backoff; anything else is fatal. */
  private onCreateError(err: unknown): void {
    if (this.shuttingDown) return;
    if (classifyKafkaError(err) !== 'retriable') return this.deps.onFatal(err);
    const delay = Math.min(10_000, 500 * 2 ** this.commitFailures++);
    this.deps.logger.warn(
      { err: describeError(err), retryInMs: delay },
      'creating or restoring tasks failed on a retriable error; retrying',
    );
    void this.run('drop unstarted', async () => {
      for (const task of [...this.active.values()])
        if (task.state !== 'running') await this.removeTask(task, false);
    }).then(() => this.retryLater(delay));
  }

  /** Creates the assigned tasks that do not exist, then restores and starts them outside the queue. */
  private async createMissing(): Promise<void> {
    if (this.shuttingDown) return;
    if (this.producerSuspect) {
      await this.deps.renewProducer();
      this.producerSuspect = false;
    }
    const { built: created, failure } = await buildTasks(
      this.assignedTaskIds().filter((id) => !this.active.has(id)),
      (id) => this.standbys.take(id),
      this.deps.factory,
    );
    for (const task of created) {
      this.active.set(task.idString, task);
      for (const s of task.sources) this.byPartition.set(topicPartitionKey(s.topic, s.partition), task);
      this.pauseQuietly(task.sources);
      task.beginRestore();
    }
    this.deps.metrics.tasks.set({ kind: 'active' }, this.active.size);
    this.deps.onTasksChanged();
    // The tasks built are dropped with the others that did not start (onCreateError), then all are retried.
    if (failure !== undefined) throw failure;
    if (created.length === 0) return;
    void this.restoreAndStart(created).catch((err: unknown) => {
      // A task removed while it restored (a failed commit, a revocation, a lost assignment) had its stores
      // closed under the restore: whatever that restore reports, the removal already decided what comes next.
      if (created.some((t) => this.active.get(t.idString) !== t)) {
        this.deps.logger.debug({ err: describeError(err) }, 'a restore ended because its task was removed');
        return this.onCreateError(
          new UscError('USC_ERR_STREAMS_NOT_RUNNING', 'restore interrupted', {
            retriable: true,
            cause: err,
          }),
        );
      }
      this.onCreateError(err);
    });
  }

  private async restoreAndStart(tasks: readonly StreamTask[]): Promise<void> {
    const { kafka, config, logger, metrics } = this.deps;
    const startedMs = this.deps.clock();
    const restored = await restoreTasks(
      {
        kafka,
        consumer: this.deps.consumer(),
        instanceId: config.instanceId,
        commitTimeoutMs: config.commitTimeoutMs ?? 30_000,
        logger,
        metrics,
        signal: this.stopping.signal,
      },
      tasks,
    );
    const started = await this.run('start tasks', () =>
      startTasks(tasks, restored.committed, this.deps.consumer(), (t) => this.active.get(t.idString) === t),
    );
    logTasksStarted(logger, started, restored.restoredTotal, (this.deps.clock() - startedMs) / 1000);
    this.deps.onTasksChanged();
  }

  /** Drops a task (uncommitted work is discarded; commit before for a clean close). */
  private async removeTask(task: StreamTask, keepStores: boolean): Promise<void> {
    if (this.active.get(task.idString) === task) this.active.delete(task.idString);
    for (const s of task.sources) {
      const key = topicPartitionKey(s.topic, s.partition);
      if (this.byPartition.get(key) === task) this.byPartition.delete(key);
    }
    await task
      .close({ keepStores })
      .catch((err: unknown) =>
        this.deps.logger.warn({ taskId: task.idString, err: describeError(err) }, 'closing a task failed'),
      );
    this.deps.metrics.tasks.set({ kind: 'active' }, this.active.size);
  }

  /**
   * Updates standby tasks to `wanted` (from the owner map), in the same queue as task creation and removal: a
   * task's stores are never open as a standby while its active incarnation has them (one LevelDB, one owner).
   */
  updateStandbys(wanted: ReadonlySet<string>): Promise<void> {
    return this.run('standbys', async () => {
      if (this.shuttingDown) return;
      const mine = new Set(this.assignedTaskIds());
      const filtered = new Set([...wanted].filter((id) => !mine.has(id) && !this.active.has(id)));
      await this.standbys.update(filtered, (id) => this.deps.factory.openStores(parseTaskId(id)));
    }).catch((err: unknown) => {
      this.deps.logger.warn(
        { err: describeError(err) },
        'updating standby tasks failed; they are retried at the next owner-map refresh',
      );
    });
  }

  /**
   * Closes every task and standby. `clean`: commit first (graceful shutdown). Not clean (after a fatal error):
   * uncommitted work is dropped, so nothing of a record that failed half-way is ever committed.
   */
  async shutdown(clean: boolean): Promise<void> {
    this.stopping.abort(new UscError('USC_ERR_STREAMS_NOT_RUNNING', 'the instance is shutting down'));
    clearTimeout(this.retryTimer);
    await this.run('shutdown', async () => {
      this.shuttingDown = true;
      if (clean) {
        await this.commit().catch((err: unknown) =>
          this.deps.logger.warn({ err: describeError(err) }, 'commit on shutdown failed; closing dirty'),
        );
      }
      for (const task of [...this.active.values()]) await this.removeTask(task, false);
      await this.standbys.closeAll();
    });
  }
}
