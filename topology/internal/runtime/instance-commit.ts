/**
 * One commit of an instance's tasks through the commit protocol (./commit-protocol.ts) on Kafka: under
 * exactly_once one transaction of the instance's producer carries every task's outputs, changelog records and
 * input offsets (with the consumer's group metadata, KIP-447); under at_least_once the records are sent and
 * acknowledged first, then the offsets are committed. Bounded by the commit timeout (Kafka Streams'
 * task.timeout.ms): a client request that never settles after a broker restart counts as a failed commit.
 */
import { UscError } from '../../../common/errors.js';
import {
  classifyKafkaError,
  isDefinitelyFatal,
  type GroupConsumer,
  type InstanceProducer,
} from '../../../kafka/index.js';
import { commitAll, type CommitParticipant } from './commit-protocol.js';
import type { StreamsMetrics } from './streams-metrics.js';

export interface InstanceCommitDeps {
  readonly exactlyOnce: boolean;
  readonly producer: () => InstanceProducer;
  readonly consumer: () => GroupConsumer;
  readonly clock: () => number;
  readonly metrics: StreamsMetrics;
  readonly timeoutMs: number;
}

/** Commits `tasks` (all of them, in one unit); rejects if the commit failed (every task's staged work dropped). */
export async function commitInstance(
  deps: InstanceCommitDeps,
  tasks: readonly CommitParticipant[],
): Promise<void> {
  if (tasks.length === 0) return;
  const started = performance.now();
  const producer = deps.producer();
  const consumer = deps.consumer();
  try {
    await withTimeout(
      commitAll(
        tasks,
        async (records, offsets) => {
          const written = await producer.commit(records, deps.exactlyOnce ? offsets : [], consumer);
          if (!deps.exactlyOnce) await consumer.commitOffsets(offsets);
          return written;
        },
        deps.clock(),
      ),
      deps.timeoutMs,
    );
  } catch (err) {
    deps.metrics.commitsTotal.inc({ outcome: 'failed' });
    throw err;
  }
  deps.metrics.commitsTotal.inc({ outcome: 'committed' });
  deps.metrics.commitSeconds.observe(
    { guarantee: deps.exactlyOnce ? 'exactly_once' : 'at_least_once' },
    (performance.now() - started) / 1000,
  );
}

/**
 * What a failed commit means: `stop` for errors no retry can fix (authorization, a record the broker refuses) and
 * for a fenced producer (another process runs as this instance); `reset` otherwise: every task goes back to its
 * last commit, at once after a group change (`rebalance`), else after a backoff.
 */
export function commitFailure(err: unknown): { action: 'stop' | 'reset'; kind: string } {
  const kind = classifyKafkaError(err);
  if (isDefinitelyFatal(err) || kind === 'fenced') return { action: 'stop', kind };
  return { action: 'reset', kind };
}

/** Rejects with a retriable USC_ERR_TASK_COMMIT_TIMEOUT if `promise` does not settle within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new UscError('USC_ERR_TASK_COMMIT_TIMEOUT', `commit did not finish within ${ms} ms`, {
            retriable: true,
          }),
        ),
      ms,
    );
  });
  promise.catch(() => {}); // a late failure of the abandoned attempt is of no interest
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
