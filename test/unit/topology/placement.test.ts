/**
 * Placement without a client-side assignor: lead partition -> partition group of tasks, and the owner map every
 * instance computes alike from the group's members.
 */
import { describe, expect, it } from 'vitest';
import { Placement } from '../../../topology/internal/runtime/placement.js';

const counts: Record<string, number> = {
  input: 6,
  'app-by-ucm-repartition': 6,
  'app-by-urp-repartition': 12,
};
const topology = {
  subtopologies: [
    { id: 0, sourceTopics: ['input'] },
    { id: 1, sourceTopics: ['app-by-ucm-repartition'] },
    { id: 2, sourceTopics: ['app-by-urp-repartition'] },
  ],
};

describe('Placement', () => {
  const placement = new Placement(topology, (t) => counts[t]!);

  it('leads with the source topic that has the most partitions, so every task has a lead partition', () => {
    expect(placement.leadTopic).toBe('app-by-urp-repartition');
    expect(placement.tasksOf(3)).toEqual([
      { subtopology: 0, partition: 3 },
      { subtopology: 1, partition: 3 },
      { subtopology: 2, partition: 3 },
    ]);
    expect(placement.tasksOf(9)).toEqual([{ subtopology: 2, partition: 9 }]);
    const all = new Set<string>();
    for (let p = 0; p < 12; p++)
      for (const t of placement.tasksOf(p)) all.add(`${t.subtopology}_${t.partition}`);
    expect(all.size).toBe(6 + 6 + 12);
  });

  it('moves co-partitioned source partitions together with their lead partition', () => {
    expect(placement.partitionsOfLead([2, 7])).toEqual([
      { topic: 'input', partition: 2 },
      { topic: 'app-by-ucm-repartition', partition: 2 },
      { topic: 'app-by-urp-repartition', partition: 2 },
      { topic: 'app-by-urp-repartition', partition: 7 },
    ]);
  });

  it('computes the same owner map from the same members in any order, standbys never with their active', () => {
    const lead = placement.leadTopic;
    const members = [
      { memberId: 'm-b', instanceId: 'b', assignment: { [lead]: [1, 4, 7, 10] } },
      { memberId: 'm-a', instanceId: 'a', assignment: { [lead]: [0, 3, 6, 9] } },
      { memberId: 'm-c', instanceId: 'c', assignment: { [lead]: [2, 5, 8, 11] } },
    ];
    const urls = new Map([
      ['a', 'http://a'],
      ['b', 'http://b'],
      ['c', 'http://c'],
    ]);
    const one = placement.ownerMap(members, urls, 1);
    const two = placement.ownerMap([...members].reverse(), urls, 1);
    expect(two).toEqual(one);
    expect(one.map((h) => h.instanceId)).toEqual(['a', 'b', 'c']);
    expect(one[0]!.url).toBe('http://a');
    expect(one[0]!.active).toContain('0_3');
    expect(one[0]!.active).toContain('2_9');
    for (const host of one) for (const t of host.standby) expect(host.active).not.toContain(t);
    // every task has exactly one standby with one replica and three members; standbys spread over members
    const standbyCount = new Map<string, number>();
    for (const host of one) for (const t of host.standby) standbyCount.set(t, (standbyCount.get(t) ?? 0) + 1);
    expect(standbyCount.size).toBe(24);
    expect([...standbyCount.values()].every((n) => n === 1)).toBe(true);
    const perHost = one.map((h) => h.standby.length);
    expect(Math.max(...perHost) - Math.min(...perHost)).toBeLessThanOrEqual(4);
  });

  it('places no standby when there is no other member', () => {
    const map = placement.ownerMap(
      [{ memberId: 'm', instanceId: 'solo', assignment: { [placement.leadTopic]: [0, 1] } }],
      new Map(),
      2,
    );
    expect(map[0]!.standby).toEqual([]);
    expect(map[0]!.url).toBe('');
  });
});
