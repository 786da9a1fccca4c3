/**
 * Reads chosen partitions from chosen offsets up to fixed end offsets (read_committed), then stops: the shared
 * primitive behind changelog restore, DLQ replay and tools that read a topic once.
 */
import { UscError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { openAdmin, topicOffsets } from './admin.js';
import type { KafkaClient } from './client.js';
import type { ConsumedBatch } from './group-consumer.js';
import { PartitionReader } from './partition-reader.js';
import { topicPartitionKey } from './instance-producer.js';

export interface ReadRange {
  readonly topic: string;
  readonly partition: number;
  /** First offset to read. */
  readonly from: string;
  /** Stop once the position reaches this offset (exclusive). */
  readonly end: string;
}

/**
 * Calls `onBatch` with the records of each range in offset order (records at or past `end` are dropped) until
 * every range reached its end. `onProgress(range, position)` reports positions. Rejects if reading fails.
 */
export async function readRangesToEnd(
  kafka: KafkaClient,
  ranges: readonly ReadRange[],
  onBatch: (range: ReadRange, batch: ConsumedBatch) => Promise<void>,
  options: {
    /** Names the reader (no group is joined). */
    readonly groupPrefix: string;
    readonly logger: Logger;
    readonly onProgress?: (range: ReadRange, position: bigint) => void;
    readonly maxBytesPerPartition?: number;
    /** No progress for this long fails the read (retriable USC_ERR_KAFKA_READ_STALLED); default 60 s. */
    readonly stallTimeoutMs?: number;
    /** Aborting stops the read: the promise rejects with the signal's reason (shutdown never waits on it). */
    readonly signal?: AbortSignal;
  },
): Promise<void> {
  options.signal?.throwIfAborted();
  const open = new Map<string, { range: ReadRange; end: bigint; position: bigint }>();
  for (const r of ranges) {
    if (BigInt(r.from) < BigInt(r.end)) {
      open.set(topicPartitionKey(r.topic, r.partition), {
        range: r,
        end: BigInt(r.end),
        position: BigInt(r.from),
      });
    }
  }
  if (open.size === 0) return;
  let starting: Promise<PartitionReader | undefined> = Promise.resolve(undefined);
  let settled = false;
  try {
    await new Promise<void>((resolve, reject) => {
      let stall: NodeJS.Timeout | undefined;
      const fail = (err: unknown): void => {
        if (!settled) {
          settled = true;
          clearTimeout(stall);
          reject(err);
        }
      };
      options.signal?.addEventListener('abort', () => fail(options.signal!.reason), { once: true });
      // A read that stops moving (a broker that went away and came back with the reader wedged, an end that is
      // never reached) fails as retriable instead of holding its caller forever.
      const stallMs = options.stallTimeoutMs ?? 60_000;
      const watch = (): void => {
        clearTimeout(stall);
        if (settled) return;
        stall = setTimeout(
          () =>
            fail(
              new UscError(
                'USC_ERR_KAFKA_READ_STALLED',
                `reading ${open.size} partition(s) made no progress for ${stallMs} ms`,
                {
                  retriable: true,
                },
              ),
            ),
          stallMs,
        );
        stall.unref();
      };
      watch();
      const advance = (key: string, next: bigint): void => {
        const entry = open.get(key);
        if (!entry || settled) return;
        if (next > entry.position) {
          entry.position = next;
          watch();
        }
        options.onProgress?.(entry.range, entry.position);
        if (entry.position >= entry.end) {
          open.delete(key);
          if (open.size === 0 && !settled) {
            settled = true;
            clearTimeout(stall);
            resolve();
          }
        }
      };
      starting = PartitionReader.start(
        kafka,
        {
          groupPrefix: options.groupPrefix,
          maxBytesPerPartition: options.maxBytesPerPartition,
          partitions: [...open.values()].map((o) => ({
            topic: o.range.topic,
            partition: o.range.partition,
            offset: o.range.from,
          })),
          onError: fail,
          onBatch: async (batch) => {
            const key = topicPartitionKey(batch.topic, batch.partition);
            const entry = open.get(key);
            if (!entry || settled) return;
            // Offsets ascend within a batch: only a batch that reaches past the end is cut.
            const last = batch.records.at(-1);
            const records =
              last === undefined || BigInt(last.offset) < entry.end
                ? batch.records
                : batch.records.filter((r) => BigInt(r.offset) < entry.end);
            if (records.length > 0) await onBatch(entry.range, { ...batch, records });
            advance(key, BigInt(batch.nextOffset));
          },
        },
        options.logger,
      ).catch((err: Error) => {
        fail(err);
        return undefined;
      });
    });
  } finally {
    // The reader may still be starting when the last range completes: wait for it, then stop it.
    const reader = await starting;
    await reader?.stop();
  }
}

/** Every partition of `topic` from its low watermark to its current end. */
export async function wholeTopicRanges(kafka: KafkaClient, topic: string): Promise<ReadRange[]> {
  const admin = await openAdmin(kafka);
  try {
    const offsets = await topicOffsets(admin, topic);
    return [...offsets]
      .sort(([a], [b]) => a - b)
      .map(([partition, { low, high }]) => ({ topic, partition, from: low, end: high }));
  } finally {
    await admin.disconnect();
  }
}

/** Start offset meaning "the partition's first available offset". */
export const FROM_BEGINNING = '-2';

/**
 * Follows every partition of `topic` (read_committed) from the beginning until `stop()`: tools and benchmarks
 * that watch a topic without joining a group.
 */
export async function followTopic(
  kafka: KafkaClient,
  topic: string,
  onBatch: (batch: ConsumedBatch) => Promise<void> | void,
  options: { readonly name: string; readonly logger: Logger },
): Promise<{ stop(): Promise<void> }> {
  const admin = await openAdmin(kafka);
  let partitions: number[];
  try {
    partitions = [...(await topicOffsets(admin, topic)).keys()].sort((a, b) => a - b);
  } finally {
    await admin.disconnect();
  }
  return PartitionReader.start(
    kafka,
    {
      groupPrefix: options.name,
      partitions: partitions.map((partition) => ({ topic, partition, offset: FROM_BEGINNING })),
      onBatch: async (batch) => onBatch(batch),
      onError: (err) => options.logger.warn({ err: String(err.message) }, 'topic follower failed'),
    },
    options.logger,
  );
}
