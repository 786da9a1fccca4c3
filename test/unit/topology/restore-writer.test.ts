import { describe, expect, it } from 'vitest';
import type { RestoreRecord, TaskStore } from '../../../stores/contracts.js';
import { RestoreWriter } from '../../../topology/internal/runtime/state-restorer.js';

/** A store whose restoreBatch calls wait until the test settles them, in the order they were made. */
function heldStore(name: string) {
  const calls: { offsets: string[]; settle: (err?: Error) => void }[] = [];
  const store = {
    definition: { name },
    restoreBatch: (records: readonly RestoreRecord[]) =>
      new Promise<void>((resolve, reject) => {
        calls.push({
          offsets: records.map((r) => r.offset),
          settle: (err) => (err ? reject(err) : resolve()),
        });
      }),
  } as unknown as TaskStore;
  return { store, calls };
}

const batch = (...offsets: number[]): RestoreRecord[] =>
  offsets.map((o) => ({ key: Buffer.from(`k${o}`), value: Buffer.from('v'), offset: String(o) }));

/** Lets queued promise callbacks run. */
const ticks = async (n = 5): Promise<void> => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

describe('RestoreWriter (restore writes overlap the reading)', () => {
  it("keeps one store's batches in changelog order and writes different stores at once", async () => {
    const a = heldStore('a');
    const b = heldStore('b');
    const written: string[] = [];
    const writer = new RestoreWriter(8);
    await writer.write(a.store, batch(0, 1), (n) => written.push(`a+${n}`));
    await writer.write(a.store, batch(2), (n) => written.push(`a+${n}`));
    await writer.write(b.store, batch(0), (n) => written.push(`b+${n}`));
    await ticks();
    // a's second batch waits for its first; b does not wait for a.
    expect(a.calls.map((c) => c.offsets)).toEqual([['0', '1']]);
    expect(b.calls.map((c) => c.offsets)).toEqual([['0']]);
    b.calls[0]!.settle();
    a.calls[0]!.settle();
    await ticks();
    expect(a.calls.map((c) => c.offsets)).toEqual([['0', '1'], ['2']]);
    a.calls[1]!.settle();
    await writer.drain();
    expect(written).toEqual(['b+1', 'a+2', 'a+1']);
  });

  it('holds the reader once the limit of writes is outstanding, and lets it go when one completes', async () => {
    const stores = [heldStore('s0'), heldStore('s1'), heldStore('s2')];
    const writer = new RestoreWriter(2);
    await writer.write(stores[0]!.store, batch(0), () => {});
    await writer.write(stores[1]!.store, batch(0), () => {});
    let third = false;
    const waiting = writer.write(stores[2]!.store, batch(0), () => {}).then(() => (third = true));
    await ticks();
    expect(third).toBe(false);
    expect(stores[2]!.calls).toHaveLength(0);
    stores[1]!.calls[0]!.settle();
    await waiting;
    expect(third).toBe(true);
    await ticks();
    expect(stores[2]!.calls).toHaveLength(1);
    stores[0]!.calls[0]!.settle();
    stores[2]!.calls[0]!.settle();
    await writer.drain();
  });

  it("a failed write skips its store's later batches and is rethrown by the next write and by drain", async () => {
    const a = heldStore('a');
    const b = heldStore('b');
    const written: string[] = [];
    const writer = new RestoreWriter(8);
    await writer.write(a.store, batch(0), () => written.push('a0'));
    await writer.write(a.store, batch(1), () => written.push('a1'));
    await writer.write(b.store, batch(0), () => written.push('b0'));
    await ticks();
    a.calls[0]!.settle(new Error('disk full'));
    b.calls[0]!.settle();
    await writer.settled();
    // a's batch 1 was never attempted: its checkpoint would have passed the lost batch 0.
    expect(a.calls).toHaveLength(1);
    expect(written).toEqual(['b0']);
    await expect(writer.write(b.store, batch(1), () => {})).rejects.toThrow('disk full');
    await expect(writer.drain()).rejects.toThrow('disk full');
  });
});
