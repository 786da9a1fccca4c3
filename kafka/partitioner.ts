/**
 * Kafka's default key partitioner (murmur2 of the serialized key, as the Java client and kafkajs' default
 * partitioner compute it). Everything that must agree with a producer on "which partition holds this key" (sinks,
 * the test driver, API routing) calls {@link partitionForKey}.
 */
import kafkajs from 'kafkajs';

const { Partitioners } = kafkajs;

const keyed = Partitioners.DefaultPartitioner();
const metadataCache = new Map<number, { partitionId: number; leader: number }[]>();

function fakeMetadata(numPartitions: number): { partitionId: number; leader: number }[] {
  let metadata = metadataCache.get(numPartitions);
  if (!metadata) {
    metadata = Array.from({ length: numPartitions }, (_, partitionId) => ({ partitionId, leader: 0 }));
    metadataCache.set(numPartitions, metadata);
  }
  return metadata;
}

/** The partition Kafka's default partitioner picks for a non-null serialized key. */
export function partitionForKey(keyBytes: Buffer, numPartitions: number): number {
  if (numPartitions < 1) throw new RangeError(`numPartitions must be >= 1, got ${numPartitions}`);
  return keyed({
    topic: '',
    partitionMetadata: fakeMetadata(numPartitions) as never,
    message: { key: keyBytes, value: null },
  });
}
