/**
 * Topics of an application at startup: the topology's external topics must exist (their partition counts fix the
 * internal ones); internal topics (repartition, compacted changelogs, the instance directory) are created when
 * missing and checked when present.
 */
import { UscError } from '../../../common/errors.js';
import { ensureTopics, partitionCounts, type KafkaAdmin, type TopicSpec } from '../../../kafka/index.js';
import { resolvePartitionCounts } from '../../partitions.js';
import type { Logger } from '../../processor.js';
import type { StreamsConfig } from '../../streams-config.js';
import { changelogTopicName, internalTopicName, type Topology } from '../../topology.js';

/** The compacted topic where instances publish their API URLs (the owner map's address book). */
export function directoryTopicName(applicationId: string): string {
  return `${applicationId}-directory`;
}

/** Checks and creates the application's topics; returns the partition count of every topic it uses. */
export async function prepareTopics(
  admin: KafkaAdmin,
  topology: Topology,
  config: StreamsConfig,
  logger: Logger,
): Promise<Map<string, number>> {
  const external = new Set<string>();
  for (const s of topology.subtopologies) {
    for (const t of [...s.sourceTopics, ...s.sinkTopics])
      if (!topology.internalTopics.has(t)) external.add(t);
  }
  if (topology.recordErrorPolicy) external.add(topology.recordErrorPolicy.deadLetterTopic);
  const existing = await partitionCounts(admin, [...external]);
  const missing = [...external].filter((t) => !existing.has(t));
  if (missing.length > 0) {
    throw new UscError(
      'USC_ERR_TOPOLOGY_INVALID',
      `topics the topology reads or writes do not exist: ${missing.join(', ')}`,
    );
  }
  const counts = resolvePartitionCounts(topology, config.applicationId, (t) => existing.get(t));
  for (const [t, n] of existing) counts.set(t, n);
  const partitionsOf = (topic: string): number => {
    const n = counts.get(topic);
    if (n === undefined)
      throw new UscError('USC_ERR_TOPOLOGY_INVALID', `no partition count known for topic ${topic}`);
    return n;
  };
  const specs: TopicSpec[] = [];
  for (const [name, internal] of topology.internalTopics) {
    const topic = internalTopicName(config.applicationId, name);
    specs.push({
      topic,
      partitions: partitionsOf(topic),
      replicationFactor: config.replicationFactor,
      config: { ...internal.config },
    });
  }
  for (const [name, def] of topology.stores) {
    if (!def.logging) continue;
    const topic = changelogTopicName(config.applicationId, name);
    specs.push({
      topic,
      partitions: partitionsOf(topic),
      replicationFactor: config.replicationFactor,
      config: { ...(def.changelogConfig ?? {}), 'cleanup.policy': 'compact' },
    });
  }
  specs.push({
    topic: directoryTopicName(config.applicationId),
    partitions: 1,
    replicationFactor: config.replicationFactor,
    config: { 'cleanup.policy': 'compact' },
  });
  const created = await ensureTopics(admin, specs);
  if (created.length > 0) logger.info({ topics: created }, 'created internal topics');
  return counts;
}
