/**
 * Test helpers on the real broker (through the kafka/ port): unique names, topic setup, producing, and a
 * read_committed collector that gathers a topic's records and awaits conditions on them.
 */
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

/** Collects every committed record of the given topics from the beginning, until stopped. */
export class TopicCollector {
  readonly records: CollectedRecord[] = [];
  private readonly waiters = new Set<() => void>();
  private consumer: ReturnType<KafkaClient['consumer']> | undefined;

  constructor(
    private readonly kafka: KafkaClient,
    private readonly topics: string[],
  ) {}

  async start(): Promise<this> {
    this.consumer = this.kafka.consumer({
      groupId: uniqueName('collector'),
      readUncommitted: false,
      maxWaitTimeInMs: 100,
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.topics, fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {}))
          if (v !== undefined) headers[k] = String(v);
        this.records.push({
          topic,
          partition,
          offset: message.offset,
          key: message.key?.toString('utf8') ?? null,
          value: message.value?.toString('utf8') ?? null,
          headers,
        });
        for (const w of [...this.waiters]) w();
      },
    });
    return this;
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
    await this.consumer?.disconnect();
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
