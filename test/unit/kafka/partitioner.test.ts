/**
 * The key partitioner agrees with Kafka's: murmur2 values from the Java client's own test (UtilsTest.testMurmur2)
 * and the partition choice `toPositive(murmur2) % n`.
 */
import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey } from '../../../kafka/partitioner.js';

describe('partitionForKey', () => {
  it("computes Kafka's murmur2 (the Java client's test vectors)", () => {
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of cases) expect(murmur2(Buffer.from(key))).toBe(hash);
  });

  it('picks toPositive(murmur2) modulo the partition count, for every key length remainder', () => {
    expect(partitionForKey(Buffer.from('foobar'), 12)).toBe((-790332482 & 0x7fffffff) % 12);
    expect(partitionForKey(Buffer.from('abc'), 7)).toBe(479470107 % 7);
    expect(partitionForKey(Buffer.alloc(0), 5)).toBe((murmur2(Buffer.alloc(0)) & 0x7fffffff) % 5);
    for (const n of [1, 3, 12]) {
      for (const key of ['a', 'ab', 'abc', 'abcd', 'abcde']) {
        const p = partitionForKey(Buffer.from(key), n);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThan(n);
      }
    }
    expect(() => partitionForKey(Buffer.from('x'), 0)).toThrow(RangeError);
  });
});
