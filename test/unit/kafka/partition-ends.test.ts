/**
 * When a consumer counts as caught up (PartitionEnds: the commit policy's "drained", ADR 0009): a partition whose
 * records stop short of its end is behind until a later batch or an end-of-partition report reaches the end; one
 * trailing offset (a transaction's commit marker under read_committed) counts as the end.
 */
import { describe, expect, it } from 'vitest';
import { PartitionEnds, type ConsumedBatch } from '../../../kafka/group-consumer.js';

function batch(partition: number, offsets: number[], highWatermark: number, next?: number): ConsumedBatch {
  const last = offsets.at(-1);
  return {
    topic: 't',
    partition,
    records: offsets.map((o) => ({ offset: String(o), key: null, value: null, timestamp: 0, headers: {} })),
    nextOffset: String(next ?? (last === undefined ? 0 : last + 1)),
    highWatermark: String(highWatermark),
  };
}

const none = new Map<string, number>();

describe('PartitionEnds', () => {
  it('is caught up before anything was polled', () => {
    expect(new PartitionEnds().caughtUp).toBe(true);
  });

  it('counts a partition whose records stop short of its end as behind, until a batch reaches the end', () => {
    const ends = new PartitionEnds();
    ends.observe([batch(0, [0, 1, 2], 10)], none);
    expect(ends.caughtUp).toBe(false);
    ends.observe([batch(1, [0], 1)], none); // another partition at its end does not help partition 0
    expect(ends.caughtUp).toBe(false);
    ends.observe([batch(0, [3, 4, 5, 6, 7, 8, 9], 10)], none);
    expect(ends.caughtUp).toBe(true);
  });

  it('takes one trailing offset (a commit marker) as the end, two or more as a backlog', () => {
    const ends = new PartitionEnds();
    ends.observe([batch(0, [0, 1, 2], 4)], none); // records 0-2, marker 3, last stable offset 4
    expect(ends.caughtUp).toBe(true);
    ends.observe([batch(0, [4, 5], 8)], none);
    expect(ends.caughtUp).toBe(false);
  });

  it('clears a partition on the end the client reports, and on revocation', () => {
    const ends = new PartitionEnds();
    ends.observe([batch(0, [0], 50), batch(1, [0], 50)], none);
    expect(ends.caughtUp).toBe(false);
    ends.observe([batch(0, [], 50, 50)], new Map([['t:0', 50]]));
    expect(ends.caughtUp).toBe(false);
    ends.forget([{ topic: 't', partition: 1 }]);
    expect(ends.caughtUp).toBe(true);
  });

  it('leaves a partition behind when a batch without records does not reach the end', () => {
    const ends = new PartitionEnds();
    ends.observe([batch(0, [0], 50)], none);
    ends.observe([batch(0, [], 50, 1)], none);
    expect(ends.caughtUp).toBe(false);
  });
});
