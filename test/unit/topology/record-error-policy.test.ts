/**
 * The record-error policy of the task engine (topology/record-error.ts), through the TopologyTestDriver, which runs
 * the same engine and store layers as the Kafka runtime: a failing record is rolled back whole (store writes and
 * sink outputs), then dead-lettered or failed as the handler says; failures of the task itself bypass the handler.
 */
import { describe, expect, it } from 'vitest';
import { UscError } from '../../../common/errors.js';
import { keyValueStore } from '../../../stores/store-factory.js';
import type { Processor, ProcessorContext } from '../../../topology/processor.js';
import type { RecordErrorHandler, RecordFailure } from '../../../topology/record-error.js';
import { bytesSerde, jsonSerde, stringSerde, type Serde } from '../../../topology/serde.js';
import { TopologyTestDriver } from '../../../topology/test-driver.js';
import { TopologyBuilder } from '../../../topology/topology-builder.js';

/** Counts words in a store; throws (after writing and forwarding) on the value `boom`, `io` or `deep`. */
function counter(): Processor<string, string, string, unknown> {
  let ctx: ProcessorContext<string, unknown>;
  return {
    init: (c) => {
      ctx = c;
    },
    process: async (r) => {
      const store = ctx.getStateStore<string, number>('counts');
      const next = ((await store.get(r.value)) ?? 0) + 1;
      await store.put(r.value, next);
      await store.put('total', ((await store.get('total')) ?? 0) + 1);
      // An unserializable value (a cycle) makes the sink's serde throw: a failure of this record too.
      const value: unknown = r.value === 'cycle' ? cyclic() : next;
      await ctx.forward({ key: r.value, value, timestamp: r.timestamp, headers: {} });
      if (r.value === 'boom') throw new TypeError('cannot read properties of "PII-SECRET"');
      if (r.value === 'io') throw new UscError('USC_ERR_STORE_IO', 'simulated disk failure');
    },
  };
}

function cyclic(): unknown {
  const o: Record<string, unknown> = {};
  o.self = o;
  return o;
}

function topology(handler: RecordErrorHandler | undefined, opts: { valueSerde?: Serde<unknown> } = {}) {
  const builder = new TopologyBuilder()
    .addSource('words', 'in', { keySerde: stringSerde, valueSerde: opts.valueSerde ?? stringSerde })
    .addProcessor('count', counter as never, 'words')
    .addStateStore(keyValueStore('counts'), 'count')
    .addSink('out', 'out', ['count'], { keySerde: stringSerde, valueSerde: jsonSerde<unknown>() });
  if (handler) builder.onRecordError(handler, { deadLetterTopic: 'dead' });
  return builder.build();
}

function deadLettering(seen: RecordFailure[]): RecordErrorHandler {
  return (failure) => {
    seen.push(failure);
    return {
      action: 'continue',
      deadLetters: [
        {
          key: failure.record?.key ?? null,
          value: Buffer.from(
            JSON.stringify({ stage: failure.stage, node: failure.node, offset: failure.record?.offset }),
          ),
        },
      ],
    };
  };
}

describe('record-error policy', () => {
  it('rolls a failing record back whole, dead-letters it and goes on with the next one', async () => {
    const seen: RecordFailure[] = [];
    const driver = new TopologyTestDriver(topology(deadLettering(seen)));
    const input = driver.createInputTopic('in', stringSerde, stringSerde);
    await input.pipeRecords([
      { key: 'a', value: 'x' },
      { key: 'b', value: 'boom' },
      { key: 'c', value: 'x' },
      { key: 'd', value: 'cycle' },
      { key: 'e', value: 'y' },
    ]);
    const store = driver.getKeyValueStore<string, number>('counts');
    expect(await store.get('boom')).toBeUndefined();
    expect(await store.get('cycle')).toBeUndefined();
    expect(await store.get('total')).toBe(3);
    expect(driver.createOutputTopic('out', stringSerde, jsonSerde<number>()).readKeyValuesToMap()).toEqual(
      new Map([
        ['x', 2],
        ['y', 1],
      ]),
    );
    // The changelog holds nothing of the failed records either.
    const changelog = driver
      .createOutputTopic('test-app-counts-changelog', stringSerde, bytesSerde)
      .readRecordsToList()
      .map((r) => r.key);
    expect(changelog).not.toContain('boom');
    expect(changelog).not.toContain('cycle');
    const dead = driver.createOutputTopic('dead', stringSerde, jsonSerde<Record<string, unknown>>());
    expect(dead.readRecordsToList().map((r) => [r.key, r.value])).toEqual([
      ['b', { stage: 'process', node: 'count', offset: '1' }],
      ['d', { stage: 'process', node: 'out', offset: '3' }],
    ]);
    expect(seen.map((f) => f.error)).toEqual([
      expect.any(TypeError),
      expect.objectContaining({ code: 'USC_ERR_SERDE_FAILED' }),
    ]);
  });

  it('hands source deserialization failures to the handler as stage deserialize', async () => {
    const seen: RecordFailure[] = [];
    const driver = new TopologyTestDriver(
      topology(deadLettering(seen), { valueSerde: jsonSerde<unknown>() }),
    );
    const input = driver.createInputTopic('in', stringSerde, bytesSerde);
    await input.pipeInput('k', Buffer.from('{not json'));
    await input.pipeInput('k', Buffer.from('"x"'));
    expect(seen.map((f) => [f.stage, f.node])).toEqual([['deserialize', 'words']]);
    expect(seen[0]!.record?.value?.toString()).toBe('{not json');
    expect(await driver.getKeyValueStore<string, number>('counts').get('x')).toBe(1);
  });

  it('fails the task with nothing of the record applied when there is no policy', async () => {
    const driver = new TopologyTestDriver(topology(undefined));
    const input = driver.createInputTopic('in', stringSerde, stringSerde);
    await input.pipeInput('a', 'x');
    await expect(input.pipeInput('b', 'boom')).rejects.toMatchObject({
      code: 'USC_ERR_RECORD_FAILED',
      details: { stage: 'process', node: 'count' },
    });
    const store = driver.getKeyValueStore<string, number>('counts');
    expect(await store.get('boom')).toBeUndefined();
    expect(await store.get('total')).toBe(1);
  });

  it('fails when the handler says fail or throws', async () => {
    for (const handler of [
      (() => ({ action: 'fail' })) as RecordErrorHandler,
      (() => {
        throw new Error('handler bug');
      }) as RecordErrorHandler,
    ]) {
      const driver = new TopologyTestDriver(topology(handler));
      const input = driver.createInputTopic('in', stringSerde, stringSerde);
      await expect(input.pipeInput('b', 'boom')).rejects.toMatchObject({ code: 'USC_ERR_RECORD_FAILED' });
      expect(driver.createOutputTopic('dead', stringSerde, stringSerde).isEmpty()).toBe(true);
    }
  });

  it('never hands failures of the task itself (store I/O) to the handler', async () => {
    const seen: RecordFailure[] = [];
    const driver = new TopologyTestDriver(topology(deadLettering(seen)));
    const input = driver.createInputTopic('in', stringSerde, stringSerde);
    await expect(input.pipeInput('k', 'io')).rejects.toMatchObject({ code: 'USC_ERR_STORE_IO' });
    expect(seen).toEqual([]);
    expect(await driver.getKeyValueStore<string, number>('counts').get('io')).toBeUndefined();
  });

  it('treats a failing punctuation the same way: its writes are rolled back, later punctuations still run', async () => {
    const seen: RecordFailure[] = [];
    let runs = 0;
    const ticker = (): Processor<string, string, string, string> => {
      let ctx: ProcessorContext<string, string>;
      return {
        init: (c) => {
          ctx = c;
          c.schedule(1_000, 'wall-clock', async (now) => {
            runs++;
            const store = ctx.getStateStore<string, number>('ticks');
            await store.put(`t${runs}`, now);
            await ctx.forward({ key: `t${runs}`, value: String(now), timestamp: now, headers: {} });
            if (runs === 1) throw new RangeError('Maximum call stack size exceeded');
          });
        },
        process: () => {},
      };
    };
    const driver = new TopologyTestDriver(
      new TopologyBuilder()
        .addSource('s', 'in', { keySerde: stringSerde, valueSerde: stringSerde })
        .addProcessor('tick', ticker as never, 's')
        .addStateStore(keyValueStore('ticks'), 'tick')
        .addSink('out', 'out', ['tick'], { keySerde: stringSerde, valueSerde: stringSerde })
        .onRecordError(deadLettering(seen), { deadLetterTopic: 'dead' })
        .build(),
    );
    await driver.createInputTopic('in', stringSerde, stringSerde).pipeInput('k', 'v');
    await driver.advanceWallClockTime(1_000);
    await driver.advanceWallClockTime(1_000);
    await driver.commit();
    const ticks = driver.getKeyValueStore<string, number>('ticks');
    expect(await ticks.get('t1')).toBeUndefined();
    expect(await ticks.get('t2')).toBe(2_000);
    expect(driver.createOutputTopic('out', stringSerde, stringSerde).readKeyValuesToMap()).toEqual(
      new Map([['t2', '2000']]),
    );
    expect(seen.map((f) => [f.stage, f.node, f.record])).toEqual([['punctuate', 'tick', undefined]]);
  });
});

/** The counter as a batch processor: one getMany, an in-memory fold, one put and one output per word. */
function batchCounter(calls: number[]): Processor<string, string, string, unknown> {
  const single = counter();
  let ctx: ProcessorContext<string, unknown>;
  return {
    init: (c) => {
      ctx = c;
      return single.init?.(c);
    },
    process: (r) => single.process(r),
    processBatch: async (records) => {
      calls.push(records.length);
      const store = ctx.getStateStore<string, number>('counts');
      const words = [...new Set(records.map((r) => r.value))];
      const [before, total] = await Promise.all([store.getMany(words), store.get('total')]);
      const counts = new Map(words.map((w, i) => [w, before[i] ?? 0]));
      for (const r of records) {
        if (r.value === 'boom') throw new TypeError('a record this processor cannot take');
        counts.set(r.value, counts.get(r.value)! + 1);
      }
      for (const [word, n] of counts) {
        await store.put(word, n);
        await ctx.forward({ key: word, value: n, timestamp: 0, headers: {} });
      }
      await store.put('total', (total ?? 0) + records.length);
    },
  };
}

describe('batches', () => {
  const batchTopology = (calls: number[], seen: RecordFailure[]) =>
    new TopologyBuilder()
      .addSource('words', 'in', { keySerde: stringSerde, valueSerde: stringSerde })
      .addProcessor('count', (() => batchCounter(calls)) as never, 'words')
      .addStateStore(keyValueStore('counts'), 'count')
      .addSink('out', 'out', ['count'], {
        keySerde: stringSerde,
        valueSerde: jsonSerde<unknown>(),
        latestPerKey: true,
      })
      .onRecordError(deadLettering(seen), { deadLetterTopic: 'dead' })
      .build();

  it('hands a fetched batch to processBatch once, and sends one output per key per commit', async () => {
    const calls: number[] = [];
    const driver = new TopologyTestDriver(batchTopology(calls, []), { autoCommit: false });
    const input = driver.createInputTopic('in', stringSerde, stringSerde);
    await input.pipeRecords(['x', 'y', 'x', 'x'].map((w) => ({ key: 'k', value: w })));
    await driver.commit();
    expect(calls).toContain(4);
    const store = driver.getKeyValueStore<string, number>('counts');
    expect([await store.get('x'), await store.get('y'), await store.get('total')]).toEqual([3, 1, 4]);
    expect(
      driver
        .createOutputTopic('out', stringSerde, jsonSerde<number>())
        .readRecordsToList()
        .map((r) => [r.key, r.value]),
    ).toEqual([
      ['x', 3],
      ['y', 1],
    ]);
  });

  it('runs a batch that fails because of one record again record by record: only that record is dead-lettered', async () => {
    const calls: number[] = [];
    const seen: RecordFailure[] = [];
    const driver = new TopologyTestDriver(batchTopology(calls, seen), { autoCommit: false });
    const input = driver.createInputTopic('in', stringSerde, stringSerde);
    await input.pipeRecords(['x', 'y', 'boom', 'x'].map((w) => ({ key: 'k', value: w })));
    await driver.commit();
    expect(calls).toContain(4);
    const store = driver.getKeyValueStore<string, number>('counts');
    // Applied exactly once each, however often the batch was tried.
    expect([
      await store.get('x'),
      await store.get('y'),
      await store.get('boom'),
      await store.get('total'),
    ]).toEqual([2, 1, undefined, 3]);
    expect(seen.map((f) => [f.stage, f.record?.offset])).toEqual([['process', '2']]);
    const dead = driver.createOutputTopic('dead', stringSerde, jsonSerde<Record<string, unknown>>());
    expect(dead.readRecordsToList().map((r) => r.key)).toEqual(['k']);
    expect(driver.createOutputTopic('out', stringSerde, jsonSerde<number>()).readKeyValuesToMap()).toEqual(
      new Map([
        ['x', 2],
        ['y', 1],
      ]),
    );
  });
});
