/**
 * The project beside a Kafka Streams reference (bench/reference-streams: the core of the case-sync topology in
 * Java, kafka-streams 4.3.1 on the same 4.4.0 broker). Each measurement runs both, one after the other (the order
 * alternates between runs), on identical freshly produced input: the same generated records published into each
 * one's own input topic, with its own application id and output/DLQ topics. Figures come in threes: project,
 * reference, and the ratio project / reference of each pair of runs. With a baseline (BENCH_BASELINE_DIR: an
 * earlier build of this project, bench/baseline.ts) each measurement runs all three (the order rotating between
 * runs), and every metric gains two figures: baseline, and the ratio project / baseline of each run.
 *
 * Catch-up (like the case-sync throughput section, but preloaded): the input is produced first, then the
 * application is started; "done" = the committed offsets of the application's group reached the end of the input
 * and of every repartition topic (waitCaughtUp). Measured: start -> done and first output -> done (events/s over
 * all input records), process CPU seconds (from /proc, spawn -> done, startup included) and broker CPU seconds
 * (start -> done) per 1,000 input events, peak RSS (VmHWM at done). Latency: CASE_CREATED events at a fixed rate
 * into a running application, time until each case's record is readable (read_committed) in the output topic.
 *
 * Comparable work: the reference dead-letters status changes without urpCaseId (correlation by ucmCaseId is not
 * part of it); the project correlates them. They are counted, and the final case records of both are compared on
 * the cases that have none of them (status and lastEventId must agree).
 */
import { silentLogger } from '../common/logger.js';
import {
  followTopic,
  createKafka,
  ensureTopics,
  openAdmin,
  Publisher,
  readRangesToEnd,
  topicOffsets,
  wholeTopicRanges,
  type KafkaClient,
} from '../kafka/index.js';
import { parseCaseEvent } from '../processors/domain/validate-event.js';
import { generateUcmEvents } from '../processors/simulation/ucm-event-generator.js';
import type { Baseline } from './baseline.js';
import { BenchApp, publishAll } from './case-sync-bench.js';
import { latencySummary } from './http-load.js';
import {
  processCpuSeconds,
  processMemoryMb,
  REFERENCE_STREAMS_VERSION,
  ReferenceApp,
  referenceJavaOpts,
  type ReferenceStats,
} from './reference.js';
import { figure, median, type Figure } from './report.js';
import { waitCaughtUp } from './streams-throughput.js';

/** Rates of the latency comparison (events/s). */
export const REFERENCE_LATENCY_RATES = [500, 2_000] as const;

const REFERENCE = `Kafka Streams ${REFERENCE_STREAMS_VERSION}`;
const POLL_MS = 50; // poll period of the first-output and liveness checks

type Side = 'project' | 'reference' | 'baseline';

/** One application under test, whichever implementation. */
interface Contender {
  readonly side: Side;
  readonly id: string;
  readonly input: string;
  readonly output: string;
  readonly dlq: string;
  /** Spawns the process; resolves with its pid. */
  start(): Promise<number>;
  ready(): Promise<void>;
  alive(): boolean;
  stop(): Promise<ReferenceStats | undefined>;
  /** The project's commits so far (count, seconds in commits) from /metrics; the reference has none. */
  commits?(): Promise<{ count: number; seconds: number }>;
}

/** This checkout's build, or the baseline's (same settings, another CLI). */
function projectContender(
  brokers: readonly string[],
  partitions: number,
  side: 'project' | 'baseline' = 'project',
  cli?: string,
): Contender {
  const app = new BenchApp(brokers, { guarantee: 'exactly_once', partitions, standbys: 0, cli });
  return {
    side,
    id: app.id,
    input: app.input,
    output: app.output,
    dlq: app.dlq,
    start: async () => (await app.start('i0')).child.pid!,
    ready: () => app.ready(),
    alive: () => app.running().length > 0,
    stop: async () => {
      await app.stop();
      return undefined;
    },
    commits: async () => {
      const instance = app.running()[0];
      if (!instance) return { count: 0, seconds: 0 };
      return {
        count: await app.metric(instance, 'usc_streams_commit_seconds_count'),
        seconds: await app.metric(instance, 'usc_streams_commit_seconds_sum'),
      };
    },
  };
}

function referenceContender(jar: string, brokers: readonly string[]): Contender {
  const app = new ReferenceApp(jar, brokers);
  return {
    side: 'reference',
    id: app.id,
    input: app.input,
    output: app.output,
    dlq: app.dlq,
    start: () => app.start(),
    ready: () => app.ready(),
    alive: () => app.isRunning(),
    stop: () => app.stop(),
  };
}

/** Project and reference, plus the baseline when there is one, rotated by `rotation` (which runs first). */
function runOrder(rotation: number, baseline: Baseline | undefined): Side[] {
  const sides: Side[] = baseline ? ['project', 'reference', 'baseline'] : ['project', 'reference'];
  const k = rotation % sides.length;
  return [...sides.slice(k), ...sides.slice(0, k)];
}

function contender(
  side: Side,
  brokers: readonly string[],
  opts: { jar: string; partitions: number; baseline?: Baseline },
): Contender {
  if (side === 'reference') return referenceContender(opts.jar, brokers);
  if (side === 'baseline') return projectContender(brokers, opts.partitions, 'baseline', opts.baseline!.cli);
  return projectContender(brokers, opts.partitions);
}

/** The generated input and what it holds, by how the two implementations treat it. */
export interface ReferenceWorkload {
  readonly records: readonly { key: string; value: string }[];
  readonly counts: {
    readonly events: number;
    /** Invalid records: dead letters in both. */
    readonly invalid: number;
    /** Valid status changes without urpCaseId: correlated by the project, dead letters in the reference. */
    readonly uncorrelated: number;
    /** Re-deliveries of a valid event (dropped by the dedupe of both). */
    readonly duplicates: number;
    /** Distinct valid events with a urpCaseId: what both apply. */
    readonly comparable: number;
  };
  /** URP cases none of whose events is uncorrelated: both must end in the same state. */
  readonly comparableCases: ReadonlySet<string>;
}

/** The case-sync workload of the throughput section (same generator and rates), classified. */
export function referenceWorkload(cases: number, seed: number): ReferenceWorkload {
  const records = generateUcmEvents({
    seed,
    cases,
    duplicateRate: 0.05,
    missingUrpRate: 0.1,
    invalidRate: 0.01,
    secondUcmRate: 0.05,
    shuffleWindow: 8,
  });
  const config = { statusMapping: new Map(), attributeAllowlist: new Set(['priority', 'caseType']) };
  const seen = new Set<string>();
  const ucmToUrp = new Map<string, string>();
  const urpCases = new Set<string>();
  const uncorrelatedUcm: string[] = [];
  let invalid = 0;
  let uncorrelated = 0;
  let duplicates = 0;
  let comparable = 0;
  for (const r of records) {
    const parsed = parseCaseEvent(Buffer.from(r.value), config);
    if (!parsed.ok) {
      invalid++;
      continue;
    }
    const e = parsed.event;
    if (seen.has(e.eventId)) {
      duplicates++;
      continue;
    }
    seen.add(e.eventId);
    if (e.eventType === 'CASE_CREATED') ucmToUrp.set(e.ucmCaseId, e.urpCaseId);
    if (e.urpCaseId === undefined) {
      uncorrelated++;
      uncorrelatedUcm.push(e.ucmCaseId);
    } else {
      comparable++;
      urpCases.add(e.urpCaseId);
    }
  }
  for (const ucm of uncorrelatedUcm) {
    const urp = ucmToUrp.get(ucm);
    if (urp !== undefined) urpCases.delete(urp);
  }
  return {
    records,
    counts: { events: records.length, invalid, uncorrelated, duplicates, comparable },
    comparableCases: urpCases,
  };
}

export interface CatchUp {
  readonly events: number;
  /** Start (spawn) -> done. */
  readonly seconds: number;
  readonly eventsPerSecond: number;
  /** Start -> first record readable in the output topic. */
  readonly firstOutputSeconds: number;
  /** All input events over first output -> done. */
  readonly afterFirstOutputEventsPerSecond: number;
  /** Process CPU seconds spawn -> done, and spawn -> first output (startup, group join, first batch). */
  readonly cpuSeconds: number;
  readonly startupCpuSeconds: number;
  readonly cpuSecondsPer1000: number;
  /** Undefined without an embedded broker (KAFKA_BROKERS). */
  readonly brokerCpuSecondsPer1000: number | undefined;
  readonly peakRssMb: number;
  readonly outputRecords: number;
  readonly dlqRecords: number;
  /** The project's commits start -> done and the seconds they took (a diagnostic; absent for the reference). */
  readonly commits?: { readonly count: number; readonly seconds: number };
}

export interface CatchUpPair {
  readonly first: Side;
  /** The order the applications ran in. */
  readonly order: readonly Side[];
  readonly project: CatchUp;
  readonly reference: CatchUp;
  /** With a baseline: its catch-up on the same input. */
  readonly baseline?: CatchUp;
  /** Comparable cases whose final status and lastEventId agree in both outputs, of `comparableCases`. */
  readonly agreeing: number;
  /** With a baseline: the same for the baseline's output against the reference's. */
  readonly baselineAgreeing?: number;
  readonly comparableCases: number;
  readonly referenceStats: ReferenceStats | undefined;
  readonly workload: ReferenceWorkload['counts'];
}

export interface Latency {
  readonly events: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The same over the events sent after the first {@link LATENCY_WARMUP_SECONDS} (the steady state). */
  readonly steady: {
    readonly events: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly maxMs: number;
  };
}

/**
 * Seconds at the start of a latency run whose events are left out of the steady-state figures (reported beside
 * the whole run's): they tell a start-up transient of a fresh topology (first metadata, first AddPartitionsToTxn of
 * each partition, fetch sessions, JIT) from the latency it settles at. `BENCH_LATENCY_TRACE=1` prints p50/p99/max
 * per second of sending, for each contender.
 */
export const LATENCY_WARMUP_SECONDS = 3;

export interface LatencyPair {
  readonly first: Side;
  readonly order: readonly Side[];
  readonly project: Latency;
  readonly reference: Latency;
  readonly baseline?: Latency;
}

const until = async (what: string, c: Contender, check: () => Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (!c.alive()) throw new Error(`bench: the ${c.side} process exited while waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what} (${c.side})`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
};

/** Rejects if the contender's process exits before `work` settles (so a crash does not wait for a timeout). */
async function whileAlive<T>(c: Contender, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const death = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      if (!c.alive()) reject(new Error(`bench: the ${c.side} process exited while waiting for ${what}`));
    }, 500);
  });
  try {
    return await Promise.race([work, death]);
  } finally {
    clearInterval(timer);
  }
}

async function createTopics(kafka: KafkaClient, c: Contender, partitions: number): Promise<void> {
  const admin = await openAdmin(kafka);
  try {
    await ensureTopics(admin, [
      { topic: c.input, partitions },
      { topic: c.output, partitions, config: { 'cleanup.policy': 'compact' } },
      { topic: c.dlq, partitions },
    ]);
  } finally {
    await admin.disconnect();
  }
}

/** Every record of a topic (read_committed): the count and, per key, the last value's status and lastEventId. */
async function readCases(
  kafka: KafkaClient,
  topic: string,
): Promise<{ records: number; last: Map<string, string> }> {
  const last = new Map<string, string>();
  let records = 0;
  await readRangesToEnd(
    kafka,
    await wholeTopicRanges(kafka, topic),
    async (_range, batch) => {
      for (const r of batch.records) {
        records++;
        if (r.key === null || r.value === null) continue;
        const v = JSON.parse(r.value.toString('utf8')) as { status?: string; lastEventId?: string };
        last.set(r.key.toString('utf8'), `${v.status}|${v.lastEventId}`);
      }
    },
    { groupPrefix: `${topic}-verify`, logger: silentLogger },
  );
  return { records, last };
}

async function countRecords(kafka: KafkaClient, topic: string): Promise<number> {
  let n = 0;
  await readRangesToEnd(
    kafka,
    await wholeTopicRanges(kafka, topic),
    async (_range, batch) => {
      n += batch.records.length;
    },
    { groupPrefix: `${topic}-count`, logger: silentLogger },
  );
  return n;
}

async function measureCatchUp(
  kafka: KafkaClient,
  c: Contender,
  workload: ReferenceWorkload,
  opts: { partitions: number; brokerPid: number | undefined },
): Promise<{ result: CatchUp; last: Map<string, string>; stats: ReferenceStats | undefined }> {
  await createTopics(kafka, c, opts.partitions);
  await publishAll(kafka, c.input, workload.records);
  const events = workload.records.length;
  const admin = await openAdmin(kafka);
  let measured: Omit<CatchUp, 'outputRecords' | 'dlqRecords'>;
  let stats: ReferenceStats | undefined;
  try {
    const brokerBefore = opts.brokerPid === undefined ? undefined : await processCpuSeconds(opts.brokerPid);
    const started = performance.now();
    const pid = await c.start();
    await until(
      'the first output record',
      c,
      async () => [...(await topicOffsets(admin, c.output)).values()].some((o) => BigInt(o.high) > 0n),
      300_000,
    );
    const firstOutput = performance.now();
    const startupCpuSeconds = await processCpuSeconds(pid);
    await whileAlive(c, 'caught up', waitCaughtUp(kafka, c.id, c.input, 900_000));
    const done = performance.now();
    const cpuSeconds = await processCpuSeconds(pid);
    const brokerCpu =
      opts.brokerPid === undefined ? undefined : (await processCpuSeconds(opts.brokerPid)) - brokerBefore!;
    const memory = await processMemoryMb(pid);
    const commits = await c.commits?.();
    const seconds = (done - started) / 1000;
    measured = {
      ...(commits ? { commits } : {}),
      events,
      seconds,
      eventsPerSecond: events / seconds,
      firstOutputSeconds: (firstOutput - started) / 1000,
      afterFirstOutputEventsPerSecond: events / ((done - firstOutput) / 1000),
      cpuSeconds,
      startupCpuSeconds,
      cpuSecondsPer1000: (cpuSeconds / events) * 1000,
      brokerCpuSecondsPer1000: brokerCpu === undefined ? undefined : (brokerCpu / events) * 1000,
      peakRssMb: memory.peakRssMb,
    };
  } finally {
    await admin.disconnect();
    stats = await c.stop();
  }
  const output = await readCases(kafka, c.output);
  const dlqRecords = await countRecords(kafka, c.dlq);
  return {
    result: { ...measured, outputRecords: output.records, dlqRecords },
    last: output.last,
    stats,
  };
}

/**
 * One catch-up of the project and one of the reference (and one of the baseline, when given) on the same
 * generated input. `rotation`: which runs first (0 = project, then the reference, then the baseline; each step
 * rotates that order by one).
 */
export async function referenceCatchUpPair(
  brokers: readonly string[],
  opts: {
    jar: string;
    cases: number;
    partitions: number;
    brokerPid: number | undefined;
    rotation: number;
    baseline?: Baseline;
    seed?: number;
  },
): Promise<CatchUpPair> {
  const workload = referenceWorkload(opts.cases, opts.seed ?? 7);
  const kafka = createKafka({ brokers, clientId: 'bench-reference' }, silentLogger);
  const sides = runOrder(opts.rotation, opts.baseline);
  const done = new Map<Side, Awaited<ReturnType<typeof measureCatchUp>>>();
  for (const side of sides) {
    done.set(side, await measureCatchUp(kafka, contender(side, brokers, opts), workload, opts));
  }
  const project = done.get('project')!;
  const reference = done.get('reference')!;
  const baseline = done.get('baseline');
  const agreeingWithReference = (last: ReadonlyMap<string, string>) => {
    let n = 0;
    for (const urp of workload.comparableCases) {
      const v = last.get(urp);
      if (v !== undefined && v === reference.last.get(urp)) n++;
    }
    return n;
  };
  return {
    first: sides[0]!,
    order: sides,
    project: project.result,
    reference: reference.result,
    ...(baseline ? { baseline: baseline.result } : {}),
    agreeing: agreeingWithReference(project.last),
    ...(baseline ? { baselineAgreeing: agreeingWithReference(baseline.last) } : {}),
    comparableCases: workload.comparableCases.size,
    referenceStats: reference.stats,
    workload: workload.counts,
  };
}

async function measureLatency(
  kafka: KafkaClient,
  c: Contender,
  opts: { rate: number; seconds: number; partitions: number },
): Promise<Latency> {
  await createTopics(kafka, c, opts.partitions);
  let follower: { stop(): Promise<void> } | undefined;
  try {
    await c.start();
    await whileAlive(c, 'ready', c.ready());
    const total = opts.rate * opts.seconds;
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    /** Second of the run each latency's event was sent in (same order as `latencies`). */
    const sentSecond: number[] = [];
    let begin = 0;
    let allSeen!: () => void;
    const seenAll = new Promise<void>((resolve) => (allSeen = resolve));
    follower = await followTopic(
      kafka,
      c.output,
      (batch) => {
        const now = performance.now();
        for (const m of batch.records) {
          const key = m.key?.toString('utf8') ?? '';
          const at = sentAt.get(key);
          if (at === undefined) continue;
          latencies.push(now - at);
          sentSecond.push(Math.floor((at - begin) / 1000));
          sentAt.delete(key);
        }
        if (latencies.length >= total) allSeen();
      },
      { name: `${c.id}-latency`, logger: silentLogger },
    );
    // the reader is assigned before the first event: its start is not counted as latency
    const publisher = await Publisher.open(kafka);
    try {
      const tickMs = 20;
      const perTick = Math.max(1, Math.round((opts.rate * tickMs) / 1000));
      begin = performance.now();
      let sent = 0;
      while (sent < total) {
        const batch: { key: string; value: string }[] = [];
        const stamps: string[] = [];
        for (let j = 0; j < perTick && sent < total; j++, sent++) {
          const urpCaseId = `L-${sent}`;
          const ucmCaseId = `UCM-L-${sent}`;
          const at = new Date().toISOString();
          batch.push({
            key: ucmCaseId,
            value: JSON.stringify({
              eventId: `${ucmCaseId}-created`,
              eventType: 'CASE_CREATED',
              eventTime: at,
              source: 'bench',
              payload: { ucmCaseId, urpCaseId, initialStatus: 'OPEN', createdAt: at },
            }),
          });
          stamps.push(urpCaseId);
        }
        const now = performance.now();
        for (const s of stamps) sentAt.set(s, now);
        await publisher.publish(c.input, batch, batch.length);
        const wait = begin + (sent / opts.rate) * 1000 - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait)); // pacing of the fixed rate
      }
    } finally {
      await publisher.close();
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await whileAlive(
        c,
        'every latency event',
        Promise.race([
          seenAll,
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`bench: ${c.side} latency: ${sentAt.size} events not seen in 120 s`)),
              120_000,
            );
          }),
        ]),
      );
    } finally {
      clearTimeout(timer);
    }
    const steady = latencies.filter((_, i) => sentSecond[i]! >= LATENCY_WARMUP_SECONDS);
    if (process.env.BENCH_LATENCY_TRACE) {
      const bySecond = new Map<number, number[]>();
      latencies.forEach((ms, i) => {
        const list = bySecond.get(sentSecond[i]!) ?? [];
        list.push(ms);
        bySecond.set(sentSecond[i]!, list);
      });
      for (const [second, list] of [...bySecond].sort(([a], [b]) => a - b)) {
        const s = latencySummary(list);
        console.error(
          `${c.id} ${opts.rate}/s second ${second}: p50 ${s.p50Ms.toFixed(0)} p99 ${s.p99Ms.toFixed(0)} max ${s.maxMs.toFixed(0)}`,
        );
      }
    }
    return { ...latencySummary([...latencies]), steady: latencySummary(steady) };
  } finally {
    await follower?.stop();
    await c.stop();
  }
}

/** One latency measurement of the project and one of the reference (and the baseline) at the same rate. */
export async function referenceLatencyPair(
  brokers: readonly string[],
  opts: {
    jar: string;
    rate: number;
    seconds: number;
    partitions: number;
    rotation: number;
    baseline?: Baseline;
  },
): Promise<LatencyPair> {
  const kafka = createKafka({ brokers, clientId: 'bench-reference-latency' }, silentLogger);
  const sides = runOrder(opts.rotation, opts.baseline);
  const done = new Map<Side, Latency>();
  for (const side of sides) {
    done.set(side, await measureLatency(kafka, contender(side, brokers, opts), opts));
  }
  const baseline = done.get('baseline');
  return {
    first: sides[0]!,
    order: sides,
    project: done.get('project')!,
    reference: done.get('reference')!,
    ...(baseline ? { baseline } : {}),
  };
}

interface Metric<R> {
  readonly name: string;
  readonly unit: string;
  /** Undefined when the value is not available (no broker pid). */
  readonly value: (r: R) => number | undefined;
  readonly better: 'higher' | 'lower';
}

const CATCH_UP_METRICS: readonly Metric<CatchUp>[] = [
  { name: 'catch-up, start to done', unit: 'events/s', value: (r) => r.eventsPerSecond, better: 'higher' },
  {
    name: 'catch-up, first output to done',
    unit: 'events/s',
    value: (r) => r.afterFirstOutputEventsPerSecond,
    better: 'higher',
  },
  { name: 'start to first output', unit: 's', value: (r) => r.firstOutputSeconds, better: 'lower' },
  {
    name: 'process CPU per 1,000 events',
    unit: 'CPU s / 1,000 events',
    value: (r) => r.cpuSecondsPer1000,
    better: 'lower',
  },
  {
    name: 'process CPU, start to first output',
    unit: 'CPU s',
    value: (r) => r.startupCpuSeconds,
    better: 'lower',
  },
  {
    name: 'broker CPU per 1,000 events',
    unit: 'CPU s / 1,000 events',
    value: (r) => r.brokerCpuSecondsPer1000,
    better: 'lower',
  },
  { name: 'peak RSS', unit: 'MB', value: (r) => r.peakRssMb, better: 'lower' },
];

const LATENCY_METRICS: readonly Metric<Latency>[] = [
  { name: 'p50', unit: 'ms', value: (r) => r.p50Ms, better: 'lower' },
  { name: 'p99', unit: 'ms', value: (r) => r.p99Ms, better: 'lower' },
  {
    name: `p50 after ${LATENCY_WARMUP_SECONDS} s`,
    unit: 'ms',
    value: (r) => r.steady.p50Ms,
    better: 'lower',
  },
  {
    name: `p99 after ${LATENCY_WARMUP_SECONDS} s`,
    unit: 'ms',
    value: (r) => r.steady.p99Ms,
    better: 'lower',
  },
];

interface Row {
  readonly name: string;
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  readonly project: number[];
  readonly reference: number[];
  readonly ratios: number[];
  /** With a baseline: its values and the ratios project / baseline of each run. */
  readonly baseline?: { readonly values: number[]; readonly ratios: number[] };
}

function row<R>(
  m: Metric<R>,
  name: string,
  pairs: readonly { project: R; reference: R; baseline?: R }[],
): Row | undefined {
  const project: number[] = [];
  const reference: number[] = [];
  const ratios: number[] = [];
  const baseline: number[] = [];
  const baselineRatios: number[] = [];
  for (const p of pairs) {
    const a = m.value(p.project);
    const b = m.value(p.reference);
    if (a === undefined || b === undefined) return undefined;
    project.push(a);
    reference.push(b);
    ratios.push(a / b);
    const c = p.baseline === undefined ? undefined : m.value(p.baseline);
    if (c !== undefined) {
      baseline.push(c);
      baselineRatios.push(a / c);
    }
  }
  return {
    name,
    unit: m.unit,
    better: m.better,
    project,
    reference,
    ratios,
    ...(baseline.length === pairs.length && pairs.length > 0
      ? { baseline: { values: baseline, ratios: baselineRatios } }
      : {}),
  };
}

const RATIO_UNIT = `ratio project / ${REFERENCE}`;
const BASELINE_RATIO_UNIT = 'ratio project / baseline';

/**
 * The figures (project, reference, ratio of each metric; with a baseline also baseline and project / baseline)
 * and the side-by-side table of the section.
 */
export function compareWithReference(
  catchUps: readonly CatchUpPair[],
  latencies: readonly { rate: number; pairs: readonly LatencyPair[] }[],
  baseline?: Baseline,
): { figures: Figure[]; table: string } {
  const workload = catchUps[0]!.workload;
  const rows: Row[] = [];
  for (const m of CATCH_UP_METRICS) {
    const r = row(m, m.name, catchUps);
    if (r) rows.push(r);
  }
  for (const { rate, pairs } of latencies) {
    for (const m of LATENCY_METRICS) {
      const r = row(m, `event -> output ${m.name} at ${rate}/s`, pairs);
      if (r) rows.push(r);
    }
  }
  const workloadNote =
    `${workload.events} input events: ${workload.comparable} applied by both, ${workload.duplicates} duplicates, ` +
    `${workload.invalid} invalid, ${workload.uncorrelated} status changes without urpCaseId ` +
    `(correlated by the project, dead letters in the reference)`;
  const baselineNote = baseline
    ? `baseline: ${baseline.label} (${baseline.dir}), same settings as the project`
    : undefined;
  const figures: Figure[] = [];
  for (const [i, r] of rows.entries()) {
    const name = `vs Kafka Streams: ${r.name}`;
    figures.push(figure(`${name} (project)`, r.unit, r.project, i === 0 ? workloadNote : undefined));
    figures.push(figure(`${name} (${REFERENCE} reference)`, r.unit, r.reference));
    figures.push(
      figure(
        `${name} (project / reference)`,
        RATIO_UNIT,
        r.ratios,
        `${r.better} is better for the project; median of the paired runs`,
      ),
    );
    if (r.baseline) {
      figures.push(
        figure(`${name} (baseline)`, r.unit, r.baseline.values, i === 0 ? baselineNote : undefined),
      );
      figures.push(
        figure(
          `${name} (project / baseline)`,
          BASELINE_RATIO_UNIT,
          r.baseline.ratios,
          `${r.better} is better for the project; median of the per-run ratios`,
        ),
      );
    }
  }
  const fmt = (n: number, unit: string) =>
    `${n.toLocaleString('en-US', { maximumFractionDigits: n >= 100 ? 0 : n >= 1 ? 2 : 3 })} ${unit}`;
  const agreeing = catchUps.map((p) => `${p.agreeing}/${p.comparableCases}`).join(', ');
  const withBaseline = baseline !== undefined && rows.some((r) => r.baseline);
  const baselineAgreeing = catchUps
    .map((p) => `${p.baselineAgreeing ?? '-'}/${p.comparableCases}`)
    .join(', ');
  const notes =
    `notes: ${workloadNote}; events/s count every input event; process CPU from spawn to done (startup ` +
    `included); peak RSS = VmHWM at done; final status + lastEventId agree on ${agreeing} comparable cases; ` +
    `reference: kafka-streams ${REFERENCE_STREAMS_VERSION} client on the Kafka 4.4.0 broker (4.4.0 is not on ` +
    `Maven Central here), exactly_once_v2, commit.interval.ms=100, RocksDB store with caching, 1 stream ` +
    `thread, JVM options ${referenceJavaOpts().join(' ')}`;
  const lines = withBaseline
    ? [
        '',
        `project vs baseline ${baseline.label} vs Kafka Streams reference (median of ${catchUps.length} runs of ` +
          `each, the order rotating; ratios = medians of the per-run ratios)`,
        `metric | project | baseline | ${REFERENCE} | project / reference | project / baseline | better`,
        ...rows.map(
          (r) =>
            `${r.name} | ${fmt(median(r.project), r.unit)} | ` +
            `${r.baseline ? fmt(median(r.baseline.values), r.unit) : '-'} | ` +
            `${fmt(median(r.reference), r.unit)} | ${median(r.ratios).toFixed(2)} | ` +
            `${r.baseline ? median(r.baseline.ratios).toFixed(2) : '-'} | ${r.better}`,
        ),
        `${notes}; ${baselineNote}; the baseline's final status + lastEventId agree with the reference on ` +
          `${baselineAgreeing} comparable cases`,
      ]
    : [
        '',
        `project vs Kafka Streams reference (median of ${catchUps.length} paired runs; ratio = project / reference, median of the per-pair ratios)`,
        `metric | project | ${REFERENCE} | ratio | better`,
        ...rows.map(
          (r) =>
            `${r.name} | ${fmt(median(r.project), r.unit)} | ${fmt(median(r.reference), r.unit)} | ` +
            `${median(r.ratios).toFixed(2)} | ${r.better}`,
        ),
        notes,
      ];
  return { figures, table: lines.join('\n') };
}
