/**
 * Benchmarks of the whole service: real `urp-case-sync start` processes (BenchApp, bench/bench-app.ts) against the
 * benchmark broker, fed with generated UCMv2 events. Throughput (1 and 3 instances, both guarantees), event ->
 * queryable latency at a fixed rate, failover time after SIGKILL with and without a standby, restart of a killed
 * instance, API requests/s. RSS with many cases and the restore of an instance's stores from their changelogs are
 * in bench/case-sync-volume-bench.ts.
 */
import Fastify from 'fastify';
import { silentLogger } from '../common/logger.js';
import { followTopic, Publisher } from '../kafka/index.js';
import { generateUcmEvents } from '../processors/simulation/ucm-event-generator.js';
import type { ProcessingGuarantee } from '../topology/streams-config.js';
import { BenchApp, publishAll, until } from './bench-app.js';
import { latencySummary, runLoad, type LoadResult } from './http-load.js';

/** The generated UCM stream of the case-sync sections (and of the reference comparison: same generator and rates). */
export function caseSyncWorkload(cases: number, seed: number) {
  return generateUcmEvents({
    seed,
    cases,
    duplicateRate: 0.05,
    missingUrpRate: 0.1,
    invalidRate: 0.01,
    secondUcmRate: 0.05,
    shuffleWindow: 8,
  });
}

export interface CaseSyncThroughput {
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
}

/** Events/s from the moment all instances are ready and the input is produced at full speed, to caught up. */
export async function caseSyncThroughput(
  brokers: readonly string[],
  opts: { guarantee: ProcessingGuarantee; instances: number; cases: number; partitions: number },
): Promise<CaseSyncThroughput> {
  const app = new BenchApp(brokers, { guarantee: opts.guarantee, partitions: opts.partitions, standbys: 0 });
  try {
    for (let i = 0; i < opts.instances; i++) await app.start(`i${i}`);
    await app.ready();
    const records = caseSyncWorkload(opts.cases, 7);
    const started = performance.now();
    await publishAll(app.kafka, app.input, records);
    await app.caughtUp();
    const seconds = (performance.now() - started) / 1000;
    return { events: records.length, seconds, eventsPerSecond: records.length / seconds };
  } finally {
    await app.stop();
  }
}

/**
 * Event -> queryable latency: CASE_CREATED events at a fixed rate; for each, the time until `GET /cases/:id`
 * answers 200 is approximated by the time until its record is in the committed output topic (what the API
 * serves is committed with it). Reads the output read_committed as it arrives.
 */
export async function caseSyncLatency(
  brokers: readonly string[],
  opts: { ratePerSecond: number; seconds: number; partitions: number },
): Promise<{ events: number; p50Ms: number; p99Ms: number; maxMs: number }> {
  const app = new BenchApp(brokers, { guarantee: 'exactly_once', partitions: opts.partitions, standbys: 0 });
  try {
    await app.start('i0');
    await app.ready();
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    const total = opts.ratePerSecond * opts.seconds;
    let allSeenResolve!: () => void;
    const allSeen = new Promise<void>((resolve) => (allSeenResolve = resolve));
    const follower = await followTopic(
      app.kafka,
      app.output,
      (batch) => {
        const now = performance.now();
        for (const m of batch.records) {
          const key = m.key?.toString() ?? '';
          const t = sentAt.get(key);
          if (t !== undefined) {
            latencies.push(now - t);
            sentAt.delete(key);
          }
        }
        if (latencies.length >= total) allSeenResolve();
      },
      { name: `${app.id}-latency`, logger: silentLogger },
    );
    const publisher = await Publisher.open(app.kafka);
    const tickMs = 20;
    const perTick = Math.max(1, Math.round((opts.ratePerSecond * tickMs) / 1000));
    const start = performance.now();
    for (let sent = 0; sent < total;) {
      const batch = [];
      for (let j = 0; j < perTick && sent < total; j++, sent++) {
        const urp = `LAT-${sent}`;
        const at = new Date().toISOString();
        batch.push({
          key: `UCM-${urp}`,
          value: JSON.stringify({
            eventId: `${urp}-c`,
            eventType: 'CASE_CREATED',
            eventTime: at,
            source: 'bench',
            payload: { ucmCaseId: `UCM-${urp}`, urpCaseId: urp, initialStatus: 'OPEN', createdAt: at },
          }),
        });
        sentAt.set(urp, performance.now());
      }
      await publisher.publish(app.input, batch, batch.length);
      const nextAt = start + (sent / opts.ratePerSecond) * 1000;
      const wait = nextAt - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait)); // pacing of the fixed rate
    }
    await publisher.close();
    await Promise.race([
      allSeen,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('latency: not all events seen')), 120_000),
      ),
    ]);
    await follower.stop();
    return latencySummary(latencies);
  } finally {
    await app.stop();
  }
}

/**
 * Failover: two instances hold `cases` cases; one is SIGKILLed; measures the time until the survivor is ready
 * with every task active (includes the session timeout that detects the death, 6 s here), and how many changelog
 * records it had to restore.
 */
export async function caseSyncFailover(
  brokers: readonly string[],
  opts: { standbys: number; cases: number; partitions: number },
): Promise<{ seconds: number; restoredRecords: number; membershipSeconds: number }> {
  const app = new BenchApp(brokers, {
    guarantee: 'exactly_once',
    partitions: opts.partitions,
    standbys: opts.standbys,
  });
  try {
    await app.start('a');
    const b = await app.start('b');
    await app.ready();
    await publishAll(app.kafka, app.input, caseSyncWorkload(opts.cases, 11));
    await app.caughtUp();
    const a = app.instances.get('a')!;
    // Standbys catch up asynchronously: let them reach the end before the crash (what a steady state looks like).
    if (opts.standbys > 0) {
      await until(
        'standbys caught up',
        async () => {
          const self = (await (await fetch(`${b.url}/instances/self`)).json()) as {
            tasks: { standby: { lag: number }[] };
          };
          return self.tasks.standby.length > 0 && self.tasks.standby.every((s) => s.lag === 0);
        },
        60_000,
      );
    }
    const restoredBefore = await app.metric(b, 'usc_streams_restore_records_total');
    // Every task of the topology, as the two instances run them before the crash (not a count assumed here).
    const tasks = (await runningActive(a.url)) + (await runningActive(b.url));
    const keys = sampleKeys(opts.cases);
    const killedAt = performance.now();
    a.child.kill('SIGKILL');
    // Failover: the survivor runs every task (its /readyz) and answers every sampled key itself.
    await until(
      'the survivor to run every task and answer every key',
      async () => {
        const res = await fetch(`${b.url}/readyz`).catch(() => undefined);
        if (res?.status !== 200) return false;
        if ((await runningActive(b.url)) !== tasks) return false;
        return everyKeyAnswers(b.url, keys);
      },
      180_000,
    );
    const seconds = (performance.now() - killedAt) / 1000;
    const restoredRecords = (await app.metric(b, 'usc_streams_restore_records_total')) - restoredBefore;
    // The owner map drops the dead instance once its directory heartbeat is older than the liveness window.
    await until(
      'the owner map to list one member',
      async () => {
        const view = (await (await fetch(`${b.url}/instances`)).json()) as { members?: unknown[] };
        return view.members?.length === 1;
      },
      180_000,
    );
    const membershipSeconds = (performance.now() - killedAt) / 1000;
    return { seconds, restoredRecords, membershipSeconds };
  } finally {
    await app.stop();
  }
}

/** Active tasks an instance runs (its /instances/self). */
async function runningActive(url: string): Promise<number> {
  const self = (await (await fetch(`${url}/instances/self`)).json()) as {
    tasks: { active: { state: string }[] };
  };
  return self.tasks.active.filter((t) => t.state === 'running').length;
}

/** 50 case ids spread over the workload (and so over every partition). */
function sampleKeys(cases: number): string[] {
  return Array.from({ length: 50 }, (_, i) => `URP-${Math.floor((i * cases) / 50)}`);
}

/** True when `url` answers 200 for every key (locally or forwarded to the owner). */
async function everyKeyAnswers(url: string, keys: readonly string[]): Promise<boolean> {
  for (const k of keys) {
    const res = await fetch(`${url}/cases/${k}`).catch(() => undefined);
    if (res?.status !== 200) return false;
  }
  return true;
}

/**
 * SIGKILL and restart of the same instance (same INSTANCE_ID and state directory, 2 instances): the time from the
 * restart until every key answers again from it (its /readyz and all its tasks running), and the records it
 * restored (static membership gives it its partitions back with no rebalance; its stores are at their last commit).
 */
export async function caseSyncRestart(
  brokers: readonly string[],
  opts: { cases: number; partitions: number },
): Promise<{ seconds: number; restoredRecords: number; keysAnswered: number }> {
  const app = new BenchApp(brokers, { guarantee: 'exactly_once', partitions: opts.partitions, standbys: 1 });
  try {
    const a = await app.start('a');
    await app.start('b');
    await app.ready();
    await publishAll(app.kafka, app.input, caseSyncWorkload(opts.cases, 12));
    await app.caughtUp();
    a.child.kill('SIGKILL');
    await new Promise((resolve) => a.child.once('exit', resolve));
    const restartedAt = performance.now();
    const again = await app.start('a', a);
    await until(
      'the restarted instance ready',
      async () => (await fetch(`${again.url}/readyz`).catch(() => undefined))?.status === 200,
      180_000,
    );
    // Every key answers: sample keys spread over all partitions, asked through the restarted instance.
    const keys = sampleKeys(opts.cases);
    await until('every sampled key answered', () => everyKeyAnswers(again.url, keys), 180_000);
    const seconds = (performance.now() - restartedAt) / 1000;
    const restoredRecords = await app.metric(again, 'usc_streams_restore_records_total');
    return { seconds, restoredRecords, keysAnswered: keys.length };
  } finally {
    await app.stop();
  }
}

/** API requests/s and latency: a key owned locally, a key owned by the other instance, and a bare fastify route. */
export async function apiBench(
  brokers: readonly string[],
  opts: { cases: number; partitions: number; durationMs: number },
): Promise<{ local: LoadResult; forwarded: LoadResult; bare: LoadResult }> {
  const app = new BenchApp(brokers, { guarantee: 'exactly_once', partitions: opts.partitions, standbys: 0 });
  const bare = Fastify({ logger: false });
  try {
    const a = await app.start('a');
    await app.start('b');
    await app.ready();
    const records = caseSyncWorkload(opts.cases, 13);
    await publishAll(app.kafka, app.input, records);
    await app.caughtUp();
    // Sort the case ids by which instance answers them (x-served-by).
    const ids = [
      ...new Set(records.map((r) => /"urpCaseId":"([^"]+)"/.exec(r.value)?.[1]).filter(Boolean)),
    ] as string[];
    const local: string[] = [];
    const remote: string[] = [];
    for (const id of ids.slice(0, 2_000)) {
      const res = await fetch(`${a.url}/cases/${id}`);
      if (res.status !== 200) continue;
      (res.headers.get('x-served-by') === 'a' ? local : remote).push(id);
    }
    const pick = (list: string[]) => () => `/cases/${list[Math.floor(Math.random() * list.length)]}`;
    const sample = new Map<string, unknown>();
    for (const id of local.slice(0, 500)) sample.set(id, await (await fetch(`${a.url}/cases/${id}`)).json());
    bare.get<{ Params: { id: string } }>('/cases/:id', async (req, reply) => {
      const v = sample.get(req.params.id);
      return v === undefined ? reply.code(404).send({}) : v;
    });
    const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });
    const load = (baseUrl: string, list: string[]) =>
      runLoad({ baseUrl, paths: pick(list), durationMs: opts.durationMs, connections: 16 });
    return {
      local: await load(a.url, local),
      forwarded: await load(a.url, remote),
      bare: await load(bareUrl, [...sample.keys()]),
    };
  } finally {
    await bare.close();
    await app.stop();
  }
}
