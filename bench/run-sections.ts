/**
 * The sections of the benchmark suite (bench/run.ts) that measure the project alone: word count on the streams
 * runtime (throughput, restore, the broker's raw consume rate), case sync throughput, back-to-back transactions,
 * event -> queryable latency, failover and restart after SIGKILL, the API, and RSS with many cases. Each runs its
 * measurements `runs` times and appends its figures to the report's. `restore` and `reference`, which can run a
 * baseline beside the project, are in bench/run-baseline-sections.ts.
 */
import { wordCountTopology } from '../topology/examples/word-count.js';
import {
  apiBench,
  caseSyncFailover,
  caseSyncLatency,
  caseSyncRestart,
  caseSyncThroughput,
} from './case-sync-bench.js';
import { rssWithCases } from './case-sync-volume-bench.js';
import { figure } from './report.js';
import { log, repeat, type SectionContext } from './run-context.js';
import { benchRawConsume, benchStreamsThroughput } from './streams-throughput.js';
import { transactionCost } from './transaction-bench.js';

const sentence = (i: number) => ({
  key: `s${i}`,
  value: `the quick brown fox ${i % 997} jumps over the lazy dog ${i % 101}`,
});
/** Ten words seen nowhere else: a store (and changelog) of 10 keys per record, to measure restore. */
const distinctWords = (i: number) => ({
  key: `d${i}`,
  value: Array.from({ length: 10 }, (_, j) => `w${i}x${j}`).join(' '),
});

/** `wordcount`: the streams runtime on the word-count topology, and the raw consume rate beside it. */
export async function wordCountSection({ brokers, runs, size, figures }: SectionContext): Promise<void> {
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

/** `casesync`: case sync throughput with 1 and 3 instances, both guarantees. */
export async function caseSyncSection({ brokers, runs, size, figures }: SectionContext): Promise<void> {
  log(`case sync throughput (${size.cases} cases of generated UCM events, ${size.partitions} partitions)`);
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

/** `transactions`: back-to-back transactions of the instance producer, per retry backoff. */
export async function transactionsSection({
  brokers,
  quick,
  runs,
  size,
  figures,
}: SectionContext): Promise<void> {
  const txns = quick ? 20 : 60;
  log(`back-to-back transactions: ${txns} of 200 records with offsets, per retry backoff`);
  const rs = await repeat('transactions', runs, () =>
    transactionCost(brokers, { transactions: txns, records: 200, partitions: size.partitions }),
  );
  for (const setting of ['project', 100] as const) {
    const of = rs.map((r) => r.find((c) => c.retryBackoffMs === setting)!);
    const label =
      setting === 'project' ? 'the instance producer (retry.backoff.ms 5)' : "librdkafka's default 100 ms";
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

/** `latency`: event -> queryable latency at a fixed rate. */
export async function latencySection({ brokers, runs, size, figures }: SectionContext): Promise<void> {
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

/** `failover` (first part): failover after SIGKILL, with and without a standby. */
export async function failoverSection({ brokers, runs, size, figures }: SectionContext): Promise<void> {
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

/** `failover` (second part): SIGKILL and restart of the same instance. */
export async function restartSection({ brokers, runs, size, figures }: SectionContext): Promise<void> {
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

/** `api`: requests/s and p99 of a local, a forwarded and a bare fastify lookup. */
export async function apiSection({ brokers, runs, size, figures }: SectionContext): Promise<void> {
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

/** `rss`: RSS of one instance with many cases, and their ingest rate. */
export async function rssSection({ brokers, runs, size, figures }: SectionContext): Promise<void> {
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
