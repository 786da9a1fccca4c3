/**
 * The bytes-only storage a task store keeps its committed state in (LevelDB on disk or memory). Keys are ordered
 * by their bytes. A backend also keeps the store's changelog checkpoint, written in the same atomic batch as the
 * data it describes.
 */

/** One write of a batch; `value: null` deletes the key. */
export interface BatchOp {
  readonly key: Buffer;
  readonly value: Buffer | null;
}

export interface KeyRange {
  /** Inclusive lower bound. */
  readonly gte?: Buffer;
  /** Exclusive upper bound. */
  readonly lt?: Buffer;
}

export interface Backend {
  /** Opens (creating if needed). Throws TaskCorruptedError when existing data cannot be read. */
  open(): Promise<void>;
  get(key: Buffer): Promise<Buffer | undefined>;
  /** Values of `keys` in one call (undefined for an absent key), in the order of `keys`. */
  getMany(keys: readonly Buffer[]): Promise<(Buffer | undefined)[]>;
  /** Entries within `range`, in key order. */
  entries(range: KeyRange): AsyncIterable<readonly [Buffer, Buffer]>;
  /**
   * Applies `ops` and sets the checkpoint atomically. `checkpoint` undefined leaves the stored one unchanged.
   */
  write(ops: readonly BatchOp[], checkpoint: string | undefined): Promise<void>;
  /** The stored checkpoint (next changelog offset to restore from), or undefined. */
  checkpoint(): Promise<string | undefined>;
  approximateCount(): Promise<number>;
  /** Deletes every entry and the checkpoint; stays open. */
  wipe(): Promise<void>;
  close(): Promise<void>;
}

/** Smallest key greater than every key starting with `prefix` (undefined: no upper bound). */
export function prefixEnd(prefix: Buffer): Buffer | undefined {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return undefined;
}
