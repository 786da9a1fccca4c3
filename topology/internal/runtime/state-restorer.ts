/**
 * Restores stores from their changelog partitions, from each store's checkpoint to the changelog end offset read
 * when the restore starts (after the task's producer fenced the previous owner, so that end is stable). Only the
 * tail after the checkpoint is read; a checkpoint outside the changelog's [low, high] range means the local state
 * cannot be trusted: the store is wiped and restored from the start (logged).
 */
import {
  openAdmin,
  readRangesToEnd,
  topicOffsets,
  topicPartitionKey,
  type KafkaClient,
} from '../../../kafka/index.js';
import type { TaskStore } from '../../../stores/contracts.js';
import type { Logger } from '../../processor.js';
import type { StreamsMetrics } from './streams-metrics.js';

export interface RestoreResult {
  /** Records restored per store name (summed over partitions). */
  readonly restoredByStore: ReadonlyMap<string, number>;
  readonly restoredTotal: number;
}

interface Target {
  readonly store: TaskStore;
  readonly topic: string;
  readonly partition: number;
  readonly end: bigint;
  position: bigint;
}

/**
 * Brings every given store up to its changelog end. Resolves when all are restored; rejects if reading fails
 * (the caller retries the tasks or stops the instance).
 */
export async function restoreStores(
  kafka: KafkaClient,
  stores: readonly TaskStore[],
  options: {
    readonly groupPrefix: string;
    readonly logger: Logger;
    readonly metrics: StreamsMetrics;
    /** Aborted on shutdown: the restore stops where it is (what it applied stays, with its checkpoint). */
    readonly signal?: AbortSignal;
  },
): Promise<RestoreResult> {
  const { logger, metrics } = options;
  const logged = stores.filter((s) => s.changelog !== undefined);
  const targets = new Map<string, Target>();
  const restoredByStore = new Map<string, number>();
  if (logged.length === 0) return { restoredByStore, restoredTotal: 0 };
  const admin = await openAdmin(kafka);
  try {
    const offsetsByTopic = new Map<string, Map<number, { low: string; high: string }>>();
    for (const store of logged) {
      const cl = store.changelog!;
      let offsets = offsetsByTopic.get(cl.topic);
      if (!offsets) offsetsByTopic.set(cl.topic, (offsets = await topicOffsets(admin, cl.topic)));
      const range = offsets.get(cl.partition) ?? { low: '0', high: '0' };
      const low = BigInt(range.low);
      const end = BigInt(range.high);
      const checkpoint = await store.checkpoint();
      let from = checkpoint === undefined ? low : BigInt(checkpoint);
      if (from > end || from < low) {
        logger.warn(
          {
            store: store.definition.name,
            changelog: cl.topic,
            partition: cl.partition,
            checkpoint,
            low: range.low,
            end: range.high,
          },
          'store checkpoint is outside the changelog; wiping the store and restoring it from the start',
        );
        await store.wipe();
        from = low;
      }
      if (from < end) {
        targets.set(topicPartitionKey(cl.topic, cl.partition), {
          store,
          topic: cl.topic,
          partition: cl.partition,
          end,
          position: from,
        });
      }
    }
  } finally {
    await admin.disconnect();
  }
  if (targets.size === 0) return { restoredByStore, restoredTotal: 0 };

  const remaining = (): void => {
    const byStore = new Map<string, bigint>();
    for (const t of targets.values()) {
      const name = t.store.definition.name;
      byStore.set(name, (byStore.get(name) ?? 0n) + (t.end > t.position ? t.end - t.position : 0n));
    }
    for (const [name, left] of byStore) metrics.restoreRemaining.set({ store: name }, Number(left));
  };
  remaining();
  logger.info(
    {
      partitions: targets.size,
      records: [...targets.values()].reduce((n, t) => n + Number(t.end - t.position), 0),
    },
    'restoring state stores from changelogs',
  );

  let restoredTotal = 0;
  await readRangesToEnd(
    kafka,
    [...targets.values()].map((t) => ({
      topic: t.topic,
      partition: t.partition,
      from: t.position.toString(),
      end: t.end.toString(),
    })),
    async (range, batch) => {
      const target = targets.get(topicPartitionKey(range.topic, range.partition))!;
      const records = batch.records
        .filter((r) => r.key !== null)
        .map((r) => ({ key: r.key!, value: r.value, offset: r.offset }));
      if (records.length === 0) return;
      await target.store.restoreBatch(records);
      const name = target.store.definition.name;
      restoredByStore.set(name, (restoredByStore.get(name) ?? 0) + records.length);
      restoredTotal += records.length;
      metrics.recordsRestored(name, records.length);
    },
    {
      groupPrefix: options.groupPrefix,
      logger,
      signal: options.signal,
      onProgress: (range, position) => {
        targets.get(topicPartitionKey(range.topic, range.partition))!.position = position;
        remaining();
      },
    },
  );
  logger.info({ restoredTotal, byStore: Object.fromEntries(restoredByStore) }, 'state stores restored');
  return { restoredByStore, restoredTotal };
}
