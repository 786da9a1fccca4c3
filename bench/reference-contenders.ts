/**
 * The applications under test of the reference comparison (bench/reference-compare.ts), behind one interface
 * (Contender): this checkout's build or the baseline's (a BenchApp instance) and the Kafka Streams reference (a
 * ReferenceApp); the order they run in, rotated between runs; and what every measurement does with one: create its
 * topics, poll a condition while its process lives, fail at once when the process exits.
 */
import { ensureTopics, openAdmin, type KafkaClient } from '../kafka/index.js';
import type { Baseline } from './baseline.js';
import { BenchApp } from './bench-app.js';
import { ReferenceApp, type ReferenceStats } from './reference.js';

const POLL_MS = 50; // poll period of the first-output and liveness checks

export type Side = 'project' | 'reference' | 'baseline';

/** One application under test, whichever implementation. */
export interface Contender {
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
export function runOrder(rotation: number, baseline: Baseline | undefined): Side[] {
  const sides: Side[] = baseline ? ['project', 'reference', 'baseline'] : ['project', 'reference'];
  const k = rotation % sides.length;
  return [...sides.slice(k), ...sides.slice(0, k)];
}

export function contender(
  side: Side,
  brokers: readonly string[],
  opts: { jar: string; partitions: number; baseline?: Baseline },
): Contender {
  if (side === 'reference') return referenceContender(opts.jar, brokers);
  if (side === 'baseline') return projectContender(brokers, opts.partitions, 'baseline', opts.baseline!.cli);
  return projectContender(brokers, opts.partitions);
}

export const until = async (what: string, c: Contender, check: () => Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (!c.alive()) throw new Error(`bench: the ${c.side} process exited while waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what} (${c.side})`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
};

/** Rejects if the contender's process exits before `work` settles (so a crash does not wait for a timeout). */
export async function whileAlive<T>(c: Contender, what: string, work: Promise<T>): Promise<T> {
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

export async function createTopics(kafka: KafkaClient, c: Contender, partitions: number): Promise<void> {
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
