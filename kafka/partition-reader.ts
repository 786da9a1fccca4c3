/**
 * Reads chosen partitions from chosen offsets with a manually assigned consumer (`assign()`: no consumer group is
 * joined and nothing is committed). Used for changelog restore and standby replicas. Reads `read_committed`, so
 * records of aborted transactions are never restored; a batch's `nextOffset` moves past transaction markers when
 * the reader reaches a partition's end.
 */
import type { Logger } from '../common/logger.js';
import { routeLibrdkafkaLog, type KafkaClient } from './client.js';
import { toBatches, type ConsumedBatch } from './group-consumer.js';
import { callback, rdkafka, type LowLevelConsumer, type LowLevelMessage } from './native.js';

export interface PartitionStart {
  readonly topic: string;
  readonly partition: number;
  /** First offset to read. */
  readonly offset: string;
}

export interface PartitionReaderOptions {
  /** Names the reader in logs and broker metrics (`client.id` suffix); no group is joined. */
  readonly groupPrefix: string;
  readonly partitions: readonly PartitionStart[];
  /** One batch per partition and poll, in offset order; the next poll waits for the promise. */
  readonly onBatch: (batch: ConsumedBatch) => Promise<void>;
  readonly onError: (error: Error) => void;
  /** Fetch size per partition (default 4 MiB: large batches for restore). */
  readonly maxBytesPerPartition?: number;
}

/** A running reader; `stop()` closes it. */
export class PartitionReader {
  private stopping = false;
  private loop: Promise<void> | undefined;
  private ends = new Map<string, number>();

  private constructor(
    private readonly consumer: LowLevelConsumer,
    private readonly options: PartitionReaderOptions,
  ) {}

  /** Starts reading; resolves once the partitions are assigned (batches arrive via onBatch). */
  static async start(
    kafka: KafkaClient,
    options: PartitionReaderOptions,
    logger: Logger,
  ): Promise<PartitionReader> {
    const { KafkaConsumer } = rdkafka();
    const consumer = new KafkaConsumer(
      kafka.config({
        'client.id': `${kafka.connection.clientId}-${options.groupPrefix}`,
        // librdkafka wants a group id, but a consumer that only assigns never joins or commits.
        'group.id': options.groupPrefix,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'isolation.level': 'read_committed',
        'enable.partition.eof': true,
        'max.partition.fetch.bytes': options.maxBytesPerPartition ?? 4 * 1_048_576,
        'fetch.max.bytes': 64 * 1_048_576,
        'fetch.wait.max.ms': 50,
        event_cb: true,
      }) as never,
      // A topic property (ignored in the global config): where an offset outside the log starts.
      { 'auto.offset.reset': 'earliest' },
    );
    const reader = new PartitionReader(consumer, options);
    consumer.setDefaultConsumeTimeout(50);
    (
      consumer as unknown as { setDefaultIsTimeoutOnlyForFirstMessage(v: boolean): void }
    ).setDefaultIsTimeoutOnlyForFirstMessage(true);
    consumer.on('partition.eof', (e: { topic: string; partition: number; offset: number }) => {
      const key = `${e.topic}:${e.partition}`;
      if (e.offset > (reader.ends.get(key) ?? -1)) reader.ends.set(key, e.offset);
    });
    consumer.on('event.log', (e: { severity?: number; fac?: string; message?: string }) =>
      routeLibrdkafkaLog(logger, e),
    );
    if (options.partitions.length === 0) return reader;
    await callback((done) => consumer.connect({ timeout: 30_000 }, (e) => done(e)));
    consumer.assign(
      options.partitions.map((p) => ({ topic: p.topic, partition: p.partition, offset: Number(p.offset) })),
    );
    reader.loop = reader.run();
    return reader;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      let messages: LowLevelMessage[];
      try {
        messages = await callback<LowLevelMessage[]>((done) => this.consumer.consume(5_000, done));
        failures = 0;
      } catch (err) {
        if (this.stopping) break;
        if ((err as { isFatal?: boolean }).isFatal) {
          this.options.onError(err as Error);
          break;
        }
        await new Promise((r) => setTimeout(r, Math.min(1_000, 50 * 2 ** failures++)));
        continue;
      }
      const ends = this.ends;
      this.ends = new Map();
      if (messages.length === 0 && ends.size === 0) continue;
      const batches = toBatches(messages, ends, (t, p) => {
        try {
          const hw = this.consumer.getWatermarkOffsets(t, p).highOffset;
          return typeof hw === 'number' && hw >= 0 ? hw : undefined;
        } catch {
          return undefined;
        }
      });
      try {
        for (const batch of batches) {
          if (this.stopping) break;
          await this.options.onBatch(batch);
        }
      } catch (err) {
        this.options.onError(err as Error);
        break;
      }
    }
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.loop?.catch(() => {});
    if (this.consumer.isConnected()) {
      await callback((done) => this.consumer.disconnect((e: unknown) => done(e))).catch(() => {});
    }
  }
}

/**
 * Low and high offsets of the given partitions as a read_committed consumer sees them (high = last stable offset),
 * by topic then partition. Asked through a consumer handle (ListOffsets of the consumer), not the admin client:
 * the admin's ListOffsets aborted the process on librdkafka 2.15 after a broker restart (an assertion in its
 * request bookkeeping), while restores and standbys must ask exactly then.
 */
export async function partitionOffsets(
  kafka: KafkaClient,
  partitions: readonly { readonly topic: string; readonly partition: number }[],
  timeoutMs = kafka.operationTimeoutMs,
): Promise<Map<string, Map<number, { low: string; high: string }>>> {
  const out = new Map<string, Map<number, { low: string; high: string }>>();
  if (partitions.length === 0) return out;
  const { KafkaConsumer } = rdkafka();
  const consumer = new KafkaConsumer(
    kafka.config({
      'client.id': `${kafka.connection.clientId}-offsets`,
      'group.id': `${kafka.connection.clientId}-offsets`,
      'enable.auto.commit': false,
      'isolation.level': 'read_committed',
    }) as never,
    {},
  );
  await callback((done) => consumer.connect({ timeout: timeoutMs }, (e) => done(e)));
  try {
    // A few queries at a time: each holds a libuv worker thread for its round trip (four threads by default,
    // shared with LevelDB), and a restart asks for dozens of changelog partitions at once.
    const queue = [...partitions];
    const worker = async (): Promise<void> => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const { topic, partition } = next;
        const w = await callback<{ lowOffset: number; highOffset: number }>((done) =>
          consumer.queryWatermarkOffsets(topic, partition, timeoutMs, done as never),
        );
        let byPartition = out.get(topic);
        if (!byPartition) out.set(topic, (byPartition = new Map()));
        byPartition.set(partition, { low: String(w.lowOffset), high: String(w.highOffset) });
      }
    };
    await Promise.all(Array.from({ length: Math.min(3, queue.length) }, worker));
  } finally {
    await callback((done) => consumer.disconnect((e: unknown) => done(e))).catch(() => {});
  }
  return out;
}
