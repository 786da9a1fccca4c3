/**
 * Admin helpers of the Kafka port: topic creation with configs, partition counts, offsets, group inspection.
 * All functions take a connected admin from {@link openAdmin} and close nothing they did not open.
 */
import kafkajs, { type Admin } from 'kafkajs';

const { AssignerProtocol, ConfigResourceTypes } = kafkajs;
import { UscError } from '../common/errors.js';
import type { KafkaClient } from './client.js';

export type KafkaAdmin = Admin;

/** A topic the application needs. */
export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly replicationFactor?: number;
  readonly config?: Readonly<Record<string, string>>;
}

/** Connects an admin client; the caller must `disconnect()` it. */
export async function openAdmin(kafka: KafkaClient): Promise<KafkaAdmin> {
  const admin = kafka.admin({ retry: { retries: 8, initialRetryTime: 100 } });
  await admin.connect();
  return admin;
}

/** Partition counts of existing topics; topics that do not exist are absent from the map. */
export async function partitionCounts(
  admin: KafkaAdmin,
  topics: readonly string[],
): Promise<Map<string, number>> {
  const existing = new Set(await admin.listTopics());
  const wanted = topics.filter((t) => existing.has(t));
  const result = new Map<string, number>();
  if (wanted.length === 0) return result;
  const meta = await admin.fetchTopicMetadata({ topics: wanted });
  for (const t of meta.topics) result.set(t.name, t.partitions.length);
  return result;
}

/** Current values of the named configs of a topic. */
export async function describeTopicConfig(
  admin: KafkaAdmin,
  topic: string,
  names: readonly string[],
): Promise<Record<string, string>> {
  const res = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: [...names] }],
  });
  const out: Record<string, string> = {};
  for (const entry of res.resources[0]?.configEntries ?? []) out[entry.configName] = entry.configValue;
  return out;
}

/**
 * Creates missing topics (with their configs) and verifies existing ones: a partition count or a
 * `cleanup.policy` other than the spec's throws UscError USC_ERR_KAFKA_TOPIC_MISMATCH, because running on a topic
 * of the wrong shape would silently break partitioning or compaction. Returns the topics it created.
 */
export async function ensureTopics(admin: KafkaAdmin, specs: readonly TopicSpec[]): Promise<string[]> {
  const counts = await partitionCounts(
    admin,
    specs.map((s) => s.topic),
  );
  const missing = specs.filter((s) => !counts.has(s.topic));
  if (missing.length > 0) await createTopicsSettled(admin, missing);
  const problems: string[] = [];
  for (const spec of specs) {
    const count = counts.get(spec.topic);
    if (count !== undefined && count !== spec.partitions) {
      problems.push(`${spec.topic} has ${count} partitions, expected ${spec.partitions}`);
    }
    const policy = spec.config?.['cleanup.policy'];
    if (count !== undefined && policy !== undefined) {
      const actual = (await describeTopicConfig(admin, spec.topic, ['cleanup.policy']))['cleanup.policy'];
      if (actual !== policy) problems.push(`${spec.topic} has cleanup.policy=${actual}, expected ${policy}`);
    }
  }
  if (problems.length > 0) {
    throw new UscError(
      'USC_ERR_KAFKA_TOPIC_MISMATCH',
      `existing topics do not match: ${problems.join('; ')}`,
      {
        details: { problems },
      },
    );
  }
  return missing.map((s) => s.topic);
}

const SETTLE_TIMEOUT_MS = 30_000;
const SETTLE_POLL_MS = 200; // poll period of the metadata checks below

/** Polls the cluster's topic list until every one of `topics` is present (or absent). */
async function waitForTopics(
  admin: KafkaAdmin,
  topics: readonly string[],
  present: boolean,
): Promise<boolean> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const listed = new Set(await admin.listTopics());
    if (topics.every((t) => listed.has(t) === present)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
  }
}

/**
 * Creates topics and returns once the cluster lists all of them. A topic deleted just before (an application
 * reset) can still be pending deletion: its create fails with "already exists" although it is going away, so
 * creation is retried until the name is free and the new topic is listed.
 */
async function createTopicsSettled(admin: KafkaAdmin, specs: readonly TopicSpec[]): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const listed = new Set(await admin.listTopics());
    const todo = specs.filter((s) => !listed.has(s.topic));
    if (todo.length === 0) return;
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: todo.map((s) => ({
          topic: s.topic,
          numPartitions: s.partitions,
          replicationFactor: s.replicationFactor ?? -1,
          configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
      });
    } catch (err) {
      // A concurrent instance may have created some of them first, or a deletion is still pending: look again.
      if (!/already exists/i.test(String((err as Error).message))) throw err;
    }
    if (
      await waitForTopics(
        admin,
        todo.map((s) => s.topic),
        true,
      )
    )
      return;
    if (Date.now() > deadline) {
      throw new UscError(
        'USC_ERR_KAFKA_TOPIC_MISMATCH',
        `topics not created within ${SETTLE_TIMEOUT_MS} ms: ${todo.map((s) => s.topic).join(', ')}`,
        { retriable: true },
      );
    }
  }
}

/**
 * Offsets of each partition of a topic: `low` = first available, `high` = the read_committed end, i.e. the last
 * stable offset (kafkajs lists offsets READ_COMMITTED). A transaction's commit returns before the coordinator has
 * written its markers, so right after a commit `high` may still stop before that transaction's records.
 */
export async function topicOffsets(
  admin: KafkaAdmin,
  topic: string,
): Promise<Map<number, { low: string; high: string }>> {
  const rows = await admin.fetchTopicOffsets(topic);
  return new Map(rows.map((r) => [r.partition, { low: r.low, high: r.high }]));
}

/** Committed offsets of a group for the given topics (-1 = none), by topic then partition. */
export async function committedOffsets(
  admin: KafkaAdmin,
  groupId: string,
  topics: readonly string[],
): Promise<Map<string, Map<number, string>>> {
  const rows = await admin.fetchOffsets({ groupId, topics: [...topics] });
  return new Map(rows.map((t) => [t.topic, new Map(t.partitions.map((p) => [p.partition, p.offset]))]));
}

/** Sets a group's committed offsets; only allowed while the group has no live members. */
export async function setGroupOffsets(
  admin: KafkaAdmin,
  groupId: string,
  topic: string,
  partitions: readonly { partition: number; offset: string }[],
): Promise<void> {
  await admin.setOffsets({ groupId, topic, partitions: [...partitions] });
}

/** One member of a consumer group as the coordinator reports it, with its assignment decoded. */
export interface GroupMemberView {
  readonly memberId: string;
  readonly clientId: string;
  readonly host: string;
  readonly assignment: Readonly<Record<string, readonly number[]>>;
  /** The assignor's per-member userData from the assignment (may be empty). */
  readonly assignmentUserData: Buffer;
  /** The member's own subscription userData. */
  readonly subscriptionUserData: Buffer;
}

export interface GroupView {
  readonly groupId: string;
  readonly state: string;
  readonly protocol: string;
  readonly members: readonly GroupMemberView[];
}

/** Describes a group and decodes every member's assignment and userData (the owner map source). */
export async function describeGroup(admin: KafkaAdmin, groupId: string): Promise<GroupView> {
  const res = await admin.describeGroups([groupId]);
  const group = res.groups[0];
  if (!group) return { groupId, state: 'Dead', protocol: '', members: [] };
  const members = group.members.map((m) => {
    const decoded =
      m.memberAssignment && m.memberAssignment.length > 0
        ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment)
        : null;
    const meta =
      m.memberMetadata && m.memberMetadata.length > 0
        ? AssignerProtocol.MemberMetadata.decode(m.memberMetadata)
        : null;
    return {
      memberId: m.memberId,
      clientId: m.clientId,
      host: m.clientHost,
      assignment: decoded?.assignment ?? {},
      assignmentUserData: decoded?.userData ?? Buffer.alloc(0),
      subscriptionUserData: meta?.userData ?? Buffer.alloc(0),
    };
  });
  return { groupId, state: group.state, protocol: group.protocol, members };
}

/** Deletes consumer groups, ignoring ones that do not exist. */
export async function deleteGroups(admin: KafkaAdmin, groupIds: readonly string[]): Promise<void> {
  if (groupIds.length === 0) return;
  try {
    await admin.deleteGroups([...groupIds]);
  } catch (err) {
    if (!/does not exist|GROUP_ID_NOT_FOUND|not found/i.test(String((err as Error).message))) throw err;
  }
}

/** Deletes topics that exist; returns the ones deleted. */
export async function deleteTopics(admin: KafkaAdmin, topics: readonly string[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const doomed = topics.filter((t) => existing.has(t));
  if (doomed.length > 0) {
    await admin.deleteTopics({ topics: doomed });
    // Deletion completes asynchronously: return once the names are gone, so they can be created again.
    await waitForTopics(admin, doomed, false);
  }
  return doomed;
}

/** All topic names. */
export async function listTopics(admin: KafkaAdmin): Promise<string[]> {
  return admin.listTopics();
}

/** Moves a group's committed offsets of `topic` to the earliest (or latest) offsets; the group must be empty. */
export async function resetGroupOffsets(
  admin: KafkaAdmin,
  groupId: string,
  topic: string,
  to: 'earliest' | 'latest',
): Promise<void> {
  await admin.resetOffsets({ groupId, topic, earliest: to === 'earliest' });
}
