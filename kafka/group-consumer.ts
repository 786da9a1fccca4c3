/**
 * A consumer-group member on kafkajs with a pluggable assignor, exposed through runtime-facing types (no kafkajs
 * types leak out of kafka/). kafkajs rebalances eagerly: every rebalance revokes everything and {@link
 * GroupConsumerHandlers.onAssigned} receives the full new assignment, synchronously before the first fetch of the
 * new generation, so the runtime can pause or seek partitions in time.
 */
import kafkajs, { type Consumer, type IHeaders, type PartitionAssigner } from 'kafkajs';
import type { Logger } from '../topology/processor.js';
import type { KafkaClient } from './client.js';

const { AssignerProtocol } = kafkajs;

export interface ConsumedRecord {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
  readonly headers: Readonly<Record<string, string>>;
}

export interface ConsumedBatch {
  readonly topic: string;
  readonly partition: number;
  /** End offset of the partition as of this fetch (last stable offset under read_committed). */
  readonly highWatermark: string;
  readonly records: readonly ConsumedRecord[];
  /** Offset after the last record or control marker covered by this fetch. */
  readonly nextOffset: string;
}

export interface BatchControls {
  /** Keeps group membership alive during a long batch; cheap when not due. */
  heartbeat(): Promise<void>;
  /** Marks the fetch position past `offset` (kafkajs refetches unresolved records after a rebalance). */
  resolveOffset(offset: string): void;
  /** False once the consumer is stopping or the batch belongs to an old generation. */
  isActive(): boolean;
}

export interface TopicPartitions {
  readonly topic: string;
  readonly partitions: readonly number[];
}

/** The pure part of a partition assignor; the port adapts it to kafkajs. */
export interface GroupAssignor {
  readonly name: string;
  readonly version: number;
  /** This member's subscription userData (sent at every join). */
  subscriptionUserData(): Buffer;
  /** Leader only: computes every member's assignment and assignment userData. */
  assign(
    members: readonly { memberId: string; userData: Buffer }[],
    partitionsByTopic: ReadonlyMap<string, number>,
  ): ReadonlyMap<string, { assignment: Record<string, number[]>; userData: Buffer }>;
}

export interface GroupConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly readCommitted: boolean;
  readonly assignor?: GroupAssignor;
  /** Where to start without a committed offset. */
  readonly fromBeginning: boolean;
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  readonly rebalanceTimeoutMs?: number;
  readonly maxBytesPerPartition?: number;
  readonly maxWaitTimeMs?: number;
}

export interface GroupConsumerHandlers {
  onBatch(batch: ConsumedBatch, controls: BatchControls): Promise<void>;
  /** Called synchronously when a generation's assignment is known, before its first fetch. */
  onAssigned(
    assignment: Readonly<Record<string, readonly number[]>>,
    memberId: string,
    isLeader: boolean,
  ): void;
  /** A crash kafkajs will not recover from by itself (`restarting` false) or will retry (`true`). */
  onCrash(error: Error, restarting: boolean): void;
  /** The group started rebalancing (heartbeat/fetch saw it). Optional. */
  onRebalancing?(): void;
  /**
   * A fetch held only transaction markers or aborted records: kafkajs does not call `onBatch` for it, but the
   * partition's position moved to `nextOffset`. Called synchronously from kafkajs' instrumentation event, so it
   * may run while an earlier batch of the same partition is still being handled: treat it as "position is at
   * least nextOffset" (take the max), never as a sequence point.
   */
  onSkipped?(topic: string, partition: number, nextOffset: string): void;
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[k] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}

function toKafkajsAssigner(assignor: GroupAssignor): PartitionAssigner {
  return ({ cluster }) => ({
    name: assignor.name,
    version: assignor.version,
    protocol: ({ topics }) => ({
      name: assignor.name,
      metadata: AssignerProtocol.MemberMetadata.encode({
        version: assignor.version,
        topics,
        userData: assignor.subscriptionUserData(),
      }),
    }),
    assign: async ({ members, topics }) => {
      const partitionsByTopic = new Map<string, number>();
      for (const topic of topics)
        partitionsByTopic.set(topic, cluster.findTopicPartitionMetadata(topic).length);
      const decoded = members.map((m) => ({
        memberId: m.memberId,
        userData: AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData ?? Buffer.alloc(0),
      }));
      const result = assignor.assign(decoded, partitionsByTopic);
      return [...result.entries()].map(([memberId, a]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: assignor.version,
          assignment: a.assignment,
          userData: a.userData,
        }),
      }));
    },
  });
}

/** One consumer-group member. Not restartable: create a new one after stop(). */
export class GroupConsumer {
  private readonly consumer: Consumer;
  private memberIdValue = '';
  private stopped = false;

  constructor(
    kafka: KafkaClient,
    private readonly options: GroupConsumerOptions,
    private readonly handlers: GroupConsumerHandlers,
    private readonly logger: Logger,
  ) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      readUncommitted: !options.readCommitted,
      partitionAssigners: options.assignor ? [toKafkajsAssigner(options.assignor)] : undefined,
      sessionTimeout: options.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: options.heartbeatIntervalMs ?? 1_000,
      rebalanceTimeout: options.rebalanceTimeoutMs ?? 30_000,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1_048_576,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 100,
      retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 5_000 },
    });
    const { GROUP_JOIN, CRASH, REBALANCING } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, ({ payload }) => {
      this.memberIdValue = payload.memberId;
      this.handlers.onAssigned(payload.memberAssignment, payload.memberId, payload.isLeader);
    });
    this.consumer.on(CRASH, ({ payload }) => {
      if (!this.stopped) this.handlers.onCrash(payload.error, payload.restart);
    });
    this.consumer.on(REBALANCING, () => this.handlers.onRebalancing?.());
    // kafkajs emits END_BATCH_PROCESS with batchSize 0 only for batches it did not deliver because every record
    // was a control record or aborted (KafkaJS #1256); empty fetches emit nothing.
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize === 0 && !this.stopped) {
        this.handlers.onSkipped?.(
          payload.topic,
          payload.partition,
          (BigInt(payload.lastOffset) + 1n).toString(),
        );
      }
    });
  }

  get memberId(): string {
    return this.memberIdValue;
  }

  /** Connects, subscribes and starts fetching. Resolves once the first join completed. */
  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({
      topics: [...this.options.topics],
      fromBeginning: this.options.fromBeginning,
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, heartbeat, resolveOffset, isRunning, isStale }) => {
        const records: ConsumedRecord[] = batch.messages.map((m) => ({
          offset: m.offset,
          key: m.key,
          value: m.value,
          timestamp: Number(m.timestamp),
          headers: headersToStrings(m.headers),
        }));
        const consumed: ConsumedBatch = {
          topic: batch.topic,
          partition: batch.partition,
          highWatermark: batch.highWatermark,
          records,
          nextOffset: (BigInt(batch.lastOffset()) + 1n).toString(),
        };
        await this.handlers.onBatch(consumed, {
          heartbeat,
          resolveOffset,
          isActive: () => isRunning() && !isStale(),
        });
      },
    });
  }

  /**
   * Runs a pause/resume/seek unless kafkajs is between a crash and its restart: then it has no consumer group and
   * throws. Skipping is right: the restarted consumer joins a new generation with fresh fetch state, and the
   * runtime sets pauses and positions again in `onAssigned`. Returns whether it ran.
   */
  private whileJoined(operation: string, run: () => void): boolean {
    try {
      run();
      return true;
    } catch (err) {
      if (!(err instanceof Error) || !/not initialized/.test(err.message)) throw err;
      this.logger.debug(
        { operation, groupId: this.options.groupId },
        'consumer is restarting; skipped (the next generation sets it again)',
      );
      return false;
    }
  }

  pause(partitions: readonly TopicPartitions[]): boolean {
    if (partitions.length === 0) return true;
    return this.whileJoined('pause', () =>
      this.consumer.pause(partitions.map((p) => ({ ...p, partitions: [...p.partitions] }))),
    );
  }

  resume(partitions: readonly TopicPartitions[]): boolean {
    if (partitions.length === 0) return true;
    return this.whileJoined('resume', () =>
      this.consumer.resume(partitions.map((p) => ({ ...p, partitions: [...p.partitions] }))),
    );
  }

  /** Moves the fetch position; takes effect before the partition's next fetch. */
  seek(topic: string, partition: number, offset: string): boolean {
    return this.whileJoined('seek', () => this.consumer.seek({ topic, partition, offset }));
  }

  /** Commits offsets outside a transaction (at_least_once). */
  async commitOffsets(
    offsets: readonly { topic: string; partition: number; offset: string }[],
  ): Promise<void> {
    if (offsets.length > 0) await this.consumer.commitOffsets([...offsets]);
  }

  /** Stops fetching, waits for the batch in flight, leaves the group. */
  async stop(): Promise<void> {
    this.stopped = true;
    try {
      await this.consumer.disconnect();
    } catch (err) {
      this.logger.warn({ err }, 'consumer disconnect failed; the coordinator will expire the member');
    }
  }
}
