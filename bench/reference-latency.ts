/**
 * The latency measurement of the reference comparison (bench/reference-compare.ts): CASE_CREATED events at a fixed
 * rate into a running application (project, reference, and the baseline when given, in rotating order), and the
 * time until each case's record is readable (read_committed) in its output topic, over the whole run and over its
 * steady state (after LATENCY_WARMUP_SECONDS).
 */
import { silentLogger } from '../common/logger.js';
import { createKafka, followTopic, Publisher, type KafkaClient } from '../kafka/index.js';
import type { Baseline } from './baseline.js';
import { latencySummary } from './http-load.js';
import {
  contender,
  createTopics,
  runOrder,
  whileAlive,
  type Contender,
  type Side,
} from './reference-contenders.js';

/** Rates of the latency comparison (events/s). */
export const REFERENCE_LATENCY_RATES = [500, 2_000] as const;

export interface Latency {
  readonly events: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The same over the events sent after the first {@link LATENCY_WARMUP_SECONDS} (the steady state). */
  readonly steady: {
    readonly events: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly maxMs: number;
  };
}

/**
 * Seconds at the start of a latency run whose events are left out of the steady-state figures (reported beside
 * the whole run's): they tell a start-up transient of a fresh topology (first metadata, first AddPartitionsToTxn of
 * each partition, fetch sessions, JIT) from the latency it settles at. `BENCH_LATENCY_TRACE=1` prints p50/p99/max
 * per second of sending, for each contender.
 */
export const LATENCY_WARMUP_SECONDS = 3;

export interface LatencyPair {
  readonly first: Side;
  readonly order: readonly Side[];
  readonly project: Latency;
  readonly reference: Latency;
  readonly baseline?: Latency;
}

async function measureLatency(
  kafka: KafkaClient,
  c: Contender,
  opts: { rate: number; seconds: number; partitions: number },
): Promise<Latency> {
  await createTopics(kafka, c, opts.partitions);
  let follower: { stop(): Promise<void> } | undefined;
  try {
    await c.start();
    await whileAlive(c, 'ready', c.ready());
    const total = opts.rate * opts.seconds;
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    /** Second of the run each latency's event was sent in (same order as `latencies`). */
    const sentSecond: number[] = [];
    let begin = 0;
    let allSeen!: () => void;
    const seenAll = new Promise<void>((resolve) => (allSeen = resolve));
    follower = await followTopic(
      kafka,
      c.output,
      (batch) => {
        const now = performance.now();
        for (const m of batch.records) {
          const key = m.key?.toString('utf8') ?? '';
          const at = sentAt.get(key);
          if (at === undefined) continue;
          latencies.push(now - at);
          sentSecond.push(Math.floor((at - begin) / 1000));
          sentAt.delete(key);
        }
        if (latencies.length >= total) allSeen();
      },
      { name: `${c.id}-latency`, logger: silentLogger },
    );
    // the reader is assigned before the first event: its start is not counted as latency
    const publisher = await Publisher.open(kafka);
    try {
      const tickMs = 20;
      const perTick = Math.max(1, Math.round((opts.rate * tickMs) / 1000));
      begin = performance.now();
      let sent = 0;
      while (sent < total) {
        const batch: { key: string; value: string }[] = [];
        const stamps: string[] = [];
        for (let j = 0; j < perTick && sent < total; j++, sent++) {
          const urpCaseId = `L-${sent}`;
          const ucmCaseId = `UCM-L-${sent}`;
          const at = new Date().toISOString();
          batch.push({
            key: ucmCaseId,
            value: JSON.stringify({
              eventId: `${ucmCaseId}-created`,
              eventType: 'CASE_CREATED',
              eventTime: at,
              source: 'bench',
              payload: { ucmCaseId, urpCaseId, initialStatus: 'OPEN', createdAt: at },
            }),
          });
          stamps.push(urpCaseId);
        }
        const now = performance.now();
        for (const s of stamps) sentAt.set(s, now);
        await publisher.publish(c.input, batch, batch.length);
        const wait = begin + (sent / opts.rate) * 1000 - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait)); // pacing of the fixed rate
      }
    } finally {
      await publisher.close();
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await whileAlive(
        c,
        'every latency event',
        Promise.race([
          seenAll,
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`bench: ${c.side} latency: ${sentAt.size} events not seen in 120 s`)),
              120_000,
            );
          }),
        ]),
      );
    } finally {
      clearTimeout(timer);
    }
    const steady = latencies.filter((_, i) => sentSecond[i]! >= LATENCY_WARMUP_SECONDS);
    if (process.env.BENCH_LATENCY_TRACE) {
      const bySecond = new Map<number, number[]>();
      latencies.forEach((ms, i) => {
        const list = bySecond.get(sentSecond[i]!) ?? [];
        list.push(ms);
        bySecond.set(sentSecond[i]!, list);
      });
      for (const [second, list] of [...bySecond].sort(([a], [b]) => a - b)) {
        const s = latencySummary(list);
        console.error(
          `${c.id} ${opts.rate}/s second ${second}: p50 ${s.p50Ms.toFixed(0)} p99 ${s.p99Ms.toFixed(0)} max ${s.maxMs.toFixed(0)}`,
        );
      }
    }
    return { ...latencySummary([...latencies]), steady: latencySummary(steady) };
  } finally {
    await follower?.stop();
    await c.stop();
  }
}

/** One latency measurement of the project and one of the reference (and the baseline) at the same rate. */
export async function referenceLatencyPair(
  brokers: readonly string[],
  opts: {
    jar: string;
    rate: number;
    seconds: number;
    partitions: number;
    rotation: number;
    baseline?: Baseline;
  },
): Promise<LatencyPair> {
  const kafka = createKafka({ brokers, clientId: 'bench-reference-latency' }, silentLogger);
  const sides = runOrder(opts.rotation, opts.baseline);
  const done = new Map<Side, Latency>();
  for (const side of sides) {
    done.set(side, await measureLatency(kafka, contender(side, brokers, opts), opts));
  }
  const baseline = done.get('baseline');
  return {
    first: sides[0]!,
    order: sides,
    project: done.get('project')!,
    reference: done.get('reference')!,
    ...(baseline ? { baseline } : {}),
  };
}
