/**
 * The group assignor of the streams runtime (plugged into kafkajs through kafka/group-consumer.ts): turns topic
 * partitions into tasks, places active and standby tasks with {@link assignTasks}, assigns each member the
 * partitions of its active tasks (the same partition of every co-partitioned source), and gives every member the
 * full owner map in its assignment userData.
 */
import type { GroupAssignor } from '../../../kafka/group-consumer.js';
import type { Logger } from '../../processor.js';
import {
  ASSIGNOR_VERSION,
  decodeSubscription,
  encodeOwnerMap,
  encodeSubscription,
  type HostEntry,
  type SubscriptionInfo,
} from './assignor-codec.js';
import { assignTasks } from './assign-tasks.js';

export interface AssignorTopology {
  /** Source topics by Kafka name. */
  readonly subtopologies: readonly { readonly id: number; readonly sourceTopics: readonly string[] }[];
}

export interface StreamsAssignorOptions {
  readonly topology: AssignorTopology;
  readonly numStandbyReplicas: number;
  /** This member's subscription info, read at every join. */
  readonly selfInfo: () => SubscriptionInfo;
  readonly logger: Logger;
}

export const STREAMS_ASSIGNOR_NAME = 'UscStreamsSticky';

/** Task ids of a topology given the partition counts of its source topics. */
export function tasksFor(
  topology: AssignorTopology,
  partitionsByTopic: ReadonlyMap<string, number>,
): string[] {
  const tasks: string[] = [];
  for (const sub of topology.subtopologies) {
    const n = Math.max(0, ...sub.sourceTopics.map((t) => partitionsByTopic.get(t) ?? 0));
    for (let p = 0; p < n; p++) tasks.push(`${sub.id}_${p}`);
  }
  return tasks;
}

export function createStreamsAssignor(opts: StreamsAssignorOptions): GroupAssignor {
  const { topology, logger } = opts;
  return {
    name: STREAMS_ASSIGNOR_NAME,
    version: ASSIGNOR_VERSION,
    subscriptionUserData: () => encodeSubscription(opts.selfInfo()),
    assign(members, partitionsByTopic) {
      const decoded = members.map((m) => {
        const info = decodeSubscription(m.userData);
        if (!info)
          logger.warn(
            { memberId: m.memberId },
            'member sent unreadable subscription data; treating it as new',
          );
        return { memberId: m.memberId, info };
      });
      for (const sub of topology.subtopologies) {
        const counts = new Set(sub.sourceTopics.map((t) => partitionsByTopic.get(t) ?? 0));
        if (counts.size > 1) {
          logger.warn(
            { subtopology: sub.id, topics: sub.sourceTopics },
            'co-partitioned topics differ in partition count; assigning by the largest',
          );
        }
      }
      const tasks = tasksFor(topology, partitionsByTopic);
      const placed = assignTasks({ members: decoded, tasks, numStandbyReplicas: opts.numStandbyReplicas });
      const hosts: HostEntry[] = decoded.map((d) => ({
        memberId: d.memberId,
        instanceId: d.info?.instanceId ?? d.memberId,
        url: d.info?.url ?? '',
        active: placed.active.get(d.memberId) ?? [],
        standby: placed.standby.get(d.memberId) ?? [],
      }));
      const userData = encodeOwnerMap(hosts);
      const result = new Map<string, { assignment: Record<string, number[]>; userData: Buffer }>();
      for (const host of hosts) {
        const assignment: Record<string, number[]> = {};
        for (const task of host.active) {
          const [sub, partition] = task.split('_').map(Number) as [number, number];
          for (const topic of topology.subtopologies.find((s) => s.id === sub)?.sourceTopics ?? []) {
            if (partition < (partitionsByTopic.get(topic) ?? 0)) (assignment[topic] ??= []).push(partition);
          }
        }
        result.set(host.memberId, { assignment, userData });
      }
      logger.debug(
        {
          members: hosts.map((h) => ({
            instance: h.instanceId,
            active: h.active.length,
            standby: h.standby.length,
          })),
        },
        'assigned tasks',
      );
      return result;
    },
  };
}
