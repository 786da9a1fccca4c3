/**
 * Case lookups: by urpCaseId, its history (paged), by ucmCaseId (through the ucm index), and a batch of up to 500
 * ids fanned out to their owners. Every lookup goes through {@link routeKey}: local, forwarded once, stale on
 * request, or 503 + Retry-After while the partition moves.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ReadOnlyKeyValueStore } from '../stores/contracts.js';
import type { CaseStoresView, QueryableStreams } from './api-contracts.js';
import { sendError } from './api-errors.js';
import type { ApiMetrics } from './api-metrics.js';
import { FORWARDED_HEADER, type Forwarder } from './forwarder.js';
import { routeKey, type KeyRoute } from './key-router.js';
import { parseBool, parseId, parseIntParam } from './params.js';

export const MAX_BATCH = 500;
const RETRY_AFTER_SECONDS = 1;

export interface CaseRouteDeps {
  readonly streams: QueryableStreams;
  readonly view: CaseStoresView;
  readonly forwarder: Forwarder;
  readonly instanceId: string;
  readonly selfUrl: string;
  readonly metrics: ApiMetrics;
}

type Lookup<T> =
  | { readonly kind: 'found'; readonly value: T; readonly stale: boolean; readonly lag: number }
  | { readonly kind: 'missing' }
  | { readonly kind: 'unavailable'; readonly message: string };

/** Reads one key's value from a local store copy (undefined: not there). */
type Reader = (store: ReadOnlyKeyValueStore<unknown, unknown>, key: string) => Promise<unknown>;

const readValue: Reader = (store, key) => store.get(key);

async function readLocal(
  route: Extract<KeyRoute, { kind: 'local' }>,
  key: string,
  read: Reader,
): Promise<Lookup<unknown>> {
  const value = await read(route.store, key);
  if (value === undefined) return { kind: 'missing' };
  return { kind: 'found', value, stale: route.stale, lag: route.lag };
}

export function registerCaseRoutes(app: FastifyInstance, deps: CaseRouteDeps): void {
  const { streams, view, forwarder } = deps;

  const isForwarded = (req: FastifyRequest) => req.headers[FORWARDED_HEADER] !== undefined;

  /** Answers from a forwarded response, or 503 + Retry-After when the owner could not be reached. */
  async function forward(
    req: FastifyRequest,
    reply: FastifyReply,
    route: Extract<KeyRoute, { kind: 'forward' }>,
    path: string,
    body?: unknown,
  ): Promise<FastifyReply> {
    const result = await forwarder.forward({
      baseUrl: route.url,
      method: body === undefined ? 'GET' : 'POST',
      path,
      authorization: req.headers.authorization,
      body,
    });
    if (!result.ok) {
      deps.metrics.forwarded.inc({ outcome: 'failed' });
      // The owner is unreachable (crashed, or the map is a rebalance behind): its partitions are about to move.
      return sendError(reply, 'USC_ERR_API_FORWARD_FAILED', `${result.message}; retry`, RETRY_AFTER_SECONDS);
    }
    deps.metrics.forwarded.inc({ outcome: 'ok' });
    for (const [k, v] of Object.entries(result.response.headers)) void reply.header(k, v);
    return reply.code(result.response.status).send(result.response.body);
  }

  function markServed(reply: FastifyReply, stale: boolean, lag: number): void {
    void reply.header('x-served-by', deps.instanceId);
    if (stale) {
      void reply.header('x-stale', 'true');
      void reply.header('x-stale-lag', String(lag));
    }
  }

  /** Shared flow of single-key lookups. */
  async function lookup(
    req: FastifyRequest,
    reply: FastifyReply,
    store: string,
    key: string,
    allowStale: boolean,
    render: (value: unknown) => unknown,
    read: Reader = readValue,
  ): Promise<FastifyReply> {
    const route = routeKey(streams, store, key, {
      allowStale,
      forwarded: isForwarded(req),
      selfUrl: deps.selfUrl,
    });
    if (route.kind === 'forward') {
      if (allowStale) {
        // Prefer our own standby copy over a hop when the caller accepts staleness and the owner may be gone.
        const copy = routeKey(streams, store, key, { allowStale, forwarded: true, selfUrl: deps.selfUrl });
        if (copy.kind === 'local') {
          const found = await readLocal(copy, key, read);
          markServed(reply, copy.stale, copy.lag);
          if (found.kind !== 'found') return sendError(reply, 'USC_ERR_API_NOT_FOUND', `no case ${key}`);
          return reply.send(render(found.value));
        }
      }
      return forward(req, reply, route, req.url);
    }
    if (route.kind === 'unavailable') {
      return sendError(reply, 'USC_ERR_API_UNAVAILABLE', route.message, RETRY_AFTER_SECONDS);
    }
    const found = await readLocal(route, key, read);
    markServed(reply, route.stale, route.lag);
    if (found.kind !== 'found') return sendError(reply, 'USC_ERR_API_NOT_FOUND', `no case ${key}`);
    return reply.send(render(found.value));
  }

  const staleOf = (req: FastifyRequest) =>
    parseBool('allowStale', (req.query as Record<string, unknown>).allowStale);

  app.get('/cases/:urpCaseId', async (req, reply) => {
    const id = parseId('urpCaseId', (req.params as Record<string, unknown>).urpCaseId);
    const stale = staleOf(req);
    if (!id.ok) return sendError(reply, 'USC_ERR_API_BAD_REQUEST', id.message);
    if (!stale.ok) return sendError(reply, 'USC_ERR_API_BAD_REQUEST', stale.message);
    return lookup(req, reply, view.caseStore, id.value, stale.value, (v) => view.toRecord(v));
  });

  app.get('/cases/:urpCaseId/history', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const id = parseId('urpCaseId', (req.params as Record<string, unknown>).urpCaseId);
    const offset = parseIntParam('offset', q.offset, 0, 0, 1_000_000);
    const limit = parseIntParam('limit', q.limit, 50, 1, 500);
    const stale = staleOf(req);
    for (const p of [id, offset, limit, stale]) {
      if (!p.ok) return sendError(reply, 'USC_ERR_API_BAD_REQUEST', p.message);
    }
    if (!id.ok || !offset.ok || !limit.ok || !stale.ok) return reply;
    const readHistory: Reader = (store, key) => view.readHistory(store, key);
    return lookup(
      req,
      reply,
      view.historyStore,
      id.value,
      stale.value,
      (v) => {
        const entries = v as readonly unknown[];
        return {
          urpCaseId: id.value,
          total: entries.length,
          offset: offset.value,
          limit: limit.value,
          entries: entries.slice(offset.value, offset.value + limit.value),
        };
      },
      readHistory,
    );
  });

  app.get('/cases/by-ucm/:ucmCaseId', async (req, reply) => {
    const id = parseId('ucmCaseId', (req.params as Record<string, unknown>).ucmCaseId);
    const stale = staleOf(req);
    if (!id.ok) return sendError(reply, 'USC_ERR_API_BAD_REQUEST', id.message);
    if (!stale.ok) return sendError(reply, 'USC_ERR_API_BAD_REQUEST', stale.message);
    const route = routeKey(streams, view.indexStore, id.value, {
      allowStale: stale.value,
      forwarded: isForwarded(req),
      selfUrl: deps.selfUrl,
    });
    if (route.kind === 'forward') return forward(req, reply, route, req.url);
    if (route.kind === 'unavailable') {
      return sendError(reply, 'USC_ERR_API_UNAVAILABLE', route.message, RETRY_AFTER_SECONDS);
    }
    const entry = await readLocal(route, id.value, readValue);
    const urpCaseId = entry.kind === 'found' ? view.indexTarget(entry.value) : undefined;
    if (!urpCaseId) {
      markServed(reply, route.stale, route.lag);
      return sendError(reply, 'USC_ERR_API_NOT_FOUND', `no case linked to UCM case ${id.value}`);
    }
    // The case itself lives in the partition of its urpCaseId: a second, independent lookup.
    const caseRoute = routeKey(streams, view.caseStore, urpCaseId, {
      allowStale: stale.value,
      forwarded: false,
      selfUrl: deps.selfUrl,
    });
    const suffix = stale.value ? '?allowStale=true' : '';
    if (caseRoute.kind === 'forward') {
      return forward(req, reply, caseRoute, `/cases/${encodeURIComponent(urpCaseId)}${suffix}`);
    }
    if (caseRoute.kind === 'unavailable') {
      return sendError(reply, 'USC_ERR_API_UNAVAILABLE', caseRoute.message, RETRY_AFTER_SECONDS);
    }
    const found = await readLocal(caseRoute, urpCaseId, readValue);
    markServed(reply, caseRoute.stale || route.stale, Math.max(caseRoute.lag, route.lag));
    if (found.kind !== 'found') return sendError(reply, 'USC_ERR_API_NOT_FOUND', `no case ${urpCaseId}`);
    return reply.send(view.toRecord(found.value));
  });

  app.post('/cases/lookup', async (req, reply) => {
    const body = req.body as { ids?: unknown } | undefined;
    const ids = body?.ids;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_BATCH) {
      return sendError(reply, 'USC_ERR_API_BAD_REQUEST', `ids must be an array of 1-${MAX_BATCH} urpCaseIds`);
    }
    for (const [i, raw] of ids.entries()) {
      const id = parseId(`ids[${i}]`, raw);
      if (!id.ok) return sendError(reply, 'USC_ERR_API_BAD_REQUEST', id.message);
    }
    const stale = staleOf(req);
    if (!stale.ok) return sendError(reply, 'USC_ERR_API_BAD_REQUEST', stale.message);
    const unique = [...new Set(ids as string[])];
    const cases: Record<string, unknown> = {};
    const missing: string[] = [];
    const unavailable: string[] = [];
    const remote = new Map<string, { route: Extract<KeyRoute, { kind: 'forward' }>; ids: string[] }>();
    for (const id of unique) {
      const route = routeKey(streams, view.caseStore, id, {
        allowStale: stale.value,
        forwarded: isForwarded(req),
        selfUrl: deps.selfUrl,
      });
      if (route.kind === 'unavailable') unavailable.push(id);
      else if (route.kind === 'forward') {
        const group = remote.get(route.url) ?? { route, ids: [] };
        group.ids.push(id);
        remote.set(route.url, group);
      } else {
        const found = await readLocal(route, id, readValue);
        if (found.kind === 'found') cases[id] = view.toRecord(found.value);
        else missing.push(id);
      }
    }
    await Promise.all(
      [...remote.values()].map(async ({ route, ids: group }) => {
        const result = await forwarder.forward({
          baseUrl: route.url,
          method: 'POST',
          path: `/cases/lookup${stale.value ? '?allowStale=true' : ''}`,
          authorization: req.headers.authorization,
          body: { ids: group },
        });
        const answer =
          result.ok && result.response.status === 200
            ? (JSON.parse(result.response.body) as {
                cases: Record<string, unknown>;
                missing: string[];
                unavailable: string[];
              })
            : undefined;
        deps.metrics.forwarded.inc({ outcome: answer ? 'ok' : 'failed' });
        if (!answer) unavailable.push(...group);
        else {
          Object.assign(cases, answer.cases);
          missing.push(...answer.missing);
          unavailable.push(...answer.unavailable);
        }
      }),
    );
    void reply.header('x-served-by', deps.instanceId);
    if (unavailable.length > 0) void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    return reply.send({ cases, missing: missing.sort(), unavailable: unavailable.sort() });
  });
}
