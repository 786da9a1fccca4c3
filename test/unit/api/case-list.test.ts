/**
 * GET /cases on three in-memory instances (fake streams, fake stores) wired to each other through a forwarder
 * that injects into the other instance's fastify app: paging across owners, merge order, filters, parameter
 * validation, and the 503 / stale answers when an owner does not answer or a partition restores.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../../../common/logger.js';
import { createApiServer } from '../../../api/index.js';
import type { InstanceInfo, LocalStoreAnswer, QueryableStreams } from '../../../api/api-contracts.js';
import { decodeCursor, encodeCursor, mergeEntries } from '../../../api/case-list-routes.js';
import type { Forwarder } from '../../../api/forwarder.js';
import { listLocalCases } from '../../../processors/case-sync-view.js';
import type { KeyValue, ReadOnlyKeyValueStore } from '../../../stores/contracts.js';

interface Rec {
  readonly urpCaseId: string;
  readonly status: string;
  readonly updatedAt: string;
}

const PARTITIONS = 6;
const STATUSES = ['OPEN', 'IN_PROGRESS', 'CLOSED'];
/** Mixed case, digits and punctuation: byte order differs from a naive case-insensitive order. */
const IDS = Array.from({ length: 40 }, (_, i) =>
  i % 5 === 0
    ? `Z-${i}`
    : i % 5 === 1
      ? `a.${i}`
      : i % 5 === 2
        ? `B:${i}`
        : `c_${String(i).padStart(2, '0')}`,
);
const byteOrder = (ids: readonly string[]) =>
  [...ids].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
const BASE = Date.parse('2026-01-01T00:00:00.000Z');
const RECORDS: Rec[] = IDS.map((id, i) => ({
  urpCaseId: id,
  status: STATUSES[i % 3]!,
  updatedAt: new Date(BASE + i * 60_000).toISOString(),
}));
const partitionOf = (key: string) => [...key].reduce((h, c) => h * 31 + c.charCodeAt(0), 7) % PARTITIONS;

function sortedStore(entries: ReadonlyMap<string, unknown>): ReadOnlyKeyValueStore<unknown, unknown> {
  const keys = byteOrder([...entries.keys()]);
  return {
    get: async (k) => entries.get(k as string),
    getMany: async (ks) => ks.map((k) => entries.get(k as string)),
    range: async function* (from?: unknown): AsyncIterable<KeyValue<unknown, unknown>> {
      for (const k of keys) {
        if (from !== undefined && Buffer.compare(Buffer.from(k), Buffer.from(from as string)) < 0) continue;
        yield { key: k, value: entries.get(k) };
      }
    },
    prefixScan: async function* (): AsyncIterable<KeyValue<unknown, unknown>> {},
    approximateNumEntries: async () => entries.size,
  };
}

/** One store per partition, holding the cases of that partition. */
const partitionStores = new Map(
  Array.from({ length: PARTITIONS }, (_, p) => [
    `0_${p}`,
    sortedStore(new Map(RECORDS.filter((r) => partitionOf(r.urpCaseId) === p).map((r) => [r.urpCaseId, r]))),
  ]),
);

const host = (n: number): InstanceInfo => ({
  memberId: `m${n}`,
  instanceId: `i${n}`,
  url: `http://i${n}:8080`,
  active: [`0_${2 * (n - 1)}`, `0_${2 * (n - 1) + 1}`],
  // i1 stands by for i2's tasks, i2 for i3's, i3 for i1's.
  standby: [`0_${(2 * n) % PARTITIONS}`, `0_${(2 * n + 1) % PARTITIONS}`],
});
const HOSTS = [host(1), host(2), host(3)];

interface FakeOptions {
  /** Active tasks of this instance that are restoring (not served as active). */
  restoring?: readonly string[];
  /** The owner map has not been read yet. */
  noOwnerMap?: boolean;
}

function fakeStreams(self: InstanceInfo, opts: FakeOptions = {}): QueryableStreams {
  const restoring = new Set(opts.restoring ?? []);
  return {
    state: 'running',
    isReady: () => restoring.size === 0,
    metadataForKey: (_store, key) => {
      const p = partitionOf(key.toString());
      const taskId = `0_${p}`;
      return {
        partition: p,
        taskId,
        active: HOSTS.find((h) => h.active.includes(taskId)),
        standbys: HOSTS.filter((h) => h.standby.includes(taskId)),
      };
    },
    localStore: (store, taskId, allowStandby): LocalStoreAnswer => {
      if (store !== 'cases') return { ok: false, reason: 'unknown-store' };
      const s = partitionStores.get(taskId)!;
      if (self.active.includes(taskId)) {
        if (!restoring.has(taskId)) return { ok: true, kind: 'active', store: s, lag: 0 };
        if (!allowStandby) return { ok: false, reason: 'restoring' };
        return { ok: true, kind: 'standby', store: s, lag: 11 };
      }
      if (self.standby.includes(taskId) && allowStandby)
        return { ok: true, kind: 'standby', store: s, lag: 3 };
      return { ok: false, reason: 'not-local' };
    },
    localTasks: () => ({
      active: self.active.map((id) => ({ id, state: restoring.has(id) ? 'restoring' : 'running', lag: 0 })),
      standby: self.standby.map((id) => ({ id, lag: 3 })),
    }),
    hosts: () => (opts.noOwnerMap ? [] : HOSTS),
  };
}

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

interface Trio {
  readonly apps: Map<string, FastifyInstance>;
  readonly down: Set<string>;
  readonly calls: { from: string; to: string; path: string }[];
}

/** Three instances; each forwards by injecting into the other's app (or fails while that one is "down"). */
function trio(opts: Record<string, FakeOptions> = {}): Trio {
  const t: Trio = { apps: new Map(), down: new Set(), calls: [] };
  for (const h of HOSTS) {
    const forwarder: Forwarder = {
      forward: async ({ baseUrl, method, path, authorization }) => {
        const target = HOSTS.find((x) => x.url === baseUrl)!;
        t.calls.push({ from: h.instanceId, to: target.instanceId, path });
        if (t.down.has(target.instanceId)) {
          return { ok: false, message: `the owning instance at ${baseUrl} did not answer (TypeError)` };
        }
        const res = await t.apps.get(target.instanceId)!.inject({
          method,
          url: path,
          headers: { 'x-usc-forwarded-by': h.instanceId, ...(authorization ? { authorization } : {}) },
        });
        return {
          ok: true,
          response: { status: res.statusCode, headers: {}, body: res.body },
        };
      },
    };
    const app = createApiServer({
      streams: fakeStreams(h, opts[h.instanceId]),
      view: {
        caseStore: 'cases',
        historyStore: 'history',
        indexStore: 'index',
        toRecord: (v) => v,
        readHistory: async () => undefined,
        indexTarget: () => undefined,
        statuses: ['OPEN', 'IN_PROGRESS', 'ON_HOLD', 'CLOSED', 'REJECTED'],
      },
      topology: { describe: () => '', describeMermaid: () => '' },
      schemas: { caseRecord: { type: 'object' }, historyEntry: { type: 'object' } },
      registry: new Registry(),
      logger: silentLogger,
      instanceId: h.instanceId,
      selfUrl: h.url,
      version: 'test',
      forwarder,
    });
    apps.push(app);
    t.apps.set(h.instanceId, app);
  }
  return t;
}

async function get(app: FastifyInstance, url: string) {
  const res = await app.inject({ method: 'GET', url });
  return { status: res.statusCode, headers: res.headers, body: res.json() };
}

/** Follows nextCursor from the first page to the last; returns the pages' ids. */
async function walk(app: FastifyInstance, query: string): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const sep = query ? '&' : '';
    const res = await get(app, `/cases?${query}${cursor ? `${sep}cursor=${cursor}` : ''}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    pages.push((res.body.items as Rec[]).map((r) => r.urpCaseId));
    cursor = res.body.nextCursor as string | null;
    expect(pages.length).toBeLessThan(100);
  } while (cursor !== null);
  return pages;
}

describe('GET /cases', () => {
  it('walks every case exactly once, in urpCaseId byte order, from every instance', async () => {
    const t = trio();
    expect(new Set(IDS.map(partitionOf)).size).toBe(PARTITIONS); // every partition holds cases
    for (const name of ['i1', 'i2', 'i3']) {
      const pages = await walk(t.apps.get(name)!, 'limit=7');
      expect(pages.map((p) => p.length)).toEqual([7, 7, 7, 7, 7, 5]);
      expect(pages.flat()).toEqual(byteOrder(IDS));
    }
    // The fan-out: one internal request to each other owner per page, with the loop guard and scope=local.
    const fromI1 = t.calls.filter((c) => c.from === 'i1');
    expect(new Set(fromI1.map((c) => c.to))).toEqual(new Set(['i2', 'i3']));
    expect(fromI1.every((c) => c.path.startsWith('/cases?scope=local&limit=7'))).toBe(true);
  });

  it('answers the default page of 50, a null cursor when the last page is exactly full, and x-served-by', async () => {
    const t = trio();
    const all = await get(t.apps.get('i2')!, '/cases');
    expect(all.status).toBe(200);
    expect(all.body.items).toHaveLength(40);
    expect(all.body.nextCursor).toBeNull();
    expect(all.headers['x-served-by']).toBe('i2');
    expect(all.headers['x-stale']).toBeUndefined();
    const exact = await get(t.apps.get('i2')!, '/cases?limit=40');
    expect(exact.body.items).toHaveLength(40);
    expect(exact.body.nextCursor).toBeNull();
    expect((await walk(t.apps.get('i3')!, 'limit=20')).map((p) => p.length)).toEqual([20, 20]);
    const first = await get(t.apps.get('i1')!, '/cases?limit=1');
    expect(first.body.nextCursor).toBe(encodeCursor(byteOrder(IDS)[0]!));
  });

  it('filters by status and updatedSince, across pages', async () => {
    const t = trio();
    const app = t.apps.get('i3')!;
    const wanted = RECORDS.filter((r) => r.status === 'OPEN' || r.status === 'CLOSED').map(
      (r) => r.urpCaseId,
    );
    expect((await walk(app, 'status=OPEN,CLOSED&limit=7')).flat()).toEqual(byteOrder(wanted));
    const since = RECORDS[25]!.updatedAt;
    const recent = RECORDS.filter((r) => r.updatedAt >= since).map((r) => r.urpCaseId);
    expect((await walk(app, `updatedSince=${since}&limit=4`)).flat()).toEqual(byteOrder(recent));
    const both = RECORDS.filter((r) => r.updatedAt >= since && r.status === 'IN_PROGRESS').map(
      (r) => r.urpCaseId,
    );
    expect((await walk(app, `status=IN_PROGRESS&updatedSince=${since}&limit=2`)).flat()).toEqual(
      byteOrder(both),
    );
    // Repeated status parameters add up; a zone offset is honoured; a date alone is UTC midnight.
    const repeated = await get(app, '/cases?status=OPEN&status=CLOSED&limit=500');
    expect((repeated.body.items as Rec[]).map((r) => r.urpCaseId)).toEqual(byteOrder(wanted));
    const offset = await get(app, `/cases?updatedSince=${encodeURIComponent('2026-01-01T01:25:00+01:00')}`);
    expect((offset.body.items as Rec[]).map((r) => r.urpCaseId)).toEqual(byteOrder(recent));
    expect((await get(app, '/cases?updatedSince=2026-01-02')).body).toEqual({ items: [], nextCursor: null });
    expect((await get(app, '/cases?status=REJECTED')).body).toEqual({ items: [], nextCursor: null });
  });

  it('rejects invalid parameters with 400 in the documented error shape', async () => {
    const app = trio().apps.get('i1')!;
    const cases: [string, RegExp][] = [
      ['limit=0', /^limit must be an integer between 1 and 500$/],
      ['limit=501', /^limit must be an integer between 1 and 500$/],
      ['limit=ten', /^limit/],
      ['status=open', /^status must be a comma-separated list of one or more of OPEN, IN_PROGRESS/],
      ['status=OPEN,,CLOSED', /^status/],
      ['status=PENDING', /^status/],
      ['updatedSince=yesterday', /^updatedSince must be an ISO-8601/],
      ['updatedSince=2026-01-01T10:00:00', /^updatedSince/], // no zone: ambiguous
      ['updatedSince=2026-13-45T10:00:00Z', /^updatedSince/],
      ['updatedSince=1&updatedSince=2', /^updatedSince/],
      ['cursor=not*a*cursor', /^cursor must be a nextCursor returned by GET \/cases$/],
      [`cursor=${Buffer.from('<script>').toString('base64url')}`, /^cursor/],
      ['allowStale=yes', /^allowStale must be true or false$/],
      ['scope=local', /^scope=local is used between instances only/],
      ['scope=everything', /^scope must be all or local$/],
    ];
    for (const [query, message] of cases) {
      const res = await get(app, `/cases?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code, query).toBe('USC_ERR_API_BAD_REQUEST');
      expect(res.body.error.message, query).toMatch(message);
    }
    expect(decodeCursor(encodeCursor('c_07'))).toEqual({ ok: true, value: 'c_07' });
  });

  it('answers 503 + Retry-After when an owner does not answer, never a partial page', async () => {
    const t = trio();
    t.down.add('i2');
    for (const name of ['i1', 'i3']) {
      const res = await get(t.apps.get(name)!, '/cases?limit=7');
      expect(res.status, name).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body.error.code).toBe('USC_ERR_API_FORWARD_FAILED');
      expect(res.body.error.message).toContain('instance i2');
      expect(res.body.error.message).toContain('tasks 0_2, 0_3 of the case store');
      expect(res.body).not.toHaveProperty('items');
    }
  });

  it('with allowStale=true, lets standby copies (here or elsewhere) stand in for an unreachable owner', async () => {
    const t = trio();
    t.down.add('i2');
    // i1 stands by for i2's tasks itself.
    const local = await walk(t.apps.get('i1')!, 'allowStale=true&limit=7');
    expect(local.flat()).toEqual(byteOrder(IDS));
    const res = await get(t.apps.get('i1')!, '/cases?allowStale=true&limit=500');
    expect(res.headers['x-stale']).toBe('true');
    expect(res.headers['x-stale-lag']).toBe('3');
    // i3 does not: it asks i1 for its standby copies of 0_2 and 0_3.
    t.calls.length = 0;
    const remote = await walk(t.apps.get('i3')!, 'allowStale=true&limit=7');
    expect(remote.flat()).toEqual(byteOrder(IDS));
    expect(t.calls.some((c) => c.to === 'i1' && c.path.includes('tasks=0_2%2C0_3'))).toBe(true);
    // Both i2 and its standby i1 unreachable: 503 even with allowStale.
    t.down.add('i1');
    const none = await get(t.apps.get('i3')!, '/cases?allowStale=true');
    expect(none.status).toBe(503);
    expect(none.body.error.code).toBe('USC_ERR_API_FORWARD_FAILED');
  });

  it('answers 503 USC_ERR_API_UNAVAILABLE while a partition restores, or its stale copy when allowed', async () => {
    const t = trio({ i3: { restoring: ['0_4'] } });
    for (const name of ['i1', 'i3']) {
      const res = await get(t.apps.get(name)!, '/cases');
      expect(res.status, name).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body).toEqual({
        error: {
          code: 'USC_ERR_API_UNAVAILABLE',
          message: 'tasks 0_4 of the case store have no running owner right now (moving or restoring); retry',
        },
      });
    }
    const stale = await get(t.apps.get('i3')!, '/cases?allowStale=true&limit=500');
    expect(stale.status).toBe(200);
    expect(stale.body.items).toHaveLength(40);
    expect(stale.headers['x-stale-lag']).toBe('11');
  });

  it('answers 503 while the owner map is not known (it could not tell which partitions it misses)', async () => {
    const res = await get(trio({ i1: { noOwnerMap: true } }).apps.get('i1')!, '/cases');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body.error).toEqual({
      code: 'USC_ERR_API_UNAVAILABLE',
      message: 'the owner map of the group is not known yet',
    });
  });

  it('answers an internal (forwarded) request from local stores only, never fanning out again', async () => {
    const t = trio();
    const res = await t.apps.get('i2')!.inject({
      method: 'GET',
      url: '/cases?scope=local&limit=3&after=B%3A12',
      headers: { 'x-usc-forwarded-by': 'i1' },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json() as {
      instanceId: string;
      tasks: { id: string }[];
      entries: { urpCaseId: string }[];
    };
    expect(body.instanceId).toBe('i2');
    expect(body.tasks.map((x) => x.id)).toEqual(['0_2', '0_3']);
    const mine = byteOrder(
      RECORDS.filter((r) => [2, 3].includes(partitionOf(r.urpCaseId))).map((r) => r.urpCaseId),
    );
    expect(body.entries.map((e) => e.urpCaseId)).toEqual(mine.filter((id) => id > 'B:12').slice(0, 3));
    expect(t.calls).toEqual([]);
  });

  it('leaves GET /cases/:urpCaseId and /cases/by-ucm/:id routed as before', async () => {
    const t = trio();
    const owned = IDS.find((id) => HOSTS[0]!.active.includes(`0_${partitionOf(id)}`))!;
    const one = await get(t.apps.get('i1')!, `/cases/${encodeURIComponent(owned)}`);
    expect(one.status).toBe(200);
    expect(one.body.urpCaseId).toBe(owned);
    const byUcm = await get(t.apps.get('i1')!, '/cases/by-ucm/u1');
    expect(byUcm.status).not.toBe(400);
    expect(JSON.stringify(byUcm.body)).not.toContain('"items"');
    const doc = await get(t.apps.get('i1')!, '/openapi.json');
    const op = doc.body.paths['/cases'].get as { parameters: { name: string }[]; responses: object };
    expect(op.parameters.map((p) => p.name)).toEqual([
      'status',
      'updatedSince',
      'limit',
      'cursor',
      'allowStale',
    ]);
    expect(Object.keys(op.responses)).toEqual(['200', '400', '401', '503']);
  });
});

describe('list helpers', () => {
  it('merges parts in byte order and drops a key answered twice', () => {
    const e = (id: string) => ({ urpCaseId: id, record: { id } });
    expect(
      mergeEntries([[e('b'), e('c')], [e('B'), e('b')], [], [e('a.1'), e('a-2')]]).map((x) => x.urpCaseId),
    ).toEqual(['B', 'a-2', 'a.1', 'b', 'c']);
  });

  it('listLocalCases scans stored case states after a key, filtered, up to the limit', async () => {
    const state = (id: string, status: string, updatedAt: string) => ({
      urpCaseId: id,
      ucmCases: [
        {
          ucmCaseId: `u-${id}`,
          status,
          statusChangedAt: updatedAt,
          key: { eventTime: 1, eventId: 'e' },
          createdAt: null,
          createdKey: null,
          attributes: {},
        },
      ],
      latest: { key: { eventTime: 1, eventId: 'e' }, ucmCaseId: `u-${id}`, eventTime: updatedAt },
      seen: [],
      eventCount: 1,
      updatedAt,
    });
    const store = sortedStore(
      new Map([
        ['k1', state('k1', 'OPEN', '2026-01-01T00:00:00.000Z')],
        ['k2', state('k2', 'CLOSED', '2026-01-02T00:00:00.000Z')],
        ['k3', state('k3', 'OPEN', '2026-01-03T00:00:00.000Z')],
        ['k4', state('k4', 'OPEN', '2026-01-04T00:00:00.000Z')],
      ]),
    );
    const ids = async (q: Parameters<typeof listLocalCases>[1]) =>
      (await listLocalCases(store, q)).map((x) => [x.urpCaseId, (x.record as { status: string }).status]);
    expect(await ids({ limit: 10 })).toEqual([
      ['k1', 'OPEN'],
      ['k2', 'CLOSED'],
      ['k3', 'OPEN'],
      ['k4', 'OPEN'],
    ]);
    expect(await ids({ limit: 2, after: 'k1' })).toEqual([
      ['k2', 'CLOSED'],
      ['k3', 'OPEN'],
    ]);
    expect(
      await ids({ limit: 10, statuses: new Set(['OPEN']), updatedSinceMs: Date.parse('2026-01-02') }),
    ).toEqual([
      ['k3', 'OPEN'],
      ['k4', 'OPEN'],
    ]);
  });
});
