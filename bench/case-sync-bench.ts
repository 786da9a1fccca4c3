/**
 * Benchmarks of the whole service: real `urp-case-sync start` processes (the compiled CLI, or a baseline build's:
 * see bench/baseline.ts) against the benchmark broker, fed with generated UCMv2 events. Throughput (1 and 3
 * instances, both guarantees), event -> queryable latency at a fixed rate, failover time after SIGKILL with and
 * without a standby, API requests/s, RSS with many cases, restore of an instance's stores from their changelogs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, createWriteStream, openSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { INSTANCE_ENV, INSTANCE_NODE_OPTIONS } from '../cli/instance-runtime.js';
import { silentLogger } from '../common/logger.js';
import { freePort } from '../kafka/embedded/free-port.js';
import {
  createKafka,
  followTopic,
  listTopics,
  openAdmin,
  Publisher,
  readRangesToEnd,
  wholeTopicRanges,
  type KafkaClient,
} from '../kafka/index.js';
import { generateUcmEvents } from '../processors/simulation/ucm-event-generator.js';
import type { ProcessingGuarantee } from '../topology/streams-config.js';
import { latencySummary, runLoad, type LoadResult } from './http-load.js';
import { waitCaughtUp } from './streams-throughput.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const POLL_MS = 100; // poll period of the condition waits below

const until = async (what: string, check: () => Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
};

export interface Instance {
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
  readonly stateDir: string;
}

/** One application (topics + consumer group) and its instances. */
export class BenchApp {
  readonly id = `bench-${randomUUID().slice(0, 8)}`;
  readonly input = `${this.id}-in`;
  readonly output = `${this.id}-out`;
  readonly dlq = `${this.id}-dlq`;
  readonly kafka: KafkaClient;
  readonly instances = new Map<string, Instance>();

  constructor(
    readonly brokers: readonly string[],
    readonly settings: {
      readonly guarantee: ProcessingGuarantee;
      readonly partitions: number;
      readonly standbys: number;
      /** The compiled CLI to spawn (default this checkout's dist/cli/main.js; a baseline's, see baseline.ts). */
      readonly cli?: string;
    },
  ) {
    this.kafka = createKafka({ brokers, clientId: this.id }, silentLogger);
  }

  /**
   * Starts an instance; `restart`: the same instance again (same id, port and state directory). `onLog`: the
   * instance logs JSON lines at info (or BENCH_LOG_LEVEL when that is debug or trace) and each line is handed to
   * it (and still written to BENCH_LOG_DIR when set).
   */
  async start(name: string, restart?: Instance, onLog?: (line: string) => void): Promise<Instance> {
    const port = restart ? Number(new URL(restart.url).port) : await freePort('127.0.0.1');
    const stateDir = restart?.stateDir ?? (await mkdtemp(join(tmpdir(), `usc-bench-${name}-`)));
    const url = `http://127.0.0.1:${port}`;
    // BENCH_CPU_PROF_DIR: every instance writes a V8 CPU profile there when it stops (see bench/profile-top.ts).
    const profDir = process.env.BENCH_CPU_PROF_DIR;
    // Launched as the image launches it (cli/instance-runtime.ts: young-generation size, glibc mmap threshold).
    const nodeArgs = [
      ...INSTANCE_NODE_OPTIONS,
      ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []),
      // BENCH_NODE_ARGS: more Node/V8 options for every instance (space-separated), e.g. to try a V8 flag.
      ...(process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter((a) => a !== ''),
    ];
    // BENCH_LOG_DIR: every instance's log lines (at BENCH_LOG_LEVEL, default info) go to <dir>/<app>-<name>.log.
    const logDir = process.env.BENCH_LOG_DIR;
    const logPath = logDir ? join(logDir, `${this.id}-${name}.log`) : undefined;
    const logFile = logPath !== undefined && onLog === undefined ? openSync(logPath, 'a') : undefined;
    const benchLevel = process.env.BENCH_LOG_LEVEL;
    const level =
      onLog !== undefined
        ? benchLevel === 'debug' || benchLevel === 'trace'
          ? benchLevel
          : 'info'
        : logFile === undefined
          ? 'error'
          : (benchLevel ?? 'info');
    const child = spawn(process.execPath, [...nodeArgs, this.settings.cli ?? CLI, 'start'], {
      env: {
        PATH: process.env.PATH,
        ...INSTANCE_ENV,
        KAFKA_BROKERS: this.brokers.join(','),
        APPLICATION_ID: this.id,
        INSTANCE_ID: name,
        INPUT_TOPIC: this.input,
        OUTPUT_TOPIC: this.output,
        DLQ_TOPIC: this.dlq,
        PARTITIONS: String(this.settings.partitions),
        STATE_DIR: stateDir,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: String(port),
        ADVERTISED_URL: url,
        PROCESSING_GUARANTEE: this.settings.guarantee,
        NUM_STANDBY_REPLICAS: String(this.settings.standbys),
        SESSION_TIMEOUT_MS: '6000',
        REPLICATION_FACTOR: '1',
        LOG_LEVEL: level,
        // BENCH_ENV_<NAME>=v sets <NAME>=v in every instance (e.g. BENCH_ENV_STORE_MEMORY_MB=16).
        ...Object.fromEntries(
          Object.entries(process.env)
            .filter(([k]) => k.startsWith('BENCH_ENV_'))
            .map(([k, v]) => [k.slice('BENCH_ENV_'.length), v]),
        ),
        ...(onLog === undefined ? {} : { LOG_FORMAT: 'json' }),
      },
      stdio:
        onLog === undefined
          ? ['ignore', logFile ?? 'ignore', logFile ?? 'inherit']
          : ['ignore', 'pipe', 'pipe'],
    });
    if (logFile !== undefined) closeSync(logFile);
    if (onLog !== undefined) {
      const copy = logPath === undefined ? undefined : createWriteStream(logPath, { flags: 'a' });
      for (const stream of [child.stdout!, child.stderr!]) {
        createInterface({ input: stream }).on('line', (line) => {
          copy?.write(`${line}\n`);
          onLog(line);
        });
      }
      child.once('close', () => copy?.end());
    }
    const instance = { name, url, child, stateDir };
    this.instances.set(name, instance);
    return instance;
  }

  /** Waits until every running instance answers /readyz with 200. */
  async ready(timeoutMs = 180_000): Promise<void> {
    for (const i of this.running()) {
      await until(
        `${i.name} ready`,
        async () => (await fetch(`${i.url}/readyz`).catch(() => undefined))?.status === 200,
        timeoutMs,
      );
    }
  }

  running(): Instance[] {
    return [...this.instances.values()].filter(
      (i) => i.child.exitCode === null && i.child.signalCode === null,
    );
  }

  /** Internal repartition topics of the application (sources of its later subtopologies). */
  repartitionTopics(): Promise<string[]> {
    return this.internalTopics('-repartition');
  }

  /** Internal topics of the application whose names end with `suffix`. */
  async internalTopics(suffix: string): Promise<string[]> {
    const admin = await openAdmin(this.kafka);
    try {
      return (await listTopics(admin)).filter((t) => t.startsWith(`${this.id}-`) && t.endsWith(suffix));
    } finally {
      await admin.disconnect();
    }
  }

  /** Every stage of the application processed and committed everything produced so far. */
  caughtUp(timeoutMs = 900_000): Promise<void> {
    return waitCaughtUp(this.kafka, this.id, this.input, timeoutMs);
  }

  async metric(instance: Instance, name: string): Promise<number> {
    const text = await (await fetch(`${instance.url}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
      .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
  }

  /** Stops one instance (SIGTERM: a clean close); its state directory stays. */
  async stopInstance(instance: Instance): Promise<void> {
    if (instance.child.exitCode !== null || instance.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      instance.child.once('exit', () => resolve());
      instance.child.kill('SIGTERM');
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.running().map((i) => this.stopInstance(i)));
    await Promise.all(
      [...this.instances.values()].map((i) => rm(i.stateDir, { recursive: true, force: true })),
    );
  }
}

/** Publishes `records` to `topic` in batches of 2,000 (one idempotent producer). */
export async function publishAll(
  kafka: KafkaClient,
  topic: string,
  records: readonly { key: string; value: string }[],
) {
  const publisher = await Publisher.open(kafka);
  try {
    await publisher.publish(topic, records, 2_000);
  } finally {
    await publisher.close();
  }
}

function workload(cases: number, seed: number) {
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
    const records = workload(opts.cases, 7);
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
    await publishAll(app.kafka, app.input, workload(opts.cases, 11));
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
    await publishAll(app.kafka, app.input, workload(opts.cases, 12));
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
    const records = workload(opts.cases, 13);
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

/** Publishes one CASE_CREATED per case (ids `M-<n>`, two extra attributes) into the app's input. */
async function publishCreatedCases(app: BenchApp, cases: number): Promise<void> {
  const publisher = await Publisher.open(app.kafka);
  try {
    const chunk = 10_000;
    for (let n = 0; n < cases; n += chunk) {
      const batch = [];
      for (let j = n; j < Math.min(cases, n + chunk); j++) {
        const at = new Date(Date.UTC(2025, 0, 1) + j * 1000).toISOString();
        batch.push({
          key: `UCM-M-${j}`,
          value: JSON.stringify({
            eventId: `M-${j}-c`,
            eventType: 'CASE_CREATED',
            eventTime: at,
            source: 'bench',
            payload: {
              ucmCaseId: `UCM-M-${j}`,
              urpCaseId: `M-${j}`,
              initialStatus: 'OPEN',
              createdAt: at,
              extraAttributes: { priority: 'normal', caseType: 'alert' },
            },
          }),
        });
      }
      await publisher.publish(app.input, batch, 2_000);
    }
  } finally {
    await publisher.close();
  }
}

/** Starts instance `i0` of `app`, gives it `cases` cases (one CASE_CREATED each) and waits until it caught up. */
async function instanceWithCases(
  app: BenchApp,
  cases: number,
): Promise<{ instance: Instance; ingestSeconds: number }> {
  const instance = await app.start('i0');
  await app.ready();
  const started = performance.now();
  await publishCreatedCases(app, cases);
  await app.caughtUp(3_600_000);
  return { instance, ingestSeconds: (performance.now() - started) / 1000 };
}

/** RSS of one instance holding `cases` cases (one CASE_CREATED each), after catching up. */
export async function rssWithCases(
  brokers: readonly string[],
  opts: { cases: number; partitions: number },
): Promise<{
  cases: number;
  rssMb: number;
  heapMb: number;
  heapTotalMb: number;
  externalMb: number;
  ingestSeconds: number;
}> {
  const app = new BenchApp(brokers, { guarantee: 'exactly_once', partitions: opts.partitions, standbys: 0 });
  try {
    const { instance: i, ingestSeconds } = await instanceWithCases(app, opts.cases);
    const rss = await app.metric(i, 'process_resident_memory_bytes');
    const heap = await app.metric(i, 'nodejs_heap_size_used_bytes');
    // What the V8 heap holds in memory (used + garbage not collected yet + free), and Buffers outside it.
    const heapTotal = await app.metric(i, 'nodejs_heap_size_total_bytes');
    const external = await app.metric(i, 'nodejs_external_memory_bytes');
    return {
      cases: opts.cases,
      rssMb: rss / 1_048_576,
      heapMb: heap / 1_048_576,
      heapTotalMb: heapTotal / 1_048_576,
      externalMb: external / 1_048_576,
      ingestSeconds,
    };
  } finally {
    await app.stop();
  }
}

export interface RestoreRun {
  readonly cases: number;
  /** Changelog records the restarted instance restored (usc_streams_restore_records_total). */
  readonly records: number;
  /**
   * From the runtime's first "restoring state stores from changelogs" log line to its last "... restored and
   * running" line: reading the changelogs, writing LevelDB, starting the tasks.
   */
  readonly seconds: number;
  readonly recordsPerSecond: number;
  /** From the spawn of the restarted process to its /readyz answering 200 (startup and group join included). */
  readonly startToReadySeconds: number;
  readonly startToReadyRecordsPerSecond: number;
  /** Restore batches the runtime logged (one per set of tasks created together; 1 when nothing interferes). */
  readonly batches: number;
  /** Time to produce and process the cases before the restart. */
  readonly ingestSeconds: number;
  /**
   * The same changelogs read by this bench process with the project's reader, every record discarded
   * (kafka/read-to-end.ts, read_committed): what the Kafka client alone delivers, the ceiling of a restore.
   */
  readonly readOnlyRecordsPerSecond: number;
}

/** Times (ms since the epoch) of the runtime's restore log lines, from pino JSON lines. */
function restoreTimes(lines: readonly string[]): { begin: number[]; running: number[] } {
  const begin: number[] = [];
  const running: number[] = [];
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    let entry: { msg?: unknown; time?: unknown };
    try {
      entry = JSON.parse(line) as { msg?: unknown; time?: unknown };
    } catch {
      continue;
    }
    if (typeof entry.msg !== 'string') continue;
    const at = typeof entry.time === 'number' ? entry.time : Date.parse(String(entry.time));
    if (!Number.isFinite(at)) continue;
    if (entry.msg === 'restoring state stores from changelogs') begin.push(at);
    else if (/ restored and running \(/.test(entry.msg)) running.push(at);
  }
  return { begin, running };
}

/**
 * Restore rate: one instance ingests `cases` cases (one CASE_CREATED each) and catches up; it is stopped
 * (SIGTERM), its state directory emptied, and started again (same instance id, port and directory); every store is
 * then restored from its changelog before the tasks run. `cli`: the build to run (default this checkout's).
 */
export async function caseSyncRestore(
  brokers: readonly string[],
  opts: { cases: number; partitions: number; cli?: string },
): Promise<RestoreRun> {
  const app = new BenchApp(brokers, {
    guarantee: 'exactly_once',
    partitions: opts.partitions,
    standbys: 0,
    cli: opts.cli,
  });
  try {
    const { instance: first, ingestSeconds } = await instanceWithCases(app, opts.cases);
    await app.stopInstance(first);
    await rm(first.stateDir, { recursive: true, force: true });
    await mkdir(first.stateDir, { recursive: true });
    const lines: string[] = [];
    const spawned = performance.now();
    const again = await app.start('i0', first, (line) => {
      if (line.includes('restor')) lines.push(line);
    });
    await until(
      'the restarted instance ready',
      async () => {
        if (again.child.exitCode !== null || again.child.signalCode !== null) {
          throw new Error('bench: the restarted instance exited while restoring');
        }
        return (await fetch(`${again.url}/readyz`).catch(() => undefined))?.status === 200;
      },
      1_800_000,
    );
    const startToReadySeconds = (performance.now() - spawned) / 1000;
    const records = await app.metric(again, 'usc_streams_restore_records_total');
    const { begin, running } = restoreTimes(lines);
    if (begin.length === 0 || running.length === 0 || records === 0) {
      throw new Error(
        `bench: no restore seen (${records} records restored, ${begin.length} "restoring" and ` +
          `${running.length} "restored and running" log lines)`,
      );
    }
    const seconds = (Math.max(...running) - Math.min(...begin)) / 1000;
    let readOnly = 0;
    const ranges = (
      await Promise.all((await app.internalTopics('-changelog')).map((t) => wholeTopicRanges(app.kafka, t)))
    ).flat();
    const readStarted = performance.now();
    await readRangesToEnd(
      app.kafka,
      ranges,
      async (_range, batch) => {
        readOnly += batch.records.length;
      },
      { groupPrefix: `${app.id}-read-only`, logger: silentLogger },
    );
    const readOnlySeconds = (performance.now() - readStarted) / 1000;
    return {
      cases: opts.cases,
      records,
      seconds,
      recordsPerSecond: records / seconds,
      startToReadySeconds,
      startToReadyRecordsPerSecond: records / startToReadySeconds,
      batches: begin.length,
      ingestSeconds,
      readOnlyRecordsPerSecond: readOnly / readOnlySeconds,
    };
  } finally {
    await app.stop();
  }
}
