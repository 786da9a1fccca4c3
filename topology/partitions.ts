/**
 * Partition counts of every topic a topology touches, from the counts of the external topics that exist:
 *  - a repartition topic has its fixed count, or the largest count among the sources of the subtopology that
 *    writes it (itself excepted, when that subtopology also reads it; resolved to a fixed point, since
 *    repartition topics can feed each other);
 *  - a changelog topic has its store's subtopology count (one changelog partition per task);
 *  - all source topics of a subtopology must have the same count (co-partitioning), else USC_ERR_TOPOLOGY_COPARTITION
 *    naming the subtopology, topics and counts.
 */
import { UscError } from '../common/errors.js';
import { changelogTopicName, internalTopicName, type Topology } from './topology.js';

export function resolvePartitionCounts(
  topology: Topology,
  applicationId: string,
  existing: (topic: string) => number | undefined,
): Map<string, number> {
  const kafkaName = (logical: string) =>
    topology.internalTopics.has(logical) ? internalTopicName(applicationId, logical) : logical;
  const counts = new Map<string, number>();
  for (const sub of topology.subtopologies) {
    for (const t of [...sub.sourceTopics, ...sub.sinkTopics]) {
      if (topology.internalTopics.has(t)) continue;
      const n = existing(t);
      if (n === undefined) {
        throw new UscError(
          'USC_ERR_TOPOLOGY_INVALID',
          `topic ${t} does not exist (create it before starting)`,
        );
      }
      counts.set(t, n);
    }
  }
  const deadLetters = topology.recordErrorPolicy?.deadLetterTopic;
  if (deadLetters !== undefined && !counts.has(deadLetters)) {
    const n = existing(deadLetters);
    if (n === undefined) {
      throw new UscError(
        'USC_ERR_TOPOLOGY_INVALID',
        `dead-letter topic ${deadLetters} does not exist (create it before starting)`,
      );
    }
    counts.set(deadLetters, n);
  }
  for (const [name, topic] of topology.internalTopics) {
    if (topic.partitions !== undefined) counts.set(internalTopicName(applicationId, name), topic.partitions);
  }
  const writerOf = (internal: string) => topology.subtopologies.find((s) => s.sinkTopics.includes(internal));
  for (let changed = true, rounds = 0; changed; rounds++) {
    if (rounds > topology.internalTopics.size + 1) {
      throw new UscError(
        'USC_ERR_TOPOLOGY_INVALID',
        'repartition topics form a cycle; give one a fixed count',
      );
    }
    changed = false;
    for (const [name, topic] of topology.internalTopics) {
      if (topic.partitions !== undefined) continue;
      const writer = writerOf(name);
      // A subtopology may read the repartition topic it writes (records it cannot handle where they are go
      // round once): its count then follows the writer's other sources.
      const sourceCounts = (writer?.sourceTopics ?? [])
        .filter((t) => t !== name)
        .map((t) => counts.get(kafkaName(t)));
      if (sourceCounts.length === 0 || sourceCounts.some((n) => n === undefined)) continue;
      const n = Math.max(...(sourceCounts as number[]));
      const key = internalTopicName(applicationId, name);
      if (counts.get(key) !== n) {
        counts.set(key, n);
        changed = true;
      }
    }
  }
  for (const sub of topology.subtopologies) {
    const perTopic = sub.sourceTopics.map((t) => [kafkaName(t), counts.get(kafkaName(t))] as const);
    const unresolved = perTopic.filter(([, n]) => n === undefined).map(([t]) => t);
    if (unresolved.length > 0) {
      throw new UscError(
        'USC_ERR_TOPOLOGY_INVALID',
        `cannot resolve the partition count of ${unresolved.join(', ')}; give the repartition a fixed count`,
      );
    }
    const distinct = new Set(perTopic.map(([, n]) => n));
    if (distinct.size > 1) {
      throw new UscError(
        'USC_ERR_TOPOLOGY_COPARTITION',
        `sub-topology ${sub.id} reads co-partitioned topics with different partition counts: ` +
          perTopic.map(([t, n]) => `${t} (${n})`).join(', ') +
          '; give them the same number of partitions or repartition one of them',
        { details: { subtopology: sub.id, topics: Object.fromEntries(perTopic) } },
      );
    }
    const n = perTopic[0]?.[1];
    for (const store of sub.stores) {
      if (n !== undefined && topology.stores.get(store)?.logging)
        counts.set(changelogTopicName(applicationId, store), n);
    }
  }
  for (const [name] of topology.internalTopics) {
    const key = internalTopicName(applicationId, name);
    const actual = existing(key);
    if (actual !== undefined && actual !== counts.get(key)) {
      throw new UscError(
        'USC_ERR_KAFKA_TOPIC_MISMATCH',
        `internal topic ${key} has ${actual} partitions but the topology needs ${counts.get(key)}; run \`urp-case-sync reset\` to recreate internal topics`,
      );
    }
  }
  return counts;
}
