/**
 * The work of running tasks, for the task manager (which runs it in its queue): a poll's batches routed to their
 * tasks, and wall-clock punctuations. A failure the record-error policy does not handle is returned (the instance
 * stops on it); the message logged is ours, never record contents.
 */
import { describeError, hasCode } from '../../../common/errors.js';
import { topicPartitionKey, type ConsumedBatch, type TopicPartition } from '../../../kafka/index.js';
import type { Logger } from '../../processor.js';
import type { StreamTask } from './stream-task.js';

/**
 * Processes each batch in its task. Returns the partitions whose records no task took (to be paused: their task is
 * not running yet) or the failure that must stop the instance.
 */
export async function processBatches(
  batches: readonly ConsumedBatch[],
  taskOf: (key: string) => StreamTask | undefined,
  logger: Logger,
): Promise<{ idle: TopicPartition[]; failure?: unknown }> {
  const idle: TopicPartition[] = [];
  for (const batch of batches) {
    const task = taskOf(topicPartitionKey(batch.topic, batch.partition));
    let processed = false;
    try {
      processed = task !== undefined && (await task.processBatch(batch));
    } catch (err) {
      // Only failures the record-error policy does not handle get here (store I/O, a policy that says fail). The
      // failed record's writes were already rolled back.
      logger.error(
        { err: describeError(err), taskId: task?.idString, topic: batch.topic, partition: batch.partition },
        'processing failed; stopping the instance (tasks close dirty: uncommitted work is discarded)',
      );
      return { idle, failure: err };
    }
    if (!processed && batch.records.length > 0) idle.push({ topic: batch.topic, partition: batch.partition });
  }
  return { idle };
}

/** Fires the due wall-clock punctuations of every task; returns the failure that must stop the instance. */
export async function punctuateAll(
  tasks: Iterable<StreamTask>,
  now: number,
  logger: Logger,
): Promise<unknown | undefined> {
  for (const task of tasks) {
    try {
      await task.punctuate(now);
    } catch (err) {
      if (hasCode(err, 'USC_ERR_RECORD_FAILED')) {
        // A punctuation failed and the record-error policy said fail: the same answer as for a record.
        logger.error(
          { taskId: task.idString, err: describeError(err) },
          'a punctuation failed and the record-error policy says fail; stopping the instance',
        );
      }
      return err ?? new Error('punctuation failed');
    }
  }
  return undefined;
}
