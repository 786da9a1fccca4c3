/**
 * Task stores on both backends: the key-value contract, the commit protocol (changelog records, caching,
 * abort, atomic checkpoint, reopen), restore, corruption handling, and a model-based property test.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskCorruptedError } from '../../../common/errors.js';
import { silentLogger } from '../../../common/logger.js';
import { noopStoreMetrics, type StoreDefinition, type TaskStore } from '../../../stores/contracts.js';
import { createTaskStore, keyValueStore, storeDirectory } from '../../../stores/store-factory.js';

const dirs: string[] = [];
const open: TaskStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function stateDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'usc-stores-'));
  dirs.push(d);
  return d;
}

async function make(def: StoreDefinition, dir: string): Promise<TaskStore> {
  const store = createTaskStore(def, {
    applicationId: 'app',
    taskId: { subtopology: 1, partition: 3 },
    stateDir: dir,
    metrics: noopStoreMetrics,
    logger: silentLogger,
  });
  await store.open();
  open.push(store);
  return store;
}

const collect = async <T>(it: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};
const text = (records: readonly { key: Buffer; value: Buffer | null }[]) =>
  records.map((r) => [r.key.toString(), r.value === null ? null : r.value.length > 0]);

describe.each([
  ['leveldb', true],
  ['memory', false],
] as const)('task store on %s', (_name, persistent) => {
  it('gets, puts, deletes, scans ranges and prefixes in byte order, and counts', async () => {
    const store = await make(keyValueStore('s', { persistent }), await stateDir());
    const kv = store.store;
    for (const k of ['b', 'a', 'ab', 'c', 'é', 'b2']) await kv.put(k, { k });
    await store.completeCommit(undefined);
    await kv.delete('c');
    await kv.put('aa', { k: 'aa' });
    expect(await kv.get('a')).toEqual({ k: 'a' });
    expect(await kv.get('c')).toBeUndefined();
    const all = (await collect(kv.range())).map((e) => e.key);
    expect(all).toEqual(['a', 'aa', 'ab', 'b', 'b2', 'é']);
    expect((await collect(kv.range('aa', 'b2'))).map((e) => e.key)).toEqual(['aa', 'ab', 'b']);
    expect((await collect(kv.prefixScan('a'))).map((e) => e.key)).toEqual(['a', 'aa', 'ab']);
    expect(await kv.approximateNumEntries()).toBe(6);
  });

  it('logs one record per key per commit with caching, every write without, tombstones for deletes', async () => {
    const dir = await stateDir();
    const cached = await make(keyValueStore('cached', { persistent }), dir);
    await cached.store.put('k', 1);
    await cached.store.put('k', 2);
    await cached.store.put('gone', 1);
    await cached.store.delete('gone');
    expect(text(await cached.prepareCommit())).toEqual([
      ['k', true],
      ['gone', null],
    ]);
    const uncached = await make(keyValueStore('uncached', { persistent, caching: false }), dir);
    await uncached.store.put('k', 1);
    await uncached.store.put('k', 2);
    await uncached.store.delete('k');
    expect(text(await uncached.prepareCommit())).toEqual([
      ['k', true],
      ['k', true],
      ['k', null],
    ]);
    const silent = await make(keyValueStore('unlogged', { persistent, logging: false }), dir);
    await silent.store.put('k', 1);
    expect(await silent.prepareCommit()).toEqual([]);
    expect(silent.changelog).toBeUndefined();
    expect(cached.changelog).toEqual({ topic: 'app-cached-changelog', partition: 3 });
  });

  it('hands an uncached store’s changelog out ahead of the commit in order, and the commit only the rest', async () => {
    const dir = await stateDir();
    const uncached = await make(keyValueStore('ahead', { persistent, caching: false }), dir);
    const kv = uncached.store;
    uncached.savepoint();
    await kv.put('a', 1);
    await kv.put('b', 1);
    expect(text(uncached.takeChangelogAhead())).toEqual([
      ['a', true],
      ['b', true],
    ]);
    expect(uncached.takeChangelogAhead()).toEqual([]);
    // The next record's savepoint is after what was taken: its rollback keeps the taken writes.
    uncached.savepoint();
    await kv.put('c', 1);
    uncached.rollbackToSavepoint();
    uncached.savepoint();
    await kv.delete('a');
    expect(text(await uncached.prepareCommit())).toEqual([['a', null]]);
    await uncached.completeCommit('4');
    expect(await kv.get('b')).toBe(1);
    expect(await kv.get('a')).toBeUndefined();
    expect(await kv.get('c')).toBeUndefined();
    // A new commit starts with nothing taken; an aborted one forgets what it took.
    await kv.put('d', 1);
    expect(text(uncached.takeChangelogAhead())).toEqual([['d', true]]);
    uncached.abortCommit();
    await kv.put('e', 1);
    expect(text(await uncached.prepareCommit())).toEqual([['e', true]]);
    // A cached store collapses writes until the commit: nothing goes ahead.
    const cached = await make(keyValueStore('held', { persistent }), dir);
    await cached.store.put('k', 1);
    expect(cached.takeChangelogAhead()).toEqual([]);
    expect(text(await cached.prepareCommit())).toEqual([['k', true]]);
  });

  it('abortCommit returns reads to the last completed commit', async () => {
    const store = await make(keyValueStore('s', { persistent }), await stateDir());
    await store.store.put('k', 'committed');
    await store.prepareCommit();
    await store.completeCommit('5');
    await store.store.put('k', 'uncommitted');
    await store.store.put('new', 'x');
    expect(await store.store.get('k')).toBe('uncommitted');
    store.abortCommit();
    expect(await store.store.get('k')).toBe('committed');
    expect(await store.store.get('new')).toBeUndefined();
    expect(await store.checkpoint()).toBe('5');
  });

  it.each([true, false])(
    'rolls back to a savepoint: reads, scans and changelog records forget the writes after it (caching %s)',
    async (caching) => {
      const store = await make(keyValueStore('s', { persistent, caching }), await stateDir());
      const kv = store.store;
      await kv.put('a', 1);
      await store.completeCommit(undefined);
      await kv.put('b', 2);
      store.savepoint();
      await kv.put('a', 10);
      await kv.put('c', 3);
      await kv.delete('b');
      await kv.put('c', 4);
      store.rollbackToSavepoint();
      expect(await kv.get('a')).toBe(1);
      expect(await kv.get('b')).toBe(2);
      expect(await kv.get('c')).toBeUndefined();
      expect((await collect(kv.range())).map((e) => [e.key, e.value])).toEqual([
        ['a', 1],
        ['b', 2],
      ]);
      expect(text(await store.prepareCommit())).toEqual([['b', true]]);
      // A second savepoint starts afresh: rolling back again drops only what came after it.
      store.savepoint();
      await kv.put('d', 5);
      store.rollbackToSavepoint();
      await kv.put('e', 6);
      expect(text(await store.prepareCommit())).toEqual([
        ['b', true],
        ['e', true],
      ]);
    },
  );

  it('restores records with checkpoint = last offset + 1', async () => {
    const store = await make(keyValueStore('s', { persistent }), await stateDir());
    await store.restoreBatch([
      { key: Buffer.from('a'), value: Buffer.from([0xa1, 0x31]), offset: '10' },
      { key: Buffer.from('b'), value: Buffer.from([0xa1, 0x32]), offset: '11' },
      { key: Buffer.from('a'), value: null, offset: '12' },
    ]);
    expect(await store.checkpoint()).toBe('13');
    expect(await store.store.get('a')).toBeUndefined();
    expect(await store.store.get('b')).toBe('2');
    await store.wipe();
    expect(await store.checkpoint()).toBeUndefined();
    expect(await store.store.get('b')).toBeUndefined();
  });

  it('refuses use after close with a clear error', async () => {
    const store = await make(keyValueStore('s', { persistent }), await stateDir());
    await store.close();
    await expect(store.store.get('k')).rejects.toMatchObject({ code: 'USC_ERR_STORE_NOT_OPEN' });
  });

  it('behaves like a map under any sequence of writes, commits and aborts (model-based)', async () => {
    const dir = await stateDir();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({
              op: fc.constant('put' as const),
              key: fc.constantFrom('a', 'b', 'c', 'd'),
              value: fc.nat(9),
            }),
            fc.record({ op: fc.constant('delete' as const), key: fc.constantFrom('a', 'b', 'c', 'd') }),
            fc.record({ op: fc.constant('commit' as const) }),
            fc.record({ op: fc.constant('abort' as const) }),
          ),
          { maxLength: 40 },
        ),
        async (ops) => {
          const store = await make(keyValueStore(`m${n++}`, { persistent }), dir);
          const committed = new Map<string, number>();
          let working = new Map<string, number>();
          for (const op of ops) {
            if (op.op === 'put') {
              await store.store.put(op.key, op.value);
              working.set(op.key, op.value);
            } else if (op.op === 'delete') {
              await store.store.delete(op.key);
              working.delete(op.key);
            } else if (op.op === 'commit') {
              await store.prepareCommit();
              await store.completeCommit(undefined);
              committed.clear();
              for (const [k, v] of working) committed.set(k, v);
            } else {
              store.abortCommit();
              working = new Map(committed);
            }
            const seen = await collect(store.store.range());
            expect(seen.map((e) => [e.key, e.value])).toEqual(
              [...working.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
            );
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('LevelDB task store on disk', () => {
  it('keeps committed data and its checkpoint across reopen; uncommitted writes are gone', async () => {
    const dir = await stateDir();
    const def = keyValueStore('s');
    const first = await make(def, dir);
    await first.store.put('k', 'v1');
    await first.prepareCommit();
    await first.completeCommit('42');
    await first.store.put('k', 'lost');
    await first.close();
    const second = await make(def, dir);
    expect(await second.store.get('k')).toBe('v1');
    expect(await second.checkpoint()).toBe('42');
  });

  it('reports an unreadable database as TaskCorruptedError (the runtime wipes and restores it)', async () => {
    const dir = await stateDir();
    const def = keyValueStore('s');
    const store = await make(def, dir);
    await store.store.put('k', 'v');
    await store.completeCommit('1');
    await store.close();
    const db = path.join(storeDirectory(dir, 'app', '1_3', 's'), 'db');
    for (const f of await readdir(db)) {
      if (f.startsWith('MANIFEST') || f === 'CURRENT') await writeFile(path.join(db, f), 'garbage');
    }
    const reopened = createTaskStore(def, {
      applicationId: 'app',
      taskId: { subtopology: 1, partition: 3 },
      stateDir: dir,
      metrics: noopStoreMetrics,
      logger: silentLogger,
    });
    await expect(reopened.open()).rejects.toBeInstanceOf(TaskCorruptedError);
  });
});
