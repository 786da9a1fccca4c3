/**
 * The service's {@link DeadLetterSource} (what the API's `/dlq` routes use): the DLQ topic read with the
 * service's Kafka client (dlq-reader.ts), queried with processors/domain/dlq-query.ts, and replayed with the same
 * code as `urp-case-sync dlq replay --ref` (dlq-replay.ts). Every call reads the topic as it is now; reads are not
 * cached, so an answer is never older than the request.
 */
import type { DeadLetterSource } from '../api/api-contracts.js';
import type { KafkaClient } from '../kafka/index.js';
import { queryDeadLetters } from '../processors/domain/dlq-query.js';
import type { Logger } from '../topology/processor.js';
import { dlqGroupPrefix, readDeadLetters, readDlqEntry } from './dlq-reader.js';
import { replayDeadLetters, type ReplayTarget } from './dlq-replay.js';

export function kafkaDeadLetterSource(
  kafka: KafkaClient,
  target: ReplayTarget,
  logger: Logger,
): DeadLetterSource {
  const log = logger.child({ component: 'dlq' });
  const read = {
    topic: target.dlqTopic,
    groupPrefix: dlqGroupPrefix(target.applicationId),
    logger: log,
  };
  return {
    async list(query) {
      return queryDeadLetters(await readDeadLetters(kafka, read), query);
    },
    async get(ref) {
      const entry = await readDlqEntry(kafka, ref, read);
      return entry?.ok
        ? { ref: entry.ref, partition: entry.partition, offset: entry.offset, record: entry.record }
        : undefined;
    },
    async replay(refs) {
      const report = await replayDeadLetters(kafka, target, { refs }, { dryRun: false, logger: log });
      log.info(
        { refs: refs.length, replayed: report.replayed, skipped: report.skipped.length },
        'dead letters replayed through the API',
      );
      return { replayed: report.selected, skipped: report.skipped };
    },
  };
}
