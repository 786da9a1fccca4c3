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
 */
import type { ChangelogRecord, RestoreRecord } from '../contracts.js';
import type { Backend, KeyRange } from './backend.js';

export interface BytesStore {
  get(key: Buffer): Promise<Buffer | undefined>;
  put(key: Buffer, value: Buffer | null): void;
  entries(range: KeyRange): AsyncIterable<readonly [Buffer, Buffer]>;
  approximateCount(): Promise<number>;
}

export class BufferedStore implements BytesStore {
  /** latin1(key) -> latest uncommitted value (null = delete). */
  private buffer = new Map<string, { key: Buffer; value: Buffer | null }>();
  /** Every write in order (caching off and logging on). */
  private log: ChangelogRecord[] = [];
  /** latin1(key) -> the staged entry it had at the savepoint (undefined = none). */
  private readonly undo = new Map<string, { key: Buffer; value: Buffer | null } | undefined>();
  private logMark = 0;

  constructor(
    private readonly backend: Backend,
    private readonly opts: { readonly logging: boolean; readonly caching: boolean },
  ) {}

  async get(key: Buffer): Promise<Buffer | undefined> {
    const staged = this.buffer.get(key.toString('latin1'));
    if (staged) return staged.value ?? undefined;
    return this.backend.get(key);
  }

  put(key: Buffer, value: Buffer | null): void {
    const k = key.toString('latin1');
    if (!this.undo.has(k)) this.undo.set(k, this.buffer.get(k));
    this.buffer.set(k, { key, value });
    if (this.opts.logging && !this.opts.caching) this.log.push({ key, value });
  }

  async *entries(range: KeyRange): AsyncIterable<readonly [Buffer, Buffer]> {
    const gte = range.gte?.toString('latin1');
    const lt = range.lt?.toString('latin1');
    const staged = [...this.buffer.entries()]
      .filter(([k]) => (gte === undefined || k >= gte) && (lt === undefined || k < lt))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
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

  async approximateCount(): Promise<number> {
    let delta = 0;
    for (const { key, value } of this.buffer.values()) {
      const exists = (await this.backend.get(key)) !== undefined;
      if (value === null && exists) delta--;
      else if (value !== null && !exists) delta++;
    }
    return Math.max(0, (await this.backend.approximateCount()) + delta);
  }

  /** The changelog records of the uncommitted writes (nothing when logging is off). */
  changelogRecords(): readonly ChangelogRecord[] {
    if (!this.opts.logging) return [];
    if (!this.opts.caching) return this.log;
    return [...this.buffer.values()].map(({ key, value }) => ({ key, value }));
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

  /** Writes the buffer and the checkpoint in one batch, then clears the buffer. */
  async commit(checkpoint: string | undefined): Promise<void> {
    const ops = [...this.buffer.values()];
    if (ops.length > 0 || checkpoint !== undefined) await this.backend.write(ops, checkpoint);
    this.abort();
  }

  abort(): void {
    this.buffer = new Map();
    this.log = [];
    this.undo.clear();
    this.logMark = 0;
  }

  /** Applies restored changelog records directly to the backend with checkpoint = last offset + 1. */
  async restore(records: readonly RestoreRecord[]): Promise<void> {
    if (records.length === 0) return;
    const last = records[records.length - 1]!;
    await this.backend.write(records, (BigInt(last.offset) + 1n).toString());
  }
}
