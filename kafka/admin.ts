/**
 * Admin helpers of the Kafka port: topic creation, partition counts, offsets, group inspection and offset resets,
 * on librdkafka's admin client (`AdminClient` of `@confluentinc/kafka-javascript`, loaded through ./native.ts).
 * All functions take an admin from {@link openAdmin} and close nothing they did not open. Every request is bounded
 * by the client's operation timeout ({@link KafkaClient.operationTimeoutMs}), so an unreachable broker fails an
 * operation in bounded time.
 */
import { randomUUID } from 'node:crypto';
import type {
  ConsumerGlobalConfig,
  GroupDescription,
  IAdminClient,
  LibrdKafkaError,
  TopicDescription,
} from '@confluentinc/kafka-javascript';
import { UscError } from '../common/errors.js';
import { routeLibrdkafkaLog, type KafkaClient } from './client.js';
import { ConnectionProblems, connectOrExplain, KAFKA_ERROR_CODES } from './errors.js';
import { callback, rdkafka, type LowLevelConsumer } from './native.js';

/** A connected admin client; the caller must `disconnect()` it. Opaque outside kafka/. */
export interface KafkaAdmin {
  disconnect(): Promise<void>;
}

/**
 * The one implementation of {@link KafkaAdmin}: librdkafka's admin client, derived from a consumer of its own, and
 * the settings it was made from.
 */
class RdAdmin implements KafkaAdmin {
  private closed = false;

  constructor(
    readonly client: IAdminClient,
    private readonly consumer: LowLevelConsumer,
    readonly kafka: KafkaClient,
  ) {}

  get timeoutMs(): number {
    return this.kafka.operationTimeoutMs;
  }

  async disconnect(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await callback<unknown>((done) => this.consumer.disconnect(done));
  }
}

function rd(admin: KafkaAdmin): RdAdmin {
  if (!(admin instanceof RdAdmin)) throw new TypeError('not an admin client opened by openAdmin()');
  return admin;
}

/** A topic the application needs. */
export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly replicationFactor?: number;
  readonly config?: Readonly<Record<string, string>>;
}

/** librdkafka log events as the client emits them. */
type LogEvent = { severity?: number; fac?: string; message?: string };

/**
 * Creates an admin client and checks that a broker answers it (a metadata request within the operation timeout);
 * the caller must `disconnect()` it. Rejects when no broker answers (a `LibrdKafkaError`-shaped ERR__TRANSPORT
 * naming the address and the socket error) or when the broker refuses our credentials (ERR__AUTHENTICATION, which
 * {@link classifyKafkaError} calls fatal).
 *
 * The admin client is derived from a consumer (`AdminClient.createFrom`) with a private `group.id` that never
 * joins a group or commits: librdkafka 2.15 crashes (SIGSEGV in `rd_kafka_handle_OffsetFetch`) when an OffsetFetch
 * of a standalone admin client is answered NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS, because it asks the
 * client's own consumer group, which a standalone admin client does not have, to look up the coordinator again.
 */
export async function openAdmin(kafka: KafkaClient): Promise<KafkaAdmin> {
  const native = rdkafka();
  const problems = new ConnectionProblems();
  const consumer: LowLevelConsumer = new native.KafkaConsumer(
    kafka.config({
      'group.id': `${kafka.connection.clientId}-admin-${randomUUID()}`,
      'enable.auto.commit': false,
    }) as ConsumerGlobalConfig,
    {},
  );
  consumer.on('event.log', (event: LogEvent) => {
    problems.noteLog(event);
    routeLibrdkafkaLog(kafka.logger, event);
  });
  // Connection failures are reported by the request that fails (below, or the caller's); not logged here.
  consumer.on('event.error', (err: LibrdKafkaError) => problems.noteError(err));
  await connectOrExplain(
    problems,
    callback<unknown>((done) =>
      consumer.connect({ allTopics: false, timeout: kafka.operationTimeoutMs }, done),
    ),
    () => callback<unknown>((done) => consumer.disconnect(done)),
  );
  return new RdAdmin(native.AdminClient.createFrom(consumer), consumer, kafka);
}

/** Describes topics; topics that do not exist come back with error UNKNOWN_TOPIC_OR_PART. */
function describeTopics(admin: RdAdmin, topics: readonly string[]): Promise<TopicDescription[]> {
  return callback<TopicDescription[]>((done) =>
    admin.client.describeTopics([...topics], { timeout: admin.timeoutMs }, done),
  );
}

/** Throws a per-item error of an admin result (the client reports those inside the result, not as `err`). */
function throwIfError(error: LibrdKafkaError | undefined | null, what: string): void {
  if (!error) return;
  throw Object.assign(new Error(`${what}: ${error.message}`), {
    name: 'LibrdKafkaError',
    code: error.code,
    errno: error.code,
    origin: 'kafka',
    isRetriable: error.isRetriable,
    isFatal: error.isFatal,
    cause: error,
  });
}

/** Partition counts of existing topics; topics that do not exist are absent from the map. */
export async function partitionCounts(
  admin: KafkaAdmin,
  topics: readonly string[],
): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  if (topics.length === 0) return result;
  for (const t of await describeTopics(rd(admin), topics)) {
    if (t.error?.code === KAFKA_ERROR_CODES.ERR_UNKNOWN_TOPIC_OR_PART) continue;
    throwIfError(t.error, `describing topic ${t.name}`);
    result.set(t.name, t.partitions.length);
  }
  return result;
}

/**
 * Creates missing topics (with their configs) and verifies the partition count of existing ones: a count other
 * than the spec's throws UscError USC_ERR_KAFKA_TOPIC_MISMATCH, because running on a topic of the wrong shape would
 * silently break partitioning. The configs (e.g. `cleanup.policy`) of an existing topic are not verified: the
 * client has no DescribeConfigs request. Returns the topics it created.
 */
export async function ensureTopics(admin: KafkaAdmin, specs: readonly TopicSpec[]): Promise<string[]> {
  const counts = await partitionCounts(
    admin,
    specs.map((s) => s.topic),
  );
  const missing = specs.filter((s) => !counts.has(s.topic));
  if (missing.length > 0) await createTopicsSettled(rd(admin), missing);
  const problems: string[] = [];
  for (const spec of specs) {
    const count = counts.get(spec.topic);
    if (count !== undefined && count !== spec.partitions) {
      problems.push(`${spec.topic} has ${count} partitions, expected ${spec.partitions}`);
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

/**
 * Topics of `topics` that exist and are usable: every partition has a leader (a topic right after its creation
 * may be listed before its partitions have leaders).
 */
async function readyTopics(admin: RdAdmin, topics: readonly string[]): Promise<Set<string>> {
  const ready = new Set<string>();
  if (topics.length === 0) return ready;
  for (const t of await describeTopics(admin, topics)) {
    if (t.error?.code === KAFKA_ERROR_CODES.ERR_UNKNOWN_TOPIC_OR_PART) continue;
    throwIfError(t.error, `describing topic ${t.name}`);
    if (t.partitions.length > 0 && t.partitions.every((p) => p.leader !== null)) ready.add(t.name);
  }
  return ready;
}

/** Polls the cluster's metadata until every one of `topics` is present with leaders (or absent). */
async function waitForTopics(admin: RdAdmin, topics: readonly string[], present: boolean): Promise<boolean> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const listed = present ? await readyTopics(admin, topics) : new Set(await listTopics(admin));
    if (topics.every((t) => listed.has(t) === present)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
  }
}

/**
 * Creates topics and returns once every one of them has leaders. A topic deleted just before (an application
 * reset) can still be pending deletion: its create fails with "already exists" although it is going away, so
 * creation is retried until the name is free and the new topic is ready.
 */
async function createTopicsSettled(admin: RdAdmin, specs: readonly TopicSpec[]): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const ready = await readyTopics(
      admin,
      specs.map((s) => s.topic),
    );
    const todo = specs.filter((s) => !ready.has(s.topic));
    if (todo.length === 0) return;
    for (const s of todo) {
      try {
        await callback((done) =>
          admin.client.createTopic(
            {
              topic: s.topic,
              num_partitions: s.partitions,
              replication_factor: s.replicationFactor ?? -1,
              config: { ...s.config },
            },
            admin.timeoutMs,
            done,
          ),
        );
      } catch (err) {
        // A concurrent instance may have created it first, or a deletion is still pending: look again.
        if ((err as LibrdKafkaError).code !== KAFKA_ERROR_CODES.ERR_TOPIC_ALREADY_EXISTS) throw err;
      }
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
 * stable offset (listed with isolation level READ_COMMITTED). A transaction's commit returns before the
 * coordinator has written its markers, so right after a commit `high` may still stop before that transaction's
 * records.
 */
export async function topicOffsets(
  admin: KafkaAdmin,
  topic: string,
): Promise<Map<number, { low: string; high: string }>> {
  const a = rd(admin);
  const native = rdkafka();
  const [description] = await describeTopics(a, [topic]);
  throwIfError(description?.error, `describing topic ${topic}`);
  const partitions = (description?.partitions ?? []).map((p) => p.partition).sort((x, y) => x - y);
  if (partitions.length === 0) return new Map();
  const list = (spec: InstanceType<typeof native.OffsetSpec>, isolationLevel: number) =>
    callback<{ partition: number; offset: number; error?: LibrdKafkaError }[]>((done) =>
      a.client.listOffsets(
        partitions.map((partition) => ({ topic, partition, offset: spec })),
        { timeout: a.timeoutMs, isolationLevel },
        done,
      ),
    );
  const low = await list(native.OffsetSpec.EARLIEST, native.IsolationLevel.READ_UNCOMMITTED);
  const high = await list(native.OffsetSpec.LATEST, native.IsolationLevel.READ_COMMITTED);
  const out = new Map<number, { low: string; high: string }>();
  for (const p of partitions) {
    const l = low.find((r) => r.partition === p);
    const h = high.find((r) => r.partition === p);
    throwIfError(l?.error ?? h?.error, `listing offsets of ${topic}-${p}`);
    out.set(p, { low: String(l?.offset ?? 0), high: String(h?.offset ?? 0) });
  }
  return out;
}

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

/** Deletes topics that exist; returns the ones deleted once the cluster no longer lists them. */
export async function deleteTopics(admin: KafkaAdmin, topics: readonly string[]): Promise<string[]> {
  const a = rd(admin);
  const existing = new Set(await listTopics(a));
  const doomed = topics.filter((t) => existing.has(t));
  for (const topic of doomed) {
    try {
      await callback((done) => a.client.deleteTopic(topic, a.timeoutMs, done));
    } catch (err) {
      // Deleted concurrently (another reset): that is what we wanted.
      if ((err as LibrdKafkaError).code !== KAFKA_ERROR_CODES.ERR_UNKNOWN_TOPIC_OR_PART) throw err;
    }
  }
  // Deletion completes asynchronously: return once the names are gone, so they can be created again.
  if (doomed.length > 0) await waitForTopics(a, doomed, false);
  return doomed;
}

/** All topic names. */
export async function listTopics(admin: KafkaAdmin): Promise<string[]> {
  const a = rd(admin);
  return callback<string[]>((done) => a.client.listTopics({ timeout: a.timeoutMs }, done));
}
