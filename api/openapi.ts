/**
 * The OpenAPI 3.1 document of the query API, built from the same JSON Schemas the processors validate and emit
 * (passed in, so the document cannot drift from the contracts). Its paths come from case-openapi.ts (`/cases`),
 * dlq-openapi.ts (`/dlq`) and ops-openapi.ts (health, metrics, topology, instances, this document); its
 * interactive UI (Swagger UI at /docs, served from this process, no CDN) is openapi-docs.ts.
 */
import { describeEverything } from './openapi-docs.js';
import { casePaths, keyed } from './case-openapi.js';
import { deadLetterSchema, dlqPaths } from './dlq-openapi.js';
import { opsPaths } from './ops-openapi.js';

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
        ...casePaths(),
        ...dlqPaths,
        ...opsPaths(),
      },
    },
    keyed['401'],
  );
}
