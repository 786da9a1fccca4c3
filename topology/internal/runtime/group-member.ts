/**
 * This instance's membership of the consumer group: the `GroupConsumer` wired to the task manager and the owner
 * map, and its replacement when the client fails for good.
 *
 * librdkafka ends a consumer with a fatal error it cannot recover from (`ERR__FATAL`): a static member fenced by a
 * member with the same `group.instance.id` is the one seen here, after a broker restart in which the coordinator
 * took a re-sent JoinGroup as a new incarnation of the member. Kafka Streams answers a dead stream thread by
 * replacing it; so does this: every task goes back to its last commit (as for lost partitions: no commit, since
 * the group no longer counts this member), the dead consumer closes, and a new one joins with the same static id
 * (fencing the other incarnation, and getting the partitions back). A real second process running as this
 * instance cannot be outrun this way: its transactional producer fences ours, which stops the instance; and more
 * than {@link MAX_REPLACEMENTS} replacements within {@link REPLACEMENT_WINDOW_MS} stop it too.
 */
import { UscError, describeError } from '../../../common/errors.js';
import {
  GroupConsumer,
  type ConsumedBatch,
  type GroupProtocol,
  type KafkaClient,
  type TopicPartition,
} from '../../../kafka/index.js';
import type { Logger } from '../../processor.js';
import type { Placement } from './placement.js';
import type { TaskManager } from './task-manager.js';

export const MAX_REPLACEMENTS = 3;
export const REPLACEMENT_WINDOW_MS = 300_000;
/** How long a failed consumer's close may take before its replacement joins anyway. */
const FAILED_CLOSE_TIMEOUT_MS = 10_000;

export interface GroupMemberDeps {
  readonly kafka: KafkaClient;
  readonly groupId: string;
  readonly instanceId: string;
  readonly protocol: GroupProtocol;
  readonly sessionTimeoutMs: number;
  readonly placement: Placement;
  readonly tasks: TaskManager;
  readonly logger: Logger;
  readonly clock: () => number;
  /** The instance is stopping: assignments create no task. */
  readonly stopping: () => boolean;
  /** A (new) generation's partitions are arriving (the instance is rebalancing). */
  readonly onAssigning: () => void;
  /** This member's lead partitions changed (published to the owner map). */
  readonly onLeadChanged: (lead: readonly number[]) => void;
  /** The consumer was replaced (a metric). */
  readonly onReplaced: () => void;
  readonly onFatal: (error: unknown) => void;
}

export class GroupMember {
  private consumer: GroupConsumer | undefined;
  private replacing: Promise<void> | undefined;
  private readonly replacedAt: number[] = [];
  private stopped = false;
  private joinedValue = false;

  constructor(private readonly deps: GroupMemberDeps) {}

  /** The current consumer (for offsets, seeks and the transaction's group metadata). */
  current(): GroupConsumer {
    if (!this.consumer)
      throw new UscError('USC_ERR_STREAMS_NOT_RUNNING', 'the group consumer is being replaced', {
        retriable: true,
      });
    return this.consumer;
  }

  /** An assignment has arrived since the (last) join. */
  get joined(): boolean {
    return this.joinedValue;
  }

  async start(): Promise<void> {
    const consumer = this.create();
    this.consumer = consumer;
    await consumer.start();
  }

  /** Stops polling and closes the member (a replacement in progress finishes first). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.replacing?.catch(() => {});
    await this.consumer?.stop();
  }

  private create(): GroupConsumer {
    const { deps } = this;
    const tm = deps.tasks;
    // Callbacks of a consumer that has been replaced change nothing: they pass its partitions through.
    const consumer: GroupConsumer = new GroupConsumer(
      deps.kafka,
      {
        groupId: deps.groupId,
        topics: [deps.placement.leadTopic],
        readCommitted: true,
        groupInstanceId: deps.instanceId,
        fromBeginning: true,
        protocol: deps.protocol,
        sessionTimeoutMs: deps.sessionTimeoutMs,
        heartbeatIntervalMs: Math.max(100, Math.min(1_000, Math.floor(deps.sessionTimeoutMs / 5))),
      },
      {
        onAssigned: async (partitions) => {
          if (consumer !== this.consumer) return this.passThrough(partitions);
          // An assignment that arrives while the instance is stopping creates no task; closing the member
          // hands it to the others.
          if (!deps.stopping()) deps.onAssigning();
          this.joinedValue = true;
          const all = await tm.onAssigned(partitions);
          deps.onLeadChanged(tm.ownedLeadPartitions());
          return all;
        },
        onRevoked: async (partitions, lost) => {
          if (consumer !== this.consumer) return this.passThrough(partitions);
          const all = await tm.onRevoked(partitions, lost);
          deps.onLeadChanged(tm.ownedLeadPartitions());
          return all;
        },
        onBatches: (batches: readonly ConsumedBatch[], drained: boolean) =>
          consumer === this.consumer ? tm.onBatches(batches, drained) : Promise.resolve(),
        onError: (err, fatal) => {
          if (consumer !== this.consumer) return;
          if (fatal) deps.onFatal(err);
          else deps.logger.warn({ err: describeError(err) }, 'Kafka client error; the client retries');
        },
        onClientFailed: (err) => {
          if (consumer === this.consumer) this.replacing = this.replace(consumer, err);
        },
      },
      deps.logger.child({ component: 'consumer' }),
    );
    return consumer;
  }

  private passThrough(partitions: readonly TopicPartition[]): readonly TopicPartition[] {
    const lead = partitions.filter((p) => p.topic === this.deps.placement.leadTopic).map((p) => p.partition);
    return this.deps.placement.partitionsOfLead(lead);
  }

  private async replace(failed: GroupConsumer, err: unknown): Promise<void> {
    const { deps } = this;
    if (this.stopped || deps.stopping()) return;
    const now = deps.clock();
    while (this.replacedAt.length > 0 && now - this.replacedAt[0]! > REPLACEMENT_WINDOW_MS)
      this.replacedAt.shift();
    if (this.replacedAt.length >= MAX_REPLACEMENTS) {
      deps.logger.error(
        { err: describeError(err), replacements: this.replacedAt.length },
        `the group consumer failed ${MAX_REPLACEMENTS + 1} times within ${REPLACEMENT_WINDOW_MS / 60_000} minutes; stopping`,
      );
      deps.onFatal(err);
      return;
    }
    this.replacedAt.push(now);
    deps.logger.warn(
      { err: describeError(err) },
      'the group consumer failed and cannot recover (e.g. fenced as a static member); every task goes back to ' +
        'its last commit and a new consumer joins the group',
    );
    try {
      this.joinedValue = false;
      await deps.tasks.onLostAll();
      deps.onLeadChanged([]);
      this.consumer = undefined;
      await Promise.race([failed.stop(), new Promise((r) => setTimeout(r, FAILED_CLOSE_TIMEOUT_MS).unref())]);
      if (this.stopped || deps.stopping()) return;
      const next = this.create();
      this.consumer = next;
      await next.start();
      deps.onReplaced();
      deps.logger.info({ replacements: this.replacedAt.length }, 'a new group consumer joined the group');
    } catch (e) {
      deps.onFatal(e);
    }
  }
}
