/**
 * The TopologyTestDriver's output topic reader: every record of every partition of one in-memory topic,
 * deserialized, in write order; a read cursor makes each record readable once.
 */
import type { Serde } from '../../serde.js';
import type { TestOutputTopic, TestRecord } from '../../test-topics.js';
import type { InMemoryTopics } from './in-memory-topics.js';

/** A reader of `topic` that starts at its first record; it sees what is appended later too. */
export function createOutputTopic<K, V>(
  topics: InMemoryTopics,
  topic: string,
  keySerde: Serde<K>,
  valueSerde: Serde<V>,
): TestOutputTopic<K, V> {
  let read = 0;
  const all = (): TestRecord<K, V>[] =>
    (topics.existing(topic) ?? [])
      .flatMap((records, partition) => records.map((r, offset) => ({ r, partition, offset })))
      .sort((a, b) => a.r.seq - b.r.seq)
      .map(({ r, partition, offset }) => ({
        key: keySerde.deserialize(r.key),
        value: valueSerde.deserialize(r.value),
        timestamp: r.timestamp,
        headers: r.headers,
        partition,
        offset,
      }));
  const unread = () => all().slice(read);
  return {
    readRecord: () => {
      const next = unread()[0];
      if (next) read++;
      return next;
    },
    readRecordsToList: () => {
      const list = unread();
      read += list.length;
      return list;
    },
    readValuesToList: () => {
      const list = unread();
      read += list.length;
      return list.map((r) => r.value);
    },
    readKeyValuesToMap: () => {
      const map = new Map<K, V>();
      const list = unread();
      read += list.length;
      for (const r of list) map.set(r.key, r.value);
      return map;
    },
    isEmpty: () => unread().length === 0,
    queueSize: () => unread().length,
  };
}
