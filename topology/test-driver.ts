/**
 * TopologyTestDriver: runs any topology in memory, through the same task engine and store layers as the Kafka
 * runtime, so processors are tested without a broker (in the spirit of Kafka Streams' TopologyTestDriver).
 *
 * - Every topic (input, repartition, changelog, output) is an in-memory log per partition
 *   (./internal/driver/in-memory-topics.ts); output topics are read back in write order
 *   (./internal/driver/output-topic.ts), stores across all partitions (./internal/driver/merged-store.ts).
 * - Each (subtopology, partition) is a task with in-memory stores and the real commit protocol: outputs and
 *   changelog records become visible when the task commits, together with its input positions.
 * - `autoCommit` (default) processes a piped record through every subtopology and commits, so outputs are
 *   readable right away. With `autoCommit: false`, call `commit()`; `simulateCrashAndRestore()` then shows what a
 *   crash does: uncommitted work is lost, stores are rebuilt from their changelogs, and inputs after the last
 *   commit are processed again (exactly-once: nothing is lost or applied twice).
 */
import { UscError } from '../common/errors.js';
import {
  abortStores,
  commitAll,
  completeStores,
  prepareStores,
  type CommitParticipant,
} from './internal/runtime/commit-protocol.js';
import { silentLogger } from '../common/logger.js';
import { partitionForKey } from '../kafka/partitioner.js';
import { noopStoreMetrics, type ReadOnlyKeyValueStore, type TaskStore } from '../stores/contracts.js';
import { createTaskStore, taskSavepoints } from '../stores/store-factory.js';
import { createTaskEngine } from './internal/index.js';
import { resolvePartitionCounts } from './partitions.js';
import type { Logger } from './processor.js';
import type { Headers } from './record.js';
import type { Serde } from './serde.js';
import type { TaskEngine } from './task-engine.js';
import { PendingOutputs } from './internal/engine/pending-outputs.js';
import { InMemoryTopics } from './internal/driver/in-memory-topics.js';
import { mergedKeyValueStore } from './internal/driver/merged-store.js';
import { createOutputTopic } from './internal/driver/output-topic.js';
import { taskIdToString, type TaskId } from './task-id.js';
import type { TestInputTopic, TestOutputTopic } from './test-topics.js';
import { internalTopicName, type Topology } from './topology.js';

export type { TestInputTopic, TestOutputTopic, TestRecord } from './test-topics.js';

export interface TestDriverOptions {
  readonly applicationId?: string;
  /** Partition count of external topics: one number for all, or per topic (default 1). */
  readonly partitions?: number | Readonly<Record<string, number>>;
  /** Initial mock wall-clock time (epoch ms). Default 0. */
  readonly initialWallClockMs?: number;
  /** Commit after every piped record (default true). */
  readonly autoCommit?: boolean;
  readonly logger?: Logger;
}

interface DriverTask {
  readonly id: TaskId;
  readonly idString: string;
  readonly sources: readonly string[];
  stores: Map<string, TaskStore>;
  engine: TaskEngine;
  pending: PendingOutputs;
  /** Next index to process per source topic. */
  readonly positions: Map<string, number>;
  readonly committed: Map<string, number>;
  dirty: boolean;
}

export class TopologyTestDriver {
  readonly applicationId: string;
  private readonly topics: InMemoryTopics;
  private readonly tasks: DriverTask[] = [];
  private readonly logger: Logger;
  private wallClock: number;
  private started: Promise<void> | undefined;
  private readonly autoCommit: boolean;

  constructor(
    readonly topology: Topology,
    options: TestDriverOptions = {},
  ) {
    this.applicationId = options.applicationId ?? 'test-app';
    this.wallClock = options.initialWallClockMs ?? 0;
    this.autoCommit = options.autoCommit ?? true;
    this.logger = options.logger ?? silentLogger;
    const p = options.partitions ?? 1;
    this.topics = new InMemoryTopics(
      resolvePartitionCounts(topology, this.applicationId, (t) =>
        t.startsWith(`${this.applicationId}-`) ? undefined : typeof p === 'number' ? p : (p[t] ?? 1),
      ),
    );
  }

  private resolve = (logical: string, internal: boolean): string =>
    internal ? internalTopicName(this.applicationId, logical) : logical;

  private start(): Promise<void> {
    this.started ??= (async () => {
      for (const sub of this.topology.subtopologies) {
        const sources = sub.sourceTopics.map((t) => this.resolve(t, this.topology.internalTopics.has(t)));
        const n = this.topics.partitionsFor(sources[0]!);
        for (let partition = 0; partition < n; partition++) {
          const id = { subtopology: sub.id, partition };
          const task: DriverTask = {
            id,
            idString: taskIdToString(id),
            sources,
            stores: new Map(),
            engine: undefined as unknown as TaskEngine,
            pending: new PendingOutputs(),
            positions: new Map(sources.map((s) => [s, 0])),
            committed: new Map(sources.map((s) => [s, 0])),
            dirty: false,
          };
          await this.openTask(task);
          this.tasks.push(task);
        }
      }
    })();
    return this.started;
  }

  private async openTask(task: DriverTask): Promise<void> {
    const sub = this.topology.subtopologies[task.id.subtopology]!;
    task.stores = new Map();
    for (const name of sub.stores) {
      const store = createTaskStore(this.topology.stores.get(name)!, {
        applicationId: this.applicationId,
        taskId: task.id,
        stateDir: '',
        metrics: noopStoreMetrics,
        logger: this.logger,
        forceInMemory: true,
        freezeValues: true,
      });
      await store.open();
      if (store.changelog) {
        const records = this.topics.log(store.changelog.topic)[store.changelog.partition] ?? [];
        const restore = records
          .map((r, offset) => ({ key: r.key, value: r.value, offset: String(offset) }))
          .filter((r): r is { key: Buffer; value: Buffer | null; offset: string } => r.key !== null);
        await store.restoreBatch(restore);
      }
      task.stores.set(name, store);
    }
    task.engine = createTaskEngine({
      applicationId: this.applicationId,
      taskId: task.id,
      topology: this.topology,
      subtopology: sub,
      stores: new Map([...task.stores].map(([n, s]) => [n, s.store] as const)),
      collector: { send: (r) => task.pending.add(r, r.latestPerKey) },
      partitionsFor: this.topics.partitionsFor,
      resolveTopic: this.resolve,
      clock: () => this.wallClock,
      logger: this.logger.child({ taskId: task.idString }),
      undo: taskSavepoints(task.stores),
    });
    await task.engine.init();
  }

  createInputTopic<K, V>(topic: string, keySerde: Serde<K>, valueSerde: Serde<V>): TestInputTopic<K, V> {
    const append = (key: K, value: V, timestamp?: number, headers: Headers = {}) => {
      const keyBytes = keySerde.serialize(key);
      const n = this.topics.partitionsFor(topic);
      const partition = keyBytes === null ? 0 : partitionForKey(keyBytes, n);
      this.topics.append(topic, partition, {
        key: keyBytes,
        value: valueSerde.serialize(value),
        timestamp: timestamp ?? this.wallClock,
        headers,
      });
    };
    return {
      pipeInput: async (key, value, timestamp, headers) => {
        await this.start();
        append(key, value, timestamp, headers);
        await this.runUntilQuiet();
      },
      pipeRecords: async (records) => {
        await this.start();
        for (const r of records) append(r.key, r.value, r.timestamp, r.headers);
        await this.runUntilQuiet();
      },
    };
  }

  createOutputTopic<K, V>(topic: string, keySerde: Serde<K>, valueSerde: Serde<V>): TestOutputTopic<K, V> {
    return createOutputTopic(this.topics, topic, keySerde, valueSerde);
  }

  /** A store across all partitions (reads see uncommitted writes, as processors do). */
  getKeyValueStore<K, V>(name: string): ReadOnlyKeyValueStore<K, V> {
    if (!this.topology.stores.has(name)) throw new UscError('USC_ERR_STORE_UNKNOWN', `no store ${name}`);
    const stores = async () => {
      await this.start();
      return this.tasks.flatMap((t) => {
        const s = t.stores.get(name);
        return s ? [s.store as unknown as ReadOnlyKeyValueStore<K, V>] : [];
      });
    };
    return mergedKeyValueStore(stores);
  }

  /** Moves the mock wall clock and fires wall-clock punctuations that became due. */
  async advanceWallClockTime(ms: number): Promise<void> {
    await this.start();
    this.wallClock += ms;
    for (const task of this.tasks)
      if (await task.engine.punctuateWallClock(this.wallClock)) task.dirty = true;
    if (this.autoCommit) await this.commit();
    await this.runUntilQuiet();
  }

  get wallClockMs(): number {
    return this.wallClock;
  }

  /**
   * Commits every task: outputs and changelog records become visible, input positions are committed. Records
   * that became visible in repartition topics are then processed by their tasks (and committed by the next
   * commit, unless autoCommit).
   */
  async commit(): Promise<void> {
    await this.start();
    for (const task of this.tasks) await this.commitTask(task);
    await this.runUntilQuiet();
  }

  /** One task's commit through the runtime's commit protocol; the in-memory topics are the transaction. */
  private async commitTask(task: DriverTask): Promise<void> {
    if (!task.dirty && task.pending.length === 0) return;
    const participant: CommitParticipant = {
      prepareCommit: async (now) => {
        const records = task.pending.drain();
        for (const r of await prepareStores(task.stores.values(), now)) records.push(r);
        return { records, offsets: [] };
      },
      completeCommit: async (written) => {
        await completeStores(task.stores.values(), written);
        for (const [topic, pos] of task.positions) task.committed.set(topic, pos);
        task.dirty = false;
      },
      abortCommit: () => abortStores(task.stores.values()),
    };
    await commitAll(
      [participant],
      async (records) => {
        const written = new Map<string, string>();
        for (const r of records)
          written.set(`${r.topic}:${r.partition}`, String(this.topics.append(r.topic, r.partition, r) + 1));
        return written;
      },
      this.wallClock,
    );
  }

  /**
   * A crash of one task (or all): uncommitted outputs and store writes are lost, stores are rebuilt from their
   * changelogs, processors are re-initialised, and inputs after the last commit are processed again.
   */
  async simulateCrashAndRestore(taskId?: string): Promise<void> {
    await this.start();
    for (const task of this.tasks) {
      if (taskId !== undefined && task.idString !== taskId) continue;
      task.pending.drain();
      for (const store of task.stores.values()) await store.close();
      await task.engine.close();
      for (const [topic, pos] of task.committed) task.positions.set(topic, pos);
      task.dirty = false;
      await this.openTask(task);
    }
    await this.runUntilQuiet();
  }

  async close(): Promise<void> {
    if (!this.started) return;
    await this.started;
    for (const task of this.tasks) {
      await task.engine.close();
      for (const store of task.stores.values()) await store.close();
    }
  }

  /** Processes every unprocessed record of every task (and what that produces), committing if autoCommit. */
  private async runUntilQuiet(): Promise<void> {
    for (let progressed = true; progressed;) {
      progressed = false;
      for (const task of this.tasks) {
        for (const topic of task.sources) {
          const records = this.topics.existing(topic)?.[task.id.partition] ?? [];
          const pos = task.positions.get(topic) ?? 0;
          if (pos >= records.length) continue;
          // Everything not yet processed, as one fetched batch (the runtime hands its fetches over the same way).
          const batch = records.slice(pos);
          await task.engine.processBatch(
            batch.map((r, i) => ({
              topic,
              partition: task.id.partition,
              offset: String(pos + i),
              key: r.key,
              value: r.value,
              timestamp: r.timestamp,
              headers: r.headers,
            })),
          );
          task.positions.set(topic, pos + batch.length);
          task.dirty = true;
          progressed = true;
        }
        if (this.autoCommit) await this.commitTask(task);
      }
    }
  }
}
