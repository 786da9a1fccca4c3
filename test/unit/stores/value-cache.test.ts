/**
 * The value cache in front of a store: committed values are served without the backend, staged writes never
 * reach it (abort drops them, interactive queries do not see them), absent keys are cached too, one multi-get
 * serves every miss of a batch, the bound holds, a read that raced a commit or a restore caches nothing stale,
 * and the test driver's frozen values make a mutating processor fail.
 */
import { describe, expect, it } from 'vitest';
import { BufferedStore } from '../../../stores/internal/buffered-store.js';
import { MemoryBackend } from '../../../stores/internal/memory-backend.js';
import { MeteredStore } from '../../../stores/internal/metered-store.js';
import { ValueCache } from '../../../stores/internal/value-cache.js';
import { noopStoreMetrics } from '../../../stores/contracts.js';
import { msgpackSerde, stringSerde } from '../../../topology/serde.js';

/** A memory backend that counts reads and can hold a read until released. */
class CountingBackend extends MemoryBackend {
  gets = 0;
  getManys = 0;
  keysRead = 0;
  hold: Promise<void> | undefined;

  override async get(key: Buffer): Promise<Buffer | undefined> {
    this.gets++;
    this.keysRead++;
    const hold = this.hold;
    const value = await super.get(key);
    if (hold) await hold;
    return value;
  }

  override async getMany(keys: readonly Buffer[]): Promise<(Buffer | undefined)[]> {
    this.getManys++;
    this.keysRead += keys.length;
    return super.getMany(keys);
  }
}

function storeOver(backend: CountingBackend, cacheBytes = 1024 * 1024, freezeValues = false) {
  const buffered = new BufferedStore(backend, { logging: true, caching: true, cacheBytes });
  const store = new MeteredStore<string | null, { n: number; tag?: string } | null>(
    's',
    () => buffered,
    stringSerde,
    msgpackSerde(),
    noopStoreMetrics,
    { freezeValues },
  );
  return { buffered, store, committed: store.committedView() };
}

describe('value cache', () => {
  it('serves committed values and absent keys without the backend', async () => {
    const backend = new CountingBackend();
    const { buffered, store } = storeOver(backend);
    expect(await store.get('missing')).toBeUndefined();
    await store.put('a', { n: 1 });
    await buffered.commit('1');
    const reads = backend.keysRead;
    expect(await store.get('a')).toEqual({ n: 1 });
    expect(await store.get('missing')).toBeUndefined();
    expect(await store.getMany(['a', 'missing'])).toEqual([{ n: 1 }, undefined]);
    expect(backend.keysRead).toBe(reads);
    expect(buffered.cache.hits).toBeGreaterThanOrEqual(4);
  });

  it('reads every miss of a batch in one multi-get, in the order asked', async () => {
    const backend = new CountingBackend();
    await backend.write(
      ['x', 'y', 'z'].map((k, i) => ({ key: Buffer.from(k), value: msgpackSerde().serialize({ n: i })! })),
      '3',
    );
    const { store } = storeOver(backend);
    await store.put('w', { n: 9 });
    expect(await store.getMany(['z', 'w', 'nope', 'x', 'y'])).toEqual([
      { n: 2 },
      { n: 9 },
      undefined,
      { n: 0 },
      { n: 1 },
    ]);
    expect(backend.getManys).toBe(1);
    expect(backend.gets).toBe(0);
    expect(backend.keysRead).toBe(4);
  });

  it('keeps staged writes out of the cache and out of the committed view; abort returns to the last commit', async () => {
    const backend = new CountingBackend();
    const { buffered, store, committed } = storeOver(backend);
    await store.put('a', { n: 1 });
    await buffered.commit('1');
    await store.put('a', { n: 2 });
    expect(await store.get('a')).toEqual({ n: 2 });
    expect(await committed.get('a')).toEqual({ n: 1 });
    expect(await committed.getMany(['a'])).toEqual([{ n: 1 }]);
    buffered.abort();
    expect(await store.get('a')).toEqual({ n: 1 });
    await store.delete('a');
    expect(await store.get('a')).toBeUndefined();
    expect(await committed.get('a')).toEqual({ n: 1 });
    await buffered.commit('2');
    expect(await committed.get('a')).toBeUndefined();
    expect(await backend.get(Buffer.from('a'))).toBeUndefined();
  });

  it('drops a rolled-back write: the cache only ever holds what was committed', async () => {
    const backend = new CountingBackend();
    const { buffered, store, committed } = storeOver(backend);
    await store.put('a', { n: 1 });
    buffered.savepoint();
    await store.put('a', { n: 2 });
    buffered.rollbackToSavepoint();
    await buffered.commit('1');
    expect(await store.get('a')).toEqual({ n: 1 });
    expect(await committed.get('a')).toEqual({ n: 1 });
  });

  it('stays within its bound, evicting the least recently used', () => {
    const cache = new ValueCache(1000);
    for (let i = 0; i < 100; i++) cache.set(`k${i}`, i, 100);
    expect(cache.sizeBytes).toBeLessThanOrEqual(1000);
    expect(cache.size).toBe(10);
    expect(cache.get('k99')).toBe(99);
    expect(cache.get('k0')).toBeUndefined();
    cache.get('k90');
    cache.set('new', 'v', 100);
    expect(cache.get('k90')).toBe(90);
    expect(cache.get('k91')).toBeUndefined();
    expect(new ValueCache(0).enabled).toBe(false);
  });

  it('does not cache what a read fetched across a commit of the same key', async () => {
    const backend = new CountingBackend();
    const { buffered, store, committed } = storeOver(backend);
    await store.put('a', { n: 1 });
    await buffered.commit('1');
    buffered.dropCache();
    let release!: () => void;
    backend.hold = new Promise((r) => (release = r));
    const slowRead = committed.get('a');
    backend.hold = undefined;
    await store.put('a', { n: 2 });
    await buffered.commit('2');
    release();
    expect(await slowRead).toEqual({ n: 1 });
    expect(await committed.get('a')).toEqual({ n: 2 });
    expect(await store.get('a')).toEqual({ n: 2 });
  });

  it('forgets restored keys', async () => {
    const backend = new CountingBackend();
    const { buffered, store } = storeOver(backend);
    await store.put('a', { n: 1 });
    await buffered.commit('1');
    expect(await store.get('a')).toEqual({ n: 1 });
    await buffered.restore([
      { key: Buffer.from('a'), value: msgpackSerde().serialize({ n: 5 })!, offset: '7' },
    ]);
    expect(await store.get('a')).toEqual({ n: 5 });
    await buffered.restore([{ key: Buffer.from('a'), value: null, offset: '8' }]);
    expect(await store.get('a')).toBeUndefined();
  });

  it('freezes values for the test driver, so a processor that mutates one fails', async () => {
    const backend = new CountingBackend();
    const { buffered, store } = storeOver(backend, 1024 * 1024, true);
    const value = { n: 1 };
    await store.put('a', value);
    expect(() => {
      value.n = 2;
    }).toThrow(TypeError);
    await buffered.commit('1');
    const read = (await store.get('a'))! as { n: number; tag?: string };
    expect(() => {
      read.tag = 'x';
    }).toThrow(TypeError);
  });
});
