/**
 * The `/cases` part of the OpenAPI document (openapi.ts spreads it into its paths): the case list, one case by
 * URP or UCM id, its history and the batch lookup, with their parameters, answers and error codes; also the error
 * responses every keyed case route shares, whose 401 is the document's default for secured operations.
 */
import { ID_PATTERN } from './params.js';
import { MAX_BATCH } from './case-routes.js';
import { LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT } from './case-list-routes.js';

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

/** The error responses of a route keyed by a case id (its 401 is also the default of every secured route). */
export const keyed = {
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

/** The `/cases` paths, built afresh for each document. */
export function casePaths(): Record<string, unknown> {
  return {
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
  };
}
