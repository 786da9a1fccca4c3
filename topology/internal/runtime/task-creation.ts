/**
 * Bringing the assigned tasks that do not exist up, for the task manager (./task-manager.ts decides when, and
 * handles the failures: ./task-recovery.ts): the tasks are built (./task-startup.ts) and registered as restoring
 * with their partitions paused, in the manager's queue; then restored outside it (concurrently with the running
 * tasks) and started in the queue again.
 */
import type { GroupConsumer, KafkaClient, TopicPartition } from '../../../kafka/index.js';
import type { Logger } from '../../processor.js';
import type { StreamsConfig } from '../../streams-config.js';
import type { ActiveTasks } from './active-tasks.js';
import type { StandbyTasks } from './standby-tasks.js';
import type { StreamTask } from './stream-task.js';
import type { StreamsMetrics } from './streams-metrics.js';
import type { TaskFactory } from './task-factory.js';
import { logTasksStarted } from './task-ids.js';
import { restoreInterrupted } from './task-recovery.js';
import { buildTasks, restoreTasks, startTasks } from './task-startup.js';

/** What task creation uses: the task manager's own dependencies, its registry, and its queue. */
export interface TaskCreationDeps {
  readonly kafka: KafkaClient;
  readonly config: StreamsConfig;
  readonly factory: TaskFactory;
  readonly consumer: () => GroupConsumer;
  readonly clock: () => number;
  readonly logger: Logger;
  readonly metrics: StreamsMetrics;
  readonly active: ActiveTasks;
  readonly standbys: StandbyTasks;
  /** Aborted when shutdown starts: restores in progress stop instead of holding the shutdown up. */
  readonly signal: AbortSignal;
  /** Runs a job in the task manager's serial queue. */
  readonly run: <T>(label: string, job: () => Promise<T>) => Promise<T>;
  /** Pauses partitions (those not assigned are ignored). */
  readonly pause: (partitions: readonly TopicPartition[]) => void;
  readonly onTasksChanged: () => void;
}

/**
 * Builds the tasks `ids` and registers them, restoring with their partitions paused; run it in the queue. Throws
 * the first failure to build one after registering the others (the caller drops them with the other tasks that
 * did not start, then retries them all).
 */
export async function createTasks(deps: TaskCreationDeps, ids: readonly string[]): Promise<StreamTask[]> {
  const { built: created, failure } = await buildTasks(ids, (id) => deps.standbys.take(id), deps.factory);
  deps.active.add(created);
  for (const task of created) {
    deps.pause(task.sources);
    task.beginRestore();
  }
  deps.onTasksChanged();
  if (failure !== undefined) throw failure;
  return created;
}

/**
 * Restores `tasks` (outside the queue), then starts those still registered (in the queue). A restore that fails
 * because one of its tasks was removed meanwhile rejects with a retriable error (see {@link restoreInterrupted}).
 */
export async function restoreAndStart(deps: TaskCreationDeps, tasks: readonly StreamTask[]): Promise<void> {
  const { kafka, config, logger, metrics } = deps;
  try {
    const startedMs = deps.clock();
    const restored = await restoreTasks(
      {
        kafka,
        consumer: deps.consumer(),
        instanceId: config.instanceId,
        commitTimeoutMs: config.commitTimeoutMs ?? 30_000,
        logger,
        metrics,
        signal: deps.signal,
      },
      tasks,
    );
    const started = await deps.run('start tasks', () =>
      startTasks(tasks, restored.committed, deps.consumer(), (t) => deps.active.isCurrent(t)),
    );
    logTasksStarted(logger, started, restored.restoredTotal, (deps.clock() - startedMs) / 1000);
    deps.onTasksChanged();
  } catch (err) {
    // A task removed while it restored (a failed commit, a revocation, a lost assignment) had its stores closed
    // under the restore: whatever that restore reports, the removal already decided what comes next.
    if (tasks.some((t) => !deps.active.isCurrent(t))) throw restoreInterrupted(err, logger);
    throw err;
  }
}
