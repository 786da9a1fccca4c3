/**
 * The cost of one exactly-once commit on its own: back-to-back transactions of the instance producer, each with
 * `records` records and the input offsets of a group (sent with the consumer's group metadata), the way the
 * runtime commits while it works through a backlog. Measured with the producer's own settings and with
 * librdkafka's default `retry.backoff.ms` (100 ms), which a transaction begun right after the previous one waits
 * out when the coordinator answers CONCURRENT_TRANSACTIONS (it still writes the previous one's markers).
 */
import { randomUUID } from 'node:crypto';
import { silentLogger } from '../common/logger.js';
import { createKafka, ensureTopics, GroupConsumer, InstanceProducer, openAdmin } from '../kafka/index.js';
import type { OutgoingRecord } from '../topology/task-engine.js';

export interface TransactionCost {
  /** `retry.backoff.ms` of the producer: the project's setting, or librdkafka's default. */
  readonly retryBackoffMs: number | 'project';
  readonly transactions: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
}

const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** `transactions` back-to-back commits of `records` records over `partitions` partitions, per setting. */
export async function transactionCost(
  brokers: readonly string[],
  opts: { transactions: number; records: number; partitions: number },
): Promise<TransactionCost[]> {
  const id = `bench-txn-${randomUUID().slice(0, 8)}`;
  const kafka = createKafka({ brokers: [...brokers], clientId: id }, silentLogger);
  const [output, input] = [`${id}-out`, `${id}-in`];
  const admin = await openAdmin(kafka);
  try {
    await ensureTopics(admin, [
      { topic: output, partitions: opts.partitions },
      { topic: input, partitions: 1 },
    ]);
  } finally {
    await admin.disconnect();
  }
  let assigned = false;
  const consumer = new GroupConsumer(
    kafka,
    { groupId: `${id}-group`, topics: [input], readCommitted: true, fromBeginning: true },
    {
      onAssigned: async (ps) => {
        assigned = true;
        return ps;
      },
      onRevoked: async (ps) => ps,
      onBatches: async () => {},
      onError: () => {},
      onClientFailed: () => {},
    },
    silentLogger,
  );
  await consumer.start();
  const results: TransactionCost[] = [];
  try {
    const deadline = Date.now() + 30_000;
    while (!assigned && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (!assigned) throw new Error('bench: the transaction bench consumer got no assignment in 30 s');
    const value = Buffer.from('x'.repeat(200));
    for (const retryBackoffMs of ['project', 100] as const) {
      const producer = await InstanceProducer.transactional(kafka, `${id}-${retryBackoffMs}`, {
        retryBackoffMs: retryBackoffMs === 'project' ? undefined : retryBackoffMs,
      });
      try {
        const took: number[] = [];
        for (let t = 0; t < opts.transactions; t++) {
          const records: OutgoingRecord[] = [];
          for (let i = 0; i < opts.records; i++) {
            records.push({
              topic: output,
              partition: i % opts.partitions,
              key: Buffer.from(`k${i}`),
              value,
              timestamp: Date.now(),
              headers: {},
            });
          }
          const started = performance.now();
          await producer.commit(records, [{ topic: input, partition: 0, offset: String(t) }], consumer);
          took.push(performance.now() - started);
        }
        const sorted = took.slice(5).sort((a, b) => a - b); // the first ones find cold connections
        results.push({
          retryBackoffMs,
          transactions: sorted.length,
          p50Ms: quantile(sorted, 0.5),
          p90Ms: quantile(sorted, 0.9),
        });
      } finally {
        await producer.disconnect();
      }
    }
  } finally {
    await consumer.stop();
  }
  return results;
}
