/**
 * What the task manager does after a failure, for the task manager (./task-manager.ts applies the answer in its
 * queue): the failure is logged (what happens next included) and answered with `stop` (the instance stops on the
 * error given) or a retry (the tasks are dropped and re-created after `delayMs`):
 *  - a failed commit: the transaction is aborted, so every task's uncommitted work is gone; errors no retry can
 *    fix (authorization, a record the broker refuses; another process running as this instance) stop the instance,
 *    otherwise every task goes back to its last commit (a rebalance that follows moves what moved);
 *  - a failed creation or restore: retried when retriable, otherwise the instance stops.
 * The delays back off exponentially with the consecutive failures ({@link Backoff}).
 */
import { TaskMigratedError, UscError, describeError } from '../../../common/errors.js';
import { classifyKafkaError, isProducerFatal } from '../../../kafka/index.js';
import type { Logger } from '../../processor.js';
import { commitFailure } from './instance-commit.js';

/** The answer to a failure no retry can fix: the instance stops on `error`. */
export interface StopInstance {
  readonly action: 'stop';
  readonly error: unknown;
}

/** Counts consecutive failures for an exponential backoff capped at 10 s; a successful commit resets it. */
export class Backoff {
  private failures = 0;

  /** The next delay: `baseMs` doubled for every failure since the last reset (this one counts from now on). */
  next(baseMs: number): number {
    return Math.min(10_000, baseMs * 2 ** this.failures++);
  }

  /** Back to the first delay. */
  reset(): void {
    this.failures = 0;
  }
}

/**
 * The answer to a failed commit. `reset`: every task is to close dirty and be re-created from its last commit, at
 * once after a group change (`rebalance`), else after a backoff; `renewProducer`: with a new producer.
 */
export function afterCommitFailure(
  err: unknown,
  backoff: Backoff,
  context: { readonly instanceId: string; readonly tasks: number; readonly logger: Logger },
): StopInstance | { readonly action: 'reset'; readonly delayMs: number; readonly renewProducer: boolean } {
  const { action, kind } = commitFailure(err);
  if (action === 'stop') {
    context.logger.error(
      { err: describeError(err), kind },
      kind === 'fenced'
        ? `commit fenced: another process runs as instance ${context.instanceId}; stopping`
        : 'commit failed on an error no retry can fix; stopping the instance (committed state is intact)',
    );
    return {
      action: 'stop',
      error: kind === 'fenced' ? new TaskMigratedError('producer fenced', { cause: err }) : err,
    };
  }
  const delayMs = kind === 'rebalance' ? 0 : backoff.next(200);
  context.logger.warn(
    { err: describeError(err), kind, tasks: context.tasks, retryInMs: delayMs },
    'commit failed; every task goes back to its last commit',
  );
  // The aborted (or timed-out) transaction may have left the producer unusable (a fatal state after a broker
  // restart, a transaction that never ended): a new one fences it before the tasks commit again.
  return { action: 'reset', delayMs, renewProducer: kind !== 'rebalance' || isProducerFatal(err) };
}

/**
 * The answer to a failed creation or restore of tasks: `retry` (the tasks not running are dropped, then all are
 * re-created after `delayMs`) when retriable, else `stop`.
 */
export function afterCreateFailure(
  err: unknown,
  backoff: Backoff,
  logger: Logger,
): StopInstance | { readonly action: 'retry'; readonly delayMs: number } {
  if (classifyKafkaError(err) !== 'retriable') return { action: 'stop', error: err };
  const delayMs = backoff.next(500);
  logger.warn(
    { err: describeError(err), retryInMs: delayMs },
    'creating or restoring tasks failed on a retriable error; retrying',
  );
  return { action: 'retry', delayMs };
}

/**
 * The error to recover from when a restore failed because one of its tasks was removed meanwhile (a failed commit,
 * a revocation, a lost assignment closed its stores under it): whatever the restore reported, the removal already
 * decided what comes next, so it is retriable.
 */
export function restoreInterrupted(err: unknown, logger: Logger): UscError {
  logger.debug({ err: describeError(err) }, 'a restore ended because its task was removed');
  return new UscError('USC_ERR_STREAMS_NOT_RUNNING', 'restore interrupted', { retriable: true, cause: err });
}
