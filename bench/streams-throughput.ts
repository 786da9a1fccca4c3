/**
 * Throughput of the streams runtime on a real broker: pre-produces N input records, starts one in-process
 * instance of a topology, and measures the time from "all tasks running" until the application's committed input
 * offsets reach the end of the input (everything processed AND committed). Beside it, the raw consume rate of the
 * same records by a bare consumer on the same broker, as the ceiling.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { silentLogger } from '../common/logger.js';
import {
  committedOffsets,
  createKafka,
  followTopic,
  listTopics,
  ensureTopics,
  openAdmin,
  Publisher,
  topicOffsets,
  type KafkaClient,
} from '../kafka/index.js';
import { KafkaStreams } from '../topology/kafka-streams.js';
import type { ProcessingGuarantee } from '../topology/streams-config.js';
import type { Topology } from '../topology/topology.js';

export interface ThroughputResult {
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  /** With `measureRestore`: a second instance on an empty state directory restoring every store. */
  readonly restore?: {
    readonly records: number;
    readonly seconds: number;
    readonly recordsPerSecond: number;
  };
}

/** Produces `records` messages made by `make(i)` into `topic` in large batches. */
export async function produceBulk(
  kafka: KafkaClient,
  topic: string,
  records: number,
  make: (i: number) => { key: string; value: string },
): Promise<void> {
  const publisher = await Publisher.open(kafka);
  try {
    const batch = 2_000;
    for (let i = 0; i < records; i += batch) {
      const messages = [];
      for (let j = i; j < Math.min(records, i + batch); j++) messages.push(make(j));
      await publisher.publish(topic, messages, batch);
    }
  } finally {
    await publisher.close();
  }
}

/**
 * Resolves once the group's committed offsets reached the end (read_committed) of the input and of every
 * repartition topic of the application: every stage of the topology processed and committed everything.
 */
export async function waitCaughtUp(
  kafka: KafkaClient,
  applicationId: string,
  input: string,
  timeoutMs: number,
): Promise<void> {
  const admin = await openAdmin(kafka);
  try {
    const topics = [
      input,
      ...(await listTopics(admin)).filter(
        (t) => t.startsWith(`${applicationId}-`) && t.endsWith('-repartition'),
      ),
    ];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const committed = await committedOffsets(admin, applicationId, topics);
      let done = true;
      for (const topic of topics) {
        for (const [p, { high }] of await topicOffsets(admin, topic)) {
          if (BigInt(committed.get(topic)?.get(p) ?? '-1') < BigInt(high)) done = false;
        }
      }
      if (done) return;
      if (Date.now() > deadline) throw new Error(`not caught up within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50)); // poll period of the condition
    }
  } finally {
    await admin.disconnect();
  }
}

export interface StreamsBenchOptions {
  readonly brokers: readonly string[];
  readonly guarantee: ProcessingGuarantee;
  readonly records: number;
  readonly partitions: number;
  /** Builds the topology for the given input/output topic names. */
  readonly topology: (input: string, output: string) => Topology;
  /** Extra topics the topology writes (e.g. a DLQ), created with the input's partition count. */
  readonly extraTopics?: readonly string[];
  readonly makeRecord: (i: number) => { key: string; value: string };
  readonly commitIntervalMs?: number;
  readonly measureRestore?: boolean;
}

/** Runs one measurement; creates its own topics and state directory, removes the state afterwards. */
export async function benchStreamsThroughput(options: StreamsBenchOptions): Promise<ThroughputResult> {
  const id = `bench-${randomUUID().slice(0, 8)}`;
  const input = `${id}-in`;
  const output = `${id}-out`;
  const kafka = createKafka({ brokers: options.brokers, clientId: id }, silentLogger);
  const admin = await openAdmin(kafka);
  try {
    await ensureTopics(admin, [
      { topic: input, partitions: options.partitions },
      { topic: output, partitions: options.partitions },
      ...(options.extraTopics ?? []).map((t) => ({ topic: t, partitions: options.partitions })),
    ]);
  } finally {
    await admin.disconnect();
  }
  await produceBulk(kafka, input, options.records, options.makeRecord);
  const start = async (instanceId: string) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'usc-bench-'));
    const registry = new Registry();
    const streams = new KafkaStreams(
      options.topology(input, output),
      {
        applicationId: id,
        instanceId,
        advertisedUrl: 'http://127.0.0.1:1',
        stateDir,
        processingGuarantee: options.guarantee,
        commitIntervalMs: options.commitIntervalMs ?? 100,
        numStandbyReplicas: 0,
        replicationFactor: 1,
      },
      { kafka, registry, logger: silentLogger },
    );
    const ready = new Promise<void>((resolve) =>
      streams.onStateChange(() => {
        if (streams.isReady()) resolve();
      }),
    );
    const close = async () => {
      await streams.close();
      await rm(stateDir, { recursive: true, force: true });
    };
    try {
      await streams.start();
    } catch (err) {
      await close();
      throw err;
    }
    return { streams, ready, close };
  };
  const first = await start('bench');
  let result: ThroughputResult;
  try {
    await first.ready;
    const started = performance.now();
    await waitCaughtUp(kafka, id, input, 600_000);
    const seconds = (performance.now() - started) / 1000;
    result = { records: options.records, seconds, recordsPerSecond: options.records / seconds };
  } finally {
    await first.close();
  }
  if (!options.measureRestore) return result;
  const restoreStarted = performance.now();
  const second = await start('bench-restore');
  try {
    await second.ready;
    const seconds = (performance.now() - restoreStarted) / 1000;
    const metric = await second.streams.metrics.restoreRecords.get();
    const records = metric.values.reduce((n, v) => n + v.value, 0);
    return { ...result, restore: { records, seconds, recordsPerSecond: records / seconds } };
  } finally {
    await second.close();
  }
}

/** Raw consume rate of `records` pre-produced records by a bare consumer (read_committed, no processing). */
export async function benchRawConsume(options: {
  readonly brokers: readonly string[];
  readonly records: number;
  readonly partitions: number;
  readonly makeRecord: (i: number) => { key: string; value: string };
}): Promise<ThroughputResult> {
  const id = `raw-${randomUUID().slice(0, 8)}`;
  const kafka = createKafka({ brokers: options.brokers, clientId: id }, silentLogger);
  const admin = await openAdmin(kafka);
  try {
    await ensureTopics(admin, [{ topic: id, partitions: options.partitions }]);
  } finally {
    await admin.disconnect();
  }
  await produceBulk(kafka, id, options.records, options.makeRecord);
  let seen = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  // From the moment the reader is assigned (its first fetch follows), like the streams figures that start at ready.
  const started = performance.now();
  const follower = await followTopic(
    kafka,
    id,
    (batch) => {
      seen += batch.records.length;
      if (seen >= options.records) resolveDone();
    },
    { name: id, logger: silentLogger },
  );
  await done;
  const seconds = (performance.now() - started) / 1000;
  await follower.stop();
  return { records: options.records, seconds, recordsPerSecond: options.records / seconds };
}
