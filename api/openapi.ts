/**
 * The OpenAPI 3.1 document of the query API, built from the same JSON Schemas the processors validate and emit
 * (passed in, so the document cannot drift from the contracts), and a dependency-free HTML page rendering it.
 */
import { ID_PATTERN } from './params.js';
import { MAX_BATCH } from './case-routes.js';

export interface ApiSchemas {
  /** JSON Schema of the case record (the `urp-case-sync` value). */
  readonly caseRecord: object;
  /** JSON Schema of one history entry. */
  readonly historyEntry: object;
}

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string', pattern: '^USC_ERR_API_' }, message: { type: 'string' } },
    },
  },
};

const id = (name: string, what: string) => ({
  name,
  in: 'path',
  required: true,
  description: what,
  schema: { type: 'string', pattern: ID_PATTERN },
});
const allowStale = {
  name: 'allowStale',
  in: 'query',
  required: false,
  description:
    'While the partition moves or restores, let a standby copy answer (x-stale: true, x-stale-lag).',
  schema: { type: 'boolean', default: false },
};
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const err = (description: string) => ({ description, ...json({ $ref: '#/components/schemas/Error' }) });
const keyed = {
  '400': err('A parameter or the URL is invalid (USC_ERR_API_BAD_REQUEST)'),
  '401': err('Missing or wrong bearer token (USC_ERR_API_UNAUTHORIZED)'),
  '404': err('No such case (USC_ERR_API_NOT_FOUND)'),
  '414': err('A path parameter is longer than 256 characters (USC_ERR_API_URI_TOO_LONG)'),
  '503': {
    ...err(
      'The partition is moving or restoring (USC_ERR_API_UNAVAILABLE), or its owner did not answer ' +
        '(USC_ERR_API_FORWARD_FAILED); retry after Retry-After seconds',
    ),
    headers: { 'Retry-After': { schema: { type: 'integer' } } },
  },
};
const served = {
  'x-served-by': { description: 'Instance that answered', schema: { type: 'string' } },
  'x-stale': { description: 'Present (true) when a standby copy answered', schema: { type: 'string' } },
};

export function openApiDocument(schemas: ApiSchemas, version: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'urp-case-sync query API',
      version,
      description:
        'Latest UCMv2 case id and status of each URP case. Any instance answers any key: the owner of the ' +
        "key's partition answers, others forward once. Authorization: Bearer <API_TOKEN> when configured. " +
        'Every error, on any path, is {"error": {"code", "message"}} with a USC_ERR_API_* code: also 408 ' +
        '(USC_ERR_API_REQUEST_TIMEOUT) and 431 (USC_ERR_API_HEADERS_TOO_LARGE, request line and headers over ' +
        '16 KiB), after which the connection is closed.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: errorSchema, CaseRecord: schemas.caseRecord, HistoryEntry: schemas.historyEntry },
    },
    security: [{ bearer: [] }],
    paths: {
      '/cases/{urpCaseId}': {
        get: {
          summary: 'The case record of a URP case',
          parameters: [id('urpCaseId', 'URP case id'), allowStale],
          responses: {
            '200': {
              description: 'The case',
              headers: served,
              ...json({ $ref: '#/components/schemas/CaseRecord' }),
            },
            ...keyed,
          },
        },
      },
      '/cases/{urpCaseId}/history': {
        get: {
          summary: 'The timeline of accepted events of a case, oldest first (paged)',
          parameters: [
            id('urpCaseId', 'URP case id'),
            { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
            {
              name: 'limit',
              in: 'query',
              schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            },
            allowStale,
          ],
          responses: {
            '200': {
              description: 'A page of the history',
              ...json({
                type: 'object',
                properties: {
                  urpCaseId: { type: 'string' },
                  total: { type: 'integer' },
                  offset: { type: 'integer' },
                  limit: { type: 'integer' },
                  entries: { type: 'array', items: { $ref: '#/components/schemas/HistoryEntry' } },
                },
              }),
            },
            ...keyed,
          },
        },
      },
      '/cases/by-ucm/{ucmCaseId}': {
        get: {
          summary: 'The URP case linked to a UCM case id',
          parameters: [id('ucmCaseId', 'UCMv2 case id'), allowStale],
          responses: {
            '200': { description: 'The case', ...json({ $ref: '#/components/schemas/CaseRecord' }) },
            ...keyed,
          },
        },
      },
      '/cases/lookup': {
        post: {
          summary: `Up to ${MAX_BATCH} cases in one request (fanned out to their owners)`,
          parameters: [allowStale],
          requestBody: json({
            type: 'object',
            required: ['ids'],
            properties: {
              ids: {
                type: 'array',
                minItems: 1,
                maxItems: MAX_BATCH,
                items: { type: 'string', pattern: ID_PATTERN },
              },
            },
          }),
          responses: {
            '200': {
              description: 'Found cases by id; ids with no case; ids whose partition is moving (retry them)',
              ...json({
                type: 'object',
                properties: {
                  cases: {
                    type: 'object',
                    additionalProperties: { $ref: '#/components/schemas/CaseRecord' },
                  },
                  missing: { type: 'array', items: { type: 'string' } },
                  unavailable: { type: 'array', items: { type: 'string' } },
                },
              }),
            },
            '400': err('The body is not valid JSON or its ids are invalid (USC_ERR_API_BAD_REQUEST)'),
            '401': keyed['401'],
            '413': err('The body is larger than 256 KiB (USC_ERR_API_PAYLOAD_TOO_LARGE)'),
            '415': err('The body is not application/json (USC_ERR_API_UNSUPPORTED_MEDIA_TYPE)'),
          },
        },
      },
      '/healthz': {
        get: { summary: 'Liveness (no auth)', security: [], responses: { '200': { description: 'alive' } } },
      },
      '/readyz': {
        get: {
          summary: "Readiness (no auth): 200 once this instance's active tasks are restored and running",
          security: [],
          responses: {
            '200': { description: 'ready' },
            '503': { description: 'starting, restoring or rebalancing' },
          },
        },
      },
      '/metrics': {
        get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text exposition' } } },
      },
      '/topology': {
        get: {
          summary: 'Topology description and Mermaid diagram',
          responses: { '200': { description: 'ok' } },
        },
      },
      '/instances': {
        get: {
          summary: 'Members of the group with active/standby tasks and lag',
          responses: { '200': { description: 'ok' } },
        },
      },
      '/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'ok' } } } },
    },
  };
}

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** A self-contained HTML page listing the operations (no external scripts). */
export function docsPage(doc: Record<string, unknown>): string {
  const paths = doc.paths as Record<string, Record<string, { summary?: string }>>;
  const rows = Object.entries(paths)
    .flatMap(([path, ops]) =>
      Object.entries(ops).map(
        ([method, op]) =>
          `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${escape(path)}</code></td><td>${escape(op.summary ?? '')}</td></tr>`,
      ),
    )
    .join('\n');
  const info = doc.info as { title: string; description: string };
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escape(info.title)}</title></head>
<body><h1>${escape(info.title)}</h1><p>${escape(info.description)}</p>
<p>Machine-readable: <a href="openapi.json">openapi.json</a></p>
<table border="1" cellpadding="4"><tr><th>method</th><th>path</th><th>what</th></tr>
${rows}
</table></body></html>`;
}
