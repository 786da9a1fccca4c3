/**
 * LevelDB backend (classic-level). Layout inside one database: data under the byte prefix `d`, the changelog
 * checkpoint under `m:checkpoint`, so a data write and its checkpoint share one atomic batch. (Earlier versions also
 * mirrored the checkpoint to a `checkpoint` file beside the database, for a client-side assignor that no longer
 * exists; a wipe still deletes such a file.)
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { TaskCorruptedError, UscError } from '../../common/errors.js';
import type { StoreMemory } from '../memory-budget.js';
import { prefixEnd, type Backend, type BatchOp, type KeyRange } from './backend.js';

const DATA = Buffer.from('d');
const DATA_END = prefixEnd(DATA)!;
const CHECKPOINT_KEY = Buffer.from('m:checkpoint');
/** The checkpoint mirror file of earlier versions (deleted by a wipe). */
const LEGACY_CHECKPOINT_FILE = 'checkpoint';
/** Entries a range read fetches per native call. */
const SCAN_CHUNK = 256;

/** `d` + key (allocUnsafe takes small buffers from Node's pool: cheaper than Buffer.concat per key). */
function dataKey(key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(key.length + 1);
  out[0] = DATA[0]!;
  key.copy(out, 1);
  return out;
}

/** A failed LevelDB operation is never about one record: USC_ERR_STORE_IO stops the instance (see errors.ts). */
function storeIo(dir: string, op: string, err: unknown): UscError {
  return new UscError('USC_ERR_STORE_IO', `LevelDB store ${dir}: ${op} failed`, { cause: err });
}

export class LevelDbBackend implements Backend {
  private db: ClassicLevel<Buffer, Buffer> | undefined;

  /**
   * `dir` holds the database (`dir/db`). `memory`: the instance's
   * store memory budget (cache and write buffer sizes; the open database reports its usage to it).
   */
  constructor(
    private readonly dir: string,
    private readonly memory?: StoreMemory,
  ) {}

  /** Block cache in use + memtables, as LevelDB reports it (0 when closed). */
  memoryUsage(): number {
    try {
      return Number(this.db?.getProperty('leveldb.approximate-memory-usage') ?? 0) || 0;
    } catch {
      return 0;
    }
  }

  private get open_(): ClassicLevel<Buffer, Buffer> {
    if (!this.db) throw new UscError('USC_ERR_STORE_NOT_OPEN', `LevelDB store at ${this.dir} is not open`);
    return this.db;
  }

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const db = new ClassicLevel<Buffer, Buffer>(path.join(this.dir, 'db'), {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
      ...(this.memory?.tuning ?? {}),
    });
    try {
      await db.open();
      // A readable checkpoint proves the database opens beyond its manifest.
      await db.get(CHECKPOINT_KEY);
    } catch (err) {
      await db.close().catch(() => {});
      const cause = (err as { cause?: { code?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new UscError(
          'USC_ERR_STATE_DIR_LOCKED',
          `LevelDB store ${this.dir} is in use by another process`,
          {
            cause: err,
          },
        );
      }
      throw new TaskCorruptedError(`LevelDB store ${this.dir} cannot be opened`, { cause: err });
    }
    this.db = db;
    this.memory?.track(this);
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    const db = this.open_;
    try {
      return (await db.get(dataKey(key))) ?? undefined;
    } catch (err) {
      throw storeIo(this.dir, 'get', err);
    }
  }

  async getMany(keys: readonly Buffer[]): Promise<(Buffer | undefined)[]> {
    const db = this.open_;
    try {
      return (await db.getMany(keys.map(dataKey))).map((v) => v ?? undefined);
    } catch (err) {
      throw storeIo(this.dir, 'getMany', err);
    }
  }

  async *entries(range: KeyRange): AsyncIterable<readonly [Buffer, Buffer]> {
    const it = this.open_.iterator({
      gte: range.gte ? dataKey(range.gte) : DATA,
      lt: range.lt ? dataKey(range.lt) : DATA_END,
    });
    try {
      // nextv: one native call returns a whole short range (next() makes two: its first call returns one entry).
      for (let chunk = await it.nextv(SCAN_CHUNK); chunk.length > 0; chunk = await it.nextv(SCAN_CHUNK)) {
        for (const [k, v] of chunk) yield [k.subarray(DATA.length), v] as const;
      }
    } catch (err) {
      throw storeIo(this.dir, 'range', err);
    } finally {
      await it.close();
    }
  }

  async write(ops: readonly BatchOp[], checkpoint: string | undefined): Promise<void> {
    const batch = this.open_.batch();
    for (const op of ops) {
      if (op.value === null) batch.del(dataKey(op.key));
      else batch.put(dataKey(op.key), op.value);
    }
    if (checkpoint !== undefined) batch.put(CHECKPOINT_KEY, Buffer.from(checkpoint));
    try {
      await batch.write();
    } catch (err) {
      throw storeIo(this.dir, 'write', err);
    }
  }

  async checkpoint(): Promise<string | undefined> {
    const v = await this.open_.get(CHECKPOINT_KEY);
    return v === undefined ? undefined : v.toString();
  }

  /** Estimate from LevelDB's approximate size of the data range and the mean size of a sample of entries. */
  async approximateCount(): Promise<number> {
    const db = this.open_;
    let sampled = 0;
    let bytes = 0;
    for await (const [k, v] of db.iterator({ gte: DATA, lt: DATA_END, limit: 64 })) {
      sampled++;
      bytes += k.length + v.length;
    }
    if (sampled < 64) return sampled;
    const size = await db.approximateSize(DATA, DATA_END);
    return Math.max(sampled, Math.round(size / (bytes / sampled)));
  }

  async wipe(): Promise<void> {
    await this.open_.clear();
    await rm(path.join(this.dir, LEGACY_CHECKPOINT_FILE), { force: true });
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    this.memory?.untrack(this);
    await db?.close();
  }
}
