/**
 * Dead-letter routes: browse (`GET /dlq`, filtered and paged, newest first), one record (`GET /dlq/:ref`) and
 * replay of chosen records (`POST /dlq/replay`). The DLQ is reached only through the injected
 * {@link DeadLetterSource}; parameters are validated here with the same rules as `urp-case-sync dlq list`
 * (processors/domain/dlq-query.ts) and refused with a 400 naming the parameter. Any instance answers: the DLQ is
 * a topic, not a partitioned store, so nothing is forwarded.
 */
import type { FastifyInstance } from 'fastify';
import { MAX_DLQ_PAGE, parseDlqQuery, parseRef } from '../processors/domain/dlq-query.js';
import type { DeadLetterSource } from './api-contracts.js';
import { sendError } from './api-errors.js';

/** Most refs one `POST /dlq/replay` takes. */
export const MAX_REPLAY_REFS = 500;

/** The query parameters `GET /dlq` takes. */
export const DLQ_QUERY_PARAMS: ReadonlySet<string> = new Set([
  'category',
  'since',
  'until',
  'eventId',
  'urpCaseId',
  'ucmCaseId',
  'limit',
  'cursor',
]);

export interface DlqRouteDeps {
  readonly deadLetters: DeadLetterSource;
  readonly instanceId: string;
}

export function registerDlqRoutes(app: FastifyInstance, deps: DlqRouteDeps): void {
  const { deadLetters } = deps;

  app.get('/dlq', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const unknown = Object.keys(q).filter((k) => !DLQ_QUERY_PARAMS.has(k));
    if (unknown.length > 0) {
      return sendError(
        reply,
        'USC_ERR_API_BAD_REQUEST',
        `unknown query parameter(s): ${unknown.slice(0, 5).join(', ')}; known: ${[...DLQ_QUERY_PARAMS].join(', ')}`,
      );
    }
    const single = ['since', 'until', 'eventId', 'urpCaseId', 'ucmCaseId', 'limit', 'cursor'].find((k) =>
      Array.isArray(q[k]),
    );
    if (single) return sendError(reply, 'USC_ERR_API_BAD_REQUEST', `${single} may be given only once`);
    const query = parseDlqQuery(q, { defaultLimit: 50, maxLimit: MAX_DLQ_PAGE });
    if (!query.ok) return sendError(reply, 'USC_ERR_API_BAD_REQUEST', query.message);
    const page = await deadLetters.list(query.value);
    if (!page.ok) return sendError(reply, 'USC_ERR_API_BAD_REQUEST', page.message);
    void reply.header('x-served-by', deps.instanceId);
    return reply.send({ items: page.value.items, nextCursor: page.value.nextCursor });
  });

  app.get('/dlq/:ref', async (req, reply) => {
    const ref = parseRef('ref', (req.params as Record<string, unknown>).ref);
    if (!ref.ok) return sendError(reply, 'USC_ERR_API_BAD_REQUEST', ref.message);
    const letter = await deadLetters.get(ref.value);
    if (!letter) return sendError(reply, 'USC_ERR_API_NOT_FOUND', `no dead letter at ${ref.value.ref}`);
    void reply.header('x-served-by', deps.instanceId);
    return reply.send(letter);
  });

  app.post('/dlq/replay', async (req, reply) => {
    const body = req.body as { refs?: unknown } | undefined;
    const refs = body?.refs;
    if (!Array.isArray(refs) || refs.length === 0 || refs.length > MAX_REPLAY_REFS) {
      return sendError(
        reply,
        'USC_ERR_API_BAD_REQUEST',
        `refs must be an array of 1-${MAX_REPLAY_REFS} dead-letter refs <partition>:<offset>`,
      );
    }
    const parsed: string[] = [];
    for (const [i, raw] of refs.entries()) {
      const ref = parseRef(`refs[${i}]`, raw);
      if (!ref.ok) return sendError(reply, 'USC_ERR_API_BAD_REQUEST', ref.message);
      parsed.push(ref.value.ref);
    }
    const outcome = await deadLetters.replay([...new Set(parsed)]);
    void reply.header('x-served-by', deps.instanceId);
    return reply.send({ replayed: outcome.replayed, skipped: outcome.skipped });
  });
}
