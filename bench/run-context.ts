/**
 * What every section of the benchmark suite (bench/run.ts) works with: the brokers (and the embedded broker, when
 * there is one), the number of runs, the sizes of the run, the baseline if any, and the list of figures of the
 * report, to which each section appends its own; `log` (a line on stdout) and `repeat` (a measurement run N
 * times, each run's result printed as a JSON line).
 */
import type { EmbeddedKafka } from '../kafka/embedded/index.js';
import type { Baseline } from './baseline.js';
import type { Figure } from './report.js';

/** The sizes of a run (bench/run.ts: from the options, smaller with `--quick`); in the report as `sizes`. */
export interface Sizes {
  readonly words: number;
  readonly cases: number;
  readonly latencySeconds: number;
  readonly apiMs: number;
  readonly rssCases: number;
  readonly restoreCases: number;
  readonly latencyRate: number;
  readonly partitions: number;
}

export interface SectionContext {
  readonly brokers: readonly string[];
  /** The embedded broker; undefined with KAFKA_BROKERS. */
  readonly broker: EmbeddedKafka | undefined;
  readonly quick: boolean;
  readonly runs: number;
  readonly size: Sizes;
  readonly baseline: Baseline | undefined;
  /** The figures of the report, in the order the sections add them. */
  readonly figures: Figure[];
}

export const log = (msg: string) => process.stdout.write(`${msg}\n`);

export async function repeat<T>(label: string, n: number, fn: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fn();
    log(`  ${label} run ${i + 1}/${n}: ${JSON.stringify(r)}`);
    out.push(r);
  }
  return out;
}
