/**
 * Restores stores from their changelog partitions, from each store's checkpoint to the changelog end offset read
 * when the restore starts (after the task's producer fenced the previous owner, so that end is stable). Only the
 * tail after the checkpoint is read; a checkpoint outside the changelog's [low, high] range means the local state
 * cannot be trusted: the store is wiped and restored from the start (logged). A long restore reports its progress
 * (per store: records restored so far, offsets remaining) at info every 5 s ({@link RestoreProgress}).
 *
 * Reading and writing overlap ({@link RestoreWriter}): a fetched batch is handed to its store's LevelDB write (on
 * libuv's pool) and the reader fetches the next while it runs, a bounded number of writes at a time. The writes of
 * one store stay in changelog order (each carries its checkpoint), and a failed write stops its store's later ones,
 * so a checkpoint never passes a record that was not written.
 */
import {
  readRangesToEnd,
  partitionOffsets,
  topicPartitionKey,
  type KafkaClient,
} from '../../../kafka/index.js';
import type { RestoreRecord, TaskStore } from '../../../stores/contracts.js';
import type { Logger } from '../../processor.js';
import type { StreamsMetrics } from './streams-metrics.js';

export interface RestoreResult {
  /** Records restored per store name (summed over partitions). */
  readonly restoredByStore: ReadonlyMap<string, number>;
  readonly restoredTotal: number;
}

/** Per store: records restored so far and changelog offsets still to read. */
export interface StoreRestoreProgress {
  readonly store: string;
  readonly restored: number;
  readonly remaining: number;
}

/** The timer functions {@link RestoreProgress} uses (injected in tests). */
export interface ProgressTimer {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const realTimer: ProgressTimer = {
  setInterval: (fn, ms) => {
    const handle = setInterval(fn, ms);
    handle.unref?.();
    return handle;
  },
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

/** Restore progress per store: restored records counted, remaining = changelog end - position (offsets). */
export function restoreProgress(
  targets: Iterable<{ readonly store: string; readonly position: bigint; readonly end: bigint }>,
  restoredByStore: ReadonlyMap<string, number>,
): StoreRestoreProgress[] {
  const remaining = new Map<string, bigint>();
  for (const t of targets) {
    remaining.set(t.store, (remaining.get(t.store) ?? 0n) + (t.end > t.position ? t.end - t.position : 0n));
  }
  return [...remaining]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([store, left]) => ({ store, restored: restoredByStore.get(store) ?? 0, remaining: Number(left) }));
}

/**
 * Reports a running restore every `everyMs` (default 5 s) at info: one line naming, per store, the records
 * restored so far and the offsets remaining. Nothing is logged for a restore shorter than the interval.
 */
export class RestoreProgress {
  private handle: unknown;
  private readonly startedMs: number;

  constructor(
    private readonly sample: () => readonly StoreRestoreProgress[],
    private readonly logger: Logger,
    private readonly options: {
      readonly everyMs?: number;
      readonly now?: () => number;
      readonly timer?: ProgressTimer;
    } = {},
  ) {
    this.startedMs = (options.now ?? Date.now)();
  }

  start(): this {
    const timer = this.options.timer ?? realTimer;
    this.handle = timer.setInterval(() => this.report(), this.options.everyMs ?? 5_000);
    return this;
  }

  /** Logs the current progress (called by the timer). */
  report(): void {
    const stores = this.sample();
    const elapsedS = ((this.options.now ?? Date.now)() - this.startedMs) / 1000;
    this.logger.info(
      {
        elapsedS: Math.round(elapsedS),
        restored: stores.reduce((n, s) => n + s.restored, 0),
        remaining: stores.reduce((n, s) => n + s.remaining, 0),
        stores: Object.fromEntries(
          stores.map((s) => [s.store, { restored: s.restored, remaining: s.remaining }]),
        ),
      },
      `restoring state stores (${Math.round(elapsedS)} s): ${stores
        .map((s) => `${s.store} ${s.restored} restored, ${s.remaining} remaining`)
        .join('; ')}`,
    );
  }

  stop(): void {
    if (this.handle !== undefined) (this.options.timer ?? realTimer).clearInterval(this.handle);
    this.handle = undefined;
  }
}

interface Target {
  readonly store: TaskStore;
  readonly topic: string;
  readonly partition: number;
  readonly end: bigint;
  position: bigint;
}

/** Restored batches being written at once (each one LevelDB batch) while the reader fetches the next. */
export const MAX_RESTORE_WRITES_IN_FLIGHT = 8;

/**
 * Writes restored batches while reading goes on: one chain of writes per store (changelog order; a failed write
 * fails every later one of its store, so no checkpoint skips a record), at most `maxInFlight` writes outstanding
 * (`write` waits for a slot). The first failure is rethrown by the next `write` and by `drain`.
 */
export class RestoreWriter {
  private readonly chains = new Map<TaskStore, Promise<void>>();
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { readonly error: unknown } | undefined;

  constructor(private readonly maxInFlight = MAX_RESTORE_WRITES_IN_FLIGHT) {}

  /** Queues `records` for `store` after its earlier batches; resolves once a slot is free (not once written). */
  async write(
    store: TaskStore,
    records: readonly RestoreRecord[],
    onWritten: (count: number) => void,
  ): Promise<void> {
    this.throwIfFailed();
    while (this.inFlight.size >= this.maxInFlight) {
      await Promise.race(this.inFlight);
      this.throwIfFailed();
    }
    const written = (this.chains.get(store) ?? Promise.resolve()).then(async () => {
      await store.restoreBatch(records);
      onWritten(records.length);
    });
    this.chains.set(store, written);
    const tracked = written.then(
      () => {
        this.inFlight.delete(tracked);
      },
      (error: unknown) => {
        this.failure ??= { error };
        this.inFlight.delete(tracked);
      },
    );
    this.inFlight.add(tracked);
  }

  /** Waits for every queued write to settle (never rejects). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  /** Waits for every queued write, then rethrows the first failure, if any. */
  async drain(): Promise<void> {
    await this.settled();
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}

/** The records of a changelog batch that carry a key (a null key restores nothing), without copying them. */
function keyedRecords(
  records: readonly { readonly key: Buffer | null; readonly value: Buffer | null; readonly offset: string }[],
): RestoreRecord[] {
  if (records.every((r) => r.key !== null)) return records as RestoreRecord[];
  return records.filter((r): r is RestoreRecord => r.key !== null);
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
    /** Progress reporting interval (default 5 s), clock and timer (tests). */
    readonly progress?: {
      readonly everyMs?: number;
      readonly now?: () => number;
      readonly timer?: ProgressTimer;
    };
  },
): Promise<RestoreResult> {
  const { logger, metrics } = options;
  const logged = stores.filter((s) => s.changelog !== undefined);
  const targets = new Map<string, Target>();
  const restoredByStore = new Map<string, number>();
  if (logged.length === 0) return { restoredByStore, restoredTotal: 0 };
  {
    const offsetsByTopic = await partitionOffsets(
      kafka,
      logged.map((s) => s.changelog!),
    );
    for (const store of logged) {
      const cl = store.changelog!;
      const range = offsetsByTopic.get(cl.topic)?.get(cl.partition) ?? { low: '0', high: '0' };
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
  const progress = new RestoreProgress(
    () =>
      restoreProgress(
        [...targets.values()].map((t) => ({
          store: t.store.definition.name,
          position: t.position,
          end: t.end,
        })),
        restoredByStore,
      ),
    logger,
    options.progress,
  ).start();
  const writer = new RestoreWriter();
  try {
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
        const records = keyedRecords(batch.records);
        if (records.length === 0) return;
        const name = target.store.definition.name;
        await writer.write(target.store, records, (count) => {
          restoredByStore.set(name, (restoredByStore.get(name) ?? 0) + count);
          restoredTotal += count;
          metrics.recordsRestored(name, count);
        });
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
  } finally {
    progress.stop();
    // Nothing is left writing to a store when this returns or throws (the caller may close or wipe it next).
    await writer.settled();
  }
  await writer.drain();
  // Debug: the task manager logs one summary line per batch of restored tasks.
  logger.debug({ restoredTotal, byStore: Object.fromEntries(restoredByStore) }, 'state stores restored');
  return { restoredByStore, restoredTotal };
}
