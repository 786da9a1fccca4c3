/**
 * `urp-case-sync backfill --file export.jsonl`: publishes the deterministic UCM events of a JSON Lines export of
 * historical cases (see processors/domain/backfill.ts for the line format) to the input topic. Streams the file
 * (constant memory), publishes in acknowledged chunks, prints progress, and reports every rejected line with its
 * number and reason (optionally all of them to `--rejects-file` as JSON Lines) while publishing the rest.
 * Re-running it publishes the same events again, which the topology ignores as duplicates.
 * Every run gets a run id (bf-<UTC time>-<random>), printed first and carried on every published record as headers
 * x-usc-run-id / x-usc-run-kind=backfill, so case histories show which events a backfill wrote (never passed off as
 * live actions).
 */
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createKafka, Publisher, type PublishMessage } from '../kafka/index.js';
import { backfillEventsForLine } from '../processors/domain/backfill.js';
import { newRunId, runHeaders } from '../processors/domain/dlq-record.js';
import type { Logger } from '../topology/processor.js';
import type { ServiceConfig } from './config.js';

export interface BackfillOptions {
  readonly file: string;
  readonly dryRun: boolean;
  readonly rejectsFile?: string;
  readonly logger: Logger;
  /** Progress lines (every `progressEveryMs`, and at the end). */
  readonly out: (line: string) => void;
  readonly progressEveryMs?: number;
  /** This run's id (default: a new bf-... id). */
  readonly runId?: string;
}

export interface BackfillReport {
  /** On every published record as x-usc-run-id (x-usc-run-kind: backfill). */
  readonly runId: string;
  readonly lines: number;
  readonly cases: number;
  readonly events: number;
  readonly published: number;
  readonly rejected: readonly { readonly line: number; readonly problem: string }[];
}

const CHUNK = 1_000;

export async function runBackfill(
  config: ServiceConfig,
  brokers: readonly string[] | undefined,
  options: BackfillOptions,
): Promise<BackfillReport> {
  const validation = {
    statusMapping: config.caseSync.statusMapping,
    attributeAllowlist: config.caseSync.attributeAllowlist,
  };
  const run = { id: options.runId ?? newRunId('backfill', Date.now()), kind: 'backfill' } as const;
  const headers = runHeaders(run);
  options.out(
    `backfill run ${run.id}${options.dryRun ? ' (dry run: nothing published)' : ''}: published records carry x-usc-run-id=${run.id}, x-usc-run-kind=backfill`,
  );
  const publisher =
    options.dryRun || !brokers
      ? undefined
      : await Publisher.open(createKafka({ ...config.kafka, brokers }, options.logger));
  const rejected: { line: number; problem: string; text: string }[] = [];
  let lines = 0;
  let cases = 0;
  let events = 0;
  let published = 0;
  let pending: PublishMessage[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    await publisher?.publish(config.caseSync.inputTopic, pending, CHUNK);
    if (publisher) published += pending.length;
    pending = [];
  };
  const started = Date.now();
  let lastProgress = started;
  const progress = (final: boolean) =>
    options.out(
      `${final ? 'done' : 'progress'}: ${lines} lines, ${cases} cases, ${events} events${
        options.dryRun ? ' (dry run: nothing published)' : `, ${published} published`
      }, ${rejected.length} rejected, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  try {
    const input = createInterface({ input: createReadStream(options.file), crlfDelay: Infinity });
    for await (const raw of input) {
      lines++;
      if (raw.trim() === '') continue;
      const result = backfillEventsForLine(raw, validation, Date.now());
      if (!result.ok) {
        rejected.push({ line: lines, problem: result.problem, text: raw });
        continue;
      }
      cases++;
      events += result.events.length;
      for (const e of result.events) pending.push({ key: e.key, value: e.value, headers });
      if (pending.length >= CHUNK) await flush();
      if (Date.now() - lastProgress >= (options.progressEveryMs ?? 1_000)) {
        lastProgress = Date.now();
        progress(false);
      }
    }
    await flush();
  } finally {
    await publisher?.close();
  }
  progress(true);
  for (const r of rejected.slice(0, 20)) options.out(`  line ${r.line}: ${r.problem}`);
  if (rejected.length > 20) options.out(`  ... and ${rejected.length - 20} more rejected lines`);
  if (options.rejectsFile && rejected.length > 0) {
    await writeFile(options.rejectsFile, rejected.map((r) => `${JSON.stringify(r)}\n`).join(''));
    options.out(`rejected lines written to ${options.rejectsFile}`);
  }
  const report = {
    runId: run.id,
    lines,
    cases,
    events,
    published,
    rejected: rejected.map(({ line, problem }) => ({ line, problem })),
  };
  options.logger.info({ ...report, rejected: rejected.length }, 'backfill finished');
  return report;
}
