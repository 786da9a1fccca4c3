/**
 * Owns this instance's tasks across cooperative rebalances. Every change runs in one serial queue (batches,
 * commits, punctuations, assignments, revocations, standby updates), so a task is never processed, committed and
 * closed at the same time:
 *  - a rebalance that keeps a task does not touch it (cooperative: only moved partitions are reported);
 *  - newly assigned lead partitions bring their partition group (see ./placement.ts); each new task
 *    (./task-creation.ts): stores (warm ones from a standby of the same task, else opened) -> committed offsets
 *    read (stable: no pending transaction) -> changelog tail restored (concurrently with the running tasks) ->
 *    seek + resume -> running;
 *  - revoked tasks: every task commits (one transaction, exactly-once v2) before the partitions are released, then
 *    the revoked ones close and keep their open stores as a standby copy; lost partitions (eviction) close dirty;
 *  - one commit for all tasks per commit interval (./commit-protocol.ts); a failed commit re-initialises every
 *    task from its last commit (dirty close, re-create, restore the tail), see ./task-recovery.ts.
 * The active tasks themselves are kept in ./active-tasks.ts.
 */
import { UscError, describeError } from '../../../common/errors.js';
import {
  type ConsumedBatch,
  type GroupConsumer,
  type InstanceProducer,
  type KafkaClient,
  type TopicPartition,
} from '../../../kafka/index.js';
import type { Logger } from '../../processor.js';
import { DEFAULT_COMMIT_MIN_INTERVAL_MS, type StreamsConfig } from '../../streams-config.js';
import { parseTaskId, taskIdToString } from '../../task-id.js';
import { ActiveTasks } from './active-tasks.js';
import { commitInstance } from './instance-commit.js';
import type { Placement } from './placement.js';
import { SerialQueue } from './serial-queue.js';
import { StandbyTasks } from './standby-tasks.js';
import type { StreamTask } from './stream-task.js';
import type { StreamsMetrics } from './streams-metrics.js';
import type { TaskFactory } from './task-factory.js';
import { createTasks, restoreAndStart, type TaskCreationDeps } from './task-creation.js';
import { Backoff, afterCommitFailure, afterCreateFailure } from './task-recovery.js';
import { processBatches, punctuateAll } from './task-work.js';
import { describeTaskIds, reportStuckTasks } from './task-ids.js';

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
  private readonly active: ActiveTasks;
  /** Lead partitions this member owns (its tasks are `placement.tasksOf(p)`). */
  private readonly owned = new Set<number>();
  private readonly queue = new SerialQueue();
  private readonly stuckReported = new Map<string, number>();
  private shuttingDown = false;
  private tickQueued = false;
  /** A commit failed in a way that may have left the producer unusable: replace it before the next tasks run. */
  private producerSuspect = false;
  private readonly backoff = new Backoff();
  private retryTimer: NodeJS.Timeout | undefined;
  /** Aborted when shutdown starts: restores in progress stop instead of holding the shutdown up. */
  private readonly stopping = new AbortController();
  readonly standbys: StandbyTasks;
  private readonly exactlyOnce: boolean;
  private readonly creation: TaskCreationDeps;

  constructor(private readonly deps: TaskManagerDeps) {
    this.exactlyOnce = deps.config.processingGuarantee === 'exactly_once';
    this.active = new ActiveTasks(deps.logger, deps.metrics);
    this.standbys = new StandbyTasks(
      deps.kafka,
      `${deps.config.applicationId}-standby-${deps.config.instanceId}`,
      deps.logger.child({ component: 'standby' }),
      deps.metrics,
    );
    this.creation = {
      ...deps,
      active: this.active,
      standbys: this.standbys,
      signal: this.stopping.signal,
      run: (label, job) => this.run(label, job),
      pause: (partitions) => this.pauseQuietly(partitions),
    };
  }

  activeTasks(): readonly StreamTask[] {
    return this.active.values();
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
      const closing = this.active.values().filter((t) => revoked.has(t.idString));
      if (!lost && closing.some((t) => t.hasUncommitted())) {
        // Exactly-once v2: the revoked tasks' work commits before their partitions are released (with every
        // other task's: one transaction). If that fails, every task goes back to its last commit.
        try {
          await this.commit();
        } catch (err) {
          await this.onCommitError(err);
        }
      }
      if (lost && this.exactlyOnce && this.deps.producer().hasSentAhead) {
        // The open transaction holds records the lost tasks sent ahead: it aborts, and every task goes back to
        // its last commit (its records sent ahead were in it too), as Kafka Streams closes all tasks dirty then.
        this.deps.logger.warn(
          { tasks: this.active.size },
          'partitions lost with records in the open transaction: it aborts, every task goes back to its last commit',
        );
        await this.deps.producer().abortSentAhead();
        this.deps.metrics.commitsTotal.inc({ outcome: 'aborted' });
        await this.resetAll(0, false);
      }
      for (const task of closing) {
        // Keep the open stores as a standby copy: if this instance stands by for the task next, nothing is
        // reopened or restored (the next owner-map refresh closes it otherwise).
        const keep =
          this.deps.config.numStandbyReplicas > 0 && !this.shuttingDown && task.state === 'running';
        await this.active.remove(task, keep);
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

  /**
   * Routes one poll's batches to their tasks, then commits if a task is due: its commit interval elapsed, or
   * (`drained`: the instance has processed everything it fetched) its minimum commit interval did.
   */
  onBatches(batches: readonly ConsumedBatch[], drained: boolean): Promise<void> {
    return this.run('process', async () => {
      if (batches.length > 0) {
        const { idle, failure } = await processBatches(
          batches,
          (k) => this.active.ofPartition(k),
          this.deps.logger,
        );
        if (failure !== undefined) return this.deps.onFatal(failure);
        this.pauseQuietly(idle);
        if (!(await this.sendAhead())) return;
      }
      const { commitIntervalMs, commitMinIntervalMs } = this.deps.config;
      const interval = drained
        ? Math.min(commitMinIntervalMs ?? DEFAULT_COMMIT_MIN_INTERVAL_MS, commitIntervalMs)
        : commitIntervalMs;
      const now = this.deps.clock();
      if (this.active.values().some((t) => t.commitDue(now, interval))) await this.commitOrRecover();
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
      const tasks = this.active.values();
      const due = force
        ? tasks.some((t) => t.hasUncommitted())
        : tasks.some((t) => t.commitDue(now, this.deps.config.commitIntervalMs));
      if (due) await this.commitOrRecover();
    });
  }

  /**
   * Sends the tasks' ordinary sink records ahead of the commit (in its transaction under exactly_once), so the
   * client delivers them while the tasks process on. A failure is a failed commit: false, every task goes back to
   * its last commit.
   */
  private async sendAhead(): Promise<boolean> {
    const records = this.active.values().flatMap((t) => t.takeAhead());
    if (records.length === 0) return true;
    try {
      await this.deps.producer().send(records);
      return true;
    } catch (err) {
      await this.deps.producer().abortSentAhead();
      await this.onCommitError(err);
      return false;
    }
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
      this.active.values().filter((t) => t.hasUncommitted()),
    );
    this.backoff.reset();
  }

  private async commitOrRecover(): Promise<void> {
    try {
      await this.commit();
    } catch (err) {
      await this.onCommitError(err);
    }
  }

  /** A failed commit: the instance stops, or every task goes back to its last commit (./task-recovery.ts). */
  private async onCommitError(err: unknown): Promise<void> {
    const { instanceId } = this.deps.config;
    const recovery = afterCommitFailure(err, this.backoff, {
      instanceId,
      tasks: this.active.size,
      logger: this.deps.logger,
    });
    if (recovery.action === 'stop') return this.deps.onFatal(recovery.error);
    await this.resetAll(recovery.delayMs, recovery.renewProducer);
  }

  /** Every task closes dirty (back to its last commit) and is re-created after `delayMs`. */
  private async resetAll(delayMs: number, renewProducer: boolean): Promise<void> {
    await this.active.removeAll();
    this.deps.onTasksChanged();
    this.producerSuspect ||= renewProducer;
    this.retryLater(delayMs);
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
    const recovery = afterCreateFailure(err, this.backoff, this.deps.logger);
    if (recovery.action === 'stop') return this.deps.onFatal(recovery.error);
    void this.run('drop unstarted', () => this.active.removeAll((t) => t.state !== 'running')).then(() =>
      this.retryLater(recovery.delayMs),
    );
  }

  /** Creates the assigned tasks that do not exist, then restores and starts them outside the queue. */
  private async createMissing(): Promise<void> {
    if (this.shuttingDown) return;
    if (this.producerSuspect) {
      await this.deps.renewProducer();
      this.producerSuspect = false;
    }
    // A failure to build drops the tasks built with the others that did not start (onCreateError), then all retry.
    const ids = this.assignedTaskIds().filter((id) => !this.active.has(id));
    const created = await createTasks(this.creation, ids);
    if (created.length === 0) return;
    void restoreAndStart(this.creation, created).catch((err: unknown) => this.onCreateError(err));
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
      await this.active.removeAll();
      await this.standbys.closeAll();
    });
  }
}
