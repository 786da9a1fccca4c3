/**
 * The producer of one active task. Under exactly_once it is transactional with `transactionalId =
 * <applicationId>-<taskId>`: connecting it runs InitProducerId, which fences any previous owner of the task (a
 * zombie's open transaction is aborted) and waits for its pending transaction to finish. One call to
 * {@link TaskProducer.commit} sends the task's outputs and changelog records and its input offsets in one
 * transaction and reports, per topic-partition, the offset after the last record written (the changelog
 * checkpoint).
 */
import type { Producer, Transaction } from 'kafkajs';
import type { OutgoingRecord } from '../topology/task-engine.js';
import type { KafkaClient } from './client.js';
import { classifyKafkaError } from './errors.js';

/** Attempts of a transaction whose sends (not its commit) failed with a retriable error. */
const MAX_SEND_ATTEMPTS = 5;
/**
 * Upper bound of one produce request's payload. kafkajs puts all of a request's records for a partition into one
 * record batch, and the broker rejects a batch over `message.max.bytes` (1 MiB by default) with
 * MESSAGE_TOO_LARGE, so a large commit (many records, big history values) is sent as several requests within
 * the same transaction.
 */
const MAX_REQUEST_BYTES = 512 * 1024;

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

export class TaskProducer {
  private constructor(
    private readonly producer: Producer,
    readonly transactional: boolean,
  ) {}

  /**
   * Connects a transactional producer and fences the previous owner of `transactionalId` before returning.
   * Throws what kafkajs throws (retriable: coordinator loading / concurrent transactions beyond retries).
   */
  static async transactional(kafka: KafkaClient, transactionalId: string): Promise<TaskProducer> {
    const producer = kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 60_000,
      allowAutoTopicCreation: false,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5_000 },
    });
    await producer.connect();
    // InitProducerId now (kafkajs would do it lazily): this is the fencing step. An abort with nothing sent
    // sends no EndTxn; it only returns the producer to READY.
    const fence = await producer.transaction();
    await fence.abort();
    return new TaskProducer(producer, true);
  }

  /** Connects an idempotent, non-transactional producer (at_least_once). */
  static async idempotent(kafka: KafkaClient): Promise<TaskProducer> {
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5_000 },
    });
    await producer.connect();
    return new TaskProducer(producer, false);
  }

  /**
   * Sends `records` and (transactional only) commits `offsets` for `groupId`, atomically. On failure of a
   * transactional commit the transaction is aborted (best effort) and the error rethrown; the caller classifies it
   * with {@link classifyKafkaError}: `fenced` = task migrated, `retriable` = abort + retry the commit later.
   */
  async commit(
    records: readonly OutgoingRecord[],
    groupId: string,
    offsets: readonly InputOffset[],
  ): Promise<WrittenOffsets> {
    const chunks = chunkBySize(records, MAX_REQUEST_BYTES);
    if (!this.transactional) {
      const written: WrittenOffsets = new Map();
      for (const chunk of chunks) {
        const meta = await this.producer.sendBatch({ topicMessages: groupByTopic(chunk), acks: -1 });
        mergeWritten(written, writtenOffsets(meta, chunk));
      }
      return written;
    }
    for (let attempt = 1; ; attempt++) {
      let tx: Transaction | undefined;
      let committing = false;
      try {
        tx = await this.producer.transaction();
        const written: WrittenOffsets = new Map();
        for (const chunk of chunks) {
          const meta = await tx.sendBatch({ topicMessages: groupByTopic(chunk), acks: -1 });
          mergeWritten(written, writtenOffsets(meta, chunk));
        }
        if (offsets.length > 0) {
          await tx.sendOffsets({ consumerGroupId: groupId, topics: groupOffsets(offsets) });
        }
        committing = true;
        await tx.commit();
        return written;
      } catch (err) {
        const kind = classifyKafkaError(err);
        if (tx?.isActive() && kind !== 'fenced') await tx.abort().catch(() => {});
        // Retry only failures before EndTxn (e.g. the group coordinator still loading): the aborted attempt left
        // nothing visible. An EndTxn failure is ambiguous (the commit may have happened) and goes to the caller.
        if (committing || kind !== 'retriable' || attempt >= MAX_SEND_ATTEMPTS || tx?.isActive()) throw err;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect().catch(() => {});
  }
}

function recordBytes(r: OutgoingRecord): number {
  let n = 64 + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (const [k, v] of Object.entries(r.headers)) n += k.length + String(v).length + 8;
  return n;
}

/** Splits records into consecutive chunks of at most `maxBytes` (a single larger record is a chunk of its own). */
function chunkBySize(records: readonly OutgoingRecord[], maxBytes: number): OutgoingRecord[][] {
  const chunks: OutgoingRecord[][] = [];
  let current: OutgoingRecord[] = [];
  let size = 0;
  for (const r of records) {
    const bytes = recordBytes(r);
    if (current.length > 0 && size + bytes > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(r);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function mergeWritten(into: WrittenOffsets, more: WrittenOffsets): void {
  for (const [key, next] of more) {
    const prev = into.get(key);
    if (prev === undefined || BigInt(next) > BigInt(prev)) into.set(key, next);
  }
}

function groupByTopic(records: readonly OutgoingRecord[]) {
  const byTopic = new Map<
    string,
    {
      key: Buffer | null;
      value: Buffer | null;
      partition: number;
      timestamp: string;
      headers: Record<string, string>;
    }[]
  >();
  for (const r of records) {
    let list = byTopic.get(r.topic);
    if (!list) byTopic.set(r.topic, (list = []));
    list.push({
      key: r.key,
      value: r.value,
      partition: r.partition,
      timestamp: String(r.timestamp),
      headers: r.headers as Record<string, string>,
    });
  }
  return [...byTopic.entries()].map(([topic, messages]) => ({ topic, messages }));
}

function groupOffsets(offsets: readonly InputOffset[]) {
  const byTopic = new Map<string, { partition: number; offset: string }[]>();
  for (const o of offsets) {
    let list = byTopic.get(o.topic);
    if (!list) byTopic.set(o.topic, (list = []));
    list.push({ partition: o.partition, offset: o.offset });
  }
  return [...byTopic.entries()].map(([topic, partitions]) => ({ topic, partitions }));
}

function writtenOffsets(
  meta: readonly { topicName: string; partition: number; baseOffset?: string }[],
  records: readonly OutgoingRecord[],
): WrittenOffsets {
  const counts = new Map<string, number>();
  for (const r of records) {
    const key = topicPartitionKey(r.topic, r.partition);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const out: WrittenOffsets = new Map();
  for (const m of meta) {
    const key = topicPartitionKey(m.topicName, m.partition);
    const count = counts.get(key);
    if (count === undefined || m.baseOffset === undefined) continue;
    const next = (BigInt(m.baseOffset) + BigInt(count)).toString();
    const prev = out.get(key);
    if (prev === undefined || BigInt(next) > BigInt(prev)) out.set(key, next);
  }
  return out;
}
