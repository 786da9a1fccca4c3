/**
 * The query API's own logic with an in-memory stand-in for the streams runtime (routing decisions, auth,
 * parameter validation, batch fan-out, error shapes). The same API on real instances and a real broker is tested
 * in test/integration.
 */
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../common/logger.js';
import { createApiServer, type ApiServerOptions } from '../../../api/index.js';
import type { InstanceInfo, LocalStoreAnswer, QueryableStreams } from '../../../api/api-contracts.js';
import type { Forwarder } from '../../../api/forwarder.js';
import type { KeyValue, ReadOnlyKeyValueStore } from '../../../stores/contracts.js';

const TOKEN = 'a-very-secret-token-123';

function mapStore(entries: Record<string, unknown>): ReadOnlyKeyValueStore<unknown, unknown> {
  return {
    get: async (k) => entries[k as string],
    getMany: async (ks) => ks.map((k) => entries[k as string]),
    range: async function* () {},
    prefixScan: async function* (): AsyncIterable<KeyValue<unknown, unknown>> {},
    approximateNumEntries: async () => Object.keys(entries).length,
  };
}

const self: InstanceInfo = {
  memberId: 'm1',
  instanceId: 'i1',
  url: 'http://i1:8080',
  active: ['0_0'],
  standby: ['0_1'],
};
const other: InstanceInfo = {
  memberId: 'm2',
  instanceId: 'i2',
  url: 'http://i2:8080',
  active: ['0_1'],
  standby: ['0_0'],
};

/** Keys starting with "a" live in partition 0 (ours), "b" in partition 1 (i2's), "r" in 2 (restoring here). */
function fakeStreams(overrides: Partial<QueryableStreams> = {}): QueryableStreams {
  const stores: Record<string, Record<string, unknown>> = {
    cases: { a1: { state: 'A1' }, b1: { state: 'B1-standby' } },
    history: { a1: { entries: [1, 2, 3, 4, 5] } },
    index: { 'ucm-a': { urp: 'a1' }, 'ucm-b': { urp: 'b1' } },
  };
  return {
    state: 'running',
    isReady: () => true,
    metadataForKey: (_store, key) => {
      const p = { a: 0, b: 1, r: 2, u: 0 }[key.toString()[0] as 'a'] ?? 0;
      return {
        partition: p,
        taskId: `0_${p}`,
        active: p === 0 ? self : p === 1 ? other : undefined,
        standbys: p === 0 ? [other] : p === 1 ? [self] : [],
      };
    },
    localStore: (store, taskId, allowStandby): LocalStoreAnswer => {
      if (taskId === '0_0') return { ok: true, kind: 'active', store: mapStore(stores[store]!), lag: 0 };
      if (taskId === '0_1' && allowStandby)
        return { ok: true, kind: 'standby', store: mapStore(stores[store]!), lag: 7 };
      if (taskId === '0_2') return { ok: false, reason: 'restoring' };
      return { ok: false, reason: 'not-local' };
    },
    localTasks: () => ({
      active: [{ id: '0_0', state: 'running', lag: 0 }],
      standby: [{ id: '0_1', lag: 7 }],
    }),
    hosts: () => [self, other],
    ...overrides,
  };
}

interface Forwarded {
  baseUrl: string;
  path: string;
  authorization: string | undefined;
  body?: unknown;
}

function recordingForwarder(answer: (req: Forwarded) => { status: number; body: unknown }) {
  const calls: Forwarded[] = [];
  const forwarder: Forwarder = {
    forward: async (req) => {
      calls.push(req);
      const a = answer(req);
      return {
        ok: true,
        response: { status: a.status, headers: { 'x-served-by': 'i2' }, body: JSON.stringify(a.body) },
      };
    },
  };
  return { calls, forwarder };
}

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

function server(opts: Partial<ApiServerOptions> = {}) {
  const app = createApiServer({
    streams: fakeStreams(),
    view: {
      caseStore: 'cases',
      historyStore: 'history',
      indexStore: 'index',
      toRecord: (v) => ({ record: (v as { state: string }).state }),
      readHistory: async (store, key) =>
        ((await store.get(key)) as { entries: unknown[] } | undefined)?.entries,
      indexTarget: (v) => (v as { urp: string }).urp,
    },
    topology: { describe: () => 'Sub-topology: 0', describeMermaid: () => 'flowchart TD' },
    schemas: { caseRecord: { type: 'object' }, historyEntry: { type: 'object' } },
    registry: new Registry(),
    logger: silentLogger,
    instanceId: 'i1',
    selfUrl: self.url,
    version: 'test',
    forwarder: recordingForwarder(() => ({ status: 200, body: { record: 'B1' } })).forwarder,
    ...opts,
  });
  apps.push(app);
  return app;
}

describe('query API', () => {
  it('answers a key owned here from the local store, naming itself', async () => {
    const res = await server().inject({ method: 'GET', url: '/cases/a1' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ record: 'A1' });
    expect(res.headers['x-served-by']).toBe('i1');
    expect(res.headers['x-stale']).toBeUndefined();
  });

  it('forwards a key owned elsewhere once, with the caller token and the loop guard', async () => {
    const { calls, forwarder } = recordingForwarder(() => ({ status: 200, body: { record: 'B1' } }));
    const res = await server({ forwarder, apiToken: TOKEN }).inject({
      method: 'GET',
      url: '/cases/b1',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ record: 'B1' });
    expect(res.headers['x-served-by']).toBe('i2');
    expect(calls).toEqual([
      {
        baseUrl: other.url,
        method: 'GET',
        path: '/cases/b1',
        authorization: `Bearer ${TOKEN}`,
        body: undefined,
      },
    ]);
  });

  it('never forwards a forwarded request again (loop guard): 503 instead', async () => {
    const { calls, forwarder } = recordingForwarder(() => ({ status: 200, body: {} }));
    const res = await server({ forwarder }).inject({
      method: 'GET',
      url: '/cases/b1',
      headers: { 'x-usc-forwarded-by': 'i3' },
    });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('USC_ERR_API_UNAVAILABLE');
    expect(calls).toHaveLength(0);
  });

  it('answers 503 with Retry-After while a partition restores, or a stale standby copy when allowed', async () => {
    const app = server();
    const res = await app.inject({ method: 'GET', url: '/cases/r1' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json()).toEqual({
      error: { code: 'USC_ERR_API_UNAVAILABLE', message: 'partition 2 is restoring on this instance' },
    });
    // b1's active owner is unreachable for a forwarded request, but our standby copy may answer if allowed.
    const stale = await app.inject({
      method: 'GET',
      url: '/cases/b1?allowStale=true',
      headers: { 'x-usc-forwarded-by': 'i2' },
    });
    expect(stale.statusCode).toBe(200);
    expect(stale.json()).toEqual({ record: 'B1-standby' });
    expect(stale.headers['x-stale']).toBe('true');
    expect(stale.headers['x-stale-lag']).toBe('7');
  });

  it('answers 503 + Retry-After when the owner does not answer, or our standby copy when staleness is allowed', async () => {
    const calls: string[] = [];
    const forwarder: Forwarder = {
      forward: async (req) => {
        calls.push(req.path);
        return { ok: false, message: `the owning instance at ${req.baseUrl} did not answer (TypeError)` };
      },
    };
    const app = server({ forwarder });
    const res = await app.inject({ method: 'GET', url: '/cases/b1' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json().error.code).toBe('USC_ERR_API_FORWARD_FAILED');
    const stale = await app.inject({ method: 'GET', url: '/cases/b1?allowStale=true' });
    expect(stale.statusCode).toBe(200);
    expect(stale.headers['x-stale']).toBe('true');
    expect(calls).toEqual(['/cases/b1']);
  });

  it('answers 404 with a code for an unknown case', async () => {
    const res = await server().inject({ method: 'GET', url: '/cases/a-missing' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('USC_ERR_API_NOT_FOUND');
  });

  it('rejects bad parameters with 400 and says which', async () => {
    const app = server();
    for (const url of [
      `/cases/${'x'.repeat(129)}`,
      '/cases/a%20b',
      '/cases/a1/history?limit=0',
      '/cases/a1/history?offset=-1',
      '/cases/a1?allowStale=maybe',
      '/cases/by-ucm/%3Cscript%3E',
    ]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.code, url).toBe('USC_ERR_API_BAD_REQUEST');
    }
    const bad = await app.inject({ method: 'POST', url: '/cases/lookup', payload: { ids: [] } });
    expect(bad.statusCode).toBe(400);
    const tooMany = await app.inject({
      method: 'POST',
      url: '/cases/lookup',
      payload: { ids: Array.from({ length: 501 }, (_, i) => `a${i}`) },
    });
    expect(tooMany.json().error.message).toContain('1-500');
  });

  it('pages the history', async () => {
    const res = await server().inject({ method: 'GET', url: '/cases/a1/history?offset=1&limit=2' });
    expect(res.json()).toEqual({ urpCaseId: 'a1', total: 5, offset: 1, limit: 2, entries: [2, 3] });
  });

  it('resolves a UCM case id through the index, then looks the case up where it lives', async () => {
    const { calls, forwarder } = recordingForwarder(() => ({ status: 200, body: { record: 'B1' } }));
    const app = server({ forwarder });
    const local = await app.inject({ method: 'GET', url: '/cases/by-ucm/ucm-a' });
    expect(local.json()).toEqual({ record: 'A1' });
    const remote = await app.inject({ method: 'GET', url: '/cases/by-ucm/ucm-b' });
    expect(remote.json()).toEqual({ record: 'B1' });
    expect(calls.map((c) => c.path)).toEqual(['/cases/b1']);
    const none = await app.inject({ method: 'GET', url: '/cases/by-ucm/ucm-none' });
    expect(none.statusCode).toBe(404);
  });

  it('fans a batch out to owners and merges one answer', async () => {
    const { calls, forwarder } = recordingForwarder((req) => ({
      status: 200,
      body: { cases: { b1: { record: 'B1' } }, missing: ['b2'], unavailable: [] },
      req,
    }));
    const res = await server({ forwarder }).inject({
      method: 'POST',
      url: '/cases/lookup',
      payload: { ids: ['a1', 'b1', 'b2', 'a9', 'r1', 'a1'] },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      cases: { a1: { record: 'A1' }, b1: { record: 'B1' } },
      missing: ['a9', 'b2'],
      unavailable: ['r1'],
    });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.body).toEqual({ ids: ['b1', 'b2'] });
  });

  it('requires the bearer token everywhere except the probes, compared exactly', async () => {
    const app = server({ apiToken: TOKEN });
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    for (const authorization of [
      undefined,
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(1)}`,
      TOKEN,
      'Basic abc',
    ]) {
      const res = await app.inject({
        method: 'GET',
        url: '/cases/a1',
        headers: authorization ? { authorization } : {},
      });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('USC_ERR_API_UNAUTHORIZED');
      expect(res.body).not.toContain(TOKEN);
    }
    for (const url of [
      '/metrics',
      '/topology',
      '/instances',
      '/docs/../cases/a1',
      '/docsx',
      '/topology/viewx',
    ]) {
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(401);
    }
    // Pages and documents without data are public: the OpenAPI document and UI, the topology page (not /topology).
    for (const url of [
      '/openapi.json',
      '/docs',
      '/docs/json',
      '/docs/static/swagger-ui-bundle.js',
      '/topology/view',
    ]) {
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    }
    const ok = await app.inject({
      method: 'GET',
      url: '/cases/a1',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(ok.statusCode).toBe(200);
  });

  it('reports readiness from the runtime', async () => {
    const app = server({ streams: fakeStreams({ isReady: () => false, state: 'rebalancing' }) });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ ready: false, state: 'rebalancing', instance: 'i1' });
  });

  it('serves metrics with API latency by route template, the topology, and the OpenAPI document', async () => {
    const app = server();
    await app.inject({ method: 'GET', url: '/cases/a1' });
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain(
      'usc_api_request_duration_seconds_count{method="GET",route="/cases/:urpCaseId",status="200"} 1',
    );
    expect(metrics.body).not.toContain('a1"');
    expect((await app.inject({ method: 'GET', url: '/topology' })).json()).toEqual({
      description: 'Sub-topology: 0',
      mermaid: 'flowchart TD',
    });
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/cases/{urpCaseId}',
        '/cases/{urpCaseId}/history',
        '/cases/by-ucm/{ucmCaseId}',
        '/cases/lookup',
      ]),
    );
    const html = await app.inject({ method: 'GET', url: '/docs' });
    expect(html.headers['content-type']).toContain('text/html');
    expect(html.body).toContain('swagger-ui-bundle.js');
    expect((await app.inject({ method: 'GET', url: '/docs/json' })).json()).toEqual(doc);
  });

  it('documents every parameter with an example and every error response with its codes and examples', async () => {
    const doc = (await server().inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, Operation>>;
    };
    interface Operation {
      security?: unknown[];
      parameters?: { name: string; description?: string; example?: unknown }[];
      responses: Record<string, { description: string; content?: Record<string, ErrorMedia> }>;
    }
    interface ErrorMedia {
      schema: { allOf?: [unknown, { properties: { error: { properties: { code: { enum: string[] } } } } }] };
      examples?: Record<string, { value: { error: { code: string; message: string } } }>;
    }
    let errors = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`;
        for (const p of op.parameters ?? []) {
          expect(p.description, `${where} ${p.name}`).toBeTruthy();
          expect(p.example, `${where} ${p.name}`).toBeDefined();
        }
        if (op.security === undefined || op.security.length > 0)
          expect(op.responses['401'], where).toBeDefined();
        for (const [status, response] of Object.entries(op.responses)) {
          const codes = [...new Set(response.description.match(/USC_ERR_API_[A-Z_]+/g) ?? [])];
          if (codes.length === 0) continue;
          errors++;
          const media = response.content!['application/json']!;
          expect(media.schema.allOf![1].properties.error.properties.code.enum, `${where} ${status}`).toEqual(
            codes,
          );
          expect(Object.keys(media.examples!), `${where} ${status}`).toEqual(codes);
          for (const code of codes) expect(media.examples![code]!.value.error.code).toBe(code);
        }
      }
    }
    expect(errors).toBeGreaterThan(20);
  });

  it('lists instances with their tasks, asking each reachable member for its own lag', async () => {
    const { forwarder } = recordingForwarder(() => ({
      status: 200,
      body: { tasks: { active: [{ id: '0_1', state: 'running', lag: 3 }], standby: [] } },
    }));
    const res = await server({ forwarder }).inject({ method: 'GET', url: '/instances' });
    const body = res.json();
    expect(body.members).toHaveLength(2);
    expect(body.members[1]).toMatchObject({
      instanceId: 'i2',
      reachable: true,
      tasks: { active: [{ lag: 3 }] },
    });
  });

  it('serves over HTTPS with API_TLS_CERT/API_TLS_KEY (and still requires the token)', async () => {
    const app = server({
      tls: { certFile: 'test/fixtures/tls/cert.pem', keyFile: 'test/fixtures/tls/key.pem' },
      apiToken: 'a-token-of-sixteen-chars',
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    const get = (path: string, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest(
          { host: '127.0.0.1', port, path, headers, ca: readFileSync('test/fixtures/tls/cert.pem') },
          (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/cases/a1')).status).toBe(401);
    const ok = await get('/cases/a1', { authorization: 'Bearer a-token-of-sixteen-chars' });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ record: 'A1' });
  });
});
