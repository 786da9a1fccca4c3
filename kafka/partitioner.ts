/**
 * Kafka's default key partitioner: `toPositive(murmur2(keyBytes)) % numPartitions`, as the Java client's
 * `BuiltInPartitioner.partitionForKey` and librdkafka's `murmur2` partitioner compute it (Kafka's `Utils.murmur2`,
 * seed 0x9747b28c). Everything that must agree with a producer on "which partition holds this key" (sinks, the test
 * driver, API routing) calls {@link partitionForKey}. Written out here (about twenty lines of a fixed algorithm)
 * because the Kafka client does not export it; the unit tests pin it to the Java client's known values.
 */

/** Kafka's murmur2 of `data`, as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = (0x9747b28c ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner picks for a non-null serialized key. */
export function partitionForKey(keyBytes: Buffer, numPartitions: number): number {
  if (numPartitions < 1) throw new RangeError(`numPartitions must be >= 1, got ${numPartitions}`);
  return (murmur2(keyBytes) & 0x7fffffff) % numPartitions;
}
