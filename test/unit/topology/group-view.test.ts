/**
 * The owner map from the directory topic's entries: live members only, a doubly claimed partition goes to the
 * claim made last, completeness means every lead partition has a live owner.
 */
import { describe, expect, it } from 'vitest';
import { ownerMapFromDirectory, type DirectoryEntry } from '../../../topology/internal/runtime/group-view.js';
import { Placement } from '../../../topology/internal/runtime/placement.js';

const placement = new Placement(
  {
    subtopologies: [
      { id: 0, sourceTopics: ['in'] },
      { id: 1, sourceTopics: ['rep'] },
    ],
  },
  () => 4,
);
const entry = (instanceId: string, lead: number[], assignedAt: number, at: number): DirectoryEntry => ({
  instanceId,
  url: `http://${instanceId}`,
  lead,
  assignedAt,
  at,
});

describe('ownerMapFromDirectory', () => {
  it('maps each live member to the tasks of its lead partitions, with standbys elsewhere', () => {
    const { hosts, complete } = ownerMapFromDirectory(
      [entry('a', [0, 1], 10, 1_000), entry('b', [2, 3], 10, 1_000)],
      placement,
      1,
      1_500,
      5_000,
    );
    expect(complete).toBe(true);
    expect(hosts.map((h) => [h.instanceId, h.url, h.active])).toEqual([
      ['a', 'http://a', ['0_0', '0_1', '1_0', '1_1']],
      ['b', 'http://b', ['0_2', '0_3', '1_2', '1_3']],
    ]);
    expect(hosts[0]!.standby).toEqual(['0_2', '0_3', '1_2', '1_3']);
  });

  it('gives a partition claimed twice to the claim made last, and drops members without a recent heartbeat', () => {
    const moved = ownerMapFromDirectory(
      [entry('a', [0, 1, 2], 10, 1_000), entry('b', [2, 3], 20, 1_000)],
      placement,
      0,
      1_500,
      5_000,
    );
    expect(moved.hosts.find((h) => h.instanceId === 'a')!.active).toEqual(['0_0', '0_1', '1_0', '1_1']);
    expect(moved.hosts.find((h) => h.instanceId === 'b')!.active).toEqual(['0_2', '0_3', '1_2', '1_3']);
    const dead = ownerMapFromDirectory(
      [entry('a', [0, 1], 10, 1_000), entry('b', [2, 3], 10, 9_000)],
      placement,
      1,
      9_500,
      5_000,
    );
    expect(dead.hosts.map((h) => h.instanceId)).toEqual(['b']);
    expect(dead.complete).toBe(false);
    expect(dead.hosts[0]!.standby).toEqual([]);
  });
});
