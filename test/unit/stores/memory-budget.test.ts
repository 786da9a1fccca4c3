/**
 * The LevelDB memory budget: the split over store slots stays within the budget, the minimums hold for a tiny
 * budget, real databases opened with it report their usage and stop counting once closed, and the slots cover
 * every persistent store of every task.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../common/logger.js';
import { noopStoreMetrics } from '../../../stores/contracts.js';
import { StoreMemory, levelDbTuning } from '../../../stores/memory-budget.js';
import { createTaskStore, keyValueStore } from '../../../stores/store-factory.js';
import { storeSlots } from '../../../topology/internal/runtime/task-factory.js';
import { TopologyBuilder } from '../../../topology/topology-builder.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const MiB = 1024 * 1024;

describe('store memory budget', () => {
  it('splits the budget over the slots without exceeding it', () => {
    for (const [budget, slots] of [
      [64 * MiB, 48],
      [64 * MiB, 36],
      [256 * MiB, 12],
      [32 * MiB, 1],
    ] as const) {
      const t = levelDbTuning(budget, slots);
      expect(slots * (t.cacheSize + 2 * t.writeBufferSize)).toBeLessThanOrEqual(budget);
      expect(t.writeBufferSize).toBeGreaterThanOrEqual(64 * 1024);
      expect(t.cacheSize).toBeGreaterThan(0);
    }
  });

  it('raises a tiny share to LevelDB minimums and says so in its ceiling', () => {
    const memory = new StoreMemory(4 * MiB, 400);
    expect(memory.tuning.writeBufferSize).toBe(64 * 1024);
    expect(memory.tuning.cacheSize).toBe(64 * 1024);
    expect(memory.ceilingBytes).toBeGreaterThan(memory.budgetBytes);
  });

  it('tracks what open LevelDB stores use and forgets closed ones', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'usc-memory-'));
    dirs.push(dir);
    const memory = new StoreMemory(8 * MiB, 4);
    const stores = await Promise.all(
      [0, 1].map(async (partition) => {
        const store = createTaskStore(keyValueStore('s'), {
          applicationId: 'app',
          taskId: { subtopology: 0, partition },
          stateDir: dir,
          metrics: noopStoreMetrics,
          logger: silentLogger,
          memory,
        });
        await store.open();
        return store;
      }),
    );
    expect(memory.openStores).toBe(2);
    for (const store of stores) {
      for (let i = 0; i < 2_000; i++) await store.store.put(`k${i}`, { v: 'x'.repeat(200) });
      await store.completeCommit('1');
      for (let i = 0; i < 2_000; i += 7) expect(await store.store.get(`k${i}`)).toBeDefined();
    }
    const used = memory.bytesUsed();
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(memory.ceilingBytes);
    for (const store of stores) await store.close();
    expect(memory.openStores).toBe(0);
    expect(memory.bytesUsed()).toBe(0);
  });

  it('counts a slot for every persistent store of every task', () => {
    const topology = new TopologyBuilder()
      .addSource('in', 'input')
      .addProcessor('a', () => ({ init: () => {}, process: async () => {} }), 'in')
      .addStateStore(keyValueStore('one'), 'a')
      .addStateStore(keyValueStore('two'), 'a')
      .addStateStore(keyValueStore('volatile', { persistent: false }), 'a')
      .addRepartition('by-x', ['a'])
      .addProcessor('b', () => ({ init: () => {}, process: async () => {} }), 'by-x')
      .addStateStore(keyValueStore('three'), 'b')
      .build();
    const partitions = (topic: string) => (topic === 'input' ? 6 : 4);
    expect(storeSlots(topology, partitions)).toBe(2 * 6 + 1 * 4);
  });
});
