/**
 * What the runtime does after a failed commit (topology/internal/runtime/task-recovery.ts): a fence by another
 * process stops the instance; a transaction the broker aborted for outliving its timeout (a stall, no other
 * process) sends every task back to its last commit with a new producer, like Kafka Streams' task migrated; a group
 * change resets at once, keeping the producer. Pure: errors shaped like the client's, no broker.
 */
import { describe, expect, it } from 'vitest';
import { TaskMigratedError, UscError } from '../../../common/errors.js';
import { silentLogger } from '../../../common/logger.js';
import { Backoff, afterCommitFailure } from '../../../topology/internal/runtime/task-recovery.js';

const fenced = () =>
  Object.assign(new Error('Local: This instance has been fenced by a newer instance'), {
    code: -144,
    isFatal: true,
  });
const context = { instanceId: 'a', tasks: 3, logger: silentLogger };

describe('afterCommitFailure', () => {
  it('stops the instance when another process fenced its producer', () => {
    const answer = afterCommitFailure(fenced(), new Backoff(), context);
    expect(answer.action).toBe('stop');
    expect(answer.action === 'stop' && answer.error).toBeInstanceOf(TaskMigratedError);
  });

  it('resets every task with a new producer when the broker aborted a transaction open past its timeout', () => {
    const expired = new UscError('USC_ERR_TASK_TRANSACTION_EXPIRED', 'open 11000 ms', {
      retriable: true,
      cause: fenced(),
    });
    const backoff = new Backoff();
    expect(afterCommitFailure(expired, backoff, context)).toEqual({
      action: 'reset',
      delayMs: 200,
      renewProducer: true,
    });
    // Consecutive expiries back off like any retriable failure.
    expect(afterCommitFailure(expired, backoff, context)).toMatchObject({ delayMs: 400 });
  });

  it('resets at once and keeps the producer after a group change', () => {
    const moved = Object.assign(new Error('Broker: Specified group generation id is not valid'), {
      code: 22,
    });
    expect(afterCommitFailure(moved, new Backoff(), context)).toEqual({
      action: 'reset',
      delayMs: 0,
      renewProducer: false,
    });
  });
});
