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
 *
 * This module turns the measurements into the section's figures and its side-by-side table. The measurements are
 * in bench/reference-catch-up.ts and bench/reference-latency.ts, the applications under test (and their order) in
 * bench/reference-contenders.ts, the catch-up's input in bench/reference-workload.ts.
 */
import type { Baseline } from './baseline.js';
import type { CatchUp, CatchUpPair } from './reference-catch-up.js';
import { LATENCY_WARMUP_SECONDS, type Latency, type LatencyPair } from './reference-latency.js';
import { REFERENCE_STREAMS_VERSION, referenceJavaOpts } from './reference.js';
import { figure, median, type Figure } from './report.js';

const REFERENCE = `Kafka Streams ${REFERENCE_STREAMS_VERSION}`;

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
