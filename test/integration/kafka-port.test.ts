/**
 * The Kafka port's runtime-critical behaviour on the real broker: one transaction carries records and a group's
 * offsets (sent with the consumer's group metadata) and reports the offsets it wrote; a second producer with the
 * same transactional id fences the first (classified `fenced`); ranges are read exactly to their end under
 * read_committed by an assigned reader (aborted records never appear); the group consumer rebalances
 * cooperatively (only moved partitions are revoked, siblings travel with their lead partition) and a static member
 * that restarts gets its partitions back without a rebalance.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  GroupConsumer,
  InstanceProducer,
  PartitionReader,
  classifyKafkaError,
  committedOffsets,
  describeGroup,
  openAdmin,
  readRangesToEnd,
  wholeTopicRanges,
  isConsumerFatal,
  type ConsumedBatch,
  type TopicPartition,
} from '../../kafka/index.js';
import type { UscError } from '../../common/errors.js';
import { silentLogger } from '../../common/logger.js';
import { callback, rdkafka } from '../../kafka/native.js';
import type { OutgoingRecord } from '../../topology/task-engine.js';
import { committedValues, createTopics, testKafka, uniqueName } from '../support/kafka-test-utils.js';

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
  const producer = await InstanceProducer.transactional(kafka, uniqueName('txid'));
  cleanups.push(() => producer.disconnect());
  return { topic, producer };
}

/** A group member that records what it is assigned and revoked, optionally adding sibling partitions. */
function member(
  groupId: string,
  topics: string[],
  options: { instanceId?: string; siblings?: (p: TopicPartition) => TopicPartition[] } = {},
) {
  const events: string[] = [];
  const assigned = new Set<string>();
  const batches: ConsumedBatch[] = [];
  const failures: unknown[] = [];
  const consumer = new GroupConsumer(
    kafka,
    {
      groupId,
      topics,
      readCommitted: true,
      fromBeginning: true,
      groupInstanceId: options.instanceId,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 500,
    },
    {
      onAssigned: async (ps) => {
        const all = ps.flatMap((p) => [p, ...(options.siblings?.(p) ?? [])]);
        for (const p of all) assigned.add(`${p.topic}:${p.partition}`);
        events.push(`assign ${ps.map((p) => p.partition).join(',')}`);
        return all;
      },
      onRevoked: async (ps, lost) => {
        const all = ps.flatMap((p) => [p, ...(options.siblings?.(p) ?? [])]);
        for (const p of all) assigned.delete(`${p.topic}:${p.partition}`);
        events.push(`${lost ? 'lost' : 'revoke'} ${ps.map((p) => p.partition).join(',')}`);
        return all;
      },
      onBatches: async (bs) => void batches.push(...bs),
      onError: () => {},
      onClientFailed: (err) => void failures.push(err),
    },
    silentLogger,
  );
  return { consumer, events, assigned, batches, failures };
}

describe('kafka port', () => {
  it('commits records and a group’s offsets in one transaction and reports the offset after the last record per partition', async () => {
    const topic = uniqueName('tx');
    const input = uniqueName('txin');
    await createTopics(kafka, [
      { topic, partitions: 2 },
      { topic: input, partitions: 1 },
    ]);
    const group = uniqueName('g');
    const m = member(group, [input]);
    cleanups.push(() => m.consumer.stop());
    await m.consumer.start();
    await expect.poll(() => m.assigned.size, poll).toBe(1);
    const producer = await InstanceProducer.transactional(kafka, uniqueName('txid'));
    cleanups.push(() => producer.disconnect());
    const first = await producer.commit(
      [record(topic, 0, 'a', '1'), record(topic, 0, 'b', '2'), record(topic, 1, 'c', '3')],
      [{ topic: input, partition: 0, offset: '5' }],
      m.consumer,
    );
    expect(first.get(`${topic}:0`)).toBe('2');
    expect(first.get(`${topic}:1`)).toBe('1');
    // The second transaction starts after the first one's commit marker.
    const second = await producer.commit([record(topic, 0, 'd', null)], [], undefined);
    expect(second.get(`${topic}:0`)).toBe('4');

    expect((await m.consumer.committed([{ topic: input, partition: 0 }])).get(`${input}:0`)).toBe('5');
    const admin = await openAdmin(kafka);
    cleanups.push(() => admin.disconnect());
    expect((await committedOffsets(admin, group, [input])).get(input)?.get(0)).toBe('5');
    await expect.poll(() => stableEnd(topic, 0), poll).toBe('5');
  });

  it('sends records ahead of the commit in its transaction: unseen until it commits, gone if it aborts, counted in the written offsets', async () => {
    const { topic, producer } = await topicWithProducer('ahead', 1);
    await producer.send([record(topic, 0, 'k', 'a'), record(topic, 0, 'k', 'b')]);
    expect(producer.hasSentAhead).toBe(true);
    // A read_committed reader ends at the open transaction's first record: nothing of it is visible.
    expect(await stableEnd(topic, 0)).toBe('0');
    const first = await producer.commit([record(topic, 0, 'k', 'c')], [], undefined);
    expect(producer.hasSentAhead).toBe(false);
    expect(first.get(`${topic}:0`)).toBe('3');

    await producer.send([record(topic, 0, 'k', 'never')]);
    await producer.abortSentAhead();
    expect(producer.hasSentAhead).toBe(false);
    await producer.send([record(topic, 0, 'k', 'd')]);
    const second = await producer.commit([], [], undefined);
    // d follows the first commit's marker and whatever the abort left (the aborted record and its marker, when
    // the client had sent it before the abort): its commit marker comes right after it.
    const afterD = Number(second.get(`${topic}:0`));
    expect(afterD).toBeGreaterThanOrEqual(5);
    await expect.poll(() => stableEnd(topic, 0), poll).toBe(String(afterD + 1));
    expect(await committedValues(kafka, topic)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('commits a transaction larger than the broker’s message size limit', async () => {
    const { topic, producer } = await topicWithProducer('big', 1);
    // 3000 records of 1 KiB to one partition: ~3 MiB, three times message.max.bytes.
    const big = 'x'.repeat(1024);
    const records = Array.from({ length: 3000 }, (_, i) => record(topic, 0, `k${i}`, big));
    const written = await producer.commit(records, [], undefined);
    expect(written.get(`${topic}:0`)).toBe('3000');
    await expect.poll(() => stableEnd(topic, 0), poll).toBe('3001'); // 3000 records + the commit marker
  });

  it('fences the older producer of a transactional id and classifies the error as fenced', async () => {
    const topic = uniqueName('fence');
    await createTopics(kafka, [{ topic, partitions: 1 }]);
    const txid = uniqueName('txid');
    const zombie = await InstanceProducer.transactional(kafka, txid);
    cleanups.push(() => zombie.disconnect());
    await zombie.commit([record(topic, 0, 'k', 'zombie-1')], [], undefined);
    const successor = await InstanceProducer.transactional(kafka, txid);
    cleanups.push(() => successor.disconnect());
    const error = await zombie.commit([record(topic, 0, 'k', 'zombie-2')], [], undefined).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeDefined();
    expect(classifyKafkaError(error)).toBe('fenced');
    await successor.commit([record(topic, 0, 'k', 'successor')], [], undefined);
    await expect.poll(() => stableEnd(topic, 0), poll).toBe('4');
    expect(await committedValues(kafka, topic)).toEqual(['zombie-1', 'successor']);
  });

  it('reports a transaction the broker aborted for outliving its timeout as expired (retriable), not as a fence', async () => {
    const topic = uniqueName('expired');
    await createTopics(kafka, [{ topic, partitions: 1 }]);
    const txid = uniqueName('txid');
    const stalled = await InstanceProducer.transactional(kafka, txid, { transactionTimeoutMs: 1_000 });
    cleanups.push(() => stalled.disconnect());
    await stalled.commit([record(topic, 0, 'k', 'before')], [], undefined);
    // The process stalls (a pause, a starved event loop) after its first record: the transaction stays open, the
    // broker (the test broker checks every second, test/support/global-setup.ts) aborts it once a second has
    // passed and bumps the epoch.
    const first = record(topic, 0, 'k', 'stalled');
    const stalling: OutgoingRecord[] = [first];
    stalling[Symbol.iterator] = function* () {
      yield first;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5_000);
      return undefined;
    } as () => ArrayIterator<OutgoingRecord>;
    const error = await stalled.commit(stalling, [], undefined).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect((error as UscError | undefined)?.code).toBe('USC_ERR_TASK_TRANSACTION_EXPIRED');
    expect(classifyKafkaError(error)).toBe('retriable');
    // The runtime's answer: a new producer with the same id takes over and commits.
    const renewed = await InstanceProducer.transactional(kafka, txid, { transactionTimeoutMs: 1_000 });
    cleanups.push(() => renewed.disconnect());
    await renewed.commit([record(topic, 0, 'k', 'after')], [], undefined);
    // Read until the renewed producer's commit is stable; the stalled record must never be among them.
    await expect.poll(() => committedValues(kafka, topic), poll).toEqual(['before', 'after']);
  });

  it('reports committed offsets an open transaction holds as not stable (retriable), and reads them once it ends', async () => {
    const input = uniqueName('unstable');
    await createTopics(kafka, [{ topic: input, partitions: 1 }]);
    const m = member(uniqueName('g'), [input]);
    cleanups.push(() => m.consumer.stop());
    await m.consumer.start();
    await expect.poll(() => m.assigned.size, poll).toBe(1);
    // A transaction that sent the group's offsets and stays open (as a hanging one does after lost markers).
    const { Producer } = rdkafka();
    const open = new Producer(
      kafka.config({ 'transactional.id': uniqueName('txid'), 'transaction.timeout.ms': 60_000 }) as never,
    );
    await callback((done) => open.connect({ timeout: 30_000 }, (e) => done(e)));
    cleanups.push(() => callback((done) => open.disconnect(5_000, (e) => done(e))));
    await callback((done) => open.initTransactions(30_000, (e) => done(e)));
    await callback((done) => open.beginTransaction((e) => done(e)));
    await callback((done) =>
      open.sendOffsetsToTransaction(
        [{ topic: input, partition: 0, offset: 3 }],
        m.consumer.lowLevel,
        30_000,
        (e) => done(e),
      ),
    );
    const error = await m.consumer.committed([{ topic: input, partition: 0 }], 2_000).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as UscError | undefined)?.code).toBe('USC_ERR_KAFKA_OFFSETS_NOT_STABLE');
    expect((error as Error).message).toContain(`${input}-0`);
    expect(classifyKafkaError(error)).toBe('retriable');
    await callback((done) => open.abortTransaction(30_000, (e) => done(e)));
    expect((await m.consumer.committed([{ topic: input, partition: 0 }])).get(`${input}:0`)).toBe('-1');
  });

  it('reads exactly the requested ranges and never returns aborted records', async () => {
    const { topic, producer } = await topicWithProducer('ranges', 2);
    const batch = (p: number, from: number, n: number) =>
      Array.from({ length: n }, (_, i) => record(topic, p, `k${from + i}`, `v${from + i}`));
    await producer.commit([...batch(0, 0, 10), ...batch(1, 0, 4)], [], undefined);
    // A commit whose offsets cannot be sent (its consumer is closed) fails after its records were sent: they are
    // aborted.
    const closed = member(uniqueName('g'), [topic]);
    await closed.consumer.start();
    await closed.consumer.stop();
    const failed = await producer
      .commit(batch(0, 100, 3), [{ topic, partition: 0, offset: '1' }], closed.consumer)
      .then(
        () => 'committed',
        () => 'failed',
      );
    expect(failed).toBe('failed');
    const last = await producer.commit(batch(0, 10, 2), [], undefined);
    // 10 records + marker, the aborted records (when they reached the log) + abort marker, 2 records + marker.
    const end = String(Number(last.get(`${topic}:0`)) + 1);
    await expect.poll(() => stableEnd(topic, 0), poll).toBe(end);
    const seen: Record<number, string[]> = { 0: [], 1: [] };
    await readRangesToEnd(
      kafka,
      [
        { topic, partition: 0, from: '3', end },
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
    await producer.commit([record(topic, 0, 'k', 'v')], [], undefined);
    const controller = new AbortController();
    const seen: string[] = [];
    // The end lies beyond anything written: only the abort can end this read.
    const reading = readRangesToEnd(
      kafka,
      [{ topic, partition: 0, from: '0', end: '1000' }],
      async (_range, b) => {
        for (const r of b.records) seen.push(r.value!.toString());
        if (seen.length > 0) controller.abort(new Error('shutting down'));
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
        [],
        undefined,
      );
    for (let i = 0; i < 600; i += 200) await write(i, 200);
    // 600 records and 3 commit markers, once the last marker is written (the end is the last stable offset).
    const end = '603';
    await expect.poll(() => stableEnd(topic, 0), poll).toBe(end);
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

    // A long-running reader (the standby's) delivers what is written later, and nothing twice; its position moves
    // past the commit markers.
    const followed: number[] = [];
    let next = '0';
    let readerFailed: (err: Error) => void = () => {};
    const failed = new Promise<never>((_, reject) => (readerFailed = reject));
    failed.catch(() => {});
    const reader = await PartitionReader.start(
      kafka,
      {
        groupPrefix: uniqueName('follow'),
        partitions: [{ topic, partition: 0, offset: '0' }],
        maxBytesPerPartition: 32 * 1024,
        onError: (err) => readerFailed(err),
        onBatch: async (b) => {
          for (const r of b.records) followed.push(Number(r.value!.toString().split(':')[0]));
          next = b.nextOffset;
        },
      },
      silentLogger,
    );
    cleanups.push(() => reader.stop());
    await write(600, 200);
    await expect.poll(() => next, poll).toBe('804');
    await reader.stop();
    expect(followed).toEqual(Array.from({ length: 800 }, (_, i) => i));
  });

  it('rebalances cooperatively: a joining member takes only moved partitions, siblings travel with their lead', async () => {
    const lead = uniqueName('lead');
    const sibling = uniqueName('sib');
    await createTopics(kafka, [
      { topic: lead, partitions: 4 },
      { topic: sibling, partitions: 4 },
    ]);
    const groupId = uniqueName('coop');
    const siblings = (p: TopicPartition) => [{ topic: sibling, partition: p.partition }];
    const a = member(groupId, [lead], { instanceId: 'a', siblings });
    cleanups.push(() => a.consumer.stop());
    await a.consumer.start();
    await expect.poll(() => a.assigned.size, poll).toBe(8);
    const b = member(groupId, [lead], { instanceId: 'b', siblings });
    cleanups.push(() => b.consumer.stop());
    await b.consumer.start();
    await expect
      .poll(() => a.assigned.size + b.assigned.size === 8 && b.assigned.size === 4, poll)
      .toBe(true);
    // a kept two lead partitions untouched: it was revoked exactly the two that moved, never everything.
    expect(a.events[0]).toBe('assign 0,1,2,3');
    expect(a.events.filter((e) => e.startsWith('revoke'))).toHaveLength(1);
    expect(
      a.events
        .find((e) => e.startsWith('revoke'))!
        .split(' ')[1]!
        .split(','),
    ).toHaveLength(2);
    for (const p of [0, 1, 2, 3]) {
      const owner = a.assigned.has(`${lead}:${p}`) ? a : b;
      expect(owner.assigned.has(`${sibling}:${p}`)).toBe(true);
    }
    const admin = await openAdmin(kafka);
    cleanups.push(() => admin.disconnect());
    const view = await describeGroup(admin, groupId);
    expect(view.members.map((m) => m.instanceId).sort()).toEqual(['a', 'b']);
    expect(view.members.find((m) => m.instanceId === 'b')?.assignment[lead]).toHaveLength(2);

    // Static membership: b closes and a new b joins within the session timeout: it gets the same partitions back
    // and a is not rebalanced.
    const before = [...b.assigned].sort();
    const eventsOfA = a.events.length;
    await b.consumer.stop();
    const b2 = member(groupId, [lead], { instanceId: 'b', siblings });
    cleanups.push(() => b2.consumer.stop());
    await b2.consumer.start();
    await expect.poll(() => [...b2.assigned].sort(), poll).toEqual(before);
    expect(a.events.length).toBe(eventsOfA);
  });

  it('reports a static member fenced by a newer member with its group.instance.id as a failed client, once', async () => {
    const topic = uniqueName('fence');
    await createTopics(kafka, [{ topic, partitions: 2 }]);
    const groupId = uniqueName('fence');
    const first = member(groupId, [topic], { instanceId: 'x' });
    cleanups.push(() => first.consumer.stop());
    await first.consumer.start();
    await expect.poll(() => first.assigned.size, poll).toBe(2);
    // A second incarnation of x joins while the first still runs: the coordinator hands it x's partitions and
    // fences the first at its next heartbeat. librdkafka raises that as a fatal consumer error.
    const second = member(groupId, [topic], { instanceId: 'x' });
    cleanups.push(() => second.consumer.stop());
    await second.consumer.start();
    await expect.poll(() => second.assigned.size, poll).toBe(2);
    await expect.poll(() => first.failures.length, poll).toBe(1);
    expect(isConsumerFatal(first.failures[0])).toBe(true);
    expect(second.failures).toEqual([]);
    // The failed consumer closes without hanging, and nothing else is reported for it.
    await first.consumer.stop();
    expect(first.failures).toHaveLength(1);
  });
});
