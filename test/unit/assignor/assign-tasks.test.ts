/** Task placement: balance, stickiness, warm state, standbys, co-partitioning, determinism, codecs. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../common/logger.js';
import {
  assignTasks,
  createStreamsAssignor,
  decodeOwnerMap,
  decodeSubscription,
  encodeSubscription,
  type SubscriptionInfo,
} from '../../../topology/internal/assignor/index.js';

const info = (instanceId: string, extra: Partial<SubscriptionInfo> = {}): SubscriptionInfo => ({
  version: 1,
  instanceId,
  url: `http://${instanceId}`,
  previousActive: [],
  previousStandby: [],
  taskOffsets: {},
  ...extra,
});
const tasks = (subs: number, partitions: number) =>
  Array.from({ length: subs }, (_, s) => Array.from({ length: partitions }, (_, p) => `${s}_${p}`)).flat();
const counts = (m: ReadonlyMap<string, readonly string[]>) => [...m.values()].map((l) => l.length);

describe('assignTasks', () => {
  it('balances active tasks within one and spreads each subtopology', () => {
    const out = assignTasks({
      members: ['a', 'b', 'c'].map((i) => ({ memberId: `m-${i}`, info: info(i) })),
      tasks: tasks(3, 4),
      numStandbyReplicas: 0,
    });
    expect(counts(out.active)).toEqual([4, 4, 4]);
    for (const list of out.active.values()) {
      const perSub = ['0', '1', '2'].map((s) => list.filter((t) => t.startsWith(`${s}_`)).length);
      expect(Math.max(...perSub) - Math.min(...perSub)).toBeLessThanOrEqual(1);
    }
  });

  it('keeps tasks where they ran; a new member takes only what balance requires', () => {
    const before = assignTasks({
      members: ['a', 'b'].map((i) => ({ memberId: `m-${i}`, info: info(i) })),
      tasks: tasks(1, 6),
      numStandbyReplicas: 0,
    });
    const prev = (id: string) => [...(before.active.get(`m-${id}`) ?? [])];
    const after = assignTasks({
      members: [
        { memberId: 'new-a', info: info('a', { previousActive: prev('a') }) },
        { memberId: 'new-b', info: info('b', { previousActive: prev('b') }) },
        { memberId: 'm-c', info: info('c') },
      ],
      tasks: tasks(1, 6),
      numStandbyReplicas: 0,
    });
    expect(counts(after.active)).toEqual([2, 2, 2]);
    const moved = [...after.active.entries()].flatMap(([m, l]) =>
      l.filter((t) => !(m === 'new-a' ? prev('a') : m === 'new-b' ? prev('b') : []).includes(t)),
    );
    expect(moved).toHaveLength(2); // only the new member's share moved
    expect(after.active.get('m-c')).toEqual(moved.sort());
  });

  it('spreads every subtopology when members join an instance that ran everything', () => {
    const all = tasks(3, 6);
    const out = assignTasks({
      members: [
        { memberId: 'a', info: info('a', { previousActive: all }) },
        { memberId: 'b', info: info('b') },
        { memberId: 'c', info: info('c') },
      ],
      tasks: all,
      numStandbyReplicas: 0,
    });
    for (const list of out.active.values()) {
      expect(['0', '1', '2'].map((s) => list.filter((t) => t.startsWith(`${s}_`)).length)).toEqual([2, 2, 2]);
    }
  });

  it('gives an orphaned task to the member with the most state for it', () => {
    const out = assignTasks({
      members: [
        { memberId: 'a', info: info('a', { taskOffsets: { '0_0': '10' } }) },
        { memberId: 'b', info: info('b', { taskOffsets: { '0_0': '500' } }) },
      ],
      tasks: ['0_0'],
      numStandbyReplicas: 0,
    });
    expect(out.active.get('b')).toEqual(['0_0']);
  });

  it('places standbys on other members, preferring those with state', () => {
    const out = assignTasks({
      members: [
        { memberId: 'a', info: info('a', { previousActive: ['0_0', '0_1'] }) },
        { memberId: 'b', info: info('b', { previousActive: ['0_2', '0_3'], previousStandby: ['0_0'] }) },
        { memberId: 'c', info: info('c', { previousStandby: ['0_1'] }) },
      ],
      tasks: tasks(1, 4),
      numStandbyReplicas: 1,
    });
    expect(out.standby.get('b')).toContain('0_0');
    expect(out.standby.get('c')).toContain('0_1');
    for (const [member, list] of out.standby)
      for (const t of list) expect(out.active.get(member)).not.toContain(t);
  });

  it('is deterministic and tolerates members that sent no readable info', () => {
    const input = {
      members: [
        { memberId: 'x', info: undefined },
        { memberId: 'y', info: info('y') },
      ],
      tasks: tasks(2, 3),
      numStandbyReplicas: 1,
    };
    expect(assignTasks(input)).toEqual(assignTasks({ ...input, members: [...input.members].reverse() }));
  });

  it('holds its invariants for any membership, history and replica count (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 3 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (m, subs, parts, replicas, seeds) => {
          const all = tasks(subs, parts);
          const members = Array.from({ length: m }, (_, i) => ({
            memberId: `m${i}`,
            info: info(`i${i}`, {
              previousActive: all.filter((_, k) => (seeds[k] ?? k) % (m + 1) === i),
            }),
          }));
          const out = assignTasks({ members, tasks: all, numStandbyReplicas: replicas });
          const flat = [...out.active.values()].flat().sort();
          expect(flat).toEqual([...all].sort()); // every task exactly once
          const c = counts(out.active);
          expect(Math.max(...c) - Math.min(...c)).toBeLessThanOrEqual(1);
          for (const t of all) {
            const holders = [...out.standby.entries()].filter(([, l]) => l.includes(t)).map(([id]) => id);
            expect(holders).toHaveLength(Math.min(replicas, m - 1));
            expect(new Set(holders).size).toBe(holders.length);
            const owner = [...out.active.entries()].find(([, l]) => l.includes(t))![0];
            expect(holders).not.toContain(owner);
          }
          // Re-running with the result as history changes nothing (stable).
          const again = assignTasks({
            members: members.map((mm) => ({
              memberId: mm.memberId,
              info: { ...mm.info!, previousActive: [...out.active.get(mm.memberId)!] },
            })),
            tasks: all,
            numStandbyReplicas: replicas,
          });
          expect(again.active).toEqual(out.active);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('streams assignor', () => {
  const topology = {
    subtopologies: [
      { id: 0, sourceTopics: ['in'] },
      { id: 1, sourceTopics: ['left', 'right'] },
    ],
  };

  it('assigns the same partition of every co-partitioned source together and shares one owner map', () => {
    const assignor = createStreamsAssignor({
      topology,
      numStandbyReplicas: 1,
      selfInfo: () => info('a'),
      logger: silentLogger,
    });
    const result = assignor.assign(
      [
        { memberId: 'ma', userData: encodeSubscription(info('a')) },
        { memberId: 'mb', userData: encodeSubscription(info('b')) },
      ],
      new Map([
        ['in', 2],
        ['left', 4],
        ['right', 4],
      ]),
    );
    for (const { assignment } of result.values()) {
      expect(assignment.left?.sort()).toEqual(assignment.right?.sort());
    }
    const all = [...result.values()];
    expect(all[0]!.userData.equals(all[1]!.userData)).toBe(true);
    const hosts = decodeOwnerMap(
      [...result].map(([memberId, r]) => ({ memberId, assignmentUserData: r.userData })),
    );
    expect(hosts.map((h) => h.instanceId)).toEqual(['a', 'b']);
    expect(hosts.flatMap((h) => h.active).sort()).toEqual(['0_0', '0_1', '1_0', '1_1', '1_2', '1_3']);
    expect(hosts[0]!.url).toBe('http://a');
  });

  it('decodes garbage subscription and owner-map bytes as nothing, never throws', () => {
    expect(decodeSubscription(Buffer.from('not json'))).toBeUndefined();
    expect(decodeSubscription(Buffer.from('{"instanceId":5}'))).toBeUndefined();
    expect(decodeOwnerMap([{ memberId: 'x', assignmentUserData: Buffer.from('{{') }])).toEqual([]);
    const future = decodeSubscription(
      Buffer.from(
        JSON.stringify({ version: 9, instanceId: 'z', newField: 1, taskOffsets: { '0_0': 'x', '0_1': '7' } }),
      ),
    );
    expect(future).toMatchObject({
      version: 9,
      instanceId: 'z',
      previousActive: [],
      taskOffsets: { '0_1': '7' },
    });
  });
});
