/**
 * Consumer-group admin of the Kafka port: committed offsets, offset resets (an assigned consumer committing while
 * the group is empty: librdkafka's admin client has no AlterConsumerGroupOffsets here), group inspection and
 * deletion. Every function takes an admin from `openAdmin` (./admin.ts).
 */
import type { ConsumerGlobalConfig, GroupDescription, LibrdKafkaError } from '@confluentinc/kafka-javascript';
import { UscError } from '../common/errors.js';
import { SETTLE_POLL_MS, partitionCounts, rd, throwIfError, topicOffsets, type KafkaAdmin } from './admin.js';
import { routeLibrdkafkaLog } from './client.js';
import { ConnectionProblems, connectOrExplain } from './connection-problems.js';
import { KAFKA_ERROR_CODES } from './errors.js';
import { callback, rdkafka, type LowLevelConsumer } from './native.js';

/** librdkafka's "no offset" (RD_KAFKA_OFFSET_INVALID), reported for a partition the group never committed. */
const OFFSET_INVALID = -1001;

/**
 * Committed offsets of a group for the given topics, by topic then partition: every partition of each existing
 * topic, `-1` where the group has no commit (also for a group without any). Topics that do not exist are absent.
 * Asks for stable offsets: a partition with a pending transactional commit is asked again until it settles (within
 * the operation timeout).
 */
export async function committedOffsets(
  admin: KafkaAdmin,
  groupId: string,
  topics: readonly string[],
): Promise<Map<string, Map<number, string>>> {
  const a = rd(admin);
  const counts = await partitionCounts(a, topics);
  const out = new Map<string, Map<number, string>>();
  const partitions = [...counts].flatMap(([topic, n]) => {
    out.set(topic, new Map(Array.from({ length: n }, (_, p) => [p, '-1'])));
    return Array.from({ length: n }, (_, partition) => ({ topic, partition }));
  });
  if (partitions.length === 0) return out;
  const deadline = Date.now() + a.timeoutMs;
  for (;;) {
    const [group] = await callback<
      {
        error?: LibrdKafkaError;
        partitions: { topic: string; partition: number; offset: number; error?: LibrdKafkaError }[];
      }[]
    >((done) =>
      a.client.listConsumerGroupOffsets(
        [{ groupId, partitions }],
        { timeout: a.timeoutMs, requireStableOffsets: true },
        done,
      ),
    );
    throwIfError(group?.error, `fetching the offsets of group ${groupId}`);
    const rows = group?.partitions ?? [];
    const unstable = rows.find((r) => r.error?.code === KAFKA_ERROR_CODES.ERR_UNSTABLE_OFFSET_COMMIT);
    if (unstable && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
      continue;
    }
    for (const r of rows) {
      throwIfError(r.error, `fetching the offset of group ${groupId} for ${r.topic}-${r.partition}`);
      out
        .get(r.topic)
        ?.set(r.partition, r.offset < 0 || r.offset === OFFSET_INVALID ? '-1' : String(r.offset));
    }
    return out;
  }
}

/**
 * Sets a group's committed offsets of `topic`; only while the group has no live members (throws UscError
 * USC_ERR_RESET_INSTANCES_ALIVE otherwise).
 *
 * The client has no AlterConsumerGroupOffsets: the offsets are committed by a short-lived consumer with the
 * group's `group.id` that never joins the group. It `assign()`s the partitions and commits them with
 * `commitSync()`, which the group coordinator accepts as a "simple" commit (no generation, no member id) only
 * while the group is empty; with live members the commit would be refused (or overwritten by their next commit),
 * hence the check first.
 */
export async function setGroupOffsets(
  admin: KafkaAdmin,
  groupId: string,
  topic: string,
  partitions: readonly { partition: number; offset: string }[],
): Promise<void> {
  const a = rd(admin);
  const group = await describeGroup(a, groupId);
  if (group.members.length > 0) {
    throw new UscError(
      'USC_ERR_RESET_INSTANCES_ALIVE',
      `cannot set the offsets of group ${groupId}: ${group.members.length} member(s) are alive`,
      { details: { groupId, members: group.members.map((m) => m.memberId) } },
    );
  }
  if (partitions.length === 0) return;
  const offsets = partitions.map((p) => ({ topic, partition: p.partition, offset: Number(p.offset) }));
  const problems = new ConnectionProblems();
  const consumer: LowLevelConsumer = new (rdkafka().KafkaConsumer)(
    a.kafka.config({
      'group.id': groupId,
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
    }) as ConsumerGlobalConfig,
    {},
  );
  consumer.on('event.log', (event) => {
    problems.noteLog(event as { severity?: number; fac?: string; message?: string });
    routeLibrdkafkaLog(a.kafka.logger, event as { severity?: number; fac?: string; message?: string });
  });
  consumer.on('event.error', (err) => problems.noteError(err));
  await connectOrExplain(
    problems,
    callback<unknown>((done) => consumer.connect({ topic, timeout: a.timeoutMs }, done)),
    () => callback<unknown>((done) => consumer.disconnect(done)),
  );
  try {
    consumer.assign(offsets);
    consumer.commitSync(offsets);
    consumer.unassign();
  } finally {
    await callback<unknown>((done) => consumer.disconnect(done)).catch(() => undefined);
  }
}

/** Moves a group's committed offsets of `topic` to the earliest (or latest) offsets; the group must be empty. */
export async function resetGroupOffsets(
  admin: KafkaAdmin,
  groupId: string,
  topic: string,
  to: 'earliest' | 'latest',
): Promise<void> {
  const offsets = await topicOffsets(admin, topic);
  await setGroupOffsets(
    admin,
    groupId,
    topic,
    [...offsets].map(([partition, { low, high }]) => ({
      partition,
      offset: to === 'earliest' ? low : high,
    })),
  );
}

/** One member of a consumer group as the coordinator reports it, with its assignment decoded. */
export interface GroupMemberView {
  readonly memberId: string;
  readonly clientId: string;
  readonly host: string;
  /** The member's `group.instance.id` (static membership), if it has one. */
  readonly instanceId: string | undefined;
  /** Assigned partitions by topic (ascending). */
  readonly assignment: Readonly<Record<string, readonly number[]>>;
}

export interface GroupView {
  readonly groupId: string;
  /** Kafka's name of the group state: `Empty`, `Stable`, `PreparingRebalance`, `CompletingRebalance`, `Dead`... */
  readonly state: string;
  /** The assignor the group runs (`cooperative-sticky`, `range`...); empty for an empty group. */
  readonly protocol: string;
  readonly members: readonly GroupMemberView[];
}

/** librdkafka's ConsumerGroupStates, by Kafka's names. */
const GROUP_STATES: Readonly<Record<number, string>> = {
  0: 'Unknown',
  1: 'PreparingRebalance',
  2: 'CompletingRebalance',
  3: 'Stable',
  4: 'Dead',
  5: 'Empty',
};

/** Describes a group and decodes every member's assignment; a group that does not exist is `Dead` and empty. */
export async function describeGroup(admin: KafkaAdmin, groupId: string): Promise<GroupView> {
  const a = rd(admin);
  // Work around confluentinc/confluent-kafka-javascript#531 (still in 1.10.1): when the answer for a group
  // carries an error (its coordinator not available yet, a broker gone, not authorized), the native describeGroups
  // converts a NULL string and the whole process dies (SIGSEGV). So the group's coordinator is asked first with a
  // request whose failures come back as ordinary errors (OffsetFetch); describeGroups is sent only once that
  // answered. A coordinator failing in the moment between the two requests remains a (narrow) crash window.
  const [probe] = await callback<{ error?: LibrdKafkaError }[]>((done) =>
    a.client.listConsumerGroupOffsets(
      [{ groupId, partitions: null as unknown as undefined }], // null = every partition the group committed
      { timeout: a.timeoutMs, requireStableOffsets: false },
      done,
    ),
  );
  throwIfError(probe?.error, `asking the coordinator of group ${groupId}`);
  const res = await callback<{ groups: GroupDescription[] }>((done) =>
    a.client.describeGroups([groupId], { timeout: a.timeoutMs }, done),
  );
  const group = res.groups.find((g) => g.groupId === groupId);
  if (!group || group.error?.code === KAFKA_ERROR_CODES.ERR_GROUP_ID_NOT_FOUND) {
    return { groupId, state: 'Dead', protocol: '', members: [] };
  }
  throwIfError(group.error, `describing group ${groupId}`);
  const members = group.members.map((m): GroupMemberView => {
    const assignment: Record<string, number[]> = {};
    for (const tp of m.assignment?.topicPartitions ?? []) (assignment[tp.topic] ??= []).push(tp.partition);
    for (const list of Object.values(assignment)) list.sort((x, y) => x - y);
    return {
      memberId: m.memberId,
      clientId: m.clientId,
      host: m.clientHost,
      instanceId: m.groupInstanceId || undefined,
      assignment,
    };
  });
  return {
    groupId,
    state: GROUP_STATES[group.state] ?? 'Unknown',
    protocol: group.protocol || group.partitionAssignor || '',
    members,
  };
}

/** Deletes consumer groups, ignoring ones that do not exist. */
export async function deleteGroups(admin: KafkaAdmin, groupIds: readonly string[]): Promise<void> {
  if (groupIds.length === 0) return;
  const a = rd(admin);
  const reports = await callback<{ groupId: string; errorCode?: number; error?: LibrdKafkaError }[]>((done) =>
    a.client.deleteGroups([...groupIds], { timeout: a.timeoutMs }, done),
  );
  for (const r of reports) {
    if (r.error?.code === KAFKA_ERROR_CODES.ERR_GROUP_ID_NOT_FOUND) continue;
    throwIfError(r.error, `deleting group ${r.groupId}`);
  }
}
