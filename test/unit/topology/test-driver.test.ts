/**
 * The TopologyTestDriver and, through it, the task engine: forwarding, stores, repartitioning, punctuations,
 * serde failures, sink partitioning, commit visibility and crash + restore from the changelog.
 */
import { describe, expect, it } from 'vitest';
import { partitionForKey } from '../../../kafka/partitioner.js';
import { keyValueStore } from '../../../stores/store-factory.js';
import { wordCountTopology } from '../../../topology/examples/word-count.js';
import type { Processor, ProcessorContext } from '../../../topology/processor.js';
import { bytesSerde, jsonSerde, stringSerde } from '../../../topology/serde.js';
import { TopologyTestDriver } from '../../../topology/test-driver.js';
import { TopologyBuilder } from '../../../topology/topology-builder.js';

const text = {
  serialize: (v: string) => Buffer.from(v),
  deserialize: (b: Buffer | null) => b?.toString() ?? '',
};

describe('TopologyTestDriver', () => {
  it('counts words through a repartition topic', async () => {
    const driver = new TopologyTestDriver(wordCountTopology('in', 'out'), { partitions: 3 });
    const input = driver.createInputTopic('in', stringSerde, text);
    const output = driver.createOutputTopic('out', stringSerde, stringSerde);
    await input.pipeInput('s1', 'the cat and the hat');
    await input.pipeInput('s2', 'The end');
    expect(Object.fromEntries(output.readKeyValuesToMap())).toEqual({
      the: '3',
      cat: '1',
      and: '1',
      hat: '1',
      end: '1',
    });
    expect(await driver.getKeyValueStore<string, number>('counts').get('the')).toBe(3);
    // Each output went to the partition Kafka's default partitioner picks for its key.
    await input.pipeInput('s3', 'cat');
    const [rec] = output.readRecordsToList();
    expect(rec).toMatchObject({ key: 'cat', value: '2', partition: partitionForKey(Buffer.from('cat'), 3) });
    await driver.close();
  });

  it('keeps counts exact across a crash: uncommitted work is redone once, committed work never', async () => {
    const driver = new TopologyTestDriver(wordCountTopology('in', 'out'), {
      partitions: 2,
      autoCommit: false,
    });
    const input = driver.createInputTopic('in', stringSerde, text);
    const output = driver.createOutputTopic('out', stringSerde, stringSerde);
    await input.pipeInput('a', 'x y x');
    await driver.commit();
    await driver.commit(); // the repartitioned words reach the counting tasks, then their counts commit
    expect(output.readKeyValuesToMap().get('x')).toBe('2');
    await input.pipeInput('b', 'x z');
    expect(output.isEmpty()).toBe(true); // processed, not committed
    await driver.simulateCrashAndRestore();
    await driver.commit();
    await driver.commit();
    expect(Object.fromEntries(output.readKeyValuesToMap())).toEqual({ x: '3', z: '1' });
    expect(await driver.getKeyValueStore<string, number>('counts').get('x')).toBe(3);
  });

  it('fires stream-time and wall-clock punctuations with Kafka Streams semantics', async () => {
    const fired: string[] = [];
    const topology = new TopologyBuilder()
      .addSource('s', 'in', { keySerde: stringSerde, valueSerde: stringSerde })
      .addProcessor(
        'p',
        (): Processor<string, string, string, string> => ({
          init: (ctx) => {
            ctx.schedule(10, 'stream-time', (t) => void fired.push(`stream@${t}`));
            ctx.schedule(100, 'wall-clock', (t) => void fired.push(`wall@${t}`));
          },
          process: () => {},
        }),
        's',
      )
      .build();
    const driver = new TopologyTestDriver(topology, { initialWallClockMs: 1000 });
    const input = driver.createInputTopic('in', stringSerde, stringSerde);
    await input.pipeInput('k', 'v', 5);
    await input.pipeInput('k', 'v', 12);
    await input.pipeInput('k', 'v', 15);
    await input.pipeInput('k', 'v', 3); // late record: stream time stays 15
    await input.pipeInput('k', 'v', 40); // jumps several intervals: fires once
    await driver.advanceWallClockTime(99);
    await driver.advanceWallClockTime(1);
    await driver.advanceWallClockTime(250);
    expect(fired).toEqual(['stream@5', 'stream@15', 'stream@40', 'wall@1100', 'wall@1350']);
  });

  it('gives processors only the stores they are connected to, and metadata of the current record', async () => {
    const seen: unknown[] = [];
    const topology = new TopologyBuilder()
      .addSource('s', 'in', { keySerde: stringSerde, valueSerde: jsonSerde<{ n: number }>() })
      .addProcessor(
        'p',
        () => {
          let ctx: ProcessorContext;
          return {
            init: (c: ProcessorContext) => {
              ctx = c;
            },
            process: async () => {
              seen.push(ctx.recordMetadata());
              await ctx.getStateStore('mine').put('k', 1);
              try {
                ctx.getStateStore('other');
              } catch (err) {
                seen.push((err as { code: string }).code);
              }
            },
          };
        },
        's',
      )
      .addProcessor('q', () => ({ process: () => {} }), 's')
      .addStateStore(keyValueStore('mine'), 'p')
      .addStateStore(keyValueStore('other'), 'q')
      .build();
    const driver = new TopologyTestDriver(topology);
    await driver.createInputTopic('in', stringSerde, jsonSerde<{ n: number }>()).pipeInput('k', { n: 1 });
    expect(seen).toEqual([{ topic: 'in', partition: 0, offset: '0' }, 'USC_ERR_STORE_UNKNOWN']);
  });

  it('fails on a record its source serdes cannot read (no record-error policy): USC_ERR_SERDE_FAILED with its coordinates', async () => {
    const topology = new TopologyBuilder()
      .addSource('s', 'in', { valueSerde: jsonSerde<unknown>() })
      .addProcessor('p', () => ({ process: () => {} }), 's')
      .build();
    const driver = new TopologyTestDriver(topology);
    const input = driver.createInputTopic('in', stringSerde, bytesSerde);
    await expect(input.pipeInput('k', Buffer.from('{not json'))).rejects.toMatchObject({
      code: 'USC_ERR_RECORD_FAILED',
      details: { stage: 'deserialize', node: 's' },
      cause: { code: 'USC_ERR_SERDE_FAILED', details: { topic: 'in', partition: 0, offset: '0' } },
    });
  });

  it('routes forward(record, child) to the named child only', async () => {
    const topology = new TopologyBuilder()
      .addSource('s', 'in', { keySerde: stringSerde, valueSerde: stringSerde })
      .addProcessor(
        'route',
        () => {
          let ctx: ProcessorContext<string, string>;
          return {
            init: (c: ProcessorContext<string, string>) => {
              ctx = c;
            },
            process: (r: {
              key: string;
              value: string;
              timestamp: number;
              headers: Record<string, string>;
            }) => ctx.forward(r, r.value.startsWith('bad') ? 'dlq' : 'good'),
          };
        },
        's',
      )
      .addSink('good', 'ok', ['route'], { keySerde: stringSerde, valueSerde: stringSerde })
      .addSink('dlq', 'dead', ['route'], { keySerde: stringSerde, valueSerde: stringSerde })
      .build();
    const driver = new TopologyTestDriver(topology);
    const input = driver.createInputTopic('in', stringSerde, stringSerde);
    await input.pipeInput('1', 'fine');
    await input.pipeInput('2', 'bad one');
    expect(driver.createOutputTopic('ok', stringSerde, stringSerde).readValuesToList()).toEqual(['fine']);
    expect(driver.createOutputTopic('dead', stringSerde, stringSerde).readValuesToList()).toEqual([
      'bad one',
    ]);
  });
});
