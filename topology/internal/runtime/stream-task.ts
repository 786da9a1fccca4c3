/**
 * An active task: one subtopology on one partition, with its stores, engine and (exactly_once) its own
 * transactional producer `<applicationId>-<taskId>`.
 *
 * Commit protocol (exactly_once), in this order:
 *  1. flush every store's cache: `prepareCommit()` returns the changelog records of this commit;
 *  2. one Kafka transaction: sink outputs + changelog records + `sendOffsets(next input offsets)`, committed;
 *  3. each store writes its staged batch together with its changelog checkpoint (`completeCommit`), atomically;
 *  4. on any failure: stores drop uncommitted writes (`abortCommit`), the error is rethrown — fenced becomes
 *     TaskMigratedError (close dirty), anything else makes the owner re-initialise the task from its last commit.
 * A crash between 2 and 3 leaves the store at the previous checkpoint; the restore replays the committed tail.
 */
import { performance } from 'node:perf_hooks';
import { TaskMigratedError, UscError } from '../../../common/errors.js';
import {
  classifyKafkaError,
  topicPartitionKey,
  type BatchControls,
  type ConsumedBatch,
  type InputOffset,
  type TaskProducer,
} from '../../../kafka/index.js';
import type { TaskStore } from '../../../stores/contracts.js';
import type { Logger } from '../../processor.js';
import type { OutgoingRecord, TaskEngine } from '../../task-engine.js';
import type { TaskId } from '../../task-id.js';
import { taskIdToString } from '../../task-id.js';
import type { StreamsMetrics } from './streams-metrics.js';
import { SerialQueue } from './serial-queue.js';
import { TaskStateMachine, type TaskState } from './task-state.js';

export interface SourcePartition {
  readonly topic: string;
  readonly partition: number;
}

export interface StreamTaskOptions {
  readonly taskId: TaskId;
  readonly applicationId: string;
  readonly exactlyOnce: boolean;
  /** Source topic-partitions (resolved names) of this task. */
  readonly sources: readonly SourcePartition[];
  readonly stores: ReadonlyMap<string, TaskStore>;
  /** Transactional producer (exactly_once) or the instance's shared idempotent producer (at_least_once). */
  readonly producer: TaskProducer;
  /** Builds the engine once the task is restored (processors see restored state in init). */
  readonly createEngine: (
    collector: { send(record: OutgoingRecord): void },
    requestCommit: () => void,
  ) => TaskEngine;
  /** Commits consumer offsets outside a transaction (at_least_once). */
  readonly commitOffsets: (offsets: readonly InputOffset[]) => Promise<void>;
  readonly maxUncommittedRecords: number;
  readonly commitTimeoutMs: number;
  readonly clock: () => number;
  readonly logger: Logger;
  readonly metrics: StreamsMetrics;
}

export class StreamTask {
  readonly id: TaskId;
  readonly idString: string;
  private readonly machine: TaskStateMachine;
  private readonly queue = new SerialQueue();
  private engine: TaskEngine | undefined;
  private pending: OutgoingRecord[] = [];
  /** Next offset to process per source partition; undefined = take whatever the consumer delivers. */
  private readonly positions = new Map<string, bigint>();
  private readonly highWatermarks = new Map<string, bigint>();
  private dirty = false;
  /**
   * A commit failed: the task is about to be closed dirty and re-created (or migrated). Work queued behind the
   * failure (more batches, commits of overlapping ticks) must not run against its half-failed producer.
   */
  private failed = false;
  private commitRequested = false;
  private lastCommitAt: number;
  private readonly subtopologyLabel: string;

  constructor(private readonly options: StreamTaskOptions) {
    this.id = options.taskId;
    this.idString = taskIdToString(options.taskId);
    this.machine = new TaskStateMachine(this.idString);
    this.lastCommitAt = options.clock();
    this.subtopologyLabel = String(options.taskId.subtopology);
  }

  get state(): TaskState {
    return this.machine.state;
  }

  get sources(): readonly SourcePartition[] {
    return this.options.sources;
  }

  get stores(): ReadonlyMap<string, TaskStore> {
    return this.options.stores;
  }

  /** created -> restoring: the stores are open, the restorer fills them next. */
  beginRestore(): void {
    this.machine.transition('restoring');
  }

  /**
   * restoring -> running: builds the engine (processors init against restored stores) and sets the positions to
   * the committed offsets read after this task's producer fenced the previous owner.
   */
  async startRunning(committed: ReadonlyMap<string, string>): Promise<void> {
    for (const s of this.options.sources) {
      const key = topicPartitionKey(s.topic, s.partition);
      const offset = committed.get(key);
      if (offset !== undefined && BigInt(offset) >= 0n) this.positions.set(key, BigInt(offset));
    }
    this.engine = this.options.createEngine(
      { send: (record) => this.pending.push(record) },
      () => (this.commitRequested = true),
    );
    await this.engine.init();
    this.lastCommitAt = this.options.clock();
    this.machine.transition('running');
  }

  /** The position to seek the consumer to for a source partition (undefined: no committed offset yet). */
  position(topic: string, partition: number): string | undefined {
    return this.positions.get(topicPartitionKey(topic, partition))?.toString();
  }

  /** Records between position and the last seen end offset, summed over sources. */
  /** The job this task is running now (processing a batch, committing...) and since when, if any. */
  busy(): { readonly label: string; readonly sinceMs: number } | undefined {
    return this.queue.current;
  }

  /** Per source partition: the task's position and the high watermark seen in its last fetch. */
  sourcePositions(): {
    topic: string;
    partition: number;
    position: string | null;
    highWatermark: string | null;
  }[] {
    return this.options.sources.map((s) => {
      const key = topicPartitionKey(s.topic, s.partition);
      return {
        topic: s.topic,
        partition: s.partition,
        position: this.positions.get(key)?.toString() ?? null,
        highWatermark: this.highWatermarks.get(key)?.toString() ?? null,
      };
    });
  }

  lag(): number {
    let lag = 0n;
    for (const [key, hw] of this.highWatermarks) {
      const pos = this.positions.get(key) ?? 0n;
      if (hw > pos) lag += hw - pos;
    }
    return Number(lag);
  }

  /**
   * Processes a fetched batch (skipping records below the task position, which kafkajs may refetch after a
   * rebalance). Returns false if the task is not running (the caller pauses the partition; nothing is resolved,
   * so the records are fetched again later).
   */
  processBatch(batch: ConsumedBatch, controls: BatchControls): Promise<boolean> {
    return this.queue.run(() => this.doProcessBatch(batch, controls));
  }

  private async doProcessBatch(batch: ConsumedBatch, controls: BatchControls): Promise<boolean> {
    const engine = this.engine;
    if (this.machine.state !== 'running' || !engine || this.failed) return false;
    const key = topicPartitionKey(batch.topic, batch.partition);
    this.highWatermarks.set(key, BigInt(batch.highWatermark));
    let position = this.positions.get(key);
    const started = performance.now();
    let processed = 0;
    let complete = true;
    for (const record of batch.records) {
      if (!controls.isActive()) {
        complete = false;
        break;
      }
      const offset = BigInt(record.offset);
      if (position !== undefined && offset < position) {
        controls.resolveOffset(record.offset);
        continue;
      }
      await engine.process({
        topic: batch.topic,
        partition: batch.partition,
        offset: record.offset,
        key: record.key,
        value: record.value,
        timestamp: record.timestamp,
        headers: record.headers,
      });
      position = offset + 1n;
      this.positions.set(key, position);
      this.dirty = true;
      controls.resolveOffset(record.offset);
      processed++;
      if ((processed & 127) === 0) {
        await controls.heartbeat();
        if (this.pending.length >= this.options.maxUncommittedRecords) await this.doCommit();
      }
    }
    // A fetch ends past its last record when transaction markers (or aborted records) follow it: the position
    // moves past them too, as the Java consumer's does, or the committed offset (and the lag) stay behind the
    // end of a transactionally written topic forever.
    const next = BigInt(batch.nextOffset);
    if (complete && (position === undefined || next > position)) {
      this.positions.set(key, next);
      this.dirty = true;
      controls.resolveOffset((next - 1n).toString());
    }
    const hw = BigInt(batch.highWatermark);
    const at = this.positions.get(key) ?? hw;
    this.options.metrics.consumerLag.set(
      { topic: batch.topic, partition: String(batch.partition) },
      Number(hw > at ? hw - at : 0n),
    );
    if (processed > 0) {
      this.options.metrics.recordsProcessed.inc({ subtopology: this.subtopologyLabel }, processed);
      this.options.metrics.processSeconds.observe(
        { subtopology: this.subtopologyLabel },
        (performance.now() - started) / 1000,
      );
    }
    if (this.commitRequested) await this.doCommit();
    return true;
  }

  /**
   * The consumer moved past records it never delivers (transaction markers, aborted records): advance the
   * position so the committed offset and the lag move past them too. Never moves a position backwards.
   */
  advancePosition(topic: string, partition: number, nextOffset: string): Promise<void> {
    return this.queue.run(async () => {
      if (this.machine.state !== 'running') return;
      const key = topicPartitionKey(topic, partition);
      const next = BigInt(nextOffset);
      const position = this.positions.get(key);
      if (position !== undefined && next <= position) return;
      this.positions.set(key, next);
      this.dirty = true;
    }, 'advancePosition');
  }

  /** Fires due wall-clock punctuations (in the task's queue). */
  punctuate(now: number): Promise<void> {
    return this.queue.run(async () => {
      if (this.machine.state !== 'running' || !this.engine || this.failed) return;
      if (await this.engine.punctuateWallClock(now)) this.dirty = true;
    }, 'punctuate');
  }

  /** Commits if there is uncommitted work and the interval elapsed (or `force`). */
  maybeCommit(now: number, intervalMs: number, force = false): Promise<void> {
    return this.queue.run(async () => {
      if (this.machine.state !== 'running' || this.failed) return;
      if (!this.dirty && this.pending.length === 0) return;
      if (!force && !this.commitRequested && now - this.lastCommitAt < intervalMs) return;
      await this.doCommit();
    }, 'maybeCommit');
  }

  private async doCommit(): Promise<void> {
    const { options } = this;
    const started = performance.now();
    const now = options.clock();
    const records = this.pending;
    this.pending = [];
    const stores = [...options.stores.values()];
    try {
      for (const store of stores) {
        const changes = await store.prepareCommit();
        const cl = store.changelog;
        if (!cl) continue;
        for (const c of changes) {
          records.push({
            topic: cl.topic,
            partition: cl.partition,
            key: c.key,
            value: c.value,
            timestamp: now,
            headers: {},
          });
        }
      }
      const offsets: InputOffset[] = [];
      for (const s of options.sources) {
        const pos = this.positions.get(topicPartitionKey(s.topic, s.partition));
        if (pos !== undefined)
          offsets.push({ topic: s.topic, partition: s.partition, offset: pos.toString() });
      }
      const written = await withTimeout(
        options.producer.commit(records, options.applicationId, options.exactlyOnce ? offsets : []),
        options.commitTimeoutMs,
        `commit of task ${this.idString}`,
      );
      for (const store of stores) {
        const cl = store.changelog;
        await store.completeCommit(cl ? written.get(topicPartitionKey(cl.topic, cl.partition)) : undefined);
      }
      if (!options.exactlyOnce) await options.commitOffsets(offsets);
      this.dirty = false;
      this.commitRequested = false;
      this.lastCommitAt = now;
      options.metrics.commitsTotal.inc({ outcome: 'committed' });
      options.metrics.commitSeconds.observe(
        { guarantee: options.exactlyOnce ? 'exactly_once' : 'at_least_once' },
        (performance.now() - started) / 1000,
      );
    } catch (err) {
      this.failed = true;
      for (const store of stores) store.abortCommit();
      options.metrics.commitsTotal.inc({ outcome: 'failed' });
      if (classifyKafkaError(err) === 'fenced') {
        throw new TaskMigratedError(`task ${this.idString} was fenced by a newer owner`, { cause: err });
      }
      throw err;
    }
  }

  /**
   * Closes the task. `clean`: commit pending work first (safe even after losing the partition: a new owner's
   * producer either fences this commit or waits for it before reading offsets). Dirty: drop uncommitted work.
   * Errors of a clean close's commit downgrade it to dirty. Stores are closed; the producer is disconnected if it
   * is the task's own.
   */
  close(clean: boolean): Promise<void> {
    return this.queue.run(async () => {
      if (this.machine.state === 'closed') return;
      if (
        clean &&
        this.machine.state === 'running' &&
        !this.failed &&
        (this.dirty || this.pending.length > 0)
      ) {
        try {
          await this.doCommit();
        } catch (err) {
          this.options.logger.warn({ err, taskId: this.idString }, 'commit on close failed; closing dirty');
        }
      } else if (!clean) {
        for (const store of this.options.stores.values()) store.abortCommit();
      }
      this.pending = [];
      await this.engine?.close().catch((err: unknown) => {
        this.options.logger.warn({ err, taskId: this.idString }, 'processor close failed; continuing');
      });
      for (const store of this.options.stores.values()) await store.close();
      for (const s of this.options.sources)
        this.options.metrics.consumerLag.remove({ topic: s.topic, partition: String(s.partition) });
      if (this.options.exactlyOnce) await this.options.producer.disconnect();
      this.machine.transition('closed');
    }, 'close');
  }
}

/** Rejects with a retriable USC_ERR_TASK_COMMIT_TIMEOUT if `promise` does not settle within `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new UscError('USC_ERR_TASK_COMMIT_TIMEOUT', `${what} did not finish within ${ms} ms`, {
            retriable: true,
          }),
        ),
      ms,
    );
  });
  promise.catch(() => {}); // a late failure of the abandoned attempt is of no interest
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
