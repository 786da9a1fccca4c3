/**
 * Plain (idempotent, acks=all) publishing for tools: backfill, DLQ replay, the demo generator, tests. Streams tasks
 * do not use this: they produce through the instance's transactional producer.
 *
 * On librdkafka's producer (loaded through ./native.ts): every message carries its own delivery promise as the
 * `opaque` of its delivery report, so `publish` resolves once the broker acknowledged each message.
 */
import type { DeliveryReport, LibrdKafkaError, ProducerGlobalConfig } from '@confluentinc/kafka-javascript';
import { routeLibrdkafkaLog, type KafkaClient } from './client.js';
import { ConnectionProblems, connectOrExplain } from './connection-problems.js';
import { KAFKA_ERROR_CODES } from './errors.js';
import { callback, rdkafka, type LowLevelProducer } from './native.js';

export interface PublishMessage {
  readonly key: string | Buffer | null;
  readonly value: string | Buffer | null;
  readonly partition?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timestamp?: number;
}

/** The `opaque` of one produced message: settles its delivery promise. */
interface Delivery {
  resolve(): void;
  reject(err: unknown): void;
}

const toBuffer = (v: string | Buffer | null): Buffer | null =>
  v === null ? null : typeof v === 'string' ? Buffer.from(v, 'utf8') : v;

/** A connected idempotent producer for repeated publishing; `close()` it when done. */
export class Publisher {
  private closed = false;

  private constructor(
    private readonly producer: LowLevelProducer,
    private readonly kafka: KafkaClient,
  ) {}

  /**
   * Connects an idempotent producer (acks=all, Kafka's murmur2 key partitioner like the Java client, no topic
   * auto-creation). Rejects when no broker answers within the operation timeout, or the broker refuses our
   * credentials.
   */
  static async open(kafka: KafkaClient): Promise<Publisher> {
    const problems = new ConnectionProblems();
    const producer: LowLevelProducer = new (rdkafka().Producer)(
      kafka.config({
        'enable.idempotence': true,
        acks: 'all',
        'max.in.flight.requests.per.connection': 5,
        partitioner: 'murmur2_random',
        'allow.auto.create.topics': false,
        'linger.ms': 5,
        // The broker decides what is too large (its message.max.bytes); librdkafka's own default (1,000,000
        // bytes) is lower than the broker's (1 MiB + 12), and would refuse records the broker accepts.
        'message.max.bytes': 16 * 1_048_576,
        dr_cb: true,
      }) as ProducerGlobalConfig,
    );
    producer.on('event.log', (event: { severity?: number; fac?: string; message?: string }) => {
      problems.noteLog(event);
      routeLibrdkafkaLog(kafka.logger, event);
    });
    // Connection failures surface as failed deliveries or a failed connect; fatal producer errors are logged.
    producer.on('event.error', (err: LibrdKafkaError) => {
      problems.noteError(err);
      if (err.isFatal) kafka.logger.error({ err: err.message, code: err.code }, 'producer failed fatally');
    });
    producer.on('delivery-report', (err: LibrdKafkaError | null, report: DeliveryReport) => {
      const delivery = report.opaque as Delivery | undefined;
      if (err) delivery?.reject(err);
      else delivery?.resolve();
    });
    await connectOrExplain(
      problems,
      callback<unknown>((done) =>
        producer.connect({ allTopics: false, timeout: kafka.operationTimeoutMs }, done),
      ),
      () => callback<unknown>((done) => producer.disconnect(done)),
    );
    producer.setPollInBackground(true);
    return new Publisher(producer, kafka);
  }

  /** Sends `messages` to `topic` in chunks of `chunk`, each acknowledged by all in-sync replicas. */
  async publish(topic: string, messages: readonly PublishMessage[], chunk = 1_000): Promise<void> {
    for (let i = 0; i < messages.length; i += chunk) {
      const deliveries: Promise<void>[] = [];
      let oldest = 0; // the earliest delivery of this chunk not yet awaited for room in the local queue
      let notQueued: unknown;
      try {
        for (const m of messages.slice(i, i + chunk)) {
          for (;;) {
            try {
              const delivered = this.send(topic, m);
              delivered.catch(() => undefined); // handled below (allSettled), also while waiting for room
              deliveries.push(delivered);
              break;
            } catch (err) {
              // The local queue is full: wait for the oldest outstanding delivery, then queue the same message
              // again (in order: the next message waits for this one).
              const queueFull = (err as LibrdKafkaError).code === KAFKA_ERROR_CODES.ERR__QUEUE_FULL;
              if (!queueFull || oldest >= deliveries.length) throw err;
              await deliveries[oldest++]!.catch(() => undefined);
            }
          }
        }
      } catch (err) {
        notQueued = err;
      }
      // Every queued delivery settles (acknowledged, or failed after the client's own retries) before returning.
      const results = await Promise.allSettled(deliveries);
      if (notQueued !== undefined) throw notQueued;
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
  }

  /** Queues one message; throws synchronously when it cannot be queued (e.g. ERR__QUEUE_FULL). */
  private send(topic: string, m: PublishMessage): Promise<void> {
    let opaque!: Delivery;
    const delivered = new Promise<void>((resolve, reject) => {
      opaque = { resolve, reject };
    });
    this.producer.produce(
      topic,
      m.partition ?? null,
      toBuffer(m.value),
      toBuffer(m.key),
      m.timestamp ?? null,
      opaque,
      m.headers ? Object.entries(m.headers).map(([k, v]) => ({ [k]: v })) : undefined,
    );
    return delivered;
  }

  /** Waits for outstanding deliveries, then disconnects. */
  /** Flushes (at most `flushTimeoutMs`, default the operation timeout) and disconnects. */
  async close(flushTimeoutMs = this.kafka.operationTimeoutMs): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await callback((done) => this.producer.flush(flushTimeoutMs, done));
    } finally {
      await callback<unknown>((done) => this.producer.disconnect(done));
    }
  }
}

/** Opens a publisher, sends, closes. */
export async function publishRecords(
  kafka: KafkaClient,
  topic: string,
  messages: readonly PublishMessage[],
): Promise<void> {
  const publisher = await Publisher.open(kafka);
  try {
    await publisher.publish(topic, messages);
  } finally {
    await publisher.close();
  }
}
