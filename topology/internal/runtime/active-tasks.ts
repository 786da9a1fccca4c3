/**
 * The active tasks of this instance, by task id and by source partition, for the task manager (./task-manager.ts
 * decides when a task is added or removed, always in its serial queue). Removing a task closes it; the active-task
 * gauge follows every change.
 */
import { describeError } from '../../../common/errors.js';
import { topicPartitionKey } from '../../../kafka/index.js';
import type { Logger } from '../../processor.js';
import type { StreamTask } from './stream-task.js';
import type { StreamsMetrics } from './streams-metrics.js';

/** The registry of active tasks; the task manager's queue serialises its changes. */
export class ActiveTasks {
  private readonly byId = new Map<string, StreamTask>();
  private readonly byPartition = new Map<string, StreamTask>();

  constructor(
    private readonly logger: Logger,
    private readonly metrics: StreamsMetrics,
  ) {}

  /** How many tasks are registered. */
  get size(): number {
    return this.byId.size;
  }

  /** The task registered under `id`, if any. */
  get(id: string): StreamTask | undefined {
    return this.byId.get(id);
  }

  /** True when a task is registered under `id`. */
  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Every registered task (a copy: the caller may remove tasks while it iterates). */
  values(): StreamTask[] {
    return [...this.byId.values()];
  }

  /** The task that reads the partition `key` (a `topicPartitionKey`), if any. */
  ofPartition(key: string): StreamTask | undefined {
    return this.byPartition.get(key);
  }

  /** True while `task` is the registered incarnation of its id (not removed, not replaced by a new one). */
  isCurrent(task: StreamTask): boolean {
    return this.byId.get(task.idString) === task;
  }

  /** Registers new tasks under their id and each of their source partitions. */
  add(tasks: readonly StreamTask[]): void {
    for (const task of tasks) {
      this.byId.set(task.idString, task);
      for (const s of task.sources) this.byPartition.set(topicPartitionKey(s.topic, s.partition), task);
    }
    this.metrics.tasks.set({ kind: 'active' }, this.byId.size);
  }

  /**
   * Unregisters a task and closes it (uncommitted work is discarded; commit before for a clean close). Never
   * throws: a failed close is logged.
   */
  async remove(task: StreamTask, keepStores: boolean): Promise<void> {
    if (this.byId.get(task.idString) === task) this.byId.delete(task.idString);
    for (const s of task.sources) {
      const key = topicPartitionKey(s.topic, s.partition);
      if (this.byPartition.get(key) === task) this.byPartition.delete(key);
    }
    await task
      .close({ keepStores })
      .catch((err: unknown) =>
        this.logger.warn({ taskId: task.idString, err: describeError(err) }, 'closing a task failed'),
      );
    this.metrics.tasks.set({ kind: 'active' }, this.byId.size);
  }

  /** Removes (see {@link remove}, stores closed) every task, or those `which` selects, one after the other. */
  async removeAll(which: (task: StreamTask) => boolean = () => true): Promise<void> {
    for (const task of this.values()) if (which(task)) await this.remove(task, false);
  }
}
