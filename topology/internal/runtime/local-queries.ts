/**
 * The lookups behind a KafkaStreams instance's query methods: which task and hosts hold a key (from the owner
 * map), this instance's copy of a task's store, and a report of its active and standby tasks.
 */
import { partitionForKey } from '../../../kafka/index.js';
import type { KeyQueryMetadata, LocalStoreResult } from '../../interactive-queries.js';
import { taskIdToString } from '../../task-id.js';
import type { Topology } from '../../topology.js';
import type { HostEntry } from './placement.js';
import type { TaskManager } from './task-manager.js';

/**
 * Which task and instances hold `keyBytes` in the store `storeName` (partitioned like its subtopology);
 * undefined for an unknown store or a source topic whose partition count `partitionsOf` does not know.
 */
export function keyQueryMetadata(
  topology: Topology,
  partitionsOf: (logicalTopic: string) => number | undefined,
  hosts: readonly HostEntry[],
  storeName: string,
  keyBytes: Buffer,
): KeyQueryMetadata | undefined {
  const sub = topology.subtopologies.find((s) => s.stores.includes(storeName));
  if (!sub || sub.sourceTopics.length === 0) return undefined;
  const partitions = partitionsOf(sub.sourceTopics[0]!);
  if (partitions === undefined) return undefined;
  const partition = partitionForKey(keyBytes, partitions);
  const taskId = taskIdToString({ subtopology: sub.id, partition });
  return {
    partition,
    taskId,
    active: hosts.find((h) => h.active.includes(taskId)),
    standbys: hosts.filter((h) => h.standby.includes(taskId)),
  };
}

/** This instance's copy of a task's store: the running active task's, or (if allowed) a standby's. */
export function findLocalStore(
  topology: Topology,
  tm: TaskManager | undefined,
  storeName: string,
  taskId: string,
  allowStandby: boolean,
): LocalStoreResult {
  if (!topology.stores.has(storeName)) return { ok: false, reason: 'unknown-store' };
  const task = tm?.activeTasks().find((t) => t.idString === taskId);
  if (task) {
    const store = task.stores.get(storeName);
    if (!store) return { ok: false, reason: 'unknown-store' };
    if (task.state === 'running') return { ok: true, kind: 'active', store: store.committed, lag: 0 };
    if (!allowStandby) return { ok: false, reason: 'restoring' };
  }
  const standby = allowStandby ? tm?.standbys.get(taskId) : undefined;
  const store = standby?.stores.get(storeName);
  if (store) return { ok: true, kind: 'standby', store: store.committed, lag: tm!.standbys.lag(taskId) };
  return { ok: false, reason: task ? 'restoring' : 'not-local' };
}

/**
 * Active and standby tasks of this instance, with state and lag (a busy active task also with its job and for
 * how long); standbys also with the next changelog offset they will apply, per changelog partition.
 */
export function describeLocalTasks(tm: TaskManager | undefined): {
  active: { id: string; state: string; lag: number; busy?: { job: string; forMs: number } }[];
  standby: { id: string; lag: number; positions: Record<string, string> }[];
} {
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
