/**
 * Admin helpers of the Kafka port: topic creation, partition counts, end offsets (group inspection and offset
 * resets are in ./group-admin.ts),
 * on librdkafka's admin client (`AdminClient` of `@confluentinc/kafka-javascript`, loaded through ./native.ts).
 * All functions take an admin from {@link openAdmin} and close nothing they did not open. Every request is bounded
 * by the client's operation timeout ({@link KafkaClient.operationTimeoutMs}), so an unreachable broker fails an
 * operation in bounded time.
 */
import { randomUUID } from 'node:crypto';
import type {
  ConsumerGlobalConfig,
  IAdminClient,
  LibrdKafkaError,
  TopicDescription,
} from '@confluentinc/kafka-javascript';
import { UscError } from '../common/errors.js';
import { routeLibrdkafkaLog, type KafkaClient } from './client.js';
import { ConnectionProblems, connectOrExplain } from './connection-problems.js';
import { KAFKA_ERROR_CODES } from './errors.js';
import { callback, rdkafka, type LowLevelConsumer } from './native.js';

/** A connected admin client; the caller must `disconnect()` it. Opaque outside kafka/. */
export interface KafkaAdmin {
  disconnect(): Promise<void>;
}

/**
 * The one implementation of {@link KafkaAdmin}: librdkafka's admin client, derived from a consumer of its own, and
 * the settings it was made from.
 */
export class RdAdmin implements KafkaAdmin {
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

/** The librdkafka admin behind `admin` (kafka/ only). */
export function rd(admin: KafkaAdmin): RdAdmin {
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
export function throwIfError(error: LibrdKafkaError | undefined | null, what: string): void {
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
export const SETTLE_POLL_MS = 200; // poll period of the metadata checks below

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
