/**
 * The catch-up measurement of the reference comparison (bench/reference-compare.ts): the input produced first,
 * then each application started on it (project, reference, and the baseline when given, in rotating order); timed
 * from spawn and from the first output record to "caught up", with process and broker CPU from /proc and peak RSS;
 * afterwards its output and dead letters are read back, and the final case records compared with the reference's.
 */
import { silentLogger } from '../common/logger.js';
import {
  createKafka,
  openAdmin,
  readRangesToEnd,
  topicOffsets,
  wholeTopicRanges,
  type KafkaClient,
} from '../kafka/index.js';
import type { Baseline } from './baseline.js';
import { publishAll } from './bench-app.js';
import { processCpuSeconds, processMemoryMb, type ReferenceStats } from './reference.js';
import {
  contender,
  createTopics,
  runOrder,
  until,
  whileAlive,
  type Contender,
  type Side,
} from './reference-contenders.js';
import { referenceWorkload, type ReferenceWorkload } from './reference-workload.js';
import { waitCaughtUp } from './streams-throughput.js';

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
