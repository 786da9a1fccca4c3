/**
 * The steps that bring new active tasks up, for the task manager (./task-manager.ts decides when each runs):
 * build (warm stores from a standby, else opened), read where they stand (committed offsets, then the changelog
 * tails restored), and start (positions sought, partitions resumed).
 */
import type { GroupConsumer, KafkaClient } from '../../../kafka/index.js';
import type { TaskStore } from '../../../stores/contracts.js';
import type { Logger } from '../../processor.js';
import { parseTaskId } from '../../task-id.js';
import { restoreStores } from './state-restorer.js';
import type { StreamTask } from './stream-task.js';
import type { StreamsMetrics } from './streams-metrics.js';
import type { TaskFactory } from './task-factory.js';

/**
 * Builds the tasks `ids`: warm stores are taken one by one (each take pauses the standby reader), the tasks are
 * then built concurrently (each opens its stores: file I/O on libuv's threads). Returns every task built and the
 * first failure, if any (the caller registers the built ones either way, so they are closed like the others).
 */
export async function buildTasks(
  ids: readonly string[],
  takeWarm: (id: string) => Promise<ReadonlyMap<string, TaskStore> | undefined>,
  factory: TaskFactory,
): Promise<{ built: StreamTask[]; failure: unknown }> {
  const warm = new Map<string, ReadonlyMap<string, TaskStore> | undefined>();
  for (const id of ids) warm.set(id, await takeWarm(id));
  const results = await Promise.allSettled(ids.map((id) => factory.create(parseTaskId(id), warm.get(id))));
  const built: StreamTask[] = [];
  let failure: unknown;
  for (const result of results) {
    if (result.status === 'fulfilled') built.push(result.value);
    else failure ??= result.reason;
  }
  return { built, failure };
}

/**
 * Where new tasks stand: their committed offsets first (the broker answers once no transaction with offsets for
 * them is pending, so the changelog ends read next include everything the previous owner committed), then their
 * stores restored up to those ends.
 */
export async function restoreTasks(
  deps: {
    readonly kafka: KafkaClient;
    readonly consumer: GroupConsumer;
    readonly instanceId: string;
    readonly commitTimeoutMs: number;
    readonly logger: Logger;
    readonly metrics: StreamsMetrics;
    readonly signal: AbortSignal;
  },
  tasks: readonly StreamTask[],
): Promise<{ committed: Map<string, string>; restoredTotal: number }> {
  const committed = await deps.consumer.committed(
    tasks.flatMap((t) => t.sources),
    deps.commitTimeoutMs,
  );
  const restored = await restoreStores(
    deps.kafka,
    tasks.flatMap((t) => [...t.stores.values()]),
    {
      groupPrefix: `restore-${deps.instanceId}`,
      logger: deps.logger,
      metrics: deps.metrics,
      signal: deps.signal,
    },
  );
  return { committed, restoredTotal: restored.restoredTotal };
}

/** Starts restored tasks that are still current: positions from their commit, partitions sought and resumed. */
export async function startTasks(
  tasks: readonly StreamTask[],
  committed: ReadonlyMap<string, string>,
  consumer: GroupConsumer,
  isCurrent: (task: StreamTask) => boolean,
): Promise<string[]> {
  const ids: string[] = [];
  for (const task of tasks) {
    if (!isCurrent(task) || task.state !== 'restoring') continue;
    await task.startRunning(committed);
    for (const s of task.sources)
      await consumer.startAt(s.topic, s.partition, task.position(s.topic, s.partition));
    ids.push(task.idString);
  }
  return ids;
}
