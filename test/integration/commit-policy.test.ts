/**
 * When an instance commits (ADR 0009), on the real broker: having processed everything it fetched, it commits
 * without waiting for the commit interval (but not sooner than the minimum interval after its previous commit);
 * with the minimum at the interval it keeps Kafka Streams' fixed interval. The interval here is ten minutes, so any
 * output a read_committed reader sees within the test came from a commit made because the instance was drained.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { wordCountTopology } from '../../topology/examples/word-count.js';
import { KafkaStreams } from '../../topology/kafka-streams.js';
import {
  createTopics,
  produce,
  readTopicToEnd,
  testKafka,
  TopicCollector,
  uniqueName,
} from '../support/kafka-test-utils.js';

const kafka = testKafka('commit-policy');
const TEN_MINUTES = 600_000;
const dirs: string[] = [];
const open: { close(): Promise<unknown> }[] = [];

afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close().catch(() => {});
});
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function wordCount(commitMinIntervalMs: number | undefined) {
  const app = uniqueName('commit');
  const input = `${app}-in`;
  const output = `${app}-out`;
  await createTopics(kafka, [
    { topic: input, partitions: 2 },
    { topic: output, partitions: 2 },
  ]);
  const stateDir = await mkdtemp(join(tmpdir(), 'usc-commit-'));
  dirs.push(stateDir);
  const registry = new Registry();
  const streams = new KafkaStreams(
    wordCountTopology(input, output, { partitions: 2 }),
    {
      applicationId: app,
      instanceId: 'i1',
      advertisedUrl: 'http://127.0.0.1:1',
      stateDir,
      processingGuarantee: 'exactly_once',
      commitIntervalMs: TEN_MINUTES,
      ...(commitMinIntervalMs === undefined ? {} : { commitMinIntervalMs }),
      numStandbyReplicas: 0,
      replicationFactor: 1,
    },
    { kafka, registry, logger: silentLogger },
  );
  open.push(streams);
  await streams.start();
  return { streams, registry, input, output };
}

/** A counter of the registry, summed over its labels. */
async function counter(registry: Registry, name: string): Promise<number> {
  return ((await registry.getSingleMetric(name)?.get())?.values ?? []).reduce((s, v) => s + v.value, 0);
}

/** Resolves when the counter reaches `atLeast` (checked between turns of the event loop). */
async function counterReaches(registry: Registry, name: string, atLeast: number): Promise<void> {
  while ((await counter(registry, name)) < atLeast) await new Promise((r) => setTimeout(r, 10));
}

describe('commit policy', () => {
  it('commits once it has processed everything it fetched, without waiting for the commit interval', async () => {
    const { input, output } = await wordCount(undefined);
    const collector = await new TopicCollector(kafka, [output]).start();
    open.push({ close: () => collector.stop() });
    await produce(kafka, input, [
      { key: 'a', value: 'alpha beta' },
      { key: 'b', value: 'alpha' },
    ]);
    // Through both sub-topologies (split, repartition by word, count): two drained commits in a row.
    await collector.waitUntil(
      () => collector.latest().get('alpha') === '2' && collector.latest().get('beta') === '1',
      60_000,
      'counts committed within the minute',
    );
    expect(collector.latest()).toEqual(
      new Map([
        ['alpha', '2'],
        ['beta', '1'],
      ]),
    );
  });

  it('with the minimum at the interval, keeps the fixed interval: processed records wait for it', async () => {
    const { registry, input, output } = await wordCount(TEN_MINUTES);
    const commitsBefore = await counter(registry, 'usc_streams_commits_total');
    await produce(kafka, input, [{ key: 'a', value: 'gamma' }]);
    await counterReaches(registry, 'usc_streams_records_processed_total', 1);
    // A second record processed after the first: the poll that brought the first one (and any commit it would
    // have made) is over.
    await produce(kafka, input, [{ key: 'b', value: 'delta' }]);
    await counterReaches(registry, 'usc_streams_records_processed_total', 2);
    expect(await counter(registry, 'usc_streams_commits_total')).toBe(commitsBefore);
    expect(await readTopicToEnd(kafka, output)).toEqual([]);
  });
});
