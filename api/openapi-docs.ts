/**
 * The OpenAPI document as people read it: every operation enriched (descriptions, examples, error codes) and served
 * with Swagger UI from this process (no CDN). The document itself is built in openapi.ts.
 */
import fastifySwagger, { type StaticDocumentSpec } from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { ERROR_CODES, type ErrorCode } from '../common/errors.js';

/*
 * Enrichment of the whole document, applied once to every operation (also those added later), so that Swagger UI
 * shows a description and an example for each parameter and each error response:
 * - a parameter without `description` or `example` gets one from the tables below (by name; among several
 *   candidate examples the first matching the parameter's pattern, else the schema default);
 * - an error response (schema `Error`) names its USC_ERR_API_* codes in its description; the schema narrows
 *   `code` to those and the response gets one example per code (message: common/errors.ts's meaning);
 * - an operation that needs the token and does not list 401 gets it.
 */
const PARAM_DESCRIPTIONS: Readonly<Record<string, string>> = {
  offset: 'Entries to skip from the start (0 = the oldest)',
  limit: 'Page size',
};
const PARAM_EXAMPLES: Readonly<Record<string, readonly unknown[]>> = {
  urpCaseId: ['URP-000123'],
  ucmCaseId: ['UCM-2024-0042'],
  eventId: ['evt-7f3c2a'],
  ref: ['0:42'],
  cursor: ['0:42', 'VVJQLTAwMDEyMw'],
  status: ['OPEN,IN_PROGRESS'],
  category: ['SCHEMA_INVALID'],
  since: ['2026-01-01T00:00:00Z'],
  until: ['2026-02-01T00:00:00Z'],
  updatedSince: ['2026-01-01T00:00:00Z'],
};

interface ParameterObject {
  name: string;
  description?: string;
  example?: unknown;
  schema?: { pattern?: string; default?: unknown };
}
interface ResponseObject {
  description: string;
  content?: Record<string, { schema?: Record<string, unknown>; examples?: Record<string, unknown> }>;
}
interface OperationObject {
  security?: unknown[];
  parameters?: ParameterObject[];
  responses: Record<string, ResponseObject>;
}

const API_CODE = /USC_ERR_API_[A-Z_]+/g;
const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CODES, code);

function exampleFor(p: ParameterObject): unknown {
  const pattern = p.schema?.pattern === undefined ? undefined : new RegExp(p.schema.pattern);
  const fits = (v: unknown) => pattern === undefined || (typeof v === 'string' && pattern.test(v));
  return (PARAM_EXAMPLES[p.name] ?? []).find(fits) ?? p.schema?.default;
}

/** The error response for `description`, with its codes as the schema's enum and one example each. */
function describeError(response: ResponseObject): ResponseObject {
  const media = response.content?.['application/json'];
  if (media?.schema?.$ref !== '#/components/schemas/Error') return response;
  const codes = [...new Set(response.description.match(API_CODE) ?? [])].filter(isErrorCode);
  if (codes.length === 0) return response;
  const schema = {
    allOf: [
      { $ref: '#/components/schemas/Error' },
      { properties: { error: { properties: { code: { enum: codes } } } } },
    ],
  };
  const examples = Object.fromEntries(
    codes.map((code) => [
      code,
      { summary: ERROR_CODES[code], value: { error: { code, message: ERROR_CODES[code] } } },
    ]),
  );
  return { ...response, content: { ...response.content, 'application/json': { schema, examples } } };
}

function describeOperation(op: OperationObject, unauthorized: ResponseObject): OperationObject {
  const parameters = op.parameters?.map((p) => {
    const description = p.description ?? PARAM_DESCRIPTIONS[p.name];
    const example = p.example ?? exampleFor(p);
    return {
      ...p,
      ...(description === undefined ? {} : { description }),
      ...(example === undefined ? {} : { example }),
    };
  });
  const secured = op.security === undefined || op.security.length > 0;
  const responses = Object.fromEntries(
    Object.entries({
      ...op.responses,
      ...(secured && !op.responses['401'] ? { '401': unauthorized } : {}),
    }).map(([status, r]) => [status, describeError(r)]),
  );
  return { ...op, ...(parameters === undefined ? {} : { parameters }), responses };
}

export function describeEverything(
  doc: Record<string, unknown>,
  unauthorized: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const paths = doc.paths as Record<string, Record<string, OperationObject>>;
  const described = Object.fromEntries(
    Object.entries(paths).map(([path, ops]) => [
      path,
      Object.fromEntries(
        Object.entries(ops).map(([method, op]) => [
          method,
          describeOperation(op, unauthorized as unknown as ResponseObject),
        ]),
      ),
    ]),
  );
  return { ...doc, paths: described };
}

/**
 * Serves the document at `/openapi.json` and Swagger UI at `/docs` (its assets under `/docs/static/`, the document
 * again at `/docs/json`), all from this process: no CDN. These paths are public (auth.ts); "Authorize" in the UI
 * takes the bearer token that "Try it out" then sends. Call before the server starts.
 */
export function registerApiDocs(app: FastifyInstance, doc: Record<string, unknown>): void {
  app.get('/openapi.json', async () => doc);
  void app.register(fastifySwagger, {
    mode: 'static',
    specification: { document: doc as unknown as StaticDocumentSpec['document'] },
  });
  void app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    theme: { title: 'urp-case-sync query API' },
    uiConfig: { deepLinking: true, displayRequestDuration: true, persistAuthorization: false },
  });
}
