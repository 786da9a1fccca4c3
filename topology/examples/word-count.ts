/**
 * Example: a word-count topology (used by the runtime tests and benchmarks): sentences (any key) -> split into words -> repartition by word ->
 * count per word in a persistent, changelogged store -> `<output>` (key word, value count as decimal text).
 */
import { TopologyBuilder } from '../topology-builder.js';
import { keyValueStore } from '../../stores/store-factory.js';
import { stringSerde } from '../serde.js';
import type { Processor, ProcessorContext } from '../processor.js';
import type { StreamRecord } from '../record.js';
import type { Topology } from '../topology.js';
import type { KeyValueStore } from '../../stores/contracts.js';

export const COUNT_STORE = 'counts';

export function wordCountTopology(
  input: string,
  output: string,
  opts: {
    partitions?: number;
    /**
     * Test hook: counting this word throws after its store write and output (a processor bug on one record).
     * The topology has no record-error policy, so the instance stops on it.
     */
    failOnWord?: string;
  } = {},
): Topology {
  const splitter = (): Processor<string | null, Buffer | null, string, string> => {
    let ctx: ProcessorContext<string, string>;
    return {
      init: (c) => {
        ctx = c;
      },
      process: async (record) => {
        const text = record.value?.toString('utf8') ?? '';
        for (const word of text.toLowerCase().split(/\W+/).filter(Boolean)) {
          await ctx.forward({ key: word, value: word, timestamp: record.timestamp, headers: {} });
        }
      },
    };
  };
  const counter = (): Processor<string, string, string, string> => {
    let ctx: ProcessorContext<string, string>;
    let store: KeyValueStore<string, number>;
    return {
      init: (c) => {
        ctx = c;
        store = c.getStateStore<string, number>(COUNT_STORE);
      },
      process: async (record: StreamRecord<string, string>) => {
        const next = ((await store.get(record.key)) ?? 0) + 1;
        await store.put(record.key, next);
        await ctx.forward({ key: record.key, value: String(next), timestamp: record.timestamp, headers: {} });
        if (record.key === opts.failOnWord) throw new Error(`counting failed on purpose`);
      },
    };
  };
  return new TopologyBuilder()
    .addSource('sentences', input, { keySerde: stringSerde })
    .addProcessor('split', splitter as never, 'sentences')
    .addRepartition('words', ['split'], {
      keySerde: stringSerde,
      valueSerde: stringSerde,
      partitions: opts.partitions,
    })
    .addProcessor('count', counter as never, 'words')
    .addStateStore(keyValueStore(COUNT_STORE), 'count')
    .addSink('out', output, ['count'], { keySerde: stringSerde, valueSerde: stringSerde })
    .build();
}
