/**
 * The `/dlq` part of the OpenAPI document (openapi.ts spreads it into its paths): browse, show and replay dead
 * letters, with their parameters, answers and error codes. The dead-letter record's own schema is the contract's
 * (`dlqRecordSchema`, passed to openApiDocument as `schemas.dlqRecord` and referenced as DlqRecord).
 */
import { MAX_DLQ_PAGE } from '../processors/domain/dlq-query.js';
import { DLQ_CATEGORIES } from '../processors/domain/event-contract.js';
import { MAX_REPLAY_REFS } from './dlq-routes.js';
import { ID_PATTERN } from './params.js';

const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const err = (description: string) => ({ description, ...json({ $ref: '#/components/schemas/Error' }) });

const REF_PATTERN = '^\\d{1,9}:\\d{1,19}$';
export /** A dead letter with its place in the DLQ topic (an item of GET /dlq, the answer of GET /dlq/{ref}). */
const deadLetterSchema = {
  type: 'object',
  required: ['ref', 'partition', 'offset', 'record'],
  properties: {
    ref: { type: 'string', pattern: REF_PATTERN, description: '<partition>:<offset> in the DLQ topic' },
    partition: { type: 'integer', minimum: 0 },
    offset: { type: 'string', pattern: '^\\d+$' },
    record: { $ref: '#/components/schemas/DlqRecord' },
  },
};
const refList = { type: 'array', items: { type: 'string', pattern: REF_PATTERN } };
const dlqQuery = (name: string, description: string, schema: object) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});
const dlqErrors = {
  '401': err('Missing or wrong bearer token (USC_ERR_API_UNAUTHORIZED)'),
  '503': {
    ...err('The DLQ topic could not be read (USC_ERR_API_UNAVAILABLE); retry after Retry-After seconds'),
    headers: { 'Retry-After': { schema: { type: 'integer' } } },
  },
};

/** The `/dlq` paths (served only when the instance has dead-letter access, as the service always has). */
export const dlqPaths = {
  '/dlq': {
    get: {
      summary: 'Dead letters, newest first (by lastFailureAt), filtered and paged',
      parameters: [
        dlqQuery('category', `Comma-separated categories (any of them): ${DLQ_CATEGORIES.join(', ')}`, {
          type: 'string',
        }),
        dlqQuery('since', 'lastFailureAt at or after (ISO-8601 with a zone)', {
          type: 'string',
          format: 'date-time',
        }),
        dlqQuery('until', 'lastFailureAt before (ISO-8601 with a zone)', {
          type: 'string',
          format: 'date-time',
        }),
        dlqQuery('eventId', "The record's eventId (or its payload's)", {
          type: 'string',
          pattern: ID_PATTERN,
        }),
        dlqQuery('urpCaseId', "The payload's payload.urpCaseId", { type: 'string', pattern: ID_PATTERN }),
        dlqQuery('ucmCaseId', "The payload's payload.ucmCaseId", { type: 'string', pattern: ID_PATTERN }),
        dlqQuery('limit', 'Page size', { type: 'integer', minimum: 1, maximum: MAX_DLQ_PAGE, default: 50 }),
        dlqQuery('cursor', 'nextCursor of the previous page (the ref of its last item)', {
          type: 'string',
          pattern: REF_PATTERN,
        }),
      ],
      responses: {
        '200': {
          description: 'A page; nextCursor is null on the last one',
          ...json({
            type: 'object',
            required: ['items', 'nextCursor'],
            properties: {
              items: { type: 'array', items: { $ref: '#/components/schemas/DeadLetter' } },
              nextCursor: { oneOf: [{ type: 'string', pattern: REF_PATTERN }, { type: 'null' }] },
            },
          }),
        },
        '400': err(
          'A parameter is invalid or unknown, or the cursor names no dead letter (USC_ERR_API_BAD_REQUEST)',
        ),
        ...dlqErrors,
      },
    },
  },
  '/dlq/{ref}': {
    get: {
      summary: 'One dead letter, by its ref <partition>:<offset>',
      parameters: [
        {
          name: 'ref',
          in: 'path',
          required: true,
          description: '<partition>:<offset> in the DLQ topic',
          schema: { type: 'string', pattern: REF_PATTERN },
        },
      ],
      responses: {
        '200': { description: 'The dead letter', ...json({ $ref: '#/components/schemas/DeadLetter' }) },
        '400': err('The ref is not <partition>:<offset> (USC_ERR_API_BAD_REQUEST)'),
        '404': err('No dead letter at that ref (USC_ERR_API_NOT_FOUND)'),
        ...dlqErrors,
      },
    },
  },
  '/dlq/replay': {
    post: {
      summary:
        'Re-publish chosen dead letters to the input topic (as `urp-case-sync dlq replay --ref`); ' +
        'those not replay-eligible, without a payload or unknown are skipped',
      requestBody: json({
        type: 'object',
        required: ['refs'],
        properties: { refs: { ...refList, minItems: 1, maxItems: MAX_REPLAY_REFS } },
      }),
      responses: {
        '200': {
          description: 'What was re-published (ref, eventId, key) and what was skipped, with why',
          ...json({
            type: 'object',
            required: ['replayed', 'skipped'],
            properties: {
              replayed: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    ref: { type: 'string', pattern: REF_PATTERN },
                    eventId: { oneOf: [{ type: 'string' }, { type: 'null' }] },
                    key: { oneOf: [{ type: 'string' }, { type: 'null' }] },
                  },
                },
              },
              skipped: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { ref: { type: 'string' }, reason: { type: 'string' } },
                },
              },
            },
          }),
        },
        '400': err('The body is not valid JSON or its refs are invalid (USC_ERR_API_BAD_REQUEST)'),
        '413': err('The body is larger than 256 KiB (USC_ERR_API_PAYLOAD_TOO_LARGE)'),
        '415': err('The body is not application/json (USC_ERR_API_UNSUPPORTED_MEDIA_TYPE)'),
        ...dlqErrors,
      },
    },
  },
};
