/**
 * GET /cases: every case of the group in urpCaseId order, paged with an opaque cursor.
 *
 * The instance asked (the coordinator) lists its own running active tasks' `cases` stores and asks every other
 * instance of the owner map for its part (an internal request carrying the loop-guard header, answered locally
 * and never fanned out again), each for up to `limit` matching cases after the cursor; it merges them in key
 * order and keeps the first `limit`. Every task of the case store must be covered by a running active copy, or
 * with `allowStale=true` by a standby copy (here or elsewhere); otherwise the answer is 503 + Retry-After, never a
 * silently partial page.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type {
  CaseListEntry,
  CaseListQuery,
  CaseStoresView,
  InstanceInfo,
  QueryableStreams,
} from './api-contracts.js';
import type { ReadOnlyKeyValueStore } from '../stores/contracts.js';
import { sendError } from './api-errors.js';
import type { ApiMetrics } from './api-metrics.js';
import { FORWARDED_HEADER, type Forwarder } from './forwarder.js';
import { parseBool, parseId, parseIntParam, type ParamResult } from './params.js';

export const LIST_MAX_LIMIT = 500;
export const LIST_DEFAULT_LIMIT = 50;
const RETRY_AFTER_SECONDS = 1;
const TASK_ID = /^\d{1,9}_\d{1,9}$/;
const STATUS_WORD = /^[A-Z][A-Z_]{0,31}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/;

export interface CaseListDeps {
  readonly streams: QueryableStreams;
  readonly view: CaseStoresView;
  readonly forwarder: Forwarder;
  readonly instanceId: string;
  readonly selfUrl: string;
  readonly metrics: ApiMetrics;
}

/** One instance's part of a listing (the internal answer between instances). */
export interface LocalCaseList {
  readonly instanceId: string;
  /** Tasks of the case store this part covers; stale: from a standby (or restoring) copy. */
  readonly tasks: readonly { readonly id: string; readonly stale: boolean; readonly lag: number }[];
  /** Up to `limit` matching cases after `after`, in urpCaseId order. */
  readonly entries: readonly CaseListEntry[];
  /** More matching cases follow the last entry. */
  readonly more: boolean;
}

/** The opaque cursor of a page: the last urpCaseId, base64url. */
export function encodeCursor(urpCaseId: string): string {
  return Buffer.from(urpCaseId, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: unknown): ParamResult<string> {
  const bad = { ok: false, message: 'cursor must be a nextCursor returned by GET /cases' } as const;
  if (typeof cursor !== 'string' || !/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return bad;
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!parseId('cursor', id).ok || encodeCursor(id) !== cursor) return bad;
  return { ok: true, value: id };
}

/** Orders keys as the stores do (UTF-8 bytes) and drops repeated keys (a task answered twice while it moves). */
export function mergeEntries(lists: readonly (readonly CaseListEntry[])[]): CaseListEntry[] {
  const all = lists.flat().map((e) => ({ e, k: Buffer.from(e.urpCaseId, 'utf8') }));
  all.sort((x, y) => Buffer.compare(x.k, y.k));
  return all.filter((x, i) => i === 0 || !all[i - 1]!.k.equals(x.k)).map((x) => x.e);
}

const subtopologyOf = (taskId: string) => taskId.slice(0, taskId.lastIndexOf('_'));

interface ListParams {
  readonly query: Omit<CaseListQuery, 'limit'> & { readonly limit: number };
  readonly allowStale: boolean;
  /** Internal requests: the tasks asked for (standby copies allowed with allowStale); default: running actives. */
  readonly tasks?: readonly string[];
}

function parseStatuses(
  raw: unknown,
  allowed: readonly string[] | undefined,
): ParamResult<Set<string> | undefined> {
  if (raw === undefined || raw === '') return { ok: true, value: undefined };
  const parts = (Array.isArray(raw) ? raw : [raw]).flatMap((v) =>
    typeof v === 'string' ? v.split(',') : [null],
  );
  const what = allowed ? `one or more of ${allowed.join(', ')}` : 'one or more upper-case statuses';
  const message = `status must be a comma-separated list of ${what}`;
  if (parts.length === 0 || parts.length > 32) return { ok: false, message };
  for (const p of parts) {
    if (p === null || !STATUS_WORD.test(p) || (allowed && !allowed.includes(p)))
      return { ok: false, message };
  }
  return { ok: true, value: new Set(parts as string[]) };
}

function parseUpdatedSince(raw: unknown): ParamResult<number | undefined> {
  if (raw === undefined || raw === '') return { ok: true, value: undefined };
  const ms = typeof raw === 'string' && ISO_TIME.test(raw) ? Date.parse(raw) : NaN;
  if (!Number.isFinite(ms)) {
    return {
      ok: false,
      message: 'updatedSince must be an ISO-8601 date or date-time with a zone, e.g. 2026-01-31T12:00:00Z',
    };
  }
  return { ok: true, value: ms };
}

function parseTasks(raw: unknown): ParamResult<string[] | undefined> {
  if (raw === undefined || raw === '') return { ok: true, value: undefined };
  const ids = typeof raw === 'string' ? raw.split(',') : [];
  if (ids.length === 0 || ids.length > 10_000 || !ids.every((t) => TASK_ID.test(t))) {
    return { ok: false, message: 'tasks must be a comma-separated list of task ids' };
  }
  return { ok: true, value: ids };
}

export function registerCaseListRoutes(app: FastifyInstance, deps: CaseListDeps): void {
  const { streams, view, forwarder } = deps;

  /** The view's scan, or a generic one on the public record's `status` and `updatedAt`. */
  const scan =
    view.listCases?.bind(view) ??
    (async (store: ReadOnlyKeyValueStore<unknown, unknown>, q: CaseListQuery): Promise<CaseListEntry[]> => {
      const out: CaseListEntry[] = [];
      for await (const { key, value } of store.range(q.after)) {
        if (out.length >= q.limit) break;
        if (key === q.after) continue;
        const record = view.toRecord(value) as { status?: unknown; updatedAt?: unknown };
        if (q.statuses && !q.statuses.has(String(record.status))) continue;
        if (q.updatedSinceMs !== undefined && !(Date.parse(String(record.updatedAt)) >= q.updatedSinceMs))
          continue;
        out.push({ urpCaseId: key as string, record });
      }
      return out;
    });

  /** This instance's part: its running active tasks' case stores, or the tasks asked for. */
  async function listLocal(p: ListParams, tasks: readonly string[] | undefined): Promise<LocalCaseList> {
    const ids = tasks ?? streams.localTasks().active.map((t) => t.id);
    const covered: { id: string; stale: boolean; lag: number }[] = [];
    const lists: CaseListEntry[][] = [];
    for (const id of ids) {
      const copy = streams.localStore(view.caseStore, id, tasks !== undefined && p.allowStale);
      if (!copy.ok) continue;
      // One more than asked: tells whether more follow.
      lists.push(await scan(copy.store, { ...p.query, limit: p.query.limit + 1 }));
      covered.push({ id, stale: copy.kind !== 'active', lag: copy.lag });
    }
    const merged = mergeEntries(lists);
    return {
      instanceId: deps.instanceId,
      tasks: covered,
      entries: merged.slice(0, p.query.limit),
      more: merged.length > p.query.limit,
    };
  }

  /** Another instance's part, or why it could not be had. */
  async function listRemote(
    req: FastifyRequest,
    host: InstanceInfo,
    p: ListParams,
    tasks: readonly string[] | undefined,
  ): Promise<{ ok: true; part: LocalCaseList } | { ok: false; message: string }> {
    const qs = new URLSearchParams({ scope: 'local', limit: String(p.query.limit) });
    if (p.query.after !== undefined) qs.set('after', p.query.after);
    if (p.query.statuses) qs.set('status', [...p.query.statuses].join(','));
    if (p.query.updatedSinceMs !== undefined)
      qs.set('updatedSince', new Date(p.query.updatedSinceMs).toISOString());
    if (p.allowStale) qs.set('allowStale', 'true');
    if (tasks) qs.set('tasks', tasks.join(','));
    const result = await forwarder.forward({
      baseUrl: host.url,
      method: 'GET',
      path: `/cases?${qs.toString()}`,
      authorization: req.headers.authorization,
    });
    let part: LocalCaseList | undefined;
    if (result.ok && result.response.status === 200) {
      try {
        const body = JSON.parse(result.response.body) as Partial<LocalCaseList>;
        if (Array.isArray(body.tasks) && Array.isArray(body.entries)) part = body as LocalCaseList;
      } catch {
        part = undefined;
      }
    }
    deps.metrics.forwarded.inc({ outcome: part ? 'ok' : 'failed' });
    if (part) return { ok: true, part };
    const why = result.ok ? `answered ${result.response.status}` : result.message;
    return { ok: false, message: `instance ${host.instanceId} (${why})` };
  }

  function parseParams(req: FastifyRequest, internal: boolean): ParamResult<ListParams> {
    const q = req.query as Record<string, unknown>;
    const limit = parseIntParam('limit', q.limit, LIST_DEFAULT_LIMIT, 1, LIST_MAX_LIMIT);
    const statuses = parseStatuses(q.status, view.statuses);
    const since = parseUpdatedSince(q.updatedSince);
    const stale = parseBool('allowStale', q.allowStale);
    const after: ParamResult<string | undefined> = internal
      ? q.after === undefined
        ? { ok: true, value: undefined }
        : parseId('after', q.after)
      : q.cursor === undefined || q.cursor === ''
        ? { ok: true, value: undefined }
        : decodeCursor(q.cursor);
    const tasks = internal ? parseTasks(q.tasks) : { ok: true as const, value: undefined };
    for (const r of [limit, statuses, since, stale, after, tasks]) {
      if (!r.ok) return { ok: false, message: r.message };
    }
    if (!limit.ok || !statuses.ok || !since.ok || !stale.ok || !after.ok || !tasks.ok) {
      return { ok: false, message: 'invalid parameters' };
    }
    return {
      ok: true,
      value: {
        query: {
          limit: limit.value,
          ...(after.value !== undefined ? { after: after.value } : {}),
          ...(statuses.value ? { statuses: statuses.value } : {}),
          ...(since.value !== undefined ? { updatedSinceMs: since.value } : {}),
        },
        allowStale: stale.value,
        ...(tasks.value ? { tasks: tasks.value } : {}),
      },
    };
  }

  async function listAll(req: FastifyRequest, reply: FastifyReply, p: ListParams): Promise<FastifyReply> {
    const meta = streams.metadataForKey(view.caseStore, Buffer.from('urp', 'utf8'));
    if (!meta) {
      return sendError(
        reply,
        'USC_ERR_API_UNAVAILABLE',
        'the instance has not joined its group yet',
        RETRY_AFTER_SECONDS,
      );
    }
    const sub = subtopologyOf(meta.taskId);
    const ofCases = (ids: readonly string[]) => ids.filter((t) => subtopologyOf(t) === sub);
    const hosts = streams.hosts();
    if (hosts.length === 0) {
      // Without the owner map this instance cannot tell which partitions it would be missing.
      return sendError(
        reply,
        'USC_ERR_API_UNAVAILABLE',
        'the owner map of the group is not known yet',
        RETRY_AFTER_SECONDS,
      );
    }
    // Every task of the case store the owner map knows (as active or standby) must be covered.
    const expected = new Set([
      meta.taskId,
      ...hosts.flatMap((h) => [...ofCases(h.active), ...ofCases(h.standby)]),
    ]);
    const covered = new Map<string, { stale: boolean; lag: number }>();
    const lists: (readonly CaseListEntry[])[] = [];
    const failures: string[] = [];
    const unreachable = new Set<string>();
    let more = false;
    const absorb = (part: LocalCaseList) => {
      lists.push(part.entries);
      more ||= part.more;
      for (const t of part.tasks) if (!covered.has(t.id)) covered.set(t.id, { stale: t.stale, lag: t.lag });
    };
    const others = hosts.filter((h) => h.url !== deps.selfUrl);
    const [own, ...remote] = await Promise.all([
      listLocal(p, undefined),
      ...others
        .filter((h) => ofCases(h.active).length > 0)
        .map(async (h) => ({ h, r: await listRemote(req, h, p, undefined) })),
    ]);
    absorb(own!);
    for (const x of remote as { h: InstanceInfo; r: Awaited<ReturnType<typeof listRemote>> }[]) {
      if (x.r.ok) absorb(x.r.part);
      else {
        failures.push(x.r.message);
        unreachable.add(x.h.url);
      }
    }
    const missing = () => [...expected].filter((t) => !covered.has(t)).sort();
    if (missing().length > 0 && p.allowStale) {
      // Our own standby (or restoring) copies first, then standby copies elsewhere.
      absorb(await listLocal(p, missing()));
      const byHost = new Map<InstanceInfo, string[]>();
      for (const t of missing()) {
        const h = others.find((o) => !unreachable.has(o.url) && o.standby.includes(t));
        if (h) byHost.set(h, [...(byHost.get(h) ?? []), t]);
      }
      const parts = await Promise.all([...byHost].map(([h, tasks]) => listRemote(req, h, p, tasks)));
      for (const r of parts) {
        if (r.ok) absorb(r.part);
        else failures.push(r.message);
      }
    }
    const left = missing();
    if (left.length > 0) {
      const which = `tasks ${left.join(', ')} of the case store`;
      return failures.length > 0
        ? sendError(
            reply,
            'USC_ERR_API_FORWARD_FAILED',
            `${failures.join('; ')} did not answer: ${which} cannot be listed; retry`,
            RETRY_AFTER_SECONDS,
          )
        : sendError(
            reply,
            'USC_ERR_API_UNAVAILABLE',
            `${which} have no running owner right now (moving or restoring); retry`,
            RETRY_AFTER_SECONDS,
          );
    }
    const merged = mergeEntries(lists);
    const page = merged.slice(0, p.query.limit);
    const last = page[page.length - 1];
    const nextCursor =
      last && page.length === p.query.limit && (merged.length > p.query.limit || more)
        ? encodeCursor(last.urpCaseId)
        : null;
    void reply.header('x-served-by', deps.instanceId);
    const stale = [...covered.values()].filter((c) => c.stale);
    if (stale.length > 0) {
      void reply.header('x-stale', 'true');
      void reply.header('x-stale-lag', String(Math.max(...stale.map((c) => c.lag))));
    }
    return reply.send({ items: page.map((e) => e.record), nextCursor });
  }

  app.get('/cases', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const forwarded = req.headers[FORWARDED_HEADER] !== undefined;
    if (q.scope !== undefined && q.scope !== 'local' && q.scope !== 'all') {
      return sendError(reply, 'USC_ERR_API_BAD_REQUEST', 'scope must be all or local');
    }
    if (q.scope === 'local' && !forwarded) {
      return sendError(
        reply,
        'USC_ERR_API_BAD_REQUEST',
        'scope=local is used between instances only; list without it to get every case',
      );
    }
    // A request from another instance is answered from the local stores only (never fanned out again).
    const p = parseParams(req, forwarded);
    if (!p.ok) return sendError(reply, 'USC_ERR_API_BAD_REQUEST', p.message);
    if (forwarded) {
      void reply.header('x-served-by', deps.instanceId);
      return reply.send(await listLocal(p.value, p.value.tasks));
    }
    return listAll(req, reply, p.value);
  });
}
