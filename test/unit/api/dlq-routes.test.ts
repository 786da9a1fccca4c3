/**
 * The `/dlq` routes with an in-memory DeadLetterSource: paging and filters, one record, replay, auth, parameter
 * validation (400 in the documented shape), 404 for an absent ref, 503 when the DLQ cannot be read, and the
 * OpenAPI document of the three routes. The same routes on a real broker: test/integration/dlq-browse.test.ts.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiServer } from '../../../api/index.js';
import type { DeadLetterSource, QueryableStreams } from '../../../api/api-contracts.js';
import { silentLogger } from '../../../common/logger.js';
import { queryDeadLetters, type DeadLetter } from '../../../processors/domain/dlq-query.js';
import { dlqRecordSchema, type DlqRecord } from '../../../processors/domain/event-contract.js';

const TOKEN = 'a-very-secret-token-123';

function letter(ref: string, lastFailureAt: string, extra: Partial<DlqRecord> = {}): DeadLetter {
  const [partition, offset] = ref.split(':');
  return {
    ref,
    partition: Number(partition),
    offset: offset!,
    record: {
      originalTopic: 'in',
      originalPartition: 0,
      originalOffset: '1',
      originalKey: null,
      eventId: null,
      consumer: 'urp-case-sync',
      errorCategory: 'UNKNOWN_STATUS',
      errorMessage: 'payload.newStatus is not a known status',
      errorField: 'payload.newStatus',
      retryCount: 0,
      firstFailureAt: lastFailureAt,
      lastFailureAt,
      payloadHash: '0'.repeat(64),
      replayEligible: true,
      ...extra,
    },
  };
}

const LETTERS = [
  letter('0:1', '2026-01-01T10:00:00.000Z', {
    eventId: 'e1',
    payload: { eventId: 'e1', payload: { ucmCaseId: 'U1', urpCaseId: 'R1' } },
  }),
  letter('1:4', '2026-01-01T11:00:00.000Z', {
    eventId: 'e2',
    errorCategory: 'SCHEMA_INVALID',
    replayEligible: false,
  }),
  letter('0:2', '2026-01-01T12:00:00.000Z', { eventId: 'e3' }),
];

function fakeSource(opts: { failing?: boolean } = {}) {
  const replays: (readonly string[])[] = [];
  const source: DeadLetterSource = {
    async list(query) {
      if (opts.failing) throw new Error('broker down');
      return queryDeadLetters(LETTERS, query);
    },
    async get(ref) {
      if (opts.failing) throw new Error('broker down');
      return LETTERS.find((l) => l.partition === ref.partition && l.offset === ref.offset);
    },
    async replay(refs) {
      replays.push(refs);
      const chosen = LETTERS.filter((l) => refs.includes(l.ref));
      return {
        replayed: chosen
          .filter((l) => l.record.replayEligible)
          .map((l) => ({ ref: l.ref, eventId: l.record.eventId, key: 'U1' })),
        skipped: [
          ...chosen
            .filter((l) => !l.record.replayEligible)
            .map((l) => ({ ref: l.ref, reason: 'not replay-eligible' })),
          ...refs.filter((r) => !chosen.some((l) => l.ref === r)).map((ref) => ({ ref, reason: 'no such' })),
        ],
      };
    },
  };
  return { source, replays };
}

const streams: QueryableStreams = {
  state: 'running',
  isReady: () => true,
  metadataForKey: () => undefined,
  localStore: () => ({ ok: false, reason: 'not-local' }),
  localTasks: () => ({ active: [], standby: [] }),
  hosts: () => [],
};

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

function server(deadLetters: DeadLetterSource | undefined) {
  const app = createApiServer({
    streams,
    view: {
      caseStore: 'cases',
      historyStore: 'history',
      indexStore: 'index',
      toRecord: (v) => v,
      readHistory: async () => undefined,
      indexTarget: () => undefined,
    },
    topology: { describe: () => '', describeMermaid: () => '' },
    schemas: { caseRecord: { type: 'object' }, historyEntry: { type: 'object' }, dlqRecord: dlqRecordSchema },
    registry: new Registry(),
    logger: silentLogger,
    instanceId: 'i1',
    selfUrl: 'http://i1:8080',
    apiToken: TOKEN,
    version: 'test',
    deadLetters,
  });
  apps.push(app);
  return app;
}

const auth = { authorization: `Bearer ${TOKEN}` };
const get = (app: ReturnType<typeof server>, url: string, headers: Record<string, string> = auth) =>
  app.inject({ method: 'GET', url, headers });

describe('/dlq routes', () => {
  it('lists dead letters newest first and pages with nextCursor', async () => {
    const app = server(fakeSource().source);
    const first = await get(app, '/dlq?limit=1');
    expect(first.statusCode).toBe(200);
    expect(first.headers['x-served-by']).toBe('i1');
    expect(first.json()).toEqual({ items: [LETTERS[2]], nextCursor: '0:2' });
    const second = await get(app, '/dlq?limit=1&cursor=0:2');
    expect(second.json()).toEqual({ items: [LETTERS[1]], nextCursor: '1:4' });
    const last = await get(app, '/dlq?limit=5&cursor=1%3A4');
    expect(last.json()).toEqual({ items: [LETTERS[0]], nextCursor: null });
  });

  it('filters by category (listed or repeated), time, eventId and case ids', async () => {
    const app = server(fakeSource().source);
    const refs = async (qs: string) =>
      ((await get(app, `/dlq?${qs}`)).json() as { items: DeadLetter[] }).items.map((l) => l.ref);
    expect(await refs('category=SCHEMA_INVALID')).toEqual(['1:4']);
    expect(await refs('category=SCHEMA_INVALID&category=UNKNOWN_STATUS')).toEqual(['0:2', '1:4', '0:1']);
    expect(await refs('since=2026-01-01T10:30:00Z&until=2026-01-01T12:00:00Z')).toEqual(['1:4']);
    expect(await refs('eventId=e3')).toEqual(['0:2']);
    expect(await refs('urpCaseId=R1')).toEqual(['0:1']);
    expect(await refs('ucmCaseId=U1&category=SCHEMA_INVALID')).toEqual([]);
  });

  it('refuses invalid parameters with 400 USC_ERR_API_BAD_REQUEST naming the parameter', async () => {
    const app = server(fakeSource().source);
    const cases: [string, RegExp][] = [
      ['/dlq?limit=501', /^limit must be an integer between 1 and 500$/],
      ['/dlq?limit=0', /^limit must be/],
      ['/dlq?category=BOGUS', /^category must be a comma-separated list/],
      ['/dlq?since=last-week', /^since must be an ISO-8601 date-time/],
      ['/dlq?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z', /^since must be earlier than until$/],
      ['/dlq?eventId=%3Cscript%3E', /^eventId must be 1-128 characters/],
      ['/dlq?urpCaseId=a&urpCaseId=b', /^urpCaseId may be given only once$/],
      ['/dlq?cursor=abc', /^cursor must be a dead-letter ref/],
      ['/dlq?cursor=9:9', /^cursor names no dead letter/],
      ['/dlq?categroy=UNKNOWN_STATUS', /^unknown query parameter\(s\): categroy; known: category/],
      ['/dlq/not-a-ref', /^ref must be a dead-letter ref <partition>:<offset>/],
    ];
    for (const [url, message] of cases) {
      const res = await get(app, url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.code, url).toBe('USC_ERR_API_BAD_REQUEST');
      expect(res.json().error.message, url).toMatch(message);
    }
  });

  it('answers one dead letter by ref, 404 in the documented shape when absent', async () => {
    const app = server(fakeSource().source);
    const found = await get(app, '/dlq/1:4');
    expect(found.statusCode).toBe(200);
    expect(found.json()).toEqual(LETTERS[1]);
    const absent = await get(app, '/dlq/7:70');
    expect(absent.statusCode).toBe(404);
    expect(absent.json()).toEqual({
      error: { code: 'USC_ERR_API_NOT_FOUND', message: 'no dead letter at 7:70' },
    });
  });

  it('replays chosen refs and says what it replayed and skipped; validates the body', async () => {
    const { source, replays } = fakeSource();
    const app = server(source);
    const post = (payload: unknown) =>
      app.inject({ method: 'POST', url: '/dlq/replay', headers: auth, payload: payload as object });
    const res = await post({ refs: ['0:1', '1:4', '0:1', '5:05'] });
    expect(res.statusCode).toBe(200);
    expect(replays).toEqual([['0:1', '1:4', '5:5']]); // de-duplicated, normalised
    expect(res.json()).toEqual({
      replayed: [{ ref: '0:1', eventId: 'e1', key: 'U1' }],
      skipped: [
        { ref: '1:4', reason: 'not replay-eligible' },
        { ref: '5:5', reason: 'no such' },
      ],
    });
    for (const body of [
      {},
      { refs: [] },
      { refs: 'x' },
      { refs: Array(501).fill('0:1') },
      { refs: ['0:1', 'x'] },
    ]) {
      const bad = await post(body);
      expect(bad.statusCode, JSON.stringify(body).slice(0, 40)).toBe(400);
      expect(bad.json().error.code).toBe('USC_ERR_API_BAD_REQUEST');
    }
    expect((await post({ refs: ['0:1', 'x'] })).json().error.message).toMatch(
      /^refs\[1\] must be a dead-letter ref/,
    );
    expect(replays).toHaveLength(1);
  });

  it('needs the token like every other route, answers 503 when the DLQ cannot be read', async () => {
    const app = server(fakeSource({ failing: true }).source);
    for (const url of ['/dlq', '/dlq/0:1']) {
      expect((await get(app, url, {})).statusCode, url).toBe(401);
    }
    expect(
      (await app.inject({ method: 'POST', url: '/dlq/replay', payload: { refs: ['0:1'] } })).statusCode,
    ).toBe(401);
    const down = await get(app, '/dlq');
    expect(down.statusCode).toBe(503);
    expect(down.headers['retry-after']).toBe('1');
    expect(down.json().error.code).toBe('USC_ERR_API_UNAVAILABLE');
  });

  it('has no /dlq routes without a source, and documents them in OpenAPI', async () => {
    expect((await get(server(undefined), '/dlq')).statusCode).toBe(404);
    const doc = (await get(server(fakeSource().source), '/openapi.json')).json() as {
      paths: Record<string, Record<string, { parameters?: { name: string }[]; responses: object }>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.paths['/dlq']!.get!.parameters!.map((p) => p.name)).toEqual([
      'category',
      'since',
      'until',
      'eventId',
      'urpCaseId',
      'ucmCaseId',
      'limit',
      'cursor',
    ]);
    expect(Object.keys(doc.paths['/dlq/{ref}']!.get!.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401', '404', '503']),
    );
    expect(Object.keys(doc.paths['/dlq/replay']!.post!.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401']),
    );
    expect(doc.components.schemas.DlqRecord).toEqual(dlqRecordSchema);
  });
});
