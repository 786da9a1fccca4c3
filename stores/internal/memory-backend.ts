/**
 * In-memory backend: a map keyed by the latin1 form of the key bytes (latin1 maps each byte to one UTF-16 code
 * unit, so string order equals byte order). Starts empty on every open: a non-persistent store is restored in
 * full from its changelog.
 */
import type { Backend, BatchOp, KeyRange } from './backend.js';

export class MemoryBackend implements Backend {
  private data = new Map<string, Buffer>();
  private sortedKeys: string[] | undefined;
  private checkpointValue: string | undefined;

  async open(): Promise<void> {}

  async get(key: Buffer): Promise<Buffer | undefined> {
    return this.data.get(key.toString('latin1'));
  }

  async getMany(keys: readonly Buffer[]): Promise<(Buffer | undefined)[]> {
    return keys.map((key) => this.data.get(key.toString('latin1')));
  }

  async *entries(range: KeyRange): AsyncIterable<readonly [Buffer, Buffer]> {
    this.sortedKeys ??= [...this.data.keys()].sort();
    const keys = this.sortedKeys;
    const gte = range.gte?.toString('latin1');
    const lt = range.lt?.toString('latin1');
    let i = gte === undefined ? 0 : lowerBound(keys, gte);
    for (; i < keys.length; i++) {
      const k = keys[i]!;
      if (lt !== undefined && k >= lt) return;
      const v = this.data.get(k);
      if (v !== undefined) yield [Buffer.from(k, 'latin1'), v];
    }
  }

  async write(ops: readonly BatchOp[], checkpoint: string | undefined): Promise<void> {
    for (const op of ops) {
      const k = op.key.toString('latin1');
      if (op.value === null) {
        if (this.data.delete(k)) this.sortedKeys = undefined;
      } else {
        if (!this.data.has(k)) this.sortedKeys = undefined;
        this.data.set(k, op.value);
      }
    }
    if (checkpoint !== undefined) this.checkpointValue = checkpoint;
  }

  async checkpoint(): Promise<string | undefined> {
    return this.checkpointValue;
  }

  async approximateCount(): Promise<number> {
    return this.data.size;
  }

  async wipe(): Promise<void> {
    this.data = new Map();
    this.sortedKeys = undefined;
    this.checkpointValue = undefined;
  }

  async close(): Promise<void> {}
}

function lowerBound(keys: readonly string[], target: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
