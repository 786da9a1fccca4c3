/**
 * A bounded cache of deserialised committed values of one store (least recently used first out), so that a key
 * read again is neither fetched from LevelDB nor decoded again. Only committed values enter it: the write buffer
 * hands its values over when their commit is durable (write-through), an aborted commit never reaches it, and a
 * restore or wipe drops what it replaces. Absent keys are cached too (a new case is looked up before it exists).
 *
 * Values are shared by every reader: processors must treat what a store returns as immutable (the
 * TopologyTestDriver freezes them, so a processor that mutates one fails its tests).
 *
 * Size is an estimate from the serialised size: V8 gives no cheap size of an object graph. Measured on V8 (Node
 * 20), a decoded case state takes about 3.9x its msgpack bytes on the heap and a history entry about 4.7x (small
 * objects, short strings); hence bytes x 4.5 + the key (two bytes a character) + the cache entry's own overhead.
 */

/** Marks a key known to be absent. */
export const ABSENT: unique symbol = Symbol('absent');

export type CachedValue = unknown | typeof ABSENT;

interface Entry {
  value: CachedValue;
  size: number;
}

/** A Map entry and its {value, size} record. */
const ENTRY_OVERHEAD = 128;

export function estimateSize(keyLatin1: string, valueBytes: number): number {
  return keyLatin1.length * 2 + Math.ceil(valueBytes * 4.5) + ENTRY_OVERHEAD;
}

export class ValueCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  /**
   * Bumped whenever committed values change (commit, restore, wipe): a read that fetched from the backend
   * across such a change must not cache what it read (it may be older than the change).
   */
  epoch = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly capacityBytes: number) {}

  get enabled(): boolean {
    return this.capacityBytes > 0;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached value (or ABSENT), refreshed as most recently used; undefined when not cached. */
  get(key: string): CachedValue | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: CachedValue, size: number): void {
    if (!this.enabled) return;
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.bytes -= old.size;
      this.entries.delete(key);
    }
    if (size > this.capacityBytes) return;
    this.entries.set(key, { value, size });
    this.bytes += size;
    if (this.bytes > this.capacityBytes) this.evict();
  }

  delete(key: string): void {
    const old = this.entries.get(key);
    if (old === undefined) return;
    this.bytes -= old.size;
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
    this.epoch++;
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.bytes <= this.capacityBytes) break;
      this.entries.delete(key);
      this.bytes -= entry.size;
    }
  }
}
