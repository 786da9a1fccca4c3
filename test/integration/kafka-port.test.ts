/**
 * The Kafka port's runtime-critical behaviour on the real broker: a transactional commit reports the offsets it
 * wrote, a second producer with the same transactional id fences the first (classified `fenced`), ranges are read
 * exactly to their end under read_committed (aborted records never appear), and a custom assignor's userData is
 * readable by every member through describeGroup.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  GroupConsumer,
  PartitionReader,
  TaskProducer,
  classifyKafkaError,
  describeGroup,
  openAdmin,
  readRangesToEnd,
  wholeTopicRanges,
  type GroupAssignor,
} from '../../kafka/index.js';
import { silentLogger } from '../../common/logger.js';
import type { OutgoingRecord } from '../../topology/task-engine.js';
import { createTopics, testKafka, uniqueName } from '../support/kafka-test-utils.js';

const kafka = testKafka('port-test');
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

const record = (topic: string, partition: number, key: string, value: string | null): OutgoingRecord => ({
  topic,
  partition,
  key: Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
  timestamp: Date.now(),
  headers: {},
});

/**
 * The read_committed end (last stable offset) of one partition. A commit returns before the coordinator wrote its
 * markers, so tests poll this until it covers their transactions.
 */
const stableEnd = async (topic: string, partition: number): Promise<string | undefined> =>
  (await wholeTopicRanges(kafka, topic)).find((r) => r.partition === partition)?.end;
const poll = { timeout: 30_000, interval: 50 };

/** A fresh topic and a transactional producer (closed after the file's tests) to write to it. */
async function topicWithProducer(prefix: string, partitions: number) {
  const topic = uniqueName(prefix);
  await createTopics(kafka, [{ topic, partitions }]);
  const producer = await TaskProducer.transactional(kafka, uniqueName('txid'));
  cleanups.push(() => producer.disconnect());
  return { topic, producer };
}

describe('kafka port', () => {
  it('commits a transaction with offsets and reports the offset after the last record per partition', async () => {
    const topic = uniqueName('tx');
    const input = uniqueName('txin');
    await createTopics(kafka, [
      { topic, partitions: 2 },
      { topic: input, partitions: 1 },
    ]);
    const producer = await TaskProducer.transactional(kafka, uniqueName('txid'));
    cleanups.push(() => producer.disconnect());
    const group = uniqueName('g');
    const first = await producer.commit(
      [record(topic, 0, 'a', '1'), record(topic, 0, 'b', '2'), record(topic, 1, 'c', '3')],
      group,
      [{ topic: input, partition: 0, offset: '5' }],
    );
    expect(first.get(`${topic}:0`)).toBe('2');
    expect(first.get(`${topic}:1`)).toBe('1');
    // The second transaction starts after the first one's commit marker.
    const second = await producer.commit([record(topic, 0, 'd', null)], group, []);
    expect(second.get(`${topic}:0`)).toBe('4');

    const admin = await openAdmin(kafka);
    cleanups.push(() => admin.disconnect());
    const committed = await admin.fetchOffsets({ groupId: group, topics: [input] });
    expect(committed[0]?.partitions[0]?.offset).toBe('5');
    await expect.poll(() => stableEnd(topic, 0), poll).toBe('5');
  });

  it('commits a transaction larger than the message size limit of the broker (sent as several requests)', async () => {
    const { topic, producer } = await topicWithProducer('big', 1);
    // 3000 records of 1 KiB to one partition: ~3 MiB, three times message.max.bytes.
    const big = 'x'.repeat(1024);
    const records = Array.from({ length: 3000 }, (_, i) => record(topic, 0, `k${i}`, big));
    const written = await producer.commit(records, uniqueName('g'), []);
    expect(written.get(`${topic}:0`)).toBe('3000');
    await expect.poll(() => stableEnd(topic, 0), poll).toBe('3001'); // 3000 records + the commit marker
  });

  it('fences the older producer of a transactional id and classifies the error as fenced', async () => {
    const topic = uniqueName('fence');
    await createTopics(kafka, [{ topic, partitions: 1 }]);
    const txid = uniqueName('txid');
    const zombie = await TaskProducer.transactional(kafka, txid);
    cleanups.push(() => zombie.disconnect());
    await zombie.commit([record(topic, 0, 'k', 'zombie-1')], uniqueName('g'), []);
    const successor = await TaskProducer.transactional(kafka, txid);
    cleanups.push(() => successor.disconnect());
    const error = await zombie.commit([record(topic, 0, 'k', 'zombie-2')], uniqueName('g'), []).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeDefined();
    expect(classifyKafkaError(error)).toBe('fenced');
    await successor.commit([record(topic, 0, 'k', 'successor')], uniqueName('g'), []);
    // zombie-1 + marker, successor + marker (the fenced producer's records never reached the partition).
    await expect.poll(() => stableEnd(topic, 0), poll).toBe('4');

    const values: string[] = [];
    await readRangesToEnd(
      kafka,
      await wholeTopicRanges(kafka, topic),
      async (_range, batch) => {
        for (const r of batch.records) values.push(r.value!.toString());
      },
      { groupPrefix: uniqueName('read'), logger: silentLogger },
    );
    expect(values).toEqual(['zombie-1', 'successor']);
  });

  it('reads exactly the requested ranges and never returns aborted records', async () => {
    const { topic, producer } = await topicWithProducer('ranges', 2);
    const batch = (p: number, from: number, n: number) =>
      Array.from({ length: n }, (_, i) => record(topic, p, `k${from + i}`, `v${from + i}`));
    await producer.commit([...batch(0, 0, 10), ...batch(1, 0, 4)], uniqueName('g'), []);
    // A commit that fails after its records were sent (an empty group id is rejected) aborts them.
    const failed = await producer.commit(batch(0, 100, 3), '', [{ topic, partition: 0, offset: '1' }]).then(
      () => 'committed',
      () => 'failed',
    );
    expect(failed).toBe('failed');
    await producer.commit(batch(0, 10, 2), uniqueName('g'), []);
    // 10 records + marker, 3 aborted records + abort marker, 2 records + marker: the aborted ones are in the log.
    await expect.poll(() => stableEnd(topic, 0), poll).toBe('18');
    const seen: Record<number, string[]> = { 0: [], 1: [] };
    await readRangesToEnd(
      kafka,
      [
        {
          topic,
          partition: 0,
          from: '3',
          end: '18',
        },
        { topic, partition: 1, from: '1', end: '3' },
      ],
      async (range, b) => {
        for (const r of b.records) seen[range.partition]!.push(r.value!.toString());
      },
      { groupPrefix: uniqueName('read'), logger: silentLogger },
    );
    expect(seen[0]).toEqual(['v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9', 'v10', 'v11']);
    expect(seen[1]).toEqual(['v1', 'v2']);
  });

  it('stops reading ranges when aborted (a shutdown never waits for a restore)', async () => {
    const { topic, producer } = await topicWithProducer('abort-read', 1);
    await producer.commit([record(topic, 0, 'k', 'v')], uniqueName('g'), []);
    const controller = new AbortController();
    const seen: string[] = [];
    // The end lies beyond anything written: only the abort can end this read.
    const reading = readRangesToEnd(
      kafka,
      [{ topic, partition: 0, from: '0', end: '1000' }],
      async (_range, b) => {
        for (const r of b.records) seen.push(r.value!.toString());
        controller.abort(new Error('shutting down'));
      },
      { groupPrefix: uniqueName('read'), logger: silentLogger, signal: controller.signal },
    );
    await expect(reading).rejects.toThrow('shutting down');
    expect(seen).toEqual(['v']);
  });

  it('reads ranges that take many fetches, each offset once and in order, and a reader keeps following', async () => {
    const { topic, producer } = await topicWithProducer('many-fetches', 1);
    const filler = 'x'.repeat(1_000);
    const write = (from: number, n: number) =>
      producer.commit(
        Array.from({ length: n }, (_, i) => record(topic, 0, `k${from + i}`, `${from + i}:${filler}`)),
        uniqueName('g'),
        [],
      );
    for (let i = 0; i < 600; i += 200) await write(i, 200);
    // 600 records and 3 commit markers, once the last marker is written (the end is the last stable offset).
    const end = '603';
    await expect.poll(() => stableEnd(topic, 0), poll).toBe(end);
    // 600 records of 1 KB read 32 KiB at a time: about 20 fetches, each of which must move the position on.
    const seen: number[] = [];
    await readRangesToEnd(
      kafka,
      [{ topic, partition: 0, from: '0', end }],
      async (_range, b) => {
        for (const r of b.records) seen.push(Number(r.value!.toString().split(':')[0]));
      },
      { groupPrefix: uniqueName('read'), logger: silentLogger, maxBytesPerPartition: 32 * 1024 },
    );
    expect(seen).toEqual(Array.from({ length: 600 }, (_, i) => i));

    // A long-running reader (the standby's) delivers what is written later, and nothing twice.
    const followed: number[] = [];
    let reachedEnd: () => void = () => {};
    let readerFailed: (err: Error) => void = () => {};
    const caughtUp = new Promise<void>((resolve, reject) => {
      reachedEnd = resolve;
      readerFailed = reject;
    });
    const reader = await PartitionReader.start(
      kafka,
      {
        groupPrefix: uniqueName('follow'),
        partitions: [{ topic, partition: 0, offset: '0' }],
        maxBytesPerPartition: 32 * 1024,
        onError: (err) => readerFailed(err),
        onBatch: async (b) => {
          for (const r of b.records) followed.push(Number(r.value!.toString().split(':')[0]));
          if (followed.length >= 800) reachedEnd();
        },
      },
      silentLogger,
    );
    cleanups.push(() => reader.stop());
    await write(600, 200);
    await caughtUp;
    await reader.stop();
    expect(followed).toEqual(Array.from({ length: 800 }, (_, i) => i));
  });

  it("exposes every member's assignment userData through describeGroup", async () => {
    const topic = uniqueName('assign');
    await createTopics(kafka, [{ topic, partitions: 4 }]);
    const groupId = uniqueName('grp');
    const assignor: GroupAssignor = {
      name: 'TestAssignor',
      version: 1,
      subscriptionUserData: () => Buffer.from('hello'),
      assign: (members, partitionsByTopic) => {
        const n = partitionsByTopic.get(topic) ?? 0;
        const sorted = [...members].sort((a, b) => a.memberId.localeCompare(b.memberId));
        return new Map(
          sorted.map((m, i) => [
            m.memberId,
            {
              assignment: {
                [topic]: Array.from({ length: n }, (_, p) => p).filter((p) => p % sorted.length === i),
              },
              userData: Buffer.from(JSON.stringify({ index: i, saw: m.userData.toString() })),
            },
          ]),
        );
      },
    };
    const joined: Record<string, readonly number[]>[] = [];
    const consumer = new GroupConsumer(
      kafka,
      { groupId, topics: [topic], readCommitted: true, assignor, fromBeginning: true },
      {
        onBatch: async () => {},
        onAssigned: (a) => joined.push(a),
        onCrash: () => {},
      },
      silentLogger,
    );
    cleanups.push(() => consumer.stop());
    await consumer.start();
    expect(joined.at(-1)?.[topic]).toEqual([0, 1, 2, 3]);
    const admin = await openAdmin(kafka);
    cleanups.push(() => admin.disconnect());
    const view = await describeGroup(admin, groupId);
    expect(view.state).toBe('Stable');
    expect(view.members).toHaveLength(1);
    expect(JSON.parse(view.members[0]!.assignmentUserData.toString())).toEqual({ index: 0, saw: 'hello' });
    expect(view.members[0]!.subscriptionUserData.toString()).toBe('hello');
  });
});
