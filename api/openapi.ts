/**
 * The OpenAPI 3.1 document of the query API, built from the same JSON Schemas the processors validate and emit
 * (passed in, so the document cannot drift from the contracts), and its interactive UI (Swagger UI at /docs,
 * served from this process, no CDN).
 */
import { describeEverything } from './openapi-docs.js';
import { ID_PATTERN } from './params.js';
import { MAX_BATCH } from './case-routes.js';
import { LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT } from './case-list-routes.js';
import { deadLetterSchema, dlqPaths } from './dlq-openapi.js';

export interface ApiSchemas {
  /** JSON Schema of the case record (the `urp-case-sync` value). */
  readonly caseRecord: object;
  /** JSON Schema of one history entry. */
  readonly historyEntry: object;
  /** JSON Schema of a dead-letter record (default: any object). */
  readonly dlqRecord?: object;
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
  return describeEverything(
    {
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
        schemas: {
          Error: errorSchema,
          Readiness: {
            type: 'object',
            required: ['ready', 'state', 'instance'],
            properties: {
              ready: { type: 'boolean' },
              state: { type: 'string' },
              instance: { type: 'string' },
            },
          },
          CaseRecord: schemas.caseRecord,
          HistoryEntry: schemas.historyEntry,
          DlqRecord: schemas.dlqRecord ?? { type: 'object' },
          DeadLetter: deadLetterSchema,
        },
      },
      security: [{ bearer: [] }],
      paths: {
        '/cases': {
          get: {
            summary: 'Every case of the group in urpCaseId order, filtered, paged with a cursor',
            description:
              'The instance asked merges the parts of every instance (each lists its own partitions). If an ' +
              'owner cannot be reached or a partition is moving, the answer is 503 with Retry-After (never a ' +
              'partial page), unless allowStale=true and a standby copy can stand in.',
            parameters: [
              {
                name: 'status',
                in: 'query',
                required: false,
                description: 'Comma-separated statuses to keep, e.g. OPEN,CLOSED',
                schema: { type: 'string', pattern: '^[A-Z_]+(,[A-Z_]+)*$' },
              },
              {
                name: 'updatedSince',
                in: 'query',
                required: false,
                description:
                  'Keep cases whose updatedAt is at or after this ISO-8601 date or date-time (with zone)',
                schema: { type: 'string', format: 'date-time' },
              },
              {
                name: 'limit',
                in: 'query',
                required: false,
                schema: { type: 'integer', minimum: 1, maximum: LIST_MAX_LIMIT, default: LIST_DEFAULT_LIMIT },
              },
              {
                name: 'cursor',
                in: 'query',
                required: false,
                description: 'nextCursor of the previous page (opaque); absent for the first page',
                schema: { type: 'string', pattern: '^[A-Za-z0-9_-]+$' },
              },
              allowStale,
            ],
            responses: {
              '200': {
                description: 'A page of cases; nextCursor is null after the last page',
                headers: served,
                ...json({
                  type: 'object',
                  required: ['items', 'nextCursor'],
                  properties: {
                    items: { type: 'array', items: { $ref: '#/components/schemas/CaseRecord' } },
                    nextCursor: { type: ['string', 'null'] },
                  },
                }),
              },
              '400': keyed['400'],
              '401': keyed['401'],
              '503': keyed['503'],
            },
          },
        },
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
                description:
                  'Found cases by id; ids with no case; ids whose partition is moving (retry them)',
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
        ...dlqPaths,
        '/healthz': {
          get: {
            summary: 'Liveness (no auth)',
            security: [],
            responses: {
              '200': {
                description: 'alive',
                content: {
                  'application/json': {
                    schema: {
                      type: 'object',
                      required: ['status', 'instance'],
                      properties: { status: { const: 'ok' }, instance: { type: 'string' } },
                    },
                    example: { status: 'ok', instance: 'urp-case-sync-0' },
                  },
                },
              },
            },
          },
        },
        '/readyz': {
          get: {
            summary: "Readiness (no auth): 200 once this instance's active tasks are restored and running",
            security: [],
            responses: {
              '200': {
                description: 'ready',
                content: {
                  'application/json': {
                    schema: { $ref: '#/components/schemas/Readiness' },
                    example: { ready: true, state: 'running', instance: 'urp-case-sync-0' },
                  },
                },
              },
              '503': {
                description: 'starting, restoring or rebalancing (not an error body: the same shape as 200)',
                content: {
                  'application/json': {
                    schema: { $ref: '#/components/schemas/Readiness' },
                    example: { ready: false, state: 'rebalancing', instance: 'urp-case-sync-0' },
                  },
                },
              },
            },
          },
        },
        '/metrics': {
          get: {
            summary: 'Prometheus metrics',
            responses: {
              '200': {
                description: 'Prometheus text exposition format',
                content: {
                  'text/plain': {
                    schema: { type: 'string' },
                    example:
                      '# TYPE usc_api_request_duration_seconds histogram\n' +
                      'usc_api_request_duration_seconds_count{method="GET",route="/cases/:urpCaseId",status="200"} 1\n',
                  },
                },
              },
            },
          },
        },
        '/topology': {
          get: {
            summary:
              'Topology description and Mermaid diagram (JSON; as a picture in a browser: /topology/view)',
            responses: {
              '200': {
                description: 'The text description and the Mermaid flowchart source of the topology',
                content: {
                  'application/json': {
                    schema: {
                      type: 'object',
                      required: ['description', 'mermaid'],
                      properties: { description: { type: 'string' }, mermaid: { type: 'string' } },
                    },
                    example: {
                      description: 'Sub-topology: 0\n  Source: ucm-source (topics: [ucm.case.events])\n',
                      mermaid:
                        'flowchart LR\n  subgraph sub0["Sub-topology 0"]\n    n_ucm_source(["source: ucm-source"])\n  end\n',
                    },
                  },
                },
              },
            },
          },
        },
        '/topology/view': {
          get: {
            summary:
              'HTML page drawing the topology (no auth for the page; it asks for the token to fetch /topology)',
            security: [],
            responses: {
              '200': { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } },
            },
          },
        },
        '/instances': {
          get: {
            summary: 'Members of the group with active/standby tasks and lag',
            responses: {
              '200': {
                description:
                  'Each member from the owner map; reachable members with their own view of tasks and lag',
                content: {
                  'application/json': {
                    schema: {
                      type: 'object',
                      required: ['self', 'state', 'members'],
                      properties: {
                        self: { type: 'string' },
                        state: { type: 'string' },
                        members: {
                          type: 'array',
                          items: {
                            type: 'object',
                            required: ['instanceId', 'url', 'active', 'standby', 'reachable'],
                            properties: {
                              instanceId: { type: 'string' },
                              url: { type: 'string' },
                              active: { type: 'array', items: { type: 'string' } },
                              standby: { type: 'array', items: { type: 'string' } },
                              reachable: { type: 'boolean' },
                              tasks: { type: 'object' },
                            },
                          },
                        },
                      },
                    },
                    example: {
                      self: 'urp-case-sync-0',
                      state: 'running',
                      members: [
                        {
                          instanceId: 'urp-case-sync-0',
                          url: 'http://urp-case-sync-0:8080',
                          active: ['0_0'],
                          standby: ['0_1'],
                          reachable: true,
                          tasks: {
                            active: [{ id: '0_0', state: 'running', lag: 0 }],
                            standby: [{ id: '0_1', lag: 3 }],
                          },
                        },
                      ],
                    },
                  },
                },
              },
            },
          },
        },
        '/openapi.json': {
          get: {
            summary: 'This document (no auth; rendered by Swagger UI at /docs)',
            security: [],
            responses: {
              '200': {
                description: 'OpenAPI 3.1',
                content: { 'application/json': { schema: { type: 'object' } } },
              },
            },
          },
        },
      },
    },
    keyed['401'],
  );
}
