/**
 * Plain (idempotent, acks=all) publishing for tools: backfill, DLQ replay, the demo generator, tests. Streams tasks
 * do not use this: they produce through their TaskProducer.
 */
import type { KafkaClient } from './client.js';

export interface PublishMessage {
  readonly key: string | Buffer | null;
  readonly value: string | Buffer | null;
  readonly partition?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timestamp?: number;
}

/** A connected idempotent producer for repeated publishing; `close()` it when done. */
export class Publisher {
  private constructor(private readonly producer: ReturnType<KafkaClient['producer']>) {}

  static async open(kafka: KafkaClient): Promise<Publisher> {
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    return new Publisher(producer);
  }

  /** Sends `messages` to `topic` in chunks of `chunk`, each acknowledged by all in-sync replicas. */
  async publish(topic: string, messages: readonly PublishMessage[], chunk = 1_000): Promise<void> {
    for (let i = 0; i < messages.length; i += chunk) {
      await this.producer.send({
        topic,
        acks: -1,
        messages: messages.slice(i, i + chunk).map((m) => ({
          key: m.key,
          value: m.value,
          partition: m.partition,
          headers: m.headers ? { ...m.headers } : undefined,
          timestamp: m.timestamp === undefined ? undefined : String(m.timestamp),
        })),
      });
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
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
