/**
 * A task's waiting sink output: ordinary sinks' records can be taken ahead of the commit in order (and still count
 * as uncommitted output); `latestPerKey` records wait for the commit, one per key, in order with their sink's
 * key-less records.
 */
import { describe, expect, it } from 'vitest';
import { PendingOutputs } from '../../../topology/internal/engine/pending-outputs.js';
import type { OutgoingRecord } from '../../../topology/record.js';

const rec = (topic: string, key: string | null, value: string): OutgoingRecord => ({
  topic,
  partition: 0,
  key: key === null ? null : Buffer.from(key),
  value: Buffer.from(value),
  timestamp: 0,
  headers: {},
});
const values = (records: readonly OutgoingRecord[]) => records.map((r) => r.value!.toString());

describe('PendingOutputs', () => {
  it('hands ordinary records over ahead of the commit, in order, and keeps latest-per-key records for it', () => {
    const p = new PendingOutputs();
    p.add(rec('rep', 'a', 'r1'));
    p.add(rec('out', 'x', 'o1'), true);
    p.add(rec('rep', 'a', 'r2'));
    p.add(rec('out', 'x', 'o2'), true);
    expect(values(p.takeAhead())).toEqual(['r1', 'r2']);
    expect(p.takeAhead()).toEqual([]);
    // Taken records still count until the commit drains the buffer.
    expect(p.length).toBe(3);
    p.add(rec('rep', 'b', 'r3'));
    expect(values(p.drain())).toEqual(['r3', 'o2']);
    expect(p.length).toBe(0);
  });

  it('keeps a latest-per-key sink’s key-less records in order with its keyed ones', () => {
    const p = new PendingOutputs();
    p.add(rec('out', 'x', 'x1'), true);
    p.add(rec('out', null, 'n1'), true);
    p.add(rec('out', 'y', 'y1'), true);
    p.add(rec('out', 'x', 'x2'), true);
    p.add(rec('out', null, 'n2'), true);
    expect(p.takeAhead()).toEqual([]);
    expect(values(p.drain())).toEqual(['x2', 'n1', 'y1', 'n2']);
  });

  it('starts over after a drain: nothing taken earlier counts any more', () => {
    const p = new PendingOutputs();
    p.add(rec('rep', 'a', 'r1'));
    p.takeAhead();
    p.drain();
    p.add(rec('out', 'x', 'o1'), true);
    expect(p.length).toBe(1);
    expect(values(p.drain())).toEqual(['o1']);
  });
});
