/**
 * One memory budget for every LevelDB store of an instance. LevelDB's defaults (an 8 MiB block cache and a
 * 4 MiB write buffer, two of them while one is flushed, per database) multiplied by one database per store per
 * task made the native memory of an instance grow with its task count, not with its data: ~400 MB of RSS for
 * 36 stores. Here the budget is split evenly over the store slots the instance could ever hold at once (every
 * persistent store of every task of the topology: an instance never holds two copies of one task), so the sum
 * stays within the budget whatever the placement. Like Kafka Streams' bounded-memory RocksDB config setter
 * (one shared cache and write-buffer manager), but LevelDB databases cannot share a cache, hence the static split.
 *
 * Per store: write buffer = a quarter of its share (LevelDB keeps two memtables while one flushes), block cache =
 * the rest, and a small table cache (open files; each holds an index block). Shares below LevelDB's minimums are
 * raised to them, so a tiny budget is exceeded rather than refused; {@link StoreMemory.bytesUsed} reports what the
 * open databases actually use (`leveldb.approximate-memory-usage`: block cache + memtables).
 */
export interface LevelDbTuning {
  readonly cacheSize: number;
  readonly writeBufferSize: number;
  readonly maxOpenFiles: number;
}

/** LevelDB clamps the write buffer to at least 64 KiB; a block cache below that is of little use. */
const MIN_WRITE_BUFFER = 64 * 1024;
const MIN_CACHE = 64 * 1024;
/** Open table files per store: an index block each (plus a filter, none here); LevelDB's minimum is 64. */
const MAX_OPEN_FILES = 64;

export const DEFAULT_STORE_MEMORY_BYTES = 32 * 1024 * 1024;
/**
 * Deserialised committed values kept in front of the stores (internal/value-cache.ts), like Kafka Streams'
 * `statestore.cache.max.bytes`; split over the same slots.
 */
export const DEFAULT_VALUE_CACHE_BYTES_TOTAL = 16 * 1024 * 1024;

/** The tuning of one store when `totalBytes` is shared by `slots` stores. */
export function levelDbTuning(totalBytes: number, slots: number): LevelDbTuning {
  const share = Math.floor(totalBytes / Math.max(1, slots));
  const writeBufferSize = Math.max(MIN_WRITE_BUFFER, Math.floor(share / 4));
  const cacheSize = Math.max(MIN_CACHE, share - 2 * writeBufferSize);
  return { cacheSize, writeBufferSize, maxOpenFiles: MAX_OPEN_FILES };
}

/** Something that can say how much memory it uses (an open LevelDB database). */
export interface MemoryReporter {
  memoryUsage(): number;
}

/** A store's value cache as the budget sees it (stores/internal/value-cache.ts). */
export interface CacheReporter {
  readonly sizeBytes: number;
  readonly hits: number;
  readonly misses: number;
}

/** The instance's budget: the tuning every store opens with, and the memory the open stores report. */
export class StoreMemory {
  readonly tuning: LevelDbTuning;
  private readonly open = new Set<MemoryReporter>();
  private readonly caches = new Set<CacheReporter>();
  /** Hits and misses of caches no longer open (so the totals never go down). */
  private retired = { hits: 0, misses: 0 };

  /** Value-cache bytes of each store. */
  readonly valueCacheBytes: number;

  constructor(
    readonly budgetBytes: number,
    readonly slots: number,
    readonly valueCacheBudgetBytes: number = DEFAULT_VALUE_CACHE_BYTES_TOTAL,
  ) {
    this.tuning = levelDbTuning(budgetBytes, slots);
    this.valueCacheBytes = Math.floor(valueCacheBudgetBytes / Math.max(1, slots));
  }

  /** Most the stores can take by their tuning (above the budget only when shares were raised to the minimums). */
  get ceilingBytes(): number {
    return this.slots * (this.tuning.cacheSize + 2 * this.tuning.writeBufferSize);
  }

  track(store: MemoryReporter): void {
    this.open.add(store);
  }

  untrack(store: MemoryReporter): void {
    this.open.delete(store);
  }

  /** Memory the open databases report (block cache in use + memtables). */
  bytesUsed(): number {
    let sum = 0;
    for (const s of this.open) sum += s.memoryUsage();
    return sum;
  }

  get openStores(): number {
    return this.open.size;
  }

  trackCache(cache: CacheReporter): void {
    this.caches.add(cache);
  }

  untrackCache(cache: CacheReporter): void {
    if (!this.caches.delete(cache)) return;
    this.retired = { hits: this.retired.hits + cache.hits, misses: this.retired.misses + cache.misses };
  }

  /** Bytes (estimated) the open stores' value caches hold, and their hits and misses since the start. */
  cacheStats(): { bytes: number; hits: number; misses: number } {
    let bytes = 0;
    let { hits, misses } = this.retired;
    for (const c of this.caches) {
      bytes += c.sizeBytes;
      hits += c.hits;
      misses += c.misses;
    }
    return { bytes, hits, misses };
  }
}
