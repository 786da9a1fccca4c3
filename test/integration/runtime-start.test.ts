/**
 * What KafkaStreams.start refuses, on the real broker: sources that must be co-partitioned but are not, and a
 * state directory another live instance holds. Both fail fast with a clear error and leave nothing running.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../common/errors.js';
import { silentLogger } from '../../common/logger.js';
import { wordCountTopology } from '../../topology/examples/word-count.js';
import { KafkaStreams } from '../../topology/kafka-streams.js';
import { TopologyBuilder } from '../../topology/topology-builder.js';
import type { Topology } from '../../topology/topology.js';
import { createTopics, testKafka, uniqueName } from '../support/kafka-test-utils.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

const kafka = testKafka('runtime-start');

async function instance(topology: Topology, applicationId: string, stateDir?: string) {
  const dir = stateDir ?? (await mkdtemp(join(tmpdir(), 'usc-start-')));
  if (!stateDir) cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const streams = new KafkaStreams(
    topology,
    {
      applicationId,
      instanceId: uniqueName('i'),
      advertisedUrl: 'http://127.0.0.1:1',
      stateDir: dir,
      processingGuarantee: 'exactly_once',
      commitIntervalMs: 100,
      numStandbyReplicas: 0,
      replicationFactor: 1,
    },
    { kafka, registry: new Registry(), logger: silentLogger },
  );
  cleanups.push(() => streams.close());
  return { streams, dir };
}

async function startError(streams: KafkaStreams): Promise<unknown> {
  return streams.start().then(
    () => undefined,
    (err: unknown) => err,
  );
}

describe('KafkaStreams.start', () => {
  it('refuses sources that must be co-partitioned but have different partition counts', async () => {
    const a = uniqueName('copart-a');
    const b = uniqueName('copart-b');
    await createTopics(kafka, [
      { topic: a, partitions: 4 },
      { topic: b, partitions: 6 },
    ]);
    const topology = new TopologyBuilder()
      .addSource('both', [a, b])
      .addProcessor('p', () => ({ init: () => {}, process: async () => {} }), 'both')
      .build();
    const { streams } = await instance(topology, uniqueName('copart'));
    const err = await startError(streams);
    expect(hasCode(err, 'USC_ERR_TOPOLOGY_COPARTITION')).toBe(true);
    expect((err as Error).message).toContain(`${a} (4), ${b} (6)`);
    expect(streams.state).not.toBe('running');
  });

  it('refuses a state directory that another live instance holds', async () => {
    const input = uniqueName('lock-in');
    const output = uniqueName('lock-out');
    await createTopics(kafka, [
      { topic: input, partitions: 2 },
      { topic: output, partitions: 2 },
    ]);
    const app = uniqueName('lock');
    const first = await instance(wordCountTopology(input, output), app);
    await first.streams.start();
    const second = await instance(wordCountTopology(input, output), app, first.dir);
    const err = await startError(second.streams);
    expect(hasCode(err, 'USC_ERR_STATE_DIR_LOCKED')).toBe(true);
    expect(first.streams.state).not.toBe('error');
  });
});
