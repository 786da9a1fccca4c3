/**
 * Reads chosen partitions from chosen offsets (kafkajs has no manual `assign()`): a private single-member consumer
 * group whose assignor hands its only member exactly the wanted partitions, sought to their start offsets as soon
 * as the assignment is known. Used for changelog restore and standby replicas. Reads `read_committed`, so records of
 * aborted transactions are never restored.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../topology/processor.js';
import { deleteGroups, openAdmin } from './admin.js';
import type { KafkaClient } from './client.js';
import { GroupConsumer, type ConsumedBatch, type GroupAssignor } from './group-consumer.js';

export interface PartitionStart {
  readonly topic: string;
  readonly partition: number;
  /** First offset to read. */
  readonly offset: string;
}

export interface PartitionReaderOptions {
  /** Group id prefix; a random suffix makes each reader's group private. */
  readonly groupPrefix: string;
  readonly partitions: readonly PartitionStart[];
  readonly onBatch: (batch: ConsumedBatch) => Promise<void>;
  /** The position moved past records that are never delivered (transaction markers, aborted records). */
  readonly onSkipped?: (topic: string, partition: number, nextOffset: string) => void;
  readonly onError: (error: Error) => void;
  /** Fetch size per partition (default 4 MiB: large batches for restore). */
  readonly maxBytesPerPartition?: number;
}

function takeAll(wanted: readonly PartitionStart[]): GroupAssignor {
  const assignment: Record<string, number[]> = {};
  for (const p of wanted) (assignment[p.topic] ??= []).push(p.partition);
  return {
    name: 'UscPartitionReader',
    version: 1,
    subscriptionUserData: () => Buffer.alloc(0),
    assign: (members) => {
      const result = new Map<string, { assignment: Record<string, number[]>; userData: Buffer }>();
      members.forEach((m, i) =>
        result.set(m.memberId, { assignment: i === 0 ? assignment : {}, userData: Buffer.alloc(0) }),
      );
      return result;
    },
  };
}

/** A running reader; `stop()` disconnects it and deletes its private group. */
export class PartitionReader {
  private consumer: GroupConsumer | undefined;

  private constructor(
    private readonly kafka: KafkaClient,
    private readonly groupId: string,
    private readonly logger: Logger,
  ) {}

  /** Starts reading; resolves once the reader joined its group (batches arrive via onBatch). */
  static async start(
    kafka: KafkaClient,
    options: PartitionReaderOptions,
    logger: Logger,
  ): Promise<PartitionReader> {
    const groupId = `${options.groupPrefix}-${randomUUID()}`;
    const reader = new PartitionReader(kafka, groupId, logger);
    if (options.partitions.length === 0) return reader;
    // Where each partition continues: the start offset, then past every delivered batch or skipped marker. A
    // consumer that kafkajs restarts after a retriable crash rejoins and is sought here, not back to the start.
    const positions = new Map<string, string>(
      options.partitions.map((p) => [`${p.topic}:${p.partition}`, p.offset] as const),
    );
    const moveTo = (topic: string, partition: number, next: string) => {
      const key = `${topic}:${partition}`;
      if (BigInt(next) > BigInt(positions.get(key) ?? '0')) positions.set(key, next);
    };
    reader.consumer = new GroupConsumer(
      kafka,
      {
        groupId,
        topics: [...new Set(options.partitions.map((p) => p.topic))],
        readCommitted: true,
        assignor: takeAll(options.partitions),
        fromBeginning: true,
        maxBytesPerPartition: options.maxBytesPerPartition ?? 4 * 1_048_576,
        maxWaitTimeMs: 50,
      },
      {
        onBatch: async (batch, controls) => {
          await options.onBatch(batch);
          moveTo(batch.topic, batch.partition, batch.nextOffset);
          // The consumer runs without auto-resolve: unless the batch is resolved, kafkajs fetches the same
          // offsets again (a reader that never passed its first fetch of each partition). Resolving the batch's
          // last offset also moves past a trailing transaction marker.
          if (controls.isActive()) controls.resolveOffset((BigInt(batch.nextOffset) - 1n).toString());
        },
        onSkipped: (topic, partition, nextOffset) => {
          moveTo(topic, partition, nextOffset);
          options.onSkipped?.(topic, partition, nextOffset);
        },
        // Synchronous, before the first fetch of the generation: the positions are ours to set. (Committing start
        // offsets with admin.setOffsets instead costs kafkajs a full extra group join, ~5 s.)
        onAssigned: () => {
          for (const p of options.partitions) {
            reader.consumer?.seek(p.topic, p.partition, positions.get(`${p.topic}:${p.partition}`)!);
          }
        },
        onCrash: (error, restarting) => {
          if (!restarting) return options.onError(error);
          logger.warn(
            { err: error, groupId },
            'reader consumer crashed on a retriable error; kafkajs restarts it',
          );
        },
      },
      logger,
    );
    await reader.consumer.start();
    return reader;
  }

  get group(): string {
    return this.groupId;
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    if (!consumer) return;
    await consumer.stop();
    const admin = await openAdmin(this.kafka).catch(() => undefined);
    if (!admin) return;
    try {
      await deleteGroups(admin, [this.groupId]);
    } catch (err) {
      this.logger.debug(
        { err, groupId: this.groupId },
        'could not delete reader group; it expires by itself',
      );
    } finally {
      await admin.disconnect();
    }
  }
}
