/**
 * GET /cases on three real instances in one group: pages of 7 walked from every instance return every case
 * exactly once in urpCaseId order, the status and updatedSince filters, and the same after one instance stopped
 * and the group settled. GET /dlq pages the same dead letters from every instance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateUcmEvents } from '../../processors/simulation/ucm-event-generator.js';
import { diffCase, expectedOutcome } from '../support/case-model.js';
import { Cluster, type ClusterMember } from '../support/cluster.js';

const TASKS = 12; // 6 partitions x 2 subtopologies
const cluster = new Cluster();
const records = generateUcmEvents({
  seed: 11,
  cases: 90,
  prefix: 'LST',
  duplicateRate: 0.1,
  missingUrpRate: 0.1,
  invalidRate: 0.05,
  shuffleWindow: 4,
});
const model = expectedOutcome(records);
/** Every urpCaseId, in the stores' (UTF-8 byte) order. */
const ids = [...model.table.keys()].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
let a: ClusterMember;
let b: ClusterMember;
let c: ClusterMember;

interface Listed {
  readonly urpCaseId: string;
  readonly status: string;
  readonly updatedAt: string;
}

/** Follows nextCursor from the first page to the last; every page answers 200 with at most `limit` items. */
async function walk(member: ClusterMember, query: string, limit = 7): Promise<Listed[]> {
  const items: Listed[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1_000; page++) {
    const res = await cluster.get(
      member,
      `/cases?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`,
    );
    expect(res.status, `${member.name} page ${page}: ${JSON.stringify(res.body)}`).toBe(200);
    const got = res.body.items as Listed[];
    expect(got.length).toBeLessThanOrEqual(limit);
    items.push(...got);
    cursor = res.body.nextCursor as string | null;
    if (cursor === null) return items;
    expect(got).toHaveLength(limit);
  }
  throw new Error('too many pages');
}

beforeAll(async () => {
  a = await cluster.start('a');
  b = await cluster.start('b');
  c = await cluster.start('c');
  await cluster.allReady();
  await cluster.produce(records);
  await cluster.waitForTable(model.table);
  await cluster.ownersAgree(TASKS);
});
afterAll(() => cluster.stop());

describe('GET /cases on three instances', () => {
  it('walks every case exactly once in order from every instance, filters, and survives a stopped instance', async () => {
    for (const m of [a, b, c]) {
      const listed = await walk(m, '');
      expect(
        listed.map((r) => r.urpCaseId),
        m.name,
      ).toEqual(ids);
      for (const r of listed) expect(diffCase(r.urpCaseId, r, model.table.get(r.urpCaseId))).toEqual([]);
    }

    const wanted = ids.filter((id) => ['OPEN', 'CLOSED'].includes(model.table.get(id)!.status));
    expect(wanted.length).toBeGreaterThan(0);
    expect(wanted.length).toBeLessThan(ids.length);
    expect((await walk(b, '&status=OPEN,CLOSED')).map((r) => r.urpCaseId)).toEqual(wanted);

    const all = await walk(a, '', 500);
    const times = [...new Set(all.map((r) => r.updatedAt))].sort();
    expect(times.length).toBeGreaterThan(1);
    const since = times[Math.floor(times.length / 2)]!;
    const recent = all.filter((r) => r.updatedAt >= since).map((r) => r.urpCaseId);
    expect(recent.length).toBeGreaterThan(0);
    expect(recent.length).toBeLessThan(ids.length);
    expect((await walk(c, `&updatedSince=${since}`)).map((r) => r.urpCaseId)).toEqual(recent);

    const bad = await cluster.get(a, '/cases?limit=501');
    expect(bad.status).toBe(400);
    expect(bad.body.error?.code).toBe('USC_ERR_API_BAD_REQUEST');

    // Dead letters: GET /dlq pages the group's one dead-letter topic, the same from every instance.
    const immediate = [...model.dlq]
      .filter(([category]) => category !== 'UNRESOLVED_CORRELATION')
      .reduce((n, [, count]) => n + count, 0);
    expect(immediate).toBeGreaterThan(0);
    const walkDlq = async (member: ClusterMember): Promise<string[]> => {
      const refs: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 1_000; page++) {
        const res = await cluster.get(member, `/dlq?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        refs.push(...(res.body.items as { ref: string }[]).map((d) => d.ref));
        cursor = res.body.nextCursor as string | null;
        if (cursor === null) return refs;
      }
      throw new Error('too many dead-letter pages');
    };
    await expect.poll(async () => (await walkDlq(a)).length, { timeout: 60_000 }).toBe(immediate);
    const fromA = await walkDlq(a);
    expect(new Set(fromA).size).toBe(immediate);
    for (const m of [b, c]) expect(await walkDlq(m), m.name).toEqual(fromA);

    // One instance stops; once the group settled (owner maps agree, tasks restored) the listing is whole again.
    await cluster.close('c');
    await cluster.ownersAgree(TASKS);
    await cluster.allReady();
    for (const m of [a, b]) {
      expect(
        (await walk(m, '')).map((r) => r.urpCaseId),
        `${m.name} after c stopped`,
      ).toEqual(ids);
    }
    expect((await walk(a, '&status=OPEN,CLOSED', 5)).map((r) => r.urpCaseId)).toEqual(wanted);
  });
});
