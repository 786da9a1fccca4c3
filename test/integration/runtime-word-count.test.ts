/**
 * The streams runtime on the real broker, with instances as child processes: exactly-once through SIGKILL,
 * restore of only the changelog tail, scale out / in with standbys and an owner map every instance agrees on.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import {
  GroupConsumer,
  describeGroup,
  openAdmin,
  partitionCounts,
  wholeTopicRanges,
} from '../../kafka/index.js';
import { spawnInstance, type InstanceHandle } from '../support/instance-harness.js';
import {
  TopicCollector,
  createTopics,
  produce,
  testKafka,
  uniqueName,
  type CollectedRecord,
} from '../support/kafka-test-utils.js';
import { describeTopicConfig } from '../support/topic-config.js';

const kafka = testKafka('runtime-test');
const VOCABULARY = Array.from({ length: 24 }, (_, i) => `w${i.toString(36)}x`);
const running: InstanceHandle[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.kill()));
});
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function sentences(count: number, seed: number): string[] {
  let x = seed;
  const next = (): number => (x = (x * 1103515245 + 12345) % 2 ** 31);
  return Array.from({ length: count }, () =>
    Array.from({ length: 1 + (next() % 6) }, () => VOCABULARY[next() % VOCABULARY.length]).join(' '),
  );
}

function expectedCounts(all: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of all) for (const w of s.split(' ')) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

function countsMatch(records: CollectedRecord[], expected: Map<string, number>): boolean {
  const latest = new Map<string, string | null>();
  for (const r of records) if (r.key !== null) latest.set(r.key, r.value);
  if (latest.size !== expected.size) return false;
  for (const [w, n] of expected) if (latest.get(w) !== String(n)) return false;
  return true;
}

/** Every word's outputs are exactly 1..N (nothing lost, nothing counted twice) once the counts are final. */
async function expectExactlyOnceCounts(
  collector: TopicCollector,
  expected: Map<string, number>,
): Promise<void> {
  await collector.waitUntil((r) => countsMatch(r, expected), 120_000, 'final counts');
  const seen = new Map<string, number[]>();
  for (const r of collector.records) seen.set(r.key!, [...(seen.get(r.key!) ?? []), Number(r.value)]);
  for (const [word, n] of expected) {
    expect(seen.get(word), word).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  }
}

async function setup(partitions = 3) {
  const app = uniqueName('wc');
  const input = `${app}-in`;
  const output = `${app}-out`;
  await createTopics(kafka, [
    { topic: input, partitions },
    { topic: output, partitions },
  ]);
  const collector = await new TopicCollector(kafka, [output]).start();
  return { app, input, output, collector };
}

async function stateDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'usc-state-'));
  dirs.push(d);
  return d;
}

function start(
  name: string,
  env: {
    app: string;
    input: string;
    output: string;
    stateDir: string;
    standbys?: number;
    guarantee?: string;
    failOnWord?: string;
    groupProtocol?: 'classic' | 'consumer';
    commitIntervalMs?: number;
  },
): InstanceHandle {
  const handle = spawnInstance(name, './streams-child.ts', {
    APPLICATION_ID: env.app,
    INSTANCE_ID: name,
    INPUT_TOPIC: env.input,
    OUTPUT_TOPIC: env.output,
    STATE_DIR: env.stateDir,
    NUM_STANDBY_REPLICAS: String(env.standbys ?? 0),
    PROCESSING_GUARANTEE: env.guarantee ?? 'exactly_once',
    COMMIT_INTERVAL_MS: String(env.commitIntervalMs ?? 50),
    // A longer interval also holds back the commit of a drained instance (ADR 0009).
    ...(env.commitIntervalMs ? { COMMIT_MIN_INTERVAL_MS: String(env.commitIntervalMs) } : {}),
    ...(env.failOnWord ? { FAIL_ON_WORD: env.failOnWord } : {}),
    ...(env.groupProtocol ? { GROUP_PROTOCOL: env.groupProtocol } : {}),
  });
  running.push(handle);
  return handle;
}

const produceSentences = (topic: string, list: string[]) =>
  produce(
    kafka,
    topic,
    list.map((s, i) => ({ key: `k${i % 17}`, value: s })),
  );

describe('streams runtime on a real broker', () => {
  it('counts exactly once across SIGKILL and restart (every word emits exactly 1..N)', async () => {
    const { app, input, output, collector } = await setup();
    const dir = await stateDir();
    const first = sentences(400, 7);
    const second = sentences(400, 11);
    let a = start('a', { app, input, output, stateDir: dir });
    await a.waitFor((m) => m.event === 'ready', 120_000, 'ready');
    await produceSentences(input, first);
    await collector.waitUntil((r) => r.length >= 200, 60_000, 'some committed output');
    await a.kill();
    running.splice(running.indexOf(a), 1);

    a = start('a', { app, input, output, stateDir: dir });
    await a.waitFor((m) => m.event === 'ready', 120_000, 'ready after restart');
    await produceSentences(input, second);
    await expectExactlyOnceCounts(collector, expectedCounts([...first, ...second]));

    const admin = await openAdmin(kafka);
    try {
      const counts = await partitionCounts(admin, [`${app}-words-repartition`, `${app}-counts-changelog`]);
      expect(counts.get(`${app}-words-repartition`)).toBe(3);
      expect(counts.get(`${app}-counts-changelog`)).toBe(3);
      expect(
        (await describeTopicConfig(`${app}-counts-changelog`, ['cleanup.policy']))['cleanup.policy'],
      ).toBe('compact');
    } finally {
      await admin.disconnect();
    }
    await collector.stop();
  });

  it('replaces its group consumer when fenced as a static member and counts on exactly once', async () => {
    const { app, input, output, collector } = await setup();
    const first = sentences(300, 5);
    const second = sentences(300, 9);
    const a = start('a', { app, input, output, stateDir: await stateDir() });
    await a.waitFor((m) => m.event === 'ready', 120_000, 'ready');
    await produceSentences(input, first);
    await collector.waitUntil((r) => countsMatch(r, expectedCounts(first)), 60_000, 'first counts');

    // Another member joins with a's group.instance.id (a stale incarnation, as a coordinator can create after a
    // broker restart): the coordinator gives it a's partitions and fences a's consumer, a fatal client error.
    const failures: unknown[] = [];
    const assigned = new Set<number>();
    const rogue = new GroupConsumer(
      kafka,
      { groupId: app, topics: [input], readCommitted: true, fromBeginning: true, groupInstanceId: 'a' },
      {
        onAssigned: async (ps) => (ps.forEach((p) => assigned.add(p.partition)), ps),
        onRevoked: async (ps) => (ps.forEach((p) => assigned.delete(p.partition)), ps),
        onBatches: async () => {},
        onError: () => {},
        onClientFailed: (err) => void failures.push(err),
      },
      silentLogger,
    );
    await rogue.start();
    // a replaces its consumer; the new one joins with the same id and fences the rogue in turn.
    await expect.poll(() => failures.length, { timeout: 60_000, interval: 100 }).toBe(1);
    await rogue.stop();
    await produceSentences(input, second);
    await expectExactlyOnceCounts(collector, expectedCounts([...first, ...second]));
    expect(a.fatal).toBeUndefined();
    expect(await a.request<number>('replacements')).toBe(1);
    await collector.stop();
  });

  it('aborts the open transaction when fenced with records sent ahead in it, and counts exactly once', async () => {
    const { app, input, output, collector } = await setup();
    const dir = await stateDir();
    const first = sentences(300, 13);
    // No commit for a minute: what a processes stays in its open transaction (sent ahead, ADR 0012).
    const a = start('a', { app, input, output, stateDir: dir, commitIntervalMs: 60_000 });
    await a.waitFor((m) => m.event === 'ready', 120_000, 'ready');
    await produceSentences(input, first);
    await a.until<number>('processed', (n) => n >= first.length);
    // A member with a's group.instance.id fences a's consumer: a's partitions are lost with the split words of
    // every sentence in the open transaction (the counts read only committed words, so they have none yet).
    const failures: unknown[] = [];
    const rogue = new GroupConsumer(
      kafka,
      { groupId: app, topics: [input], readCommitted: true, fromBeginning: true, groupInstanceId: 'a' },
      {
        onAssigned: async (ps) => ps,
        onRevoked: async (ps) => ps,
        onBatches: async () => {},
        onError: () => {},
        onClientFailed: (err) => void failures.push(err),
      },
      silentLogger,
    );
    await rogue.start();
    await a.until<number>('aborted', (n) => n === 1);
    // a's replacement consumer fences the rogue and processes every sentence again, in a new transaction.
    await expect.poll(() => failures.length, { timeout: 60_000, interval: 100 }).toBe(1);
    await rogue.stop();
    await a.until<number>('processed', (n) => n >= 2 * first.length);
    await a.close(); // a clean close commits
    running.splice(running.indexOf(a), 1);
    const b = start('b', { app, input, output, stateDir: await stateDir() });
    await b.waitFor((m) => m.event === 'ready', 120_000, 'b ready');
    // Had the aborted transaction's words been committed too, every count would be higher than expected.
    await expectExactlyOnceCounts(collector, expectedCounts(first));
    expect(a.fatal).toBeUndefined();
    await collector.stop();
  });

  it('runs on the KIP-848 consumer protocol: a second instance takes half the tasks, counts stay exact', async () => {
    const { app, input, output, collector } = await setup(4);
    const first = sentences(300, 21);
    const second = sentences(300, 22);
    const groupProtocol = 'consumer' as const;
    const a = start('a', { app, input, output, stateDir: await stateDir(), groupProtocol });
    await a.waitFor((m) => m.event === 'ready', 120_000, 'a ready');
    await produceSentences(input, first);
    await collector.waitUntil((r) => countsMatch(r, expectedCounts(first)), 60_000, 'first counts');
    const b = start('b', { app, input, output, stateDir: await stateDir(), groupProtocol });
    // The broker assigns (incrementally): each instance ends with two of the four lead partitions (4 tasks each).
    for (const i of [a, b]) {
      await i.until<{ active: unknown[]; ready: boolean }>(
        'tasks',
        (t) => t.ready && t.active.length === 4,
        120_000,
      );
    }
    const admin = await openAdmin(kafka);
    try {
      // A KIP-848 group: the broker's assignor (`uniform`), static members a and b with two lead partitions each.
      const view = await describeGroup(admin, app);
      expect(view.protocol).toBe('uniform');
      expect(view.members.map((m) => [m.instanceId, m.assignment[input]?.length]).sort()).toEqual([
        ['a', 2],
        ['b', 2],
      ]);
    } finally {
      await admin.disconnect();
    }
    await produceSentences(input, second);
    await expectExactlyOnceCounts(collector, expectedCounts([...first, ...second]));
    await collector.stop();
  });

  it('stops on a record that fails with nothing of it committed, and counts it once after the fix', async () => {
    const { app, input, output, collector } = await setup(1);
    const changelog = `${app}-counts-changelog`;
    const dir = await stateDir();
    const a = start('a', { app, input, output, stateDir: dir, failOnWord: 'boom' });
    await a.waitFor((m) => m.event === 'ready', 120_000, 'ready');
    const changes = await new TopicCollector(kafka, [changelog]).start();
    await produceSentences(input, ['alpha beta', 'gamma']);
    await collector.waitUntil((r) => r.length === 3, 60_000, 'the first two sentences counted');
    // One sentence: `delta` is counted, then `boom` writes its count and output and throws. Without a record-error
    // policy the instance stops; closing dirty commits neither `delta` (same uncommitted work) nor any of `boom`.
    await produceSentences(input, ['delta boom']);
    await expect(a.waitFor(() => false, 60_000, 'the instance to stop')).rejects.toThrow(
      /record-error policy says fail/,
    );
    await a.kill();
    running.splice(running.indexOf(a), 1);

    const fixed = start('a', { app, input, output, stateDir: dir });
    await fixed.waitFor((m) => m.event === 'ready', 120_000, 'ready after the fix');
    await produceSentences(input, ['omega']);
    await collector.waitUntil(
      (r) => r.some((x) => x.key === 'omega'),
      60_000,
      'the sentence after the failing one',
    );
    const outputs = (word: string) => collector.records.filter((r) => r.key === word).map((r) => r.value);
    // Had the failing sentence been half committed, reprocessing it would count both words twice.
    expect(outputs('boom')).toEqual(['1']);
    expect(outputs('delta')).toEqual(['1']);
    await changes.waitUntil(
      (r) => r.some((x) => x.key === 'omega'),
      60_000,
      'the changelog up to the last sentence',
    );
    expect(changes.records.filter((r) => r.key === 'boom')).toHaveLength(1);
    await changes.stop();
    await collector.stop();
  });

  it('restores only the changelog tail after the stored checkpoint', async () => {
    const { app, input, output, collector } = await setup();
    const dirA = await stateDir();
    const dirB = await stateDir();
    const first = sentences(200, 3);
    const second = sentences(200, 5);

    let a = start('a', { app, input, output, stateDir: dirA });
    await a.waitFor((m) => m.event === 'ready', 120_000, 'a ready');
    // The instance created its changelog topic on start; collect it from the beginning.
    const changelog = await new TopicCollector(kafka, [`${app}-counts-changelog`]).start();
    await produceSentences(input, first);
    await collector.waitUntil(
      (r) => countsMatch(r, expectedCounts(first)),
      60_000,
      'counts of the first half',
    );
    await a.close();
    running.splice(running.indexOf(a), 1);

    const b = start('b', { app, input, output, stateDir: dirB });
    await b.waitFor((m) => m.event === 'ready', 120_000, 'b ready');
    const restoredByB = await b.request<number>('restored');
    await produceSentences(input, second);
    await collector.waitUntil(
      (r) => countsMatch(r, expectedCounts([...first, ...second])),
      60_000,
      'counts of both halves',
    );
    await b.close();
    running.splice(running.indexOf(b), 1);

    a = start('a', { app, input, output, stateDir: dirA });
    await a.waitFor((m) => m.event === 'ready', 120_000, 'a ready again');
    const restoredByA = await a.request<number>('restored');
    const total = changelog.records.length;
    expect(restoredByB).toBeGreaterThan(0);
    expect(restoredByA).toBe(total - restoredByB);
    expect(restoredByA).toBeLessThan(total);
    await changelog.stop();
    await collector.stop();
  });

  it('spreads tasks over 2 then 3 instances with standbys, agrees on owners, and survives losing one', async () => {
    const { app, input, output, collector } = await setup();
    const all: string[] = [];
    const batch = async (seed: number) => {
      const list = sentences(150, seed);
      all.push(...list);
      await produceSentences(input, list);
      await collector.waitUntil(
        (r) => countsMatch(r, expectedCounts(all)),
        90_000,
        `counts after batch ${seed}`,
      );
    };
    type Host = { instanceId: string; active: string[]; standby: string[] };
    const agree = async (instances: InstanceHandle[]) => {
      const maps: Host[][] = [];
      for (const i of instances) {
        maps.push(
          await i.until<Host[]>(
            'hosts',
            // Every instance runs something (3 lead partitions, at most 3 instances): a cooperative rebalance
            // moves partitions in two steps, and the first step's map (the newcomer still empty) is not the outcome.
            (h) =>
              h.length === instances.length &&
              h.flatMap((x) => x.active).length === 6 &&
              h.every((x) => x.active.length > 0),
            120_000,
          ),
        );
      }
      for (const i of instances) await i.until<{ ready: boolean }>('tasks', (t) => t.ready, 120_000);
      const norm = (h: Host[]) =>
        JSON.stringify(
          [...h]
            .map((x) => ({ i: x.instanceId, a: [...x.active].sort(), s: [...x.standby].sort() }))
            .sort((p, q) => p.i.localeCompare(q.i)),
        );
      // The owner map is eventually consistent (each instance publishes its assignment to the directory topic):
      // wait until every instance holds the same one.
      let fresh: Host[][] = [];
      await expect
        .poll(
          async () => {
            fresh = await Promise.all(instances.map((i) => i.request<Host[]>('hosts')));
            const agreed = new Set(fresh.map(norm)).size === 1;
            return agreed && fresh[0]!.every((x) => x.active.length > 0) ? 1 : 0;
          },
          { timeout: 30_000, interval: 100 },
        )
        .toBe(1);
      return fresh[0]!;
    };

    const standbys = 1;
    const a = start('a', { app, input, output, stateDir: await stateDir(), standbys });
    const b = start('b', { app, input, output, stateDir: await stateDir(), standbys });
    // Placement is by lead partition (3 of them: 2 + 1), and a lead partition brings its partition group: the
    // tasks 0_p and 1_p always run on the same instance.
    const together = (h: Host) => {
      const partitions = new Set(h.active.map((t) => t.split('_')[1]));
      expect([...partitions].flatMap((p) => [`0_${p}`, `1_${p}`]).sort()).toEqual([...h.active].sort());
    };
    let hosts = await agree([a, b]);
    expect(hosts.map((h) => h.active.length).sort()).toEqual([2, 4]);
    for (const h of hosts) {
      together(h);
      for (const t of h.standby) expect(h.active).not.toContain(t);
    }
    expect(hosts.flatMap((h) => h.standby).sort()).toEqual(hosts.flatMap((h) => h.active).sort());
    await batch(21);

    const c = start('c', { app, input, output, stateDir: await stateDir(), standbys });
    hosts = await agree([a, b, c]);
    for (const h of hosts) {
      expect(h.active.length).toBe(2);
      together(h);
    }
    await batch(22);

    await b.close();
    running.splice(running.indexOf(b), 1);
    hosts = await agree([a, c]);
    expect(hosts.flatMap((h) => h.active).sort()).toEqual(['0_0', '0_1', '0_2', '1_0', '1_1', '1_2']);
    await batch(23);

    // Two instances with one standby each: each holds a warm copy of every task the other runs. Once the standbys
    // applied their changelogs up to the last stable offset, losing c promotes them on a with nothing to restore.
    const ends = new Map(
      (await wholeTopicRanges(kafka, `${app}-counts-changelog`)).map((r) => [
        `${r.topic}:${r.partition}`,
        r.end,
      ]),
    );
    type Standbys = { standby: { id: string; positions: Record<string, string> }[] };
    const caughtUp = (t: Standbys) =>
      t.standby.length > 0 &&
      t.standby.every((s) =>
        Object.entries(s.positions).every(
          ([tp, position]) => BigInt(position) >= BigInt(ends.get(tp) ?? '0'),
        ),
      );
    for (const i of [a, c]) await i.until<Standbys>('tasks', caughtUp, 60_000);
    const restoredBefore = await a.request<number>('restored');
    await c.close();
    running.splice(running.indexOf(c), 1);
    hosts = await agree([a]);
    expect(hosts[0]!.active).toHaveLength(6);
    expect(await a.request<number>('restored')).toBe(restoredBefore);
    await batch(24);
    // Tasks moved between active and standby on the same instances throughout (scale out and in): one LevelDB
    // directory, one owner at a time, so none of them stopped.
    for (const i of [a, b, c]) expect(i.fatal).toBeUndefined();
    await collector.stop();
  });
});
