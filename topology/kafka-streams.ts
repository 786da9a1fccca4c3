/**
 * One streams instance: a consumer-group member running the active and standby tasks assigned to it (Kafka
 * Streams' `KafkaStreams`). Lifecycle: created -> rebalancing <-> running -> pending_shutdown -> not_running, or
 * error after a fatal failure (./internal/runtime/streams-lifecycle.ts). Every instance learns the group's owner
 * map (which instance runs, or stands by for, each task, and its API URL) from the directory topic
 * (./internal/runtime/group-view.ts), so interactive queries can be routed (./internal/runtime/local-queries.ts).
 */
import type { Registry } from 'prom-client';
import { UscError, describeError } from '../common/errors.js';
import { InstanceProducer, openAdmin, type KafkaAdmin, type KafkaClient } from '../kafka/index.js';
import {
  DEFAULT_STORE_MEMORY_BYTES,
  DEFAULT_VALUE_CACHE_BYTES_TOTAL,
  StoreMemory,
} from '../stores/memory-budget.js';
import { StateDirectory } from '../stores/state-directory.js';
import { directoryTopicName, prepareTopics } from './internal/runtime/topic-setup.js';
import { AssignmentLog } from './internal/runtime/assignment-log.js';
import { GroupMember } from './internal/runtime/group-member.js';
import { GroupView } from './internal/runtime/group-view.js';
import { describeLocalTasks, findLocalStore, keyQueryMetadata } from './internal/runtime/local-queries.js';
import { Placement, type HostEntry } from './internal/runtime/placement.js';
import { StreamsLifecycle, type StreamsState } from './internal/runtime/streams-lifecycle.js';
import { StreamsMetrics } from './internal/runtime/streams-metrics.js';
import { TaskFactory, storeSlots } from './internal/runtime/task-factory.js';
import { TaskManager } from './internal/runtime/task-manager.js';
import type { StreamTask } from './internal/runtime/stream-task.js';
import type { KeyQueryMetadata, LocalStoreResult } from './interactive-queries.js';
import type { Logger } from './processor.js';
import type { StreamsConfig } from './streams-config.js';
import { parseTaskId } from './task-id.js';
import { internalTopicName, type Topology } from './topology.js';

export { directoryTopicName };

/** The state of a streams instance; see {@link KafkaStreams.onStateChange}. */
export type { StreamsState };

/** An instance in the owner map: its active and standby task ids and its API URL. */
export type { HostEntry };

export type { KeyQueryMetadata, LocalStoreResult } from './interactive-queries.js';

/** What an instance needs from its host: the Kafka client, a metrics registry, a logger and (for tests) a clock. */
export interface KafkaStreamsDeps {
  readonly kafka: KafkaClient;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly clock?: () => number;
}

export class KafkaStreams {
  private readonly logger: Logger;
  private readonly lifecycle: StreamsLifecycle;
  private readonly clock: () => number;
  readonly metrics: StreamsMetrics;
  private member: GroupMember | undefined;
  private admin: KafkaAdmin | undefined;
  private producer: InstanceProducer | undefined;
  private taskManager: TaskManager | undefined;
  private groupView: GroupView | undefined;
  private stateDirectory: StateDirectory | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private counts = new Map<string, number>();
  private hostsValue: readonly HostEntry[] = [];
  private fatalError: unknown;
  private readonly assignmentLog: AssignmentLog;

  constructor(
    readonly topology: Topology,
    readonly config: StreamsConfig,
    private readonly deps: KafkaStreamsDeps,
  ) {
    this.logger = deps.logger.child({ instance: config.instanceId });
    this.lifecycle = new StreamsLifecycle(this.logger);
    this.assignmentLog = new AssignmentLog(this.logger);
    this.clock = deps.clock ?? Date.now;
    this.metrics = new StreamsMetrics(deps.registry);
  }

  get state(): StreamsState {
    return this.lifecycle.state;
  }

  /** The error that moved the instance to `error`, if any. */
  get error(): unknown {
    return this.fatalError;
  }

  onStateChange(listener: (state: StreamsState, previous: StreamsState) => void): void {
    this.lifecycle.onChange(listener);
  }

  resolveTopic = (logical: string, internal: boolean): string =>
    internal ? internalTopicName(this.config.applicationId, logical) : logical;

  partitionsFor = (topic: string): number => {
    const n = this.counts.get(topic);
    if (n === undefined)
      throw new UscError('USC_ERR_TOPOLOGY_INVALID', `no partition count known for topic ${topic}`);
    return n;
  };

  /**
   * Locks the state directory, checks/creates topics, joins the group. Resolves once the instance is a group
   * member (tasks may still be restoring: see {@link isReady}). Throws on missing source topics, co-partitioning
   * errors, a locked state directory or a broker that cannot be reached.
   */
  async start(): Promise<void> {
    const { config, topology, deps } = this;
    this.stateDirectory = await StateDirectory.lock(config.stateDir, config.applicationId, {
      instanceId: config.instanceId,
      logger: this.logger,
    });
    try {
      // Local state an earlier topology left that no task of this one can use (the state directory cleaner of
      // Kafka Streams removes unassigned tasks' state after a delay; this removes only what can never be used).
      await this.stateDirectory.removeObsolete(
        new Map(topology.subtopologies.map((s) => [s.id, new Set(s.stores)])),
        this.logger,
      );
      this.admin = await openAdmin(deps.kafka);
      await this.prepareTopics(this.admin);
      const placement = new Placement(
        {
          subtopologies: topology.subtopologies.map((s) => ({
            id: s.id,
            sourceTopics: s.sourceTopics.map((t) => this.resolveLogical(t)),
          })),
        },
        this.partitionsFor,
      );
      const memory = new StoreMemory(
        config.storeMemoryBytes ?? DEFAULT_STORE_MEMORY_BYTES,
        storeSlots(topology, (t) => this.partitionsFor(this.resolveLogical(t))),
        config.storeCacheBytes ?? DEFAULT_VALUE_CACHE_BYTES_TOTAL,
      );
      this.metrics.watchStoreMemory(memory);
      this.taskManager = new TaskManager({
        kafka: deps.kafka,
        config,
        placement,
        factory: new TaskFactory({
          config,
          topology,
          resolveTopic: this.resolveTopic,
          partitionsFor: this.partitionsFor,
          clock: this.clock,
          logger: this.logger,
          metrics: this.metrics,
          memory,
        }),
        consumer: () => this.member!.current(),
        producer: () => {
          if (!this.producer)
            throw new UscError('USC_ERR_STREAMS_NOT_RUNNING', 'the producer is being replaced', {
              retriable: true,
            });
          return this.producer;
        },
        renewProducer: async () => {
          // The new producer's initTransactions fences the old one; closing the old one can block for as long as
          // its stuck requests do, so it is not waited for.
          const old = this.producer;
          this.producer = undefined;
          void old?.disconnect();
          this.producer = await this.openProducer();
        },
        clock: this.clock,
        logger: this.logger,
        metrics: this.metrics,
        onFatal: (err) => void this.fail(err),
        onTasksChanged: () => this.updateRunningState(),
      });
      this.groupView = new GroupView({
        kafka: deps.kafka,
        directoryTopic: directoryTopicName(config.applicationId),
        instanceId: config.instanceId,
        url: config.advertisedUrl,
        placement,
        numStandbys: config.numStandbyReplicas,
        logger: this.logger,
        livenessMs: (config.sessionTimeoutMs ?? 10_000) + 4_000,
        onChange: (hosts, mine, changed) => {
          this.hostsValue = hosts;
          if (changed && mine) {
            this.assignmentLog.log(mine.active, mine.standby);
            void this.taskManager?.updateStandbys(new Set(mine.standby));
          }
          this.updateRunningState();
        },
      });
      // The directory is read while the producer initialises (a restart is ready once both are done).
      const directory = this.groupView.start();
      directory.catch(() => {}); // awaited below; a failure before that is handled there
      this.producer = await this.openProducer();
      this.member = new GroupMember({
        kafka: deps.kafka,
        groupId: config.applicationId,
        instanceId: config.instanceId,
        protocol: config.groupProtocol ?? 'classic',
        sessionTimeoutMs: config.sessionTimeoutMs ?? 10_000,
        placement,
        tasks: this.taskManager,
        logger: this.logger,
        clock: this.clock,
        stopping: () => this.lifecycle.stopping,
        onAssigning: () => this.lifecycle.set('rebalancing'),
        onLeadChanged: (lead) => this.groupView?.setLead(lead),
        onReplaced: () => this.metrics.consumerReplacements.inc(),
        onFatal: (err) => void this.fail(err),
      });
      this.lifecycle.set('rebalancing');
      // The member joins while the directory is still being read (a restarted static member gets its tasks back at
      // once); its lead partitions are published as soon as the directory's producer is open.
      await Promise.all([directory, this.member.start()]);
      const interval = Math.max(10, Math.floor(config.commitIntervalMs / 2));
      this.ticker = setInterval(() => void this.taskManager?.tick(), interval);
    } catch (err) {
      await this.close().catch(() => {});
      throw err;
    }
  }

  private openProducer(): Promise<InstanceProducer> {
    const { config, deps } = this;
    return config.processingGuarantee === 'exactly_once'
      ? InstanceProducer.transactional(deps.kafka, `${config.applicationId}-${config.instanceId}`, {
          transactionTimeoutMs: config.transactionTimeoutMs,
          logger: this.logger,
        })
      : InstanceProducer.idempotent(deps.kafka, { logger: this.logger });
  }

  private resolveLogical(logical: string): string {
    return this.resolveTopic(logical, this.topology.internalTopics.has(logical));
  }

  private async prepareTopics(admin: KafkaAdmin): Promise<void> {
    this.counts = await prepareTopics(admin, this.topology, this.config, this.logger);
  }

  private updateRunningState(): void {
    if (this.lifecycle.state !== 'rebalancing' && this.lifecycle.state !== 'running') return;
    this.lifecycle.set(this.member?.joined === true && this.allRunningAndKnown() ? 'running' : 'rebalancing');
  }

  /**
   * Every assigned active task is restored and running, and the owner map is complete and agrees with this
   * instance's own assignment (so every key can be routed).
   */
  private allRunningAndKnown(): boolean {
    const tm = this.taskManager;
    if (!tm?.allRunning() || !this.groupView?.complete) return false;
    const mine = this.hostsValue.find((h) => h.instanceId === this.config.instanceId);
    const assigned = tm.assignedTaskIds().sort().join(',');
    return (mine?.active ?? []).slice().sort().join(',') === assigned;
  }

  /** Running, with every assigned active task restored and processing, and every key routable. */
  isReady(): boolean {
    return this.lifecycle.state === 'running' && this.allRunningAndKnown();
  }

  /** The latest owner map of the group. */
  hosts(): readonly HostEntry[] {
    return this.hostsValue;
  }

  /** Which task and instance hold `keyBytes` in the store `storeName` (partitioned like its subtopology). */
  metadataForKey(storeName: string, keyBytes: Buffer): KeyQueryMetadata | undefined {
    return keyQueryMetadata(
      this.topology,
      (t) => this.counts.get(this.resolveLogical(t)),
      this.hostsValue,
      storeName,
      keyBytes,
    );
  }

  /** This instance's copy of a task's store: the running active task's, or (if allowed) a standby's. */
  localStore(storeName: string, taskId: string, allowStandby: boolean): LocalStoreResult {
    return findLocalStore(this.topology, this.taskManager, storeName, taskId, allowStandby);
  }

  /**
   * Active and standby tasks of this instance, with state and lag; standbys also with the next changelog offset
   * they will apply, per changelog partition (`topic:partition`).
   */
  localTasks(): ReturnType<typeof describeLocalTasks> {
    return describeLocalTasks(this.taskManager);
  }

  /** Source positions and fetched high watermarks of every active task (diagnostics). */
  debugPositions(): Record<string, ReturnType<StreamTask['sourcePositions']>> {
    return Object.fromEntries(
      (this.taskManager?.activeTasks() ?? []).map((t) => [t.idString, t.sourcePositions()]),
    );
  }

  /** Task ids are `<subtopology>_<partition>`; exposed for callers that route by task. */
  static parseTaskId = parseTaskId;

  private async fail(err: unknown): Promise<void> {
    if (this.lifecycle.state === 'error' || this.lifecycle.state === 'not_running') return;
    this.fatalError = err;
    this.logger.error(
      { err: describeError(err) },
      'fatal error; stopping this instance (committed state is safe)',
    );
    this.lifecycle.set('error');
    await this.shutdown(false);
  }

  /** Graceful shutdown: commit all tasks, leave the group, release the state directory. */
  async close(): Promise<void> {
    if (this.lifecycle.state === 'not_running' || this.lifecycle.state === 'pending_shutdown') return;
    const wasError = this.lifecycle.state === 'error';
    this.lifecycle.set('pending_shutdown');
    await this.shutdown(!wasError);
    this.lifecycle.closed();
  }

  private async shutdown(clean: boolean): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    await this.groupView?.stop().catch(() => {});
    // Tasks close first (a clean shutdown commits them in one transaction); then the member closes. A static
    // member does not leave the group: restarted within the session timeout, it gets its partitions back with no
    // rebalance.
    await this.taskManager
      ?.shutdown(clean)
      .catch((err) => this.logger.warn({ err: describeError(err) }, 'task shutdown failed'));
    await this.member?.stop();
    await this.producer?.disconnect();
    await this.admin?.disconnect().catch(() => {});
    this.admin = undefined;
    await this.stateDirectory?.release();
    this.stateDirectory = undefined;
  }
}
