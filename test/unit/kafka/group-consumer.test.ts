/**
 * GroupConsumer between a kafkajs crash and its restart: kafkajs has no consumer group then and throws on pause,
 * resume and seek. Those calls come from timers and error handlers (a failed commit pauses its task's
 * partitions), where a throw would crash the process: they are skipped and reported as not applied instead.
 * No broker is needed: a consumer that has not joined yet is in the same state.
 */
import { describe, expect, it } from 'vitest';
import { createKafka, GroupConsumer } from '../../../kafka/index.js';
import { silentLogger } from '../../../common/logger.js';

function unjoinedConsumer(): GroupConsumer {
  const kafka = createKafka({ brokers: ['127.0.0.1:1'], clientId: 'unit' }, silentLogger);
  return new GroupConsumer(
    kafka,
    { groupId: 'unit-group', topics: ['t'], readCommitted: true, fromBeginning: true },
    { onBatch: async () => {}, onAssigned: () => {}, onCrash: () => {} },
    silentLogger,
  );
}

describe('GroupConsumer without a joined group', () => {
  it('skips pause, resume and seek instead of throwing, and says they were not applied', () => {
    const consumer = unjoinedConsumer();
    expect(consumer.pause([{ topic: 't', partitions: [0] }])).toBe(false);
    expect(consumer.resume([{ topic: 't', partitions: [0] }])).toBe(false);
    expect(consumer.seek('t', 0, '5')).toBe(false);
    expect(consumer.pause([])).toBe(true); // nothing to do is done
  });

  it('still rejects a call that is wrong in itself', () => {
    expect(() => unjoinedConsumer().seek('t', 0, '-5')).toThrow(/negative/);
  });
});
