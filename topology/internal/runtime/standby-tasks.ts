/**
 * Standby replicas: for each standby task, this instance keeps the task's persistent stores open and follows their
 * changelog partitions (read_committed) with one partition reader, so that a failover promotes a warm copy and
 * only the tail is restored. Standby stores are readable (stale) for interactive queries that allow it.
 */
import {
  PartitionReader,
  partitionOffsets,
  topicPartitionKey,
  type KafkaClient,
} from '../../../kafka/index.js';
import type { TaskStore } from '../../../stores/contracts.js';
import type { Logger } from '../../processor.js';
import type { StreamsMetrics } from './streams-metrics.js';

export interface StandbyTask {
  readonly id: string;
  readonly stores: ReadonlyMap<string, TaskStore>;
}

interface Followed {
  readonly task: string;
  readonly store: TaskStore;
  position: bigint;
  end: bigint;
}

export class StandbyTasks {
  private readonly tasks = new Map<string, StandbyTask>();
  private readonly followed = new Map<string, Followed>();
  private reader: PartitionReader | undefined;
  private generation = 0;

  constructor(
    private readonly kafka: KafkaClient,
    private readonly groupPrefix: string,
    private readonly logger: Logger,
    private readonly metrics: StreamsMetrics,
  ) {}

  get ids(): string[] {
    return [...this.tasks.keys()];
  }

  get(taskId: string): StandbyTask | undefined {
    return this.tasks.get(taskId);
  }

  /** Records this standby is behind its changelog end (as of the last fetch), summed over its stores. */
  lag(taskId: string): number {
    let lag = 0n;
    for (const f of this.followed.values())
      if (f.task === taskId && f.end > f.position) lag += f.end - f.position;
    return Number(lag);
  }

  /** Per changelog partition (`topic:partition`) of the task: the next offset this standby will apply. */
  positions(taskId: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, f] of this.followed) if (f.task === taskId) out[key] = f.position.toString();
    return out;
  }

  /**
   * Makes the set of standby tasks equal to `wanted`: closes the others, opens new ones with `open` (which
   * returns the task's opened stores), and restarts the reader if the set changed.
   */
  async update(
    wanted: ReadonlySet<string>,
    open: (taskId: string) => Promise<ReadonlyMap<string, TaskStore>>,
  ): Promise<void> {
    const removed = [...this.tasks.keys()].filter((id) => !wanted.has(id));
    const added = [...wanted].filter((id) => !this.tasks.has(id));
    if (removed.length === 0 && added.length === 0) return;
    await this.stopReader();
    for (const id of removed) await this.closeTask(id);
    for (const id of added) {
      try {
        this.tasks.set(id, { id, stores: await open(id) });
      } catch (err) {
        this.logger.warn(
          { err, taskId: id },
          'could not open standby task; it will be retried at the next rebalance',
        );
      }
    }
    this.metrics.tasks.set({ kind: 'standby' }, this.tasks.size);
    this.startReaderInBackground();
  }

  /**
   * Hands one standby task's open stores over (it is being promoted to active on this instance): the standby
   * stops following them and forgets them without closing them. Undefined if there is no such standby.
   */
  async take(taskId: string): Promise<ReadonlyMap<string, TaskStore> | undefined> {
    const task = this.tasks.get(taskId);
    if (!task) return undefined;
    await this.stopReader();
    this.tasks.delete(taskId);
    this.metrics.tasks.set({ kind: 'standby' }, this.tasks.size);
    this.startReaderInBackground();
    return task.stores;
  }

  /**
   * Takes over the open stores of a task that stopped being active here (demotion): they are followed as a
   * standby from their checkpoint, with no close, reopen or restore. Replaces a standby of the same id.
   */
  async adopt(taskId: string, stores: ReadonlyMap<string, TaskStore>): Promise<void> {
    await this.stopReader();
    await this.closeTask(taskId);
    this.tasks.set(taskId, { id: taskId, stores });
    this.metrics.tasks.set({ kind: 'standby' }, this.tasks.size);
    this.startReaderInBackground();
  }

  async closeAll(): Promise<void> {
    await this.stopReader();
    for (const id of [...this.tasks.keys()]) await this.closeTask(id);
    this.metrics.tasks.set({ kind: 'standby' }, 0);
  }

  private async closeTask(id: string): Promise<void> {
    const task = this.tasks.get(id);
    this.tasks.delete(id);
    if (!task) return;
    for (const store of task.stores.values()) await store.close().catch(() => {});
  }

  /** Low and high offsets of every changelog partition the standby tasks follow, by topic. */
  private async changelogRanges(): Promise<Map<string, Map<number, { low: string; high: string }>>> {
    const partitions = new Map<string, { topic: string; partition: number }>();
    for (const task of this.tasks.values())
      for (const store of task.stores.values())
        if (store.changelog)
          partitions.set(
            topicPartitionKey(store.changelog.topic, store.changelog.partition),
            store.changelog,
          );
    return partitionOffsets(this.kafka, [...partitions.values()]);
  }

  private async stopReader(): Promise<void> {
    this.generation++;
    const reader = this.reader;
    this.reader = undefined;
    this.followed.clear();
    await reader?.stop();
  }

  /**
   * Starts following the standby stores without holding the caller up (it runs in the instance's task queue, which
   * also serves rebalances): a newer stop or start (a higher generation) makes this one give up before it touches
   * a store again.
   */
  private startReaderInBackground(): void {
    void this.startReader().catch((err: unknown) =>
      this.logger.warn({ err }, 'could not start the standby reader; standbys catch up at the next update'),
    );
  }

  private async startReader(): Promise<void> {
    const generation = this.generation;
    const starts: { topic: string; partition: number; offset: string }[] = [];
    let ranges: Map<string, Map<number, { low: string; high: string }>>;
    const rangeOf = (cl: { topic: string; partition: number }) =>
      ranges.get(cl.topic)?.get(cl.partition) ?? { low: '0', high: '0' };
    try {
      // The end read here is the last stable offset. A checkpoint this instance wrote as the task's active owner
      // can be ahead of it for a moment (the commit returned, its markers are still being written): read again
      // before calling such a checkpoint invalid.
      for (let attempt = 0; ; attempt++) {
        ranges = await this.changelogRanges();
        let ahead = false;
        for (const task of this.tasks.values())
          for (const store of task.stores.values()) {
            const checkpoint = store.changelog && (await store.checkpoint());
            if (checkpoint && BigInt(checkpoint) > BigInt(rangeOf(store.changelog).high)) ahead = true;
          }
        if (!ahead || attempt >= 20 || generation !== this.generation) break;
        await new Promise((resolve) => setTimeout(resolve, 100)); // poll period while markers are written
      }
    } catch (err) {
      this.logger.warn({ err }, 'could not read changelog offsets; standbys catch up at the next rebalance');
      return;
    }
    if (generation !== this.generation) return;
    for (const task of [...this.tasks.values()]) {
      for (const store of task.stores.values()) {
        const cl = store.changelog;
        if (!cl || generation !== this.generation) continue;
        const range = rangeOf(cl);
        let checkpoint = (await store.checkpoint()) ?? range.low;
        if (generation !== this.generation) return;
        if (BigInt(checkpoint) < BigInt(range.low) || BigInt(checkpoint) > BigInt(range.high)) {
          this.logger.warn(
            { taskId: task.id, store: store.definition.name, checkpoint, ...range },
            'standby checkpoint is outside the changelog; wiping the standby store and following from the start',
          );
          if (generation !== this.generation) return;
          await store.wipe();
          checkpoint = range.low;
        }
        // `end` starts at the changelog's current end, so the lag is right before the first fetch returns.
        this.followed.set(topicPartitionKey(cl.topic, cl.partition), {
          task: task.id,
          store,
          position: BigInt(checkpoint),
          end: BigInt(range.high),
        });
        starts.push({ topic: cl.topic, partition: cl.partition, offset: checkpoint });
      }
    }
    if (starts.length === 0) return;
    try {
      const reader = await PartitionReader.start(
        this.kafka,
        {
          groupPrefix: this.groupPrefix,
          partitions: starts,
          onError: (err) =>
            this.logger.warn({ err }, 'standby reader failed; standbys catch up at the next rebalance'),
          onBatch: async (batch) => {
            if (generation !== this.generation) return;
            const f = this.followed.get(topicPartitionKey(batch.topic, batch.partition));
            if (!f) return;
            const records = batch.records
              .filter((r) => r.key !== null)
              .map((r) => ({ key: r.key!, value: r.value, offset: r.offset }));
            if (records.length > 0) {
              await f.store.restoreBatch(records);
              this.metrics.standbyUpdateRecords.inc({ store: f.store.definition.name }, records.length);
            }
            const next = BigInt(batch.nextOffset);
            if (next > f.position) f.position = next;
            f.end = BigInt(batch.highWatermark);
            this.metrics.standbyLag.set(
              { store: f.store.definition.name, partition: String(batch.partition) },
              Number(f.end > f.position ? f.end - f.position : 0n),
            );
          },
        },
        this.logger,
      );
      if (generation !== this.generation) await reader.stop();
      else this.reader = reader;
    } catch (err) {
      this.logger.warn(
        { err },
        'could not start the standby reader; standbys catch up at the next rebalance',
      );
    }
  }
}
