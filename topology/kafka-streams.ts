/**
 * One streams instance: a consumer-group member running the active and standby tasks assigned to it (Kafka
 * Streams' `KafkaStreams`). Lifecycle: created -> rebalancing <-> running -> pending_shutdown -> not_running, or
 * error after a fatal failure. Every instance learns the group's owner map (which instance runs, or stands by for,
 * each task) from the assignment, so interactive queries can be routed.
 */
import type { Registry } from 'prom-client';
import { UscError, describeError } from '../common/errors.js';
import {
  GroupConsumer,
  TaskProducer,
  describeGroup,
  ensureTopics,
  openAdmin,
  partitionCounts,
  partitionForKey,
  type KafkaAdmin,
  type KafkaClient,
} from '../kafka/index.js';
import type { ReadOnlyKeyValueStore } from '../stores/contracts.js';
import { StateDirectory } from '../stores/state-directory.js';
import { createStreamsAssignor, decodeOwnerMap, type HostEntry } from './internal/assignor/index.js';
import { resolvePartitionCounts } from './partitions.js';
import { StreamsMetrics } from './internal/runtime/streams-metrics.js';
import { describeTaskIds, TaskManager } from './internal/runtime/task-manager.js';
import type { StreamTask } from './internal/runtime/stream-task.js';
import type { Logger } from './processor.js';
import type { StreamsConfig } from './streams-config.js';
import { parseTaskId, taskIdToString } from './task-id.js';
import { changelogTopicName, internalTopicName, type Topology } from './topology.js';

export type StreamsState =
  'created' | 'rebalancing' | 'running' | 'pending_shutdown' | 'not_running' | 'error';

/** Where a key lives: its partition, task, active host and standby hosts (from the latest owner map). */
export type { HostEntry };

export interface KeyQueryMetadata {
  readonly partition: number;
  readonly taskId: string;
  readonly active: HostEntry | undefined;
  readonly standbys: readonly HostEntry[];
}

/** A local store answer for interactive queries. */
export type LocalStoreResult =
  | {
      readonly ok: true;
      readonly kind: 'active' | 'standby';
      readonly store: ReadOnlyKeyValueStore<unknown, unknown>;
      readonly lag: number;
    }
  | { readonly ok: false; readonly reason: 'not-local' | 'restoring' | 'unknown-store' };

export interface KafkaStreamsDeps {
  readonly kafka: KafkaClient;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly clock?: () => number;
}

export class KafkaStreams {
  private stateValue: StreamsState = 'created';
  private readonly listeners: ((state: StreamsState, previous: StreamsState) => void)[] = [];
  private readonly logger: Logger;
  private readonly clock: () => number;
  readonly metrics: StreamsMetrics;
  private consumer: GroupConsumer | undefined;
  private admin: KafkaAdmin | undefined;
  private sharedProducer: TaskProducer | undefined;
  private taskManager: TaskManager | undefined;
  private stateDirectory: StateDirectory | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private counts = new Map<string, number>();
  private hostsValue: readonly HostEntry[] = [];
  private fatalError: unknown;
  private viewGeneration = 0;
  /** The last assignment line logged (see logAssignment). */
  private lastAssignmentLine = '';

  constructor(
    readonly topology: Topology,
    readonly config: StreamsConfig,
    private readonly deps: KafkaStreamsDeps,
  ) {
    this.logger = deps.logger.child({ instance: config.instanceId });
    this.clock = deps.clock ?? Date.now;
    this.metrics = new StreamsMetrics(deps.registry);
  }

  get state(): StreamsState {
    return this.stateValue;
  }

  /** The error that moved the instance to `error`, if any. */
  get error(): unknown {
    return this.fatalError;
  }

  onStateChange(listener: (state: StreamsState, previous: StreamsState) => void): void {
    this.listeners.push(listener);
  }

  private setState(next: StreamsState): void {
    const previous = this.stateValue;
    if (
      previous === next ||
      previous === 'not_running' ||
      (previous === 'error' && next !== 'not_running') ||
      (previous === 'pending_shutdown' && next !== 'not_running' && next !== 'error')
    )
      return;
    this.stateValue = next;
    this.logger.info({ state: next, previous }, 'streams state changed');
    for (const l of this.listeners) l(next, previous);
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
      this.admin = await openAdmin(deps.kafka);
      await this.prepareTopics(this.admin);
      if (config.processingGuarantee === 'at_least_once')
        this.sharedProducer = await TaskProducer.idempotent(deps.kafka);
      this.taskManager = new TaskManager({
        kafka: deps.kafka,
        config,
        topology,
        resolveTopic: this.resolveTopic,
        partitionsFor: this.partitionsFor,
        consumer: () => this.consumer!,
        sharedProducer: this.sharedProducer,
        clock: this.clock,
        logger: this.logger,
        metrics: this.metrics,
        onFatal: (err) => void this.fail(err),
        onTasksChanged: () => this.updateRunningState(),
      });
      const sources = [
        ...new Set(topology.subtopologies.flatMap((s) => s.sourceTopics.map((t) => this.resolveLogical(t)))),
      ];
      const assignor = createStreamsAssignor({
        topology: {
          subtopologies: topology.subtopologies.map((s) => ({
            id: s.id,
            sourceTopics: s.sourceTopics.map((t) => this.resolveLogical(t)),
          })),
        },
        numStandbyReplicas: config.numStandbyReplicas,
        selfInfo: () => this.subscriptionInfo(),
        logger: this.logger,
      });
      this.consumer = new GroupConsumer(
        deps.kafka,
        {
          groupId: config.applicationId,
          topics: sources,
          readCommitted: true,
          assignor,
          fromBeginning: true,
          sessionTimeoutMs: config.sessionTimeoutMs ?? 10_000,
          heartbeatIntervalMs: 1_000,
        },
        {
          onBatch: (batch, controls) => this.taskManager!.onBatch(batch, controls),
          onSkipped: (topic, partition, next) => this.taskManager!.onSkipped(topic, partition, next),
          onAssigned: (assignment) => {
            // An assignment that arrives while the instance is stopping is not acted on (no task is created
            // during a shutdown); leaving the group hands it to the others.
            if (this.stopping()) return;
            this.metrics.rebalances.inc();
            this.setState('rebalancing');
            this.taskManager!.onAssigned(assignment);
            void this.refreshGroupView();
          },
          onCrash: (error, restarting) => {
            if (restarting)
              this.logger.warn({ err: describeError(error) }, 'consumer crashed; kafkajs restarts it');
            else void this.fail(error);
          },
          onRebalancing: () => {
            if (!this.stopping()) this.setState('rebalancing');
          },
        },
        this.logger.child({ component: 'consumer' }),
      );
      this.setState('rebalancing');
      await this.consumer.start();
      const interval = Math.max(10, Math.floor(config.commitIntervalMs / 2));
      this.ticker = setInterval(() => void this.taskManager?.tick(), interval);
    } catch (err) {
      await this.close().catch(() => {});
      throw err;
    }
  }

  private stopping(): boolean {
    return (
      this.stateValue === 'pending_shutdown' ||
      this.stateValue === 'not_running' ||
      this.stateValue === 'error'
    );
  }

  private resolveLogical(logical: string): string {
    return this.resolveTopic(logical, this.topology.internalTopics.has(logical));
  }

  private async prepareTopics(admin: KafkaAdmin): Promise<void> {
    const { topology, config } = this;
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
    this.counts = resolvePartitionCounts(topology, config.applicationId, (t) => existing.get(t));
    for (const [t, n] of existing) this.counts.set(t, n);
    const specs = [];
    for (const [name, internal] of topology.internalTopics) {
      const topic = internalTopicName(config.applicationId, name);
      specs.push({
        topic,
        partitions: this.partitionsFor(topic),
        replicationFactor: config.replicationFactor,
        config: { ...internal.config },
      });
    }
    for (const [name, def] of topology.stores) {
      if (!def.logging) continue;
      const topic = changelogTopicName(config.applicationId, name);
      specs.push({
        topic,
        partitions: this.partitionsFor(topic),
        replicationFactor: config.replicationFactor,
        config: { ...(def.changelogConfig ?? {}), 'cleanup.policy': 'compact' },
      });
    }
    const created = await ensureTopics(admin, specs);
    if (created.length > 0) this.logger.info({ topics: created }, 'created internal topics');
  }

  private subscriptionInfo() {
    const tm = this.taskManager;
    const taskOffsets: Record<string, string> = {};
    for (const [id, sum] of this.stateDirectory?.checkpointSums() ?? new Map<string, string>())
      taskOffsets[id] = sum;
    return {
      version: 1 as const,
      instanceId: this.config.instanceId,
      url: this.config.advertisedUrl,
      previousActive: tm ? tm.activeTasks().map((t) => t.idString) : [],
      previousStandby: tm ? tm.standbys.ids : [],
      taskOffsets,
    };
  }

  /** Reads the group's assignment userData: owner map + this member's standby tasks. */
  private async refreshGroupView(): Promise<void> {
    const generation = ++this.viewGeneration;
    for (let attempt = 0; attempt < 50 && generation === this.viewGeneration; attempt++) {
      try {
        const view = await describeGroup(this.admin!, this.config.applicationId);
        const me = view.members.find((m) => m.memberId === this.consumer?.memberId);
        if (view.state === 'Stable' && me && me.assignmentUserData.length > 0) {
          const hosts = decodeOwnerMap(view.members);
          if (generation !== this.viewGeneration) return;
          this.hostsValue = hosts;
          const mine = hosts.find((h) => h.memberId === me.memberId);
          this.logAssignment(mine?.active ?? [], mine?.standby ?? []);
          await this.taskManager!.updateStandbys(new Set(mine?.standby ?? []));
          this.updateRunningState();
          return;
        }
      } catch (err) {
        this.logger.debug({ err: describeError(err) }, 'describe group failed; retrying');
      }
      await new Promise((r) => setTimeout(r, 100 + attempt * 50));
    }
  }

  /**
   * One line per rebalance with this instance's tasks; at info only when they changed (a first start goes through
   * several rebalances with the same outcome), else debug.
   */
  private logAssignment(active: readonly string[], standby: readonly string[]): void {
    const line = `assigned ${active.length} active tasks: ${describeTaskIds(active)}, ${standby.length} standbys`;
    const changed = line !== this.lastAssignmentLine;
    this.lastAssignmentLine = line;
    (changed ? this.logger.info : this.logger.debug).call(
      this.logger,
      { active: active.length, standby: standby.length, standbyTasks: describeTaskIds(standby) },
      line,
    );
  }

  private updateRunningState(): void {
    if (this.stateValue !== 'rebalancing' && this.stateValue !== 'running') return;
    this.setState(this.taskManager?.allRunning() ? 'running' : 'rebalancing');
  }

  /** Running, with every assigned active task restored and processing. */
  isReady(): boolean {
    return this.stateValue === 'running' && (this.taskManager?.allRunning() ?? false);
  }

  /** The latest owner map of the group. */
  hosts(): readonly HostEntry[] {
    return this.hostsValue;
  }

  /** Which task and instance hold `keyBytes` in the store `storeName` (partitioned like its subtopology). */
  metadataForKey(storeName: string, keyBytes: Buffer): KeyQueryMetadata | undefined {
    const sub = this.topology.subtopologies.find((s) => s.stores.includes(storeName));
    if (!sub || sub.sourceTopics.length === 0) return undefined;
    const partitions = this.counts.get(this.resolveLogical(sub.sourceTopics[0]!));
    if (partitions === undefined) return undefined;
    const partition = partitionForKey(keyBytes, partitions);
    const taskId = taskIdToString({ subtopology: sub.id, partition });
    return {
      partition,
      taskId,
      active: this.hostsValue.find((h) => h.active.includes(taskId)),
      standbys: this.hostsValue.filter((h) => h.standby.includes(taskId)),
    };
  }

  /** This instance's copy of a task's store: the running active task's, or (if allowed) a standby's. */
  localStore(storeName: string, taskId: string, allowStandby: boolean): LocalStoreResult {
    if (!this.topology.stores.has(storeName)) return { ok: false, reason: 'unknown-store' };
    const tm = this.taskManager;
    const task = tm?.activeTasks().find((t) => t.idString === taskId);
    if (task) {
      const store = task.stores.get(storeName);
      if (!store) return { ok: false, reason: 'unknown-store' };
      if (task.state === 'running') return { ok: true, kind: 'active', store: store.store, lag: 0 };
      if (!allowStandby) return { ok: false, reason: 'restoring' };
    }
    const standby = allowStandby ? tm?.standbys.get(taskId) : undefined;
    const store = standby?.stores.get(storeName);
    if (store) return { ok: true, kind: 'standby', store: store.store, lag: tm!.standbys.lag(taskId) };
    return { ok: false, reason: task ? 'restoring' : 'not-local' };
  }

  /**
   * Active and standby tasks of this instance, with state and lag; standbys also with the next changelog offset
   * they will apply, per changelog partition (`topic:partition`).
   */
  localTasks(): {
    active: { id: string; state: string; lag: number; busy?: { job: string; forMs: number } }[];
    standby: { id: string; lag: number; positions: Record<string, string> }[];
  } {
    const tm = this.taskManager;
    return {
      active: (tm?.activeTasks() ?? []).map((t) => {
        const busy = t.busy();
        return {
          id: t.idString,
          state: t.state,
          lag: t.lag(),
          ...(busy ? { busy: { job: busy.label, forMs: Date.now() - busy.sinceMs } } : {}),
        };
      }),
      standby: (tm?.standbys.ids ?? []).map((id) => ({
        id,
        lag: tm!.standbys.lag(id),
        positions: tm!.standbys.positions(id),
      })),
    };
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
    if (this.stateValue === 'error' || this.stateValue === 'not_running') return;
    this.fatalError = err;
    this.logger.error(
      { err: describeError(err) },
      'fatal error; stopping this instance (committed state is safe)',
    );
    this.setState('error');
    await this.shutdown(false);
  }

  /** Graceful shutdown: commit all tasks, leave the group, release the state directory. */
  async close(): Promise<void> {
    if (this.stateValue === 'not_running' || this.stateValue === 'pending_shutdown') return;
    const wasError = this.stateValue === 'error';
    this.setState('pending_shutdown');
    await this.shutdown(!wasError);
    this.stateValue = 'created';
    this.setState('not_running');
  }

  private async shutdown(clean: boolean): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    this.viewGeneration++;
    const consumer = this.consumer;
    if (clean)
      await this.taskManager
        ?.shutdown(true)
        .catch((err) => this.logger.warn({ err: describeError(err) }, 'task shutdown failed'));
    await consumer?.stop();
    // After a fatal error, tasks close dirty: nothing uncommitted (such as half of the record that failed) is
    // committed on the way out.
    if (!clean) await this.taskManager?.shutdown(false).catch(() => {});
    await this.sharedProducer?.disconnect();
    await this.admin?.disconnect().catch(() => {});
    this.admin = undefined;
    await this.stateDirectory?.release();
    this.stateDirectory = undefined;
  }
}
