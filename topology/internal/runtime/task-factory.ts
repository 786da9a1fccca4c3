/**
 * Builds the parts of a task: its stores (opened, a corrupted one wiped so that it is restored from scratch) and
 * the StreamTask around them with its engine.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TaskCorruptedError } from '../../../common/errors.js';
import type { TaskStore } from '../../../stores/contracts.js';
import type { StoreMemory } from '../../../stores/memory-budget.js';
import { createTaskStore, taskSavepoints } from '../../../stores/store-factory.js';
import type { Logger } from '../../processor.js';
import type { StreamsConfig } from '../../streams-config.js';
import { taskIdToString, type TaskId } from '../../task-id.js';
import type { Topology } from '../../topology.js';
import { createTaskEngine } from '../index.js';
import { StreamTask, type SourcePartition } from './stream-task.js';
import type { StreamsMetrics } from './streams-metrics.js';

export interface TaskFactoryDeps {
  readonly config: StreamsConfig;
  readonly topology: Topology;
  readonly resolveTopic: (logical: string, internal: boolean) => string;
  readonly partitionsFor: (topic: string) => number;
  readonly clock: () => number;
  readonly logger: Logger;
  readonly metrics: StreamsMetrics;
  /** The instance's LevelDB memory budget. */
  readonly memory?: StoreMemory;
}

/**
 * Persistent store slots of the topology: every persistent store of every task. An instance holds at most one
 * copy (active or standby) of each task, so this bounds the LevelDB databases it can have open at once.
 */
export function storeSlots(topology: Topology, partitionsOf: (sourceTopic: string) => number): number {
  let slots = 0;
  for (const sub of topology.subtopologies) {
    if (sub.sourceTopics.length === 0) continue;
    const persistent = sub.stores.filter((name) => topology.stores.get(name)?.persistent).length;
    slots += persistent * Math.max(...sub.sourceTopics.map(partitionsOf));
  }
  return slots;
}

export class TaskFactory {
  constructor(private readonly deps: TaskFactoryDeps) {}

  private resolve(logical: string): string {
    return this.deps.resolveTopic(logical, this.deps.topology.internalTopics.has(logical));
  }

  /** Source partitions of a task (all co-partitioned sources of its subtopology). */
  sourcesOf(id: TaskId): SourcePartition[] {
    const sub = this.deps.topology.subtopologies[id.subtopology];
    return (sub?.sourceTopics ?? []).map((t) => ({ topic: this.resolve(t), partition: id.partition }));
  }

  /** Opens a task's stores, wiping any that are corrupted (they are then restored from scratch). */
  async openStores(id: TaskId): Promise<Map<string, TaskStore>> {
    const { config, topology, logger, metrics } = this.deps;
    const sub = topology.subtopologies[id.subtopology];
    const stores = new Map<string, TaskStore>();
    try {
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
            memory: this.deps.memory,
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
          await rm(join(config.stateDir, config.applicationId, taskIdToString(id), name), {
            recursive: true,
            force: true,
          });
          store = make();
          await store.open();
        }
        stores.set(name, store);
      }
    } catch (err) {
      for (const store of stores.values()) await store.close().catch(() => {});
      throw err;
    }
    return stores;
  }

  /** A task over `warm` stores (handed over by a standby) or freshly opened ones. */
  async create(id: TaskId, warm?: ReadonlyMap<string, TaskStore>): Promise<StreamTask> {
    const { config, topology, logger, metrics } = this.deps;
    const idString = taskIdToString(id);
    const subtopology = topology.subtopologies[id.subtopology]!;
    const taskLogger = logger.child({ taskId: idString });
    const stores = warm ?? (await this.openStores(id));
    const facing = new Map([...stores].map(([name, s]) => [name, s.store] as const));
    return new StreamTask({
      taskId: id,
      sources: this.sourcesOf(id),
      stores,
      maxUncommittedRecords: config.maxUncommittedRecords ?? 10_000,
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
}
