/**
 * The bytes layer of a task store: a write buffer over a {@link Backend} that holds this commit's writes until
 * the Kafka transaction carrying their changelog records has committed, and the change-logging that turns those
 * writes into changelog records.
 *
 *  - Reads see the buffer first (read-your-writes), then the backend; ranges merge both in key order.
 *  - Caching on: the buffer keeps the latest value per key, so a key written many times within a commit interval
 *    yields ONE changelog record. Caching off: every write is logged, in order.
 *  - `prepareCommit` returns the changelog records; `completeCommit(next)` writes the buffered batch and the
 *    checkpoint in one backend batch; `abortCommit` drops the buffer (reads return to the last commit).
 *  - `savepoint` / `rollbackToSavepoint`: the runtime marks a savepoint before each record; a record that fails
 *    rolls back to it, so its writes never reach a commit (an undo log of the keys written since the mark).
 *  - Values: besides bytes, a write carries the value it was serialised from, and committed values are kept
 *    deserialised in a bounded {@link ValueCache} (write-through on commit). `getValue`/`getValues` read buffer ->
 *    cache -> backend (one multi-get for the misses); `getCommittedValue` skips the buffer (interactive queries
 *    see committed state only).
 */
import type { ChangelogRecord, RestoreRecord } from '../contracts.js';
import type { Backend, KeyRange } from './backend.js';
import { ABSENT, estimateSize, ValueCache } from './value-cache.js';

/** Turns stored bytes into a value (the store's value serde). */
export type Decode = (bytes: Buffer) => unknown;

export interface BytesStore {
  getValue(key: Buffer, decode: Decode): Promise<unknown>;
  getValues(keys: readonly Buffer[], decode: Decode): Promise<unknown[]>;
  getCommittedValue(key: Buffer, decode: Decode): Promise<unknown>;
  /** `decoded`: the value `value` was serialised from (cached once committed). */
  put(key: Buffer, value: Buffer | null, decoded?: unknown): void;
  entries(range: KeyRange): AsyncIterable<readonly [Buffer, Buffer]>;
  /** Committed entries only (the backend's). */
  committedEntries(range: KeyRange): AsyncIterable<readonly [Buffer, Buffer]>;
  approximateCount(): Promise<number>;
  committedCount(): Promise<number>;
}

interface Staged {
  readonly key: Buffer;
  readonly value: Buffer | null;
  /** The value `value` encodes (undefined when not known yet: decoded on first read). */
  decoded?: unknown;
}

export class BufferedStore implements BytesStore {
  /** latin1(key) -> latest uncommitted value (null = delete). */
  private buffer = new Map<string, Staged>();
  /** Every write in order (caching off and logging on). */
  private log: ChangelogRecord[] = [];
  /** latin1(key) -> the staged entry it had at the savepoint (undefined = none). */
  private readonly undo = new Map<string, Staged | undefined>();
  private logMark = 0;
  /** Records of `log` already handed out ahead of the commit ({@link takeChangelogAhead}). */
  private logTaken = 0;
  readonly cache: ValueCache;

  constructor(
    private readonly backend: Backend,
    private readonly opts: {
      readonly logging: boolean;
      readonly caching: boolean;
      /** Bytes of deserialised committed values to keep (0: none). */
      readonly cacheBytes?: number;
    },
  ) {
    this.cache = new ValueCache(opts.cacheBytes ?? 0);
  }

  async getValue(key: Buffer, decode: Decode): Promise<unknown> {
    const k = key.toString('latin1');
    const staged = this.buffer.get(k);
    if (staged) return this.stagedValue(staged, decode);
    return this.committedValue(k, key, decode);
  }

  async getValues(keys: readonly Buffer[], decode: Decode): Promise<unknown[]> {
    const out: unknown[] = new Array(keys.length);
    const missing: number[] = [];
    const missingKeys: Buffer[] = [];
    const latin1: string[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const k = (latin1[i] = keys[i]!.toString('latin1'));
      const staged = this.buffer.get(k);
      if (staged) {
        out[i] = this.stagedValue(staged, decode);
        continue;
      }
      const cached = this.cache.get(k);
      if (cached !== undefined) {
        out[i] = cached === ABSENT ? undefined : cached;
        continue;
      }
      missing.push(i);
      missingKeys.push(keys[i]!);
    }
    if (missing.length === 0) return out;
    const epoch = this.cache.epoch;
    const fetched = await this.backend.getMany(missingKeys);
    const cacheable = epoch === this.cache.epoch;
    for (let j = 0; j < missing.length; j++) {
      const i = missing[j]!;
      const bytes = fetched[j];
      const value = bytes === undefined ? undefined : decode(bytes);
      out[i] = value;
      if (cacheable) {
        this.cache.set(
          latin1[i]!,
          value === undefined ? ABSENT : value,
          estimateSize(latin1[i]!, bytes?.length ?? 0),
        );
      }
    }
    return out;
  }

  getCommittedValue(key: Buffer, decode: Decode): Promise<unknown> {
    return this.committedValue(key.toString('latin1'), key, decode);
  }

  private stagedValue(staged: Staged, decode: Decode): unknown {
    if (staged.value === null) return undefined;
    if (staged.decoded === undefined) staged.decoded = decode(staged.value);
    return staged.decoded;
  }

  private async committedValue(k: string, key: Buffer, decode: Decode): Promise<unknown> {
    const cached = this.cache.get(k);
    if (cached !== undefined) return cached === ABSENT ? undefined : cached;
    const epoch = this.cache.epoch;
    const bytes = await this.backend.get(key);
    const value = bytes === undefined ? undefined : decode(bytes);
    if (epoch === this.cache.epoch) {
      this.cache.set(k, value === undefined ? ABSENT : value, estimateSize(k, bytes?.length ?? 0));
    }
    return value;
  }

  put(key: Buffer, value: Buffer | null, decoded?: unknown): void {
    const k = key.toString('latin1');
    if (!this.undo.has(k)) this.undo.set(k, this.buffer.get(k));
    this.buffer.set(k, { key, value, decoded: value === null ? undefined : decoded });
    if (this.opts.logging && !this.opts.caching) this.log.push({ key, value });
  }

  async *entries(range: KeyRange): AsyncIterable<readonly [Buffer, Buffer]> {
    const gte = range.gte?.toString('latin1');
    const lt = range.lt?.toString('latin1');
    // Only the staged keys in range are copied and sorted (a prefix scan touches a few of a commit's writes).
    const staged: [string, Staged][] = [];
    for (const entry of this.buffer) {
      const k = entry[0];
      if ((gte === undefined || k >= gte) && (lt === undefined || k < lt)) staged.push(entry);
    }
    staged.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    let i = 0;
    for await (const [key, value] of this.backend.entries(range)) {
      const k = key.toString('latin1');
      for (; i < staged.length && staged[i]![0] < k; i++) {
        const s = staged[i]![1];
        if (s.value !== null) yield [s.key, s.value] as const;
      }
      if (i < staged.length && staged[i]![0] === k) {
        const s = staged[i++]![1];
        if (s.value !== null) yield [s.key, s.value] as const;
        continue;
      }
      yield [key, value] as const;
    }
    for (; i < staged.length; i++) {
      const s = staged[i]![1];
      if (s.value !== null) yield [s.key, s.value] as const;
    }
  }

  committedEntries(range: KeyRange): AsyncIterable<readonly [Buffer, Buffer]> {
    return this.backend.entries(range);
  }

  committedCount(): Promise<number> {
    return this.backend.approximateCount();
  }

  async approximateCount(): Promise<number> {
    let delta = 0;
    for (const { key, value } of this.buffer.values()) {
      const exists = (await this.backend.get(key)) !== undefined;
      if (value === null && exists) delta--;
      else if (value !== null && !exists) delta++;
    }
    return Math.max(0, (await this.backend.approximateCount()) + delta);
  }

  /**
   * The changelog records of the uncommitted writes not taken ahead yet (nothing when logging is off): with caching,
   * the latest value of each key written; without, every write in order.
   */
  changelogRecords(): readonly ChangelogRecord[] {
    if (!this.opts.logging) return [];
    if (!this.opts.caching) return this.logTaken === 0 ? this.log : this.log.slice(this.logTaken);
    return [...this.buffer.values()].map(({ key, value }) => ({ key, value }));
  }

  /**
   * Caching off: the changelog records of the writes since the last call, in order (sent ahead of the commit); the
   * commit's {@link changelogRecords} then leaves them out. Caching on: none. Called between records only, so the
   * savepoint of the next record is at or after what was taken and a rollback never reaches it.
   */
  takeChangelogAhead(): readonly ChangelogRecord[] {
    if (!this.opts.logging || this.opts.caching || this.logTaken === this.log.length) return [];
    const out = this.log.slice(this.logTaken);
    this.logTaken = this.log.length;
    return out;
  }

  hasUncommittedWrites(): boolean {
    return this.buffer.size > 0;
  }

  /** Marks the current uncommitted state; a later {@link rollbackToSavepoint} returns to it. */
  savepoint(): void {
    if (this.undo.size > 0) this.undo.clear();
    this.logMark = this.log.length;
  }

  /** Drops every write since the last savepoint (reads see the state at the savepoint again). */
  rollbackToSavepoint(): void {
    for (const [k, previous] of this.undo) {
      if (previous === undefined) this.buffer.delete(k);
      else this.buffer.set(k, previous);
    }
    this.undo.clear();
    this.log.length = this.logMark;
  }

  /**
   * Writes the buffer and the checkpoint in one batch, then clears the buffer; the written values become the
   * cache's committed values.
   */
  async commit(checkpoint: string | undefined): Promise<void> {
    const buffer = this.buffer;
    const ops = [...buffer.values()];
    if (ops.length > 0 || checkpoint !== undefined) {
      // Before and after: a concurrent read that fetched across the write must not cache what it read.
      this.cache.epoch++;
      await this.backend.write(ops, checkpoint);
      this.cache.epoch++;
    }
    if (this.cache.enabled) {
      for (const [k, op] of buffer) {
        if (op.value === null) this.cache.set(k, ABSENT, estimateSize(k, 0));
        else if (op.decoded !== undefined) this.cache.set(k, op.decoded, estimateSize(k, op.value.length));
        else this.cache.delete(k);
      }
    }
    this.abort();
  }

  abort(): void {
    this.buffer = new Map();
    this.log = [];
    this.undo.clear();
    this.logMark = 0;
    this.logTaken = 0;
  }

  /** Applies restored changelog records directly to the backend with checkpoint = last offset + 1. */
  async restore(records: readonly RestoreRecord[]): Promise<void> {
    if (records.length === 0) return;
    const last = records[records.length - 1]!;
    this.cache.epoch++;
    if (this.cache.size > 0) for (const r of records) this.cache.delete(r.key.toString('latin1'));
    await this.backend.write(records, (BigInt(last.offset) + 1n).toString());
    this.cache.epoch++;
  }

  /** Forgets every cached value (the backend was wiped or replaced). */
  dropCache(): void {
    this.cache.clear();
  }
}
