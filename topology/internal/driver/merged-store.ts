/**
 * One read-only view over the copies of a store in every task of the TopologyTestDriver: point reads ask each
 * partition's store in turn, scans merge all partitions' entries sorted by their key's string form.
 */
import type { KeyValue, ReadOnlyKeyValueStore } from '../../../stores/contracts.js';

/** `stores` is called on every read (it may start the driver), so the view always sees the current stores. */
export function mergedKeyValueStore<K, V>(
  stores: () => Promise<ReadOnlyKeyValueStore<K, V>[]>,
): ReadOnlyKeyValueStore<K, V> {
  const merged = async function* (pick: (s: ReadOnlyKeyValueStore<K, V>) => AsyncIterable<KeyValue<K, V>>) {
    const entries: KeyValue<K, V>[] = [];
    for (const s of await stores()) for await (const e of pick(s)) entries.push(e);
    entries.sort((a, b) => (String(a.key) < String(b.key) ? -1 : String(a.key) > String(b.key) ? 1 : 0));
    yield* entries;
  };
  return {
    get: async (key) => {
      for (const s of await stores()) {
        const v = await s.get(key);
        if (v !== undefined) return v;
      }
      return undefined;
    },
    getMany: async (keys) => {
      const all = await stores();
      const out: (V | undefined)[] = [];
      for (const key of keys) {
        let found: V | undefined;
        for (const s of all) if ((found = await s.get(key)) !== undefined) break;
        out.push(found);
      }
      return out;
    },
    range: (from, to) => merged((s) => s.range(from, to)),
    prefixScan: (prefix) => merged((s) => s.prefixScan(prefix)),
    approximateNumEntries: async () => {
      let n = 0;
      for (const s of await stores()) n += await s.approximateNumEntries();
      return n;
    },
  };
}
