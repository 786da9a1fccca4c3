/**
 * Benchmarks of one instance of the service holding many cases (one CASE_CREATED each, produced into a BenchApp
 * of bench/bench-app.ts, or of a baseline build's CLI): its RSS, heap and ingest rate once caught up, and the
 * restore of its stores from their changelogs into an empty state directory, beside the rate at which the same
 * changelogs are merely read (the ceiling of a restore).
 */
import { mkdir, rm } from 'node:fs/promises';
import { silentLogger } from '../common/logger.js';
import { Publisher, readRangesToEnd, wholeTopicRanges } from '../kafka/index.js';
import { BenchApp, until, type Instance } from './bench-app.js';

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
