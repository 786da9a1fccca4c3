/**
 * Task placement without a client-side assignor (librdkafka has none): the group balances the partitions of one
 * *lead* topic, the source topic with the most partitions; lead partition p carries the "partition group" of
 * tasks `<s>_p` of every subtopology s that has a partition p, and the member that owns it assigns itself every
 * source partition of those tasks (co-partitioned partitions always move together). Standby tasks are placed by
 * a deterministic function of the group's members and their active tasks that every instance computes alike. See
 * docs/adr/0005-placement-without-client-assignor.md.
 */
import { parseTaskId, taskIdToString, type TaskId } from '../../task-id.js';

export interface PlacementTopology {
  /** Source topics (resolved names) per subtopology. */
  readonly subtopologies: readonly { readonly id: number; readonly sourceTopics: readonly string[] }[];
}

/** An instance in the owner map: its active and standby task ids and its API URL. */
export interface HostEntry {
  readonly memberId: string;
  readonly instanceId: string;
  readonly url: string;
  readonly active: readonly string[];
  readonly standby: readonly string[];
}

export interface GroupMember {
  readonly memberId: string;
  /** group.instance.id (static membership); the member id otherwise. */
  readonly instanceId: string;
  readonly assignment: Readonly<Record<string, readonly number[]>>;
}

export class Placement {
  readonly leadTopic: string;
  /** Partitions of the lead topic (every task has one of them). */
  readonly leadPartitions: number;
  private readonly counts = new Map<number, number>();
  private readonly sources = new Map<number, readonly string[]>();

  constructor(topology: PlacementTopology, partitionsFor: (topic: string) => number) {
    let lead: { topic: string; n: number } | undefined;
    for (const sub of topology.subtopologies) {
      if (sub.sourceTopics.length === 0) continue;
      const n = Math.max(...sub.sourceTopics.map(partitionsFor));
      this.counts.set(sub.id, n);
      this.sources.set(sub.id, sub.sourceTopics);
      for (const topic of [...sub.sourceTopics].sort()) {
        if (!lead || n > lead.n) lead = { topic, n };
      }
    }
    if (!lead) throw new Error('a topology without source topics cannot be placed');
    this.leadTopic = lead.topic;
    this.leadPartitions = lead.n;
  }

  /** Tasks carried by lead partition `p`. */
  tasksOf(p: number): TaskId[] {
    const out: TaskId[] = [];
    for (const [subtopology, n] of this.counts) if (p < n) out.push({ subtopology, partition: p });
    return out;
  }

  /** Source partitions of a task. */
  partitionsOf(id: TaskId): { topic: string; partition: number }[] {
    return (this.sources.get(id.subtopology) ?? []).map((topic) => ({ topic, partition: id.partition }));
  }

  /** Every source partition of the tasks carried by the given lead partitions. */
  partitionsOfLead(leadPartitions: Iterable<number>): { topic: string; partition: number }[] {
    const out: { topic: string; partition: number }[] = [];
    for (const p of leadPartitions) for (const id of this.tasksOf(p)) out.push(...this.partitionsOf(id));
    return out;
  }

  /**
   * The owner map: every member's active tasks (from its lead partitions) and standby tasks. Standbys of lead
   * partition p go to `numStandbys` members other than its owner, chosen from the members sorted by instance id,
   * starting at an offset that rotates with p (so standbys spread evenly). Same members -> same map everywhere.
   */
  ownerMap(
    members: readonly GroupMember[],
    urls: ReadonlyMap<string, string>,
    numStandbys: number,
  ): HostEntry[] {
    const sorted = [...members].sort((a, b) =>
      a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : a.memberId < b.memberId ? -1 : 1,
    );
    const active = new Map<string, string[]>(sorted.map((m) => [m.memberId, []]));
    const standby = new Map<string, string[]>(sorted.map((m) => [m.memberId, []]));
    for (const member of sorted) {
      for (const p of member.assignment[this.leadTopic] ?? []) {
        const tasks = this.tasksOf(p).map(taskIdToString);
        active.get(member.memberId)!.push(...tasks);
        const others = sorted.filter((m) => m.memberId !== member.memberId);
        const k = Math.min(numStandbys, others.length);
        for (let i = 0; i < k; i++) {
          standby.get(others[(p + i) % others.length]!.memberId)!.push(...tasks);
        }
      }
    }
    const byTask = (a: string, b: string) => {
      const x = parseTaskId(a);
      const y = parseTaskId(b);
      return x.subtopology - y.subtopology || x.partition - y.partition;
    };
    return sorted.map((m) => ({
      memberId: m.memberId,
      instanceId: m.instanceId,
      url: urls.get(m.instanceId) ?? '',
      active: active.get(m.memberId)!.sort(byTask),
      standby: standby.get(m.memberId)!.sort(byTask),
    }));
  }
}
