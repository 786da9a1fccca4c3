/**
 * `npm run bench`: the benchmark suite on a real broker (the embedded one, or KAFKA_BROKERS). Each figure is run
 * `--runs` times (default 3) and reported with its median. Writes bench/results/<timestamp>.json, latest.json and
 * latest.svg. Options: `--quick` (small sizes, one run: a smoke test of the suite), `--runs N`,
 * `--only a,b` (sections: wordcount, transactions, casesync, latency, failover, api, rss, restore, reference), `--rss-cases N`
 * (default 1,000,000), `--restore-cases N` (default 200,000), `--latency-rate N` (events/s of the latency section,
 * default 2000). `reference` runs the project beside a Kafka Streams reference app (bench/reference-streams, built
 * with Maven) on the same input: see bench/reference-compare.ts. `restore` times the restore of one instance's
 * stores from their changelogs into an empty state directory (caseSyncRestore). BENCH_BASELINE_DIR=<dir> (an
 * earlier build of the project, bench/baseline.ts) adds that build beside the project in `reference` and
 * `restore`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLogger } from '../common/logger.js';
import { EmbeddedKafka } from '../kafka/embedded/index.js';
import { KAFKA_VERSION } from '../kafka/embedded/versions.js';
import { wordCountTopology } from '../topology/examples/word-count.js';
import {
  apiBench,
  caseSyncFailover,
  caseSyncRestart,
  caseSyncLatency,
  caseSyncRestore,
  caseSyncThroughput,
  rssWithCases,
  type RestoreRun,
} from './case-sync-bench.js';
import { baselineFromEnv } from './baseline.js';
import {
  compareWithReference,
  REFERENCE_LATENCY_RATES,
  referenceCatchUpPair,
  referenceLatencyPair,
  type LatencyPair,
} from './reference-compare.js';
import { buildReferenceJar } from './reference.js';
import { figure, renderChart, type Figure } from './report.js';
import { benchRawConsume, benchStreamsThroughput } from './streams-throughput.js';
import { transactionCost } from './transaction-bench.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SECTIONS = [
  'wordcount',
  'transactions',
  'casesync',
  'latency',
  'failover',
  'api',
  'rss',
  'restore',
  'reference',
] as const;
/** The restore rate issue 14 asks for (records/s). */
const RESTORE_TARGET = 200_000;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    only: { type: 'string' },
    'rss-cases': { type: 'string' },
    'restore-cases': { type: 'string' },
    'latency-rate': { type: 'string' },
  },
});
const quick = values.quick ?? false;
const runs = Number(values.runs ?? (quick ? 1 : 3));
const only = new Set(values.only ? values.only.split(',') : SECTIONS);
for (const s of only) {
  if (!(SECTIONS as readonly string[]).includes(s)) {
    process.stderr.write(`bench: unknown section ${s}; sections: ${SECTIONS.join(', ')}\n`);
    process.exit(2);
  }
}
const size = {
  words: quick ? 20_000 : 100_000,
  cases: quick ? 2_000 : 10_000,
  latencySeconds: quick ? 5 : 15,
  apiMs: quick ? 2_000 : 5_000,
  rssCases: Number(values['rss-cases'] ?? (quick ? 50_000 : 1_000_000)),
  restoreCases: Number(values['restore-cases'] ?? (quick ? 20_000 : 200_000)),
  latencyRate: Number(values['latency-rate'] ?? 2_000),
  partitions: 6,
};
const logger = createLogger('info', { component: 'bench' });
const log = (msg: string) => process.stdout.write(`${msg}\n`);

async function repeat<T>(label: string, n: number, fn: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fn();
    log(`  ${label} run ${i + 1}/${n}: ${JSON.stringify(r)}`);
    out.push(r);
  }
  return out;
}

const sentence = (i: number) => ({
  key: `s${i}`,
  value: `the quick brown fox ${i % 997} jumps over the lazy dog ${i % 101}`,
});
/** Ten words seen nowhere else: a store (and changelog) of 10 keys per record, to measure restore. */
const distinctWords = (i: number) => ({
  key: `d${i}`,
  value: Array.from({ length: 10 }, (_, j) => `w${i}x${j}`).join(' '),
});

async function main(): Promise<void> {
  // Checked before the broker starts: a baseline that is not built fails at once.
  const baseline = await baselineFromEnv();
  if (baseline) log(`baseline: ${baseline.label} (${baseline.cli})`);
  let broker: EmbeddedKafka | undefined;
  const external = process.env.KAFKA_BROKERS?.split(',').filter(Boolean);
  if (!external) {
    broker = await EmbeddedKafka.start({ cacheDir: path.join(ROOT, '.kafka'), logger, heapMb: 1024 });
  }
  const brokers = external ?? [broker!.bootstrap];
  const figures: Figure[] = [];
  const started = new Date();
  try {
    if (only.has('wordcount')) {
      log(`word count (streams runtime, ${size.words} sentences of 10 words, ${size.partitions} partitions)`);
      for (const guarantee of ['exactly_once', 'at_least_once'] as const) {
        const rs = await repeat(guarantee, runs, () =>
          benchStreamsThroughput({
            brokers,
            guarantee,
            records: size.words,
            partitions: size.partitions,
            topology: (i, o) => wordCountTopology(i, o),
            makeRecord: sentence,
          }),
        );
        figures.push(
          figure(
            `word count ${guarantee}`,
            'records/s',
            rs.map((r) => r.recordsPerSecond),
          ),
        );
      }
      const restores = await repeat('restore', runs, () =>
        benchStreamsThroughput({
          brokers,
          guarantee: 'exactly_once',
          records: size.words / 5,
          partitions: size.partitions,
          topology: (i, o) => wordCountTopology(i, o),
          makeRecord: distinctWords,
          measureRestore: true,
        }),
      );
      figures.push(
        figure(
          'restore into LevelDB',
          'records/s',
          restores.map((r) => r.restore!.recordsPerSecond),
          `${restores[0]!.restore!.records} changelog records; start to ready on an empty state directory`,
        ),
      );
      const raw = await repeat('raw consume', runs, () =>
        benchRawConsume({ brokers, records: size.words, partitions: size.partitions, makeRecord: sentence }),
      );
      figures.push(
        figure(
          'broker raw consume (same records)',
          'records/s',
          raw.map((r) => r.recordsPerSecond),
        ),
      );
    }
    if (only.has('casesync')) {
      log(
        `case sync throughput (${size.cases} cases of generated UCM events, ${size.partitions} partitions)`,
      );
      for (const instances of [1, 3]) {
        for (const guarantee of ['exactly_once', 'at_least_once'] as const) {
          const rs = await repeat(`${instances} instance(s) ${guarantee}`, runs, () =>
            caseSyncThroughput(brokers, {
              guarantee,
              instances,
              cases: size.cases,
              partitions: size.partitions,
            }),
          );
          figures.push(
            figure(
              `case sync ${guarantee}, ${instances} instance(s)`,
              'events/s',
              rs.map((r) => r.eventsPerSecond),
            ),
          );
        }
      }
    }
    if (only.has('transactions')) {
      const txns = quick ? 20 : 60;
      log(`back-to-back transactions: ${txns} of 200 records with offsets, per retry backoff`);
      const rs = await repeat('transactions', runs, () =>
        transactionCost(brokers, { transactions: txns, records: 200, partitions: size.partitions }),
      );
      for (const setting of ['project', 100] as const) {
        const of = rs.map((r) => r.find((c) => c.retryBackoffMs === setting)!);
        const label =
          setting === 'project'
            ? 'the instance producer (retry.backoff.ms 5)'
            : "librdkafka's default 100 ms";
        figures.push(
          figure(
            `transaction of 200 records + offsets, back to back, p50, ${label}`,
            'ms',
            of.map((c) => c.p50Ms),
            `p90 ${of.map((c) => c.p90Ms.toFixed(1)).join('/')} ms; the first 5 of each run left out`,
          ),
        );
      }
    }
    if (only.has('latency')) {
      log(`event -> queryable latency at ${size.latencyRate} events/s for ${size.latencySeconds} s`);
      const rs = await repeat('latency', runs, () =>
        caseSyncLatency(brokers, {
          ratePerSecond: size.latencyRate,
          seconds: size.latencySeconds,
          partitions: size.partitions,
        }),
      );
      figures.push(
        figure(
          `event -> queryable p50 at ${size.latencyRate}/s`,
          'ms',
          rs.map((r) => r.p50Ms),
        ),
      );
      figures.push(
        figure(
          `event -> queryable p99 at ${size.latencyRate}/s`,
          'ms',
          rs.map((r) => r.p99Ms),
        ),
      );
    }
    if (only.has('failover')) {
      log(`failover after SIGKILL (2 instances, ${size.cases} cases)`);
      for (const standbys of [1, 0]) {
        const rs = await repeat(`standbys=${standbys}`, runs, () =>
          caseSyncFailover(brokers, { standbys, cases: size.cases, partitions: size.partitions }),
        );
        figures.push(
          figure(
            `failover ${standbys ? 'with' : 'without'} standby`,
            's',
            rs.map((r) => r.seconds),
            `SIGKILL until the survivor runs every task and answers every sampled key; includes the 6 s session ` +
              `timeout; restored ${rs.map((r) => r.restoredRecords).join('/')} records; owner map lists one ` +
              `member after ${rs.map((r) => r.membershipSeconds.toFixed(1)).join('/')} s`,
          ),
        );
      }
    }
    if (only.has('failover')) {
      log(`SIGKILL and restart of the same instance (2 instances, ${size.cases} cases)`);
      const rs = await repeat('restart', runs, () =>
        caseSyncRestart(brokers, { cases: size.cases, partitions: size.partitions }),
      );
      figures.push(
        figure(
          'restart: every key answers again',
          's',
          rs.map((r) => r.seconds),
          `from the restart of the killed instance (static membership, same state directory); restored ${rs
            .map((r) => r.restoredRecords)
            .join('/')} records`,
        ),
      );
    }
    if (only.has('api')) {
      log('API (2 instances, 16 keep-alive connections)');
      const rs = await repeat('api', runs, () =>
        apiBench(brokers, { cases: size.cases, partitions: size.partitions, durationMs: size.apiMs }),
      );
      for (const kind of ['local', 'forwarded', 'bare'] as const) {
        const label = kind === 'bare' ? 'bare fastify from memory' : `GET /cases ${kind}`;
        figures.push(
          figure(
            label,
            'requests/s',
            rs.map((r) => r[kind].requestsPerSecond),
          ),
        );
        figures.push(
          figure(
            `${label} p99`,
            'ms (p99)',
            rs.map((r) => r[kind].p99Ms),
          ),
        );
      }
    }
    if (only.has('rss')) {
      log(`RSS with ${size.rssCases} cases (one instance)`);
      const rs = await repeat('rss', runs, () =>
        rssWithCases(brokers, { cases: size.rssCases, partitions: size.partitions }),
      );
      const mb = (v: number) => v.toFixed(0);
      figures.push(
        figure(
          `RSS with ${size.rssCases} cases`,
          'MB',
          rs.map((r) => r.rssMb),
          `heap ${rs.map((r) => `${mb(r.heapMb)} MB used of ${mb(r.heapTotalMb)}`).join(', ')}; external ` +
            `${rs.map((r) => mb(r.externalMb)).join('/')} MB; target < 256 MB`,
        ),
      );
      figures.push(
        figure(
          `ingest of ${size.rssCases} CASE_CREATED`,
          'events/s',
          rs.map((r) => r.cases / r.ingestSeconds),
        ),
      );
    }
    if (only.has('restore')) {
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
    if (only.has('reference')) {
      log(
        `project vs ${baseline ? `baseline ${baseline.label} vs ` : ''}Kafka Streams reference (${size.cases} ` +
          `cases, ${size.partitions} partitions; latency at ${REFERENCE_LATENCY_RATES.join(' and ')} events/s ` +
          `for ${size.latencySeconds} s)`,
      );
      const { jar } = await buildReferenceJar({ log });
      let pair = 0; // rotates which of the applications runs first
      const catchUps = await repeat('catch-up', runs, () =>
        referenceCatchUpPair(brokers, {
          jar,
          cases: size.cases,
          partitions: size.partitions,
          brokerPid: broker?.pid,
          rotation: pair++,
          baseline,
        }),
      );
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
  } finally {
    await broker?.stop();
  }
  const report = {
    date: started.toISOString(),
    quick,
    runs,
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    kafka: external ? 'external' : `embedded ${KAFKA_VERSION}`,
    sizes: size,
    ...(baseline ? { baseline: { dir: baseline.dir, commit: baseline.label } } : {}),
    figures,
  };
  const dir = path.join(ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const json = `${JSON.stringify(report, null, 2)}\n`;
  await writeFile(path.join(dir, `${stamp}.json`), json);
  await writeFile(path.join(dir, 'latest.json'), json);
  await writeFile(
    path.join(dir, 'latest.svg'),
    renderChart(`urp-case-sync benchmarks ${report.date} (median of ${runs})`, figures),
  );
  log('\nfigure | median | runs');
  for (const f of figures)
    log(`${f.name} | ${f.median} ${f.unit} | ${f.runs.join(', ')}${f.note ? ` (${f.note})` : ''}`);
  log(`\nreport: bench/results/latest.json, chart: bench/results/latest.svg`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
