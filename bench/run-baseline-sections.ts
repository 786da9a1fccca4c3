/**
 * The sections of the benchmark suite (bench/run.ts) that run a baseline build beside the project when
 * BENCH_BASELINE_DIR names one (bench/baseline.ts): `restore` (an instance's stores restored from their changelogs
 * into an empty state directory, and the changelog read alone as its ceiling) and `reference` (the project beside
 * the Kafka Streams reference, bench/reference-compare.ts). Each appends its figures to the report's.
 */
import { caseSyncRestore, type RestoreRun } from './case-sync-volume-bench.js';
import { referenceCatchUpPair } from './reference-catch-up.js';
import { compareWithReference } from './reference-compare.js';
import { REFERENCE_LATENCY_RATES, referenceLatencyPair, type LatencyPair } from './reference-latency.js';
import { buildReferenceJar } from './reference.js';
import { figure } from './report.js';
import { log, repeat, type SectionContext } from './run-context.js';

/** The restore rate issue 14 asks for (records/s). */
const RESTORE_TARGET = 200_000;

/** `restore`: restore from the changelogs, of the project and (alternating) the baseline. */
export async function restoreSection({
  brokers,
  runs,
  size,
  baseline,
  figures,
}: SectionContext): Promise<void> {
  log(
    `restore of ${size.restoreCases} cases from the changelogs (one instance, empty state directory` +
      `${baseline ? `; project and baseline ${baseline.label}, alternating` : ''})`,
  );
  let turn = 0; // alternates which build runs first
  const rs = await repeat('restore', runs, async () => {
    const sides = !baseline
      ? ['project']
      : turn++ % 2 === 0
        ? ['project', 'baseline']
        : ['baseline', 'project'];
    const out: { project?: RestoreRun; baseline?: RestoreRun } = {};
    for (const side of sides) {
      out[side as 'project' | 'baseline'] = await caseSyncRestore(brokers, {
        cases: size.restoreCases,
        partitions: size.partitions,
        cli: side === 'baseline' ? baseline!.cli : undefined,
      });
    }
    return out as { project: RestoreRun; baseline?: RestoreRun };
  });
  const restoreFigures = (which: 'project' | 'baseline', suffix: string) => {
    const runsOf = rs.map((r) => r[which]!);
    const restored = runsOf.map((r) => r.records).join('/');
    figures.push(
      figure(
        `restore from changelogs${suffix}`,
        'records/s',
        runsOf.map((r) => r.recordsPerSecond),
        `${size.restoreCases} cases (one CASE_CREATED each), ${restored} changelog records restored into an ` +
          `empty state directory in ${runsOf.map((r) => r.seconds.toFixed(2)).join('/')} s; from the ` +
          `runtime's first "restoring state stores from changelogs" log line to its last "tasks restored and ` +
          `running" line (log timestamps, ms); target >= ${RESTORE_TARGET.toLocaleString('en-US')} records/s` +
          (which === 'baseline' ? `; baseline ${baseline!.label}` : ''),
      ),
    );
    figures.push(
      figure(
        `restore, start to ready${suffix}`,
        'records/s',
        runsOf.map((r) => r.startToReadyRecordsPerSecond),
        `the same restores over spawn of the restarted process -> /readyz 200 (startup, group join, ` +
          `restore, task start): ${runsOf.map((r) => r.startToReadySeconds.toFixed(2)).join('/')} s`,
      ),
    );
  };
  restoreFigures('project', '');
  figures.push(
    figure(
      'changelog read alone (the ceiling of a restore)',
      'records/s',
      rs.map((r) => r.project.readOnlyRecordsPerSecond),
      'the same changelogs read by the bench process with the project reader, every record discarded ' +
        '(read_committed): what the Kafka client delivers before any store is written',
    ),
  );
  if (baseline) {
    restoreFigures('baseline', ' (baseline)');
    figures.push(
      figure(
        'restore from changelogs (project / baseline)',
        'ratio project / baseline',
        rs.map((r) => r.project.recordsPerSecond / r.baseline!.recordsPerSecond),
        'records/s; higher is better for the project; median of the per-run ratios',
      ),
    );
    figures.push(
      figure(
        `restore of ${size.restoreCases} cases, seconds (project / baseline)`,
        'ratio project / baseline',
        rs.map((r) => r.project.seconds / r.baseline!.seconds),
        'restore time of the same cases (the two builds may write different changelog records per case); ' +
          'lower is better for the project',
      ),
    );
  }
}

/** `reference`: the project (and the baseline) beside the Kafka Streams reference. */
export async function referenceSection({
  brokers,
  broker,
  runs,
  size,
  baseline,
  figures,
}: SectionContext): Promise<void> {
  log(
    `project vs ${baseline ? `baseline ${baseline.label} vs ` : ''}Kafka Streams reference (${size.cases} ` +
      `cases, ${size.partitions} partitions; latency at ${REFERENCE_LATENCY_RATES.join(' and ')} events/s ` +
      `for ${size.latencySeconds} s)`,
  );
  const { jar } = await buildReferenceJar({ log });
  let pair = 0; // rotates which of the applications runs first
  const catchUpPair = () =>
    referenceCatchUpPair(brokers, {
      jar,
      cases: size.cases,
      partitions: size.partitions,
      brokerPid: broker?.pid,
      rotation: pair++,
      baseline,
    });
  // One pair first that is not counted: the broker's JIT warms up on the first catch-up of a run, which made the
  // application that ran first in run 1 slower and its broker CPU per event up to twice the others'. Whichever
  // application is first, this run is the same for all; the rotation starts after it.
  if (runs > 1) {
    const warm = await catchUpPair();
    log(`  catch-up warm-up (not counted): ${JSON.stringify(warm)}`);
    pair = 0;
  }
  const catchUps = await repeat('catch-up', runs, catchUpPair);
  const latencies: { rate: number; pairs: LatencyPair[] }[] = [];
  for (const rate of REFERENCE_LATENCY_RATES) {
    const pairs = await repeat(`latency ${rate}/s`, runs, () =>
      referenceLatencyPair(brokers, {
        jar,
        rate,
        seconds: size.latencySeconds,
        partitions: size.partitions,
        rotation: pair++,
        baseline,
      }),
    );
    latencies.push({ rate, pairs });
  }
  const comparison = compareWithReference(catchUps, latencies, baseline);
  figures.push(...comparison.figures);
  log(comparison.table);
}
