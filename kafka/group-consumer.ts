/**
 * A consumer-group member on librdkafka's `KafkaConsumer`, exposed through runtime-facing types (no client types
 * leak out of kafka/). Rebalancing is cooperative (incremental): the handlers hear only about partitions that
 * move, and choose what is actually assigned or released. librdkafka holds the rebalance until the handler's
 * promise settles (it waits for the assign call), so a revoked task can commit before its partitions are
 * released, and a newly assigned lead partition can bring its co-partitioned siblings along. Heartbeats run on
 * librdkafka's own thread: a long batch never gets the member evicted before `max.poll.interval.ms`.
 */
import { UscError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { KafkaClient, RdConfig } from './client.js';
import { routeLibrdkafkaLog } from './client.js';
import { classifyKafkaError, isConsumerFatal } from './errors.js';
import { callback, rdkafka, type LowLevelConsumer, type LowLevelMessage } from './native.js';

export interface ConsumedRecord {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
  readonly headers: Readonly<Record<string, string>>;
}

export interface ConsumedBatch {
  readonly topic: string;
  readonly partition: number;
  /** End offset of the partition as last fetched (the last stable offset under read_committed). */
  readonly highWatermark: string;
  /** Records in offset order; may be empty when only the position moved (markers, aborted records, the end). */
  readonly records: readonly ConsumedRecord[];
  /**
   * Where the partition's position is after this batch: past its last record, and past transaction markers or
   * aborted records that follow it when the consumer reached the partition's end.
   */
  readonly nextOffset: string;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  readonly offset: string;
}

export interface TopicPartitions {
  readonly topic: string;
  readonly partitions: readonly number[];
}

export type GroupProtocol = 'classic' | 'consumer';

export interface GroupConsumerOptions {
  readonly groupId: string;
  /** Topics subscribed to (the group balances their partitions). */
  readonly topics: readonly string[];
  readonly readCommitted: boolean;
  /** Static membership (`group.instance.id`): a restart within the session timeout keeps the assignment. */
  readonly groupInstanceId?: string;
  /** Where to start without a committed offset. */
  readonly fromBeginning: boolean;
  /** `classic` (cooperative-sticky, default) or `consumer` (KIP-848: the broker assigns, always incremental). */
  readonly protocol?: GroupProtocol;
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  readonly maxPollIntervalMs?: number;
  /** Records handed over per poll at most (default 2,000). */
  readonly maxRecordsPerPoll?: number;
  /** How long a poll waits for its first record (default 50 ms). */
  readonly pollTimeoutMs?: number;
  readonly maxBytesPerPartition?: number;
  /** Most fetched data held ahead of the handlers, in KiB (default 16 MiB). */
  readonly maxQueuedKbytes?: number;
}

export interface GroupConsumerHandlers {
  /**
   * Partitions newly assigned by the group. Returns what to assign: these partitions plus any others that must
   * travel with them. The rebalance completes when the promise settles.
   */
  onAssigned(partitions: readonly TopicPartition[]): Promise<readonly TopicPartition[]>;
  /**
   * Partitions taken away (`lost`: the member was evicted, another member may already own them: do not commit).
   * Returns what to release: these plus the partitions that travelled with them.
   */
  onRevoked(partitions: readonly TopicPartition[], lost: boolean): Promise<readonly TopicPartition[]>;
  /**
   * One poll's records, grouped by partition. The next poll waits for this promise. `drained`: the member has
   * caught up: the poll took everything the client had fetched (fewer records than a poll may take) and no
   * partition's records stopped short of its end as last fetched (a backlog keeps a partition behind).
   * Also called once with no batches after a poll that found nothing following one that found something (the
   * handler may act on being idle, e.g. commit).
   */
  onBatches(batches: readonly ConsumedBatch[], drained: boolean): Promise<void>;
  /** An error of the client or of a handler; `fatal`: the instance cannot continue. */
  onError(error: unknown, fatal: boolean): void;
  /**
   * The client reported a fatal consumer error (librdkafka's `ERR__FATAL`, e.g. this static member was fenced by
   * another member with its `group.instance.id`): it no longer polls and cannot recover; create a new one after
   * stop(). Called at most once.
   */
  onClientFailed(error: unknown): void;
}

const ERR_ASSIGN_PARTITIONS = -175;

/** Methods of the binding's consumer that its type declarations omit. */
interface IncrementalConsumer {
  assignmentLost(): boolean;
  rebalanceProtocol(): string;
  incrementalAssign(partitions: TopicPartition[]): void;
  incrementalUnassign(partitions: TopicPartition[]): void;
}

function headersToStrings(headers: LowLevelMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const h of headers) {
    for (const [k, v] of Object.entries(h)) {
      if (out[k] !== undefined || v === undefined || v === null) continue;
      out[k] = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
    }
  }
  return out;
}

/** Groups one poll's messages (and the end-of-partition offsets seen during it) into per-partition batches. */
export function toBatches(
  messages: readonly LowLevelMessage[],
  ends: ReadonlyMap<string, number>,
  highWatermark: (topic: string, partition: number) => number | undefined,
): ConsumedBatch[] {
  const byPartition = new Map<string, { topic: string; partition: number; records: ConsumedRecord[] }>();
  for (const m of messages) {
    const key = `${m.topic}:${m.partition}`;
    let entry = byPartition.get(key);
    if (!entry) byPartition.set(key, (entry = { topic: m.topic, partition: m.partition, records: [] }));
    entry.records.push({
      offset: String(m.offset),
      key: m.key === undefined || m.key === null ? null : Buffer.isBuffer(m.key) ? m.key : Buffer.from(m.key),
      value: m.value ?? null,
      timestamp: m.timestamp ?? Date.now(),
      headers: headersToStrings(m.headers),
    });
  }
  for (const key of ends.keys()) {
    if (byPartition.has(key)) continue;
    const sep = key.lastIndexOf(':');
    byPartition.set(key, { topic: key.slice(0, sep), partition: Number(key.slice(sep + 1)), records: [] });
  }
  const batches: ConsumedBatch[] = [];
  for (const [key, { topic, partition, records }] of byPartition) {
    const last = records.at(-1);
    let next = last ? Number(last.offset) + 1 : -1;
    const end = ends.get(key);
    if (end !== undefined && end > next) next = end;
    const hw = highWatermark(topic, partition);
    batches.push({
      topic,
      partition,
      records,
      nextOffset: String(next),
      highWatermark: String(hw !== undefined && hw >= next ? hw : next),
    });
  }
  return batches;
}

/**
 * Which partitions are behind their end: a partition whose records of a poll stop short of its end as last fetched
 * is behind, until a later batch reaches the end or the client reports it. The end under read_committed is the
 * last stable offset, which lies one past the last record when a transaction's commit marker follows it: that one
 * offset counts as the end (the client's end-of-partition report would come only with its next fetch, up to
 * `fetch.wait.max.ms` later).
 */
export class PartitionEnds {
  private readonly behind = new Set<string>();

  /** One poll's batches and the ends the client reported during it (`topic:partition` -> offset). */
  observe(batches: readonly ConsumedBatch[], ends: ReadonlyMap<string, number>): void {
    for (const b of batches) {
      const key = `${b.topic}:${b.partition}`;
      if (ends.has(key) || Number(b.highWatermark) - Number(b.nextOffset) <= 1) this.behind.delete(key);
      else if (b.records.length > 0) this.behind.add(key);
    }
  }

  /** Partitions no longer assigned. */
  forget(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) this.behind.delete(`${p.topic}:${p.partition}`);
  }

  /** No partition is known to be behind its end. */
  get caughtUp(): boolean {
    return this.behind.size === 0;
  }
}

/** One consumer-group member. Not restartable: create a new one after stop(). */
export class GroupConsumer {
  private readonly consumer: LowLevelConsumer;
  private stopping = false;
  /** The client reported a fatal error: polling ended, the owner replaces this consumer. */
  private failed = false;
  private loop: Promise<void> | undefined;
  private ends = new Map<string, number>();
  private readonly partitionEnds = new PartitionEnds();

  constructor(
    kafka: KafkaClient,
    private readonly options: GroupConsumerOptions,
    private readonly handlers: GroupConsumerHandlers,
    private readonly logger: Logger,
  ) {
    const classic = (options.protocol ?? 'classic') === 'classic';
    const config: RdConfig = kafka.config({
      'group.id': options.groupId,
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
      'isolation.level': options.readCommitted ? 'read_committed' : 'read_uncommitted',
      'enable.partition.eof': true,
      'max.poll.interval.ms': options.maxPollIntervalMs ?? 300_000,
      'max.partition.fetch.bytes': options.maxBytesPerPartition ?? 1_048_576,
      'fetch.wait.max.ms': 100,
      // Prefetch bound (librdkafka's defaults: 64 MiB and 100,000 messages per partition) - the consumer keeps at
      // most this much fetched ahead of the tasks; enough for full batches on every partition.
      'queued.max.messages.kbytes': options.maxQueuedKbytes ?? 16_384,
      'queued.min.messages': 10_000,
      event_cb: true,
      rebalance_cb: (err: { code: number }, assignment: TopicPartition[]) =>
        this.onRebalance(err, assignment),
      ...(options.groupInstanceId ? { 'group.instance.id': options.groupInstanceId } : {}),
      ...(classic
        ? {
            'group.protocol': 'classic',
            'partition.assignment.strategy': 'cooperative-sticky',
            'session.timeout.ms': options.sessionTimeoutMs ?? 10_000,
            'heartbeat.interval.ms': options.heartbeatIntervalMs ?? 1_000,
          }
        : { 'group.protocol': 'consumer' }),
    });
    const { KafkaConsumer } = rdkafka();
    // auto.offset.reset is a topic property: librdkafka ignores it in the global config.
    this.consumer = new KafkaConsumer(config as never, {
      'auto.offset.reset': options.fromBeginning ? 'earliest' : 'latest',
    });
    this.consumer.setDefaultConsumeTimeout(options.pollTimeoutMs ?? 50);
    (
      this.consumer as unknown as { setDefaultIsTimeoutOnlyForFirstMessage(v: boolean): void }
    ).setDefaultIsTimeoutOnlyForFirstMessage(true);
    this.consumer.on('partition.eof', (e: { topic: string; partition: number; offset: number }) => {
      const key = `${e.topic}:${e.partition}`;
      if (e.offset > (this.ends.get(key) ?? -1)) this.ends.set(key, e.offset);
    });
    this.consumer.on('event.log', (e: { severity?: number; fac?: string; message?: string }) =>
      routeLibrdkafkaLog(this.logger, e),
    );
    this.consumer.on('event.error', (err: unknown) => {
      if (this.stopping || this.failed) return;
      if (isConsumerFatal(err)) this.clientFailed(err);
      else if (classifyKafkaError(err) !== 'retriable') this.handlers.onError(err, false);
      else this.logger.debug({ err: String((err as Error).message) }, 'consumer: retriable client error');
    });
  }

  private clientFailed(err: unknown): void {
    if (this.failed || this.stopping) return;
    this.failed = true;
    this.handlers.onClientFailed(err);
  }

  /** The client, for the producer's `sendOffsetsToTransaction` (group metadata). kafka/ only. */
  get lowLevel(): LowLevelConsumer {
    return this.consumer;
  }

  private onRebalance(err: { code: number }, assignment: TopicPartition[]): void {
    const assigning = err.code === ERR_ASSIGN_PARTITIONS;
    const consumer = this.consumer as unknown as LowLevelConsumer & IncrementalConsumer;
    const lost = !assigning && consumer.assignmentLost();
    const plain = assignment.map((p) => ({ topic: p.topic, partition: p.partition }));
    if (!assigning) this.partitionEnds.forget(plain);
    const job = assigning ? this.handlers.onAssigned(plain) : this.handlers.onRevoked(plain, lost);
    const apply = (list: readonly TopicPartition[]): void => {
      const eager = consumer.rebalanceProtocol() === 'EAGER';
      try {
        if (assigning) {
          if (eager) this.consumer.assign([...list]);
          else consumer.incrementalAssign([...list]);
        } else if (eager) this.consumer.unassign();
        else consumer.incrementalUnassign([...list]);
      } catch (e) {
        // Closing: librdkafka may already have dropped the assignment.
        if (!this.stopping) this.handlers.onError(e, false);
      }
    };
    job.then(apply, (e: unknown) => {
      this.handlers.onError(e, true);
      apply(plain);
    });
  }

  /** Connects, subscribes and starts polling. */
  async start(): Promise<void> {
    await callback((done) => this.consumer.connect({ timeout: 30_000 }, (e) => done(e)));
    this.consumer.subscribe([...this.options.topics]);
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const max = this.options.maxRecordsPerPoll ?? 2_000;
    let failures = 0;
    let busy = false;
    while (!this.stopping && !this.failed) {
      let messages: LowLevelMessage[];
      try {
        messages = await callback<LowLevelMessage[]>((done) => this.consumer.consume(max, done));
        failures = 0;
      } catch (err) {
        if (this.stopping || this.failed) break;
        if (isConsumerFatal(err)) {
          this.clientFailed(err);
          break;
        }
        this.handlers.onError(err, false);
        await new Promise((r) => setTimeout(r, Math.min(1_000, 50 * 2 ** failures++)));
        continue;
      }
      const ends = this.ends;
      this.ends = new Map();
      const empty = messages.length === 0 && ends.size === 0;
      // After an empty poll the handler hears once that nothing more came (then not again until records came).
      if (empty && !busy) continue;
      busy = !empty;
      const batches = empty ? [] : toBatches(messages, ends, (t, p) => this.highWatermark(t, p));
      this.partitionEnds.observe(batches, ends);
      try {
        await this.handlers.onBatches(batches, messages.length < max && this.partitionEnds.caughtUp);
      } catch (err) {
        this.handlers.onError(err, true);
      }
    }
  }

  private highWatermark(topic: string, partition: number): number | undefined {
    try {
      const hw = this.consumer.getWatermarkOffsets(topic, partition).highOffset;
      return typeof hw === 'number' && hw >= 0 ? hw : undefined;
    } catch {
      return undefined;
    }
  }

  pause(partitions: readonly TopicPartition[]): void {
    if (partitions.length > 0) this.consumer.pause(partitions.map((p) => ({ ...p })));
  }

  resume(partitions: readonly TopicPartition[]): void {
    if (partitions.length > 0) this.consumer.resume(partitions.map((p) => ({ ...p })));
  }

  /** Moves the fetch position of an assigned partition (messages already fetched past it are dropped). */
  private async seekTo(topic: string, partition: number, offset: number): Promise<void> {
    await callback((done) => this.consumer.seek({ topic, partition, offset }, 1_000, (e) => done(e)));
  }

  /**
   * Starts fetching a paused partition at `offset`, or where the reset policy says when it has none (the start
   * or the end of the partition, as for a partition without a committed offset). Seeks, resumes and seeks again:
   * the first seek makes sure nothing is fetched from an older position once resumed; the second wakes the
   * fetcher, which librdkafka otherwise starts on a resumed partition only in its next round (measured: the first
   * records ~1 s after the resume, ~0.1 s with the second seek). Records delivered twice meanwhile are below the
   * task's position and skipped (stream-task.ts). A failed seek is left to the next poll's position.
   */
  async startAt(topic: string, partition: number, offset: string | undefined): Promise<void> {
    // librdkafka's logical offsets: -2 the start of the partition, -1 its end.
    const at = offset !== undefined ? Number(offset) : this.options.fromBeginning ? -2 : -1;
    await this.seekTo(topic, partition, at).catch(() => {});
    this.resume([{ topic, partition }]);
    await this.seekTo(topic, partition, at).catch(() => {});
  }

  /**
   * Committed offsets of the group (read_committed: the broker answers only once no transaction with offsets for
   * them is pending). `-1` where nothing was committed.
   */
  async committed(partitions: readonly TopicPartition[], timeoutMs = 30_000): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (partitions.length === 0) return out;
    // In short native calls (a worker thread blocked in one delays the exit of a process that stops).
    const deadline = Date.now() + timeoutMs;
    let rows: { topic: string; partition: number; offset?: number }[];
    for (;;) {
      try {
        rows = await callback<{ topic: string; partition: number; offset?: number }[]>((done) =>
          this.consumer.committed(
            partitions.map((p) => ({ ...p })),
            Math.max(100, Math.min(1_000, deadline - Date.now())),
            done as never,
          ),
        );
        break;
      } catch (err) {
        const e = err as { code?: number; isRetriable?: boolean };
        if (!(e.code === -185 || e.isRetriable) || this.stopping) throw err;
        if (Date.now() >= deadline) throw offsetsNotStable(partitions, timeoutMs, err);
      }
    }
    for (const r of rows) {
      const o = r.offset;
      out.set(`${r.topic}:${r.partition}`, o !== undefined && o >= 0 ? String(o) : '-1');
    }
    return out;
  }

  /** Commits offsets outside a transaction (at_least_once). */
  async commitOffsets(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    this.consumer.commitSync(
      offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: Number(o.offset) })),
    );
  }

  /** Stops polling, waits for the batch in flight, closes the member (static members keep their assignment). */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.loop?.catch(() => {});
    try {
      await callback((done) => this.consumer.disconnect((e: unknown) => done(e)));
    } catch (err) {
      this.logger.warn(
        { err: String((err as Error).message) },
        'consumer close failed; the coordinator will expire the member',
      );
    }
  }
}

/**
 * The group's committed offsets did not come within `timeoutMs`: the coordinator is unavailable, or a transaction
 * with offsets for these partitions is still open. Retriable, with the cause; the message names what to check, since
 * a hanging transaction (markers lost in a broker outage) keeps the offsets unstable until it is aborted.
 */
function offsetsNotStable(
  partitions: readonly TopicPartition[],
  timeoutMs: number,
  cause: unknown,
): UscError {
  const names = partitions.slice(0, 5).map((p) => `${p.topic}-${p.partition}`);
  const more = partitions.length > names.length ? ` and ${partitions.length - names.length} more` : '';
  return new UscError(
    'USC_ERR_KAFKA_OFFSETS_NOT_STABLE',
    `the group's committed offsets of ${names.join(', ')}${more} were not available within ${timeoutMs} ms: ` +
      'the group coordinator is unavailable, or a transaction with offsets for them is still open ' +
      '(one that stays open for minutes is a hanging transaction: docs/operations.md)',
    { retriable: true, cause, details: { partitions: partitions.length } },
  );
}
