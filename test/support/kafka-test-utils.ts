/**
 * Test helpers on the real broker (through the kafka/ port): unique names, topic setup, producing, and a
 * read_committed collector that gathers a topic's records and awaits conditions on them.
 */
import type { ConsumerGlobalConfig } from '@confluentinc/kafka-javascript';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import {
  createKafka,
  ensureTopics,
  openAdmin,
  publishRecords,
  readRangesToEnd,
  wholeTopicRanges,
  type KafkaClient,
  type TopicSpec,
} from '../../kafka/index.js';
import { silentLogger } from '../../common/logger.js';
import { callback, rdkafka, type LowLevelConsumer, type LowLevelMessage } from '../../kafka/native.js';

export function brokers(): string[] {
  const list = process.env.KAFKA_BROKERS ?? inject('kafkaBrokers');
  if (!list)
    throw new Error('KAFKA_BROKERS is not set: the integration globalSetup should have started a broker');
  return list.split(',');
}

export function testKafka(clientId = 'test', list: readonly string[] = brokers()): KafkaClient {
  return createKafka({ brokers: list, clientId }, silentLogger);
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export async function createTopics(kafka: KafkaClient, specs: TopicSpec[]): Promise<void> {
  const admin = await openAdmin(kafka);
  try {
    await ensureTopics(admin, specs);
  } finally {
    await admin.disconnect();
  }
}

export interface TestMessage {
  key: string | null;
  value: string | Buffer | null;
  partition?: number;
  headers?: Record<string, string>;
}

export async function produce(kafka: KafkaClient, topic: string, messages: TestMessage[]): Promise<void> {
  await publishRecords(kafka, topic, messages);
}

export interface CollectedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

/**
 * Collects every committed record of the given topics from the beginning, until stopped: a consumer-group member
 * (librdkafka's `KafkaConsumer`, read_committed, a group of its own) polling in a loop.
 */
export class TopicCollector {
  readonly records: CollectedRecord[] = [];
  private readonly waiters = new Set<() => void>();
  private consumer: LowLevelConsumer | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly kafka: KafkaClient,
    private readonly topics: string[],
  ) {}

  async start(): Promise<this> {
    const consumer = new (rdkafka().KafkaConsumer)(
      this.kafka.config({
        'group.id': uniqueName('collector'),
        'enable.auto.commit': false,
        'isolation.level': 'read_committed',
        'fetch.wait.max.ms': 100,
      }) as ConsumerGlobalConfig,
      { 'auto.offset.reset': 'earliest' },
    );
    await callback<unknown>((done) =>
      consumer.connect({ allTopics: false, timeout: this.kafka.operationTimeoutMs }, done),
    );
    this.consumer = consumer;
    consumer.setDefaultConsumeTimeout(100);
    consumer.subscribe(this.topics);
    this.polling = this.poll(consumer);
    return this;
  }

  /** Polls until stopped; a failed poll (a broker restarting) is polled again. */
  private async poll(consumer: LowLevelConsumer): Promise<void> {
    while (!this.stopped) {
      const messages = await callback<LowLevelMessage[]>((done) => consumer.consume(500, done)).catch(
        () => [] as LowLevelMessage[],
      );
      for (const message of messages) this.add(message);
      if (messages.length > 0) for (const w of [...this.waiters]) w();
    }
  }

  private add(message: LowLevelMessage): void {
    const headers: Record<string, string> = {};
    for (const header of message.headers ?? []) {
      for (const [k, v] of Object.entries(header)) headers[k] = String(v);
    }
    const text = (b: Buffer | string | null | undefined) =>
      b === null || b === undefined ? null : Buffer.isBuffer(b) ? b.toString('utf8') : b;
    this.records.push({
      topic: message.topic,
      partition: message.partition,
      offset: String(message.offset),
      key: text(message.key),
      value: text(message.value),
      headers,
    });
  }

  /** Latest value per key (a compacted view of the topic). */
  latest(topic?: string): Map<string, string | null> {
    const out = new Map<string, string | null>();
    for (const r of this.records)
      if (r.key !== null && (!topic || r.topic === topic)) out.set(r.key, r.value);
    return out;
  }

  /** Resolves when `predicate(records)` holds (checked on every new record); rejects after `timeoutMs`. */
  waitUntil(
    predicate: (records: CollectedRecord[]) => boolean,
    timeoutMs = 120_000,
    what = 'condition',
  ): Promise<void> {
    if (predicate(this.records)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what} (${this.records.length} records collected)`));
      }, timeoutMs);
      const check = (): void => {
        if (predicate(this.records)) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve();
        }
      };
      this.waiters.add(check);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.polling;
    const consumer = this.consumer;
    this.consumer = undefined;
    if (consumer) await callback<unknown>((done) => consumer.disconnect(done));
  }
}

/** Every committed record of `topic` up to its current end, read afresh (read_committed, past trailing markers). */
export async function readTopicToEnd(kafka: KafkaClient, topic: string): Promise<CollectedRecord[]> {
  const out: CollectedRecord[] = [];
  await readRangesToEnd(
    kafka,
    await wholeTopicRanges(kafka, topic),
    async (range, batch) => {
      for (const r of batch.records) {
        out.push({
          topic,
          partition: range.partition,
          offset: r.offset,
          key: r.key?.toString('utf8') ?? null,
          value: r.value?.toString('utf8') ?? null,
          headers: { ...r.headers },
        });
      }
    },
    { groupPrefix: uniqueName('read-to-end'), logger: silentLogger },
  );
  return out;
}

/** The values of every committed record of `topic` (read_committed, to its stable end), in read order. */
export async function committedValues(kafka: KafkaClient, topic: string): Promise<(string | null)[]> {
  return (await readTopicToEnd(kafka, topic)).map((r) => r.value);
}
