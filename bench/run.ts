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
 *
 * This module reads the options, starts the broker, runs the chosen sections in order (bench/run-sections.ts,
 * bench/run-baseline-sections.ts) and writes the report.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLogger } from '../common/logger.js';
import { EmbeddedKafka } from '../kafka/embedded/index.js';
import { KAFKA_VERSION } from '../kafka/embedded/versions.js';
import { baselineFromEnv } from './baseline.js';
import { renderChart, type Figure } from './report.js';
import { restoreSection, referenceSection } from './run-baseline-sections.js';
import { log, type SectionContext } from './run-context.js';
import {
  apiSection,
  caseSyncSection,
  failoverSection,
  latencySection,
  restartSection,
  rssSection,
  transactionsSection,
  wordCountSection,
} from './run-sections.js';

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
    const ctx: SectionContext = { brokers, broker, quick, runs, size, baseline, figures };
    if (only.has('wordcount')) await wordCountSection(ctx);
    if (only.has('casesync')) await caseSyncSection(ctx);
    if (only.has('transactions')) await transactionsSection(ctx);
    if (only.has('latency')) await latencySection(ctx);
    if (only.has('failover')) await failoverSection(ctx);
    if (only.has('failover')) await restartSection(ctx);
    if (only.has('api')) await apiSection(ctx);
    if (only.has('rss')) await rssSection(ctx);
    if (only.has('restore')) await restoreSection(ctx);
    if (only.has('reference')) await referenceSection(ctx);
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
