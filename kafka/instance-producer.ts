/**
 * The producer of one streams instance (exactly-once v2, KIP-447). Under exactly_once it is transactional with
 * `transactionalId = <applicationId>-<instanceId>`: `initTransactions` fences an earlier incarnation of the same
 * instance (its open transaction is aborted). Zombie tasks of *other* instances are fenced by the group: the
 * offsets of a transaction are sent with the consumer's group metadata (generation / member epoch), and the
 * coordinator refuses them from a member that no longer owns the group generation. One call to
 * {@link InstanceProducer.commit} writes the outputs and changelog records of all tasks and their input offsets in
 * one transaction and reports, per topic-partition, the offset after the last record written there (the changelog
 * checkpoints).
 */
import { UscError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { OutgoingRecord } from '../topology/task-engine.js';
import { routeLibrdkafkaLog, type KafkaClient } from './client.js';
import { classifyKafkaError } from './errors.js';
import type { GroupConsumer } from './group-consumer.js';
import { callback, rdkafka, type LowLevelProducer } from './native.js';

export interface InputOffset {
  readonly topic: string;
  readonly partition: number;
  /** Next offset to consume. */
  readonly offset: string;
}

/** Key `topic:partition` -> offset after the last record this commit wrote there. */
export type WrittenOffsets = Map<string, string>;

export function topicPartitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

const ERR_QUEUE_FULL = -184;
/**
 * Longest a single native call may block a libuv worker thread. A process that exits (a shutdown past its bound)
 * waits for those threads, so long operations are made of short calls, retried until their own deadline.
 */
const SLICE_MS = 1_000;

/** Runs a native call in slices of {@link SLICE_MS} until it succeeds, fails for good, or `deadline` passes. */
async function inSlices(call: (timeoutMs: number) => Promise<void>, deadline: number): Promise<void> {
  for (;;) {
    try {
      await call(Math.max(100, Math.min(SLICE_MS, deadline - Date.now())));
      return;
    } catch (err) {
      const e = err as { isRetriable?: boolean; code?: number };
      const timedOut = e.code === -185; // ERR__TIMED_OUT
      if (!(timedOut || e.isRetriable) || Date.now() >= deadline) throw err;
    }
  }
}

/** A failure of the producer itself (not of one transaction): it must be replaced before the next commit. */
export function isProducerFatal(err: unknown): boolean {
  return (err as { isFatal?: boolean } | undefined)?.isFatal === true;
}

/** Collects the delivery reports of one commit's records. */
class Deliveries {
  private pending = 0;
  private failure: unknown;
  readonly written: WrittenOffsets = new Map();
  private waiter: (() => void) | undefined;

  sent(): void {
    this.pending++;
  }

  delivered(err: unknown, topic: string, partition: number, offset: number | undefined): void {
    this.pending--;
    if (err) this.failure ??= err;
    else if (offset !== undefined && offset >= 0) {
      const key = topicPartitionKey(topic, partition);
      const next = offset + 1;
      if (Number(this.written.get(key) ?? -1) < next) this.written.set(key, String(next));
    }
    if (this.pending === 0) this.waiter?.();
  }

  /** Resolves when every record was acknowledged; rejects with the first delivery failure. */
  async settled(flush: () => Promise<void>): Promise<WrittenOffsets> {
    if (this.pending > 0) {
      const all = new Promise<void>((resolve) => (this.waiter = resolve));
      await flush();
      await all;
    }
    if (this.failure) throw this.failure;
    return this.written;
  }
}

export class InstanceProducer {
  /**
   * Records sent ahead of the next commit ({@link InstanceProducer.send}): under exactly_once the transaction they
   * opened (and when), otherwise their delivery reports, settled by the commit.
   */
  private ahead: { readonly deliveries: Deliveries; readonly began: number } | undefined;

  private constructor(
    private readonly producer: LowLevelProducer,
    readonly transactional: boolean,
    private readonly flushTimeoutMs: number,
    private readonly transactionTimeoutMs = 10_000,
  ) {}

  private static async connect(kafka: KafkaClient, extra: Record<string, unknown>, logger: Logger) {
    const { Producer } = rdkafka();
    const producer = new Producer(
      kafka.config({
        'enable.idempotence': true,
        acks: 'all',
        dr_cb: true,
        'linger.ms': 2,
        // A transaction that begins right after the previous one ended can find the coordinator still writing that
        // one's markers (CONCURRENT_TRANSACTIONS) and retries after this backoff (exponential up to
        // retry.backoff.max.ms). librdkafka's default of 100 ms made such a commit last >= 100 ms; the Java producer
        // retries this case after 20 ms. `npm run bench -- --only transactions`: back-to-back commits of 200
        // records and offsets, p90 117-127 ms at 100, 33-74 ms at 5.
        'retry.backoff.ms': 5,
        // The broker decides what is too large (its message.max.bytes); librdkafka's own default (1,000,000
        // bytes) is lower than the broker's (1 MiB + 12), and would refuse records the broker accepts.
        'message.max.bytes': 16 * 1_048_576,
        'queue.buffering.max.messages': 1_000_000,
        'queue.buffering.max.kbytes': 1_048_576,
        event_cb: true,
        ...(extra as Record<string, string | number | boolean>),
      }) as never,
      {},
    );
    producer.on('event.log', (e: { severity?: number; fac?: string; message?: string }) =>
      routeLibrdkafkaLog(logger, e),
    );
    producer.on('event.error', (err: unknown) =>
      logger.debug({ err: String((err as Error).message) }, 'producer: client error'),
    );
    producer.on(
      'delivery-report',
      (err: unknown, report: { topic: string; partition: number; offset?: number; opaque?: unknown }) => {
        const d = report.opaque;
        if (d instanceof Deliveries) d.delivered(err, report.topic, report.partition, report.offset);
      },
    );
    await callback((done) => producer.connect({ timeout: 30_000 }, (e) => done(e)));
    producer.setPollInterval(5);
    return producer;
  }

  /**
   * Connects a transactional producer and fences earlier incarnations of `transactionalId` before returning.
   * Throws what the client throws (retriable: coordinator loading, concurrent transactions beyond its timeout).
   */
  static async transactional(
    kafka: KafkaClient,
    transactionalId: string,
    options: {
      readonly transactionTimeoutMs?: number;
      readonly logger?: Logger;
      /** Overrides the producer's retry backoff (the benchmark compares librdkafka's default with ours). */
      readonly retryBackoffMs?: number;
    } = {},
  ): Promise<InstanceProducer> {
    const logger = options.logger ?? kafka.logger;
    const producer = await InstanceProducer.connect(
      kafka,
      {
        'transactional.id': transactionalId,
        'transaction.timeout.ms': options.transactionTimeoutMs ?? 10_000,
        ...(options.retryBackoffMs === undefined ? {} : { 'retry.backoff.ms': options.retryBackoffMs }),
      },
      logger,
    );
    try {
      await callback((done) => producer.initTransactions(30_000, (e) => done(e)));
    } catch (err) {
      await callback((done) => producer.disconnect((e) => done(e))).catch(() => {});
      throw err;
    }
    return new InstanceProducer(producer, true, 30_000, options.transactionTimeoutMs ?? 10_000);
  }

  /** Connects an idempotent, non-transactional producer (at_least_once). */
  static async idempotent(
    kafka: KafkaClient,
    options: { readonly logger?: Logger } = {},
  ): Promise<InstanceProducer> {
    const producer = await InstanceProducer.connect(kafka, {}, options.logger ?? kafka.logger);
    return new InstanceProducer(producer, false, 30_000);
  }

  private async produceAll(records: readonly OutgoingRecord[], deliveries: Deliveries): Promise<void> {
    for (const r of records) {
      const headers = Object.entries(r.headers).map(([k, v]) => ({ [k]: Buffer.from(String(v)) }));
      for (;;) {
        try {
          this.producer.produce(
            r.topic,
            r.partition,
            r.value,
            r.key,
            r.timestamp,
            deliveries,
            headers.length > 0 ? headers : undefined,
          );
          deliveries.sent();
          break;
        } catch (err) {
          if ((err as { code?: number }).code !== ERR_QUEUE_FULL) throw err;
          // The local queue is full: let deliveries drain, then try again.
          await callback((done) => this.producer.flush(100, (e) => done(e))).catch(() => {});
        }
      }
    }
  }

  /**
   * Timeout of one transactional step: what is left of the commit, at most the transaction timeout (librdkafka
   * retries the step's requests until it; a native call in flight delays the exit of a stopping process).
   */
  private stepTimeout(deadline: number): number {
    return Math.max(1_000, Math.min(deadline - Date.now(), this.transactionTimeoutMs));
  }

  private flush(deadline = Date.now() + this.flushTimeoutMs): Promise<void> {
    return inSlices((ms) => callback((done) => this.producer.flush(ms, (e) => done(e))), deadline);
  }

  /** The records sent ahead of the commit, opening the transaction first (exactly_once). */
  private async open(): Promise<{ readonly deliveries: Deliveries; readonly began: number }> {
    if (this.ahead) return this.ahead;
    const began = performance.now();
    if (this.transactional) await callback((done) => this.producer.beginTransaction((e) => done(e)));
    this.ahead = { deliveries: new Deliveries(), began };
    return this.ahead;
  }

  /** True while records sent ahead wait for the next commit (under exactly_once: a transaction is open). */
  get hasSentAhead(): boolean {
    return this.ahead !== undefined;
  }

  /**
   * Sends records ahead of the next commit, as Kafka Streams' record collector does: the client delivers them while
   * the tasks process on, so the commit waits only for what is left. Under exactly_once they belong to the open
   * transaction (begun here if none is) and become visible with its commit, or never. A failure surfaces here or at
   * the commit; either way the caller treats it as a failed commit.
   */
  async send(records: readonly OutgoingRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.produceAll(records, (await this.open()).deliveries);
  }

  /**
   * Aborts the transaction of the records sent ahead, if any (exactly_once; best effort): their tasks go back to
   * their last commit. Without a transaction the records are out already, and their deliveries are dropped.
   */
  async abortSentAhead(): Promise<void> {
    const ahead = this.ahead;
    this.ahead = undefined;
    if (!ahead || !this.transactional) return;
    await callback((done) => this.producer.abortTransaction(this.transactionTimeoutMs, (e) => done(e))).catch(
      () => {},
    );
  }

  /**
   * Sends `records` and (transactional only) commits `offsets` for the group of `consumer`, atomically with the
   * records sent ahead since the last commit. On failure the transaction is aborted (best effort) and the error
   * rethrown; the caller classifies it: fenced = another process runs this instance id, rebalance = the group moved
   * on (tasks may be gone), retriable = retry later (USC_ERR_TASK_TRANSACTION_EXPIRED: the broker aborted a
   * transaction open past its timeout; renew the producer); {@link isProducerFatal}: replace the producer.
   */
  async commit(
    records: readonly OutgoingRecord[],
    offsets: readonly InputOffset[],
    consumer: GroupConsumer | undefined,
  ): Promise<WrittenOffsets> {
    if (!this.transactional) {
      const { deliveries } = await this.open();
      this.ahead = undefined;
      await this.produceAll(records, deliveries);
      return deliveries.settled(() => this.flush());
    }
    const p = this.producer;
    const deadline = Date.now() + this.flushTimeoutMs;
    const { deliveries, began } = await this.open();
    this.ahead = undefined;
    try {
      await this.produceAll(records, deliveries);
      // The offsets go to the group coordinator while the records are still being delivered: both wait on the
      // broker, neither on the other (sequential, they made up most of a commit's time under load).
      const [offsetsSent, delivered] = await Promise.allSettled([
        this.sendOffsets(offsets, consumer, deadline),
        deliveries.settled(() => this.flush(deadline)),
      ]);
      if (offsetsSent.status === 'rejected') throw offsetsSent.reason;
      // A failed delivery fails the commit too, with the cause (fenced, fatal, timed out) rather than the
      // delivery's symptom ("purged in queue"): commit and report its error first.
      const ms = this.stepTimeout(deadline);
      await callback((done) => p.commitTransaction(ms, (e) => done(e)));
      if (delivered.status === 'rejected') throw delivered.reason;
      return delivered.value;
    } catch (err) {
      if (!isProducerFatal(err)) {
        await callback((done) => p.abortTransaction(this.transactionTimeoutMs, (e) => done(e))).catch(
          () => {},
        );
      }
      throw this.expired(err, performance.now() - began);
    }
  }

  /**
   * A fence of a transaction that was open for at least the transaction timeout is the broker aborting it for its
   * age (it bumps the producer's epoch; a broker outage, a paused or starved process): the coordinator counts from
   * the transaction's first partition, after `began`, so a younger transaction cannot have expired. That one is
   * reported as USC_ERR_TASK_TRANSACTION_EXPIRED (retriable: renew the producer, redo the work), like Kafka
   * Streams' task migrated; any other fence is another process with our transactional id and stays a fence.
   */
  private expired(err: unknown, openMs: number): unknown {
    if (openMs < this.transactionTimeoutMs || classifyKafkaError(err) !== 'fenced') return err;
    return new UscError(
      'USC_ERR_TASK_TRANSACTION_EXPIRED',
      `the transaction was open ${Math.round(openMs)} ms, past transaction.timeout.ms (${this.transactionTimeoutMs}); ` +
        'the broker aborted it and fenced this producer',
      { retriable: true, cause: err, details: { openMs: Math.round(openMs) } },
    );
  }

  /** The transaction's input offsets, with the group metadata of `consumer` (KIP-447). */
  private async sendOffsets(
    offsets: readonly InputOffset[],
    consumer: GroupConsumer | undefined,
    deadline: number,
  ): Promise<void> {
    if (offsets.length === 0) return;
    // The binding crashes the process on a closed consumer's group metadata: refuse instead.
    if (!consumer?.lowLevel.isConnected()) {
      throw new UscError('USC_ERR_STREAMS_NOT_RUNNING', 'offsets of a transaction need a connected consumer');
    }
    const list = offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: Number(o.offset) }));
    // One call per transaction step, never retried after a timeout (librdkafka's bookkeeping of resumed
    // transactional calls asserted after a broker restart); the step's own timeout bounds it.
    const ms = this.stepTimeout(deadline);
    await callback((done) =>
      this.producer.sendOffsetsToTransaction(list, consumer.lowLevel, ms, (e) => done(e)),
    );
  }

  async disconnect(): Promise<void> {
    await this.abortSentAhead();
    await callback((done) => this.producer.disconnect(10_000, (e) => done(e))).catch(() => {});
  }
}
