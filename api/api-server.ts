/**
 * The interactive-query HTTP server (fastify). Wires auth, parameter validation, per-route latency metrics, the
 * case routes (local / forwarded / stale / 503) and the operational routes. Every error is `{ error: { code,
 * message } }`, also fastify's and Node's HTTP parser's (api-errors.ts); unexpected failures are logged with the
 * request id and answered without internals.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import Fastify, {
  type ConnectionError,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../topology/processor.js';
import type { CaseStoresView, DeadLetterSource, QueryableStreams, TopologyView } from './api-contracts.js';
import { answerClientError, httpErrorOf, sendError, type HttpLimits } from './api-errors.js';
import { createApiMetrics } from './api-metrics.js';
import { bearerMatches, isPublicPath } from './auth.js';
import { registerCaseListRoutes } from './case-list-routes.js';
import { registerCaseRoutes } from './case-routes.js';
import { registerConsolePage } from './console-page.js';
import { registerDlqRoutes } from './dlq-routes.js';
import { httpForwarder, type Forwarder } from './forwarder.js';
import { registerApiDocs } from './openapi-docs.js';
import { openApiDocument, type ApiSchemas } from './openapi.js';
import { registerOpsRoutes } from './ops-routes.js';

export interface ApiServerOptions {
  readonly streams: QueryableStreams;
  readonly view: CaseStoresView;
  readonly topology: TopologyView;
  readonly schemas: ApiSchemas;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly instanceId: string;
  /** This instance's advertised URL (what the owner map says). */
  readonly selfUrl: string;
  readonly apiToken?: string;
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  readonly version: string;
  readonly forwardTimeoutMs?: number;
  /** Injected for tests; default: fetch-based. */
  readonly forwarder?: Forwarder;
  /** Dead-letter access for `/dlq` (browse, show, replay); without it those routes do not exist. */
  readonly deadLetters?: DeadLetterSource;
}

export function createApiServer(opts: ApiServerOptions): FastifyInstance {
  const limits: HttpLimits = {
    bodyLimit: 256 * 1024,
    maxParamLength: 256,
    maxHeaderSize: http.maxHeaderSize,
  };
  // return503OnClosing: false: while the API closes (before the streams instance does) requests already on
  // keep-alive connections are still answered from the running stores, instead of fastify's bare 503 without
  // Retry-After; new connections are refused by then and clients go to another instance.
  // Errors raised before a route handler runs also answer in the documented shape: the router's (malformed URL,
  // over-long path parameter) through frameworkErrors, Node's HTTP parser's (headers too large, timeout) on the
  // raw socket through clientErrorHandler.
  const common = {
    logger: false,
    bodyLimit: limits.bodyLimit,
    routerOptions: { maxParamLength: limits.maxParamLength },
    return503OnClosing: false,
    frameworkErrors: (err: FastifyError, req: FastifyRequest, reply: FastifyReply) =>
      answerError(err, req, reply),
    clientErrorHandler: (err: ConnectionError, socket: Socket) => answerClientError(err, socket, limits),
  } as const;
  const app: FastifyInstance = opts.tls
    ? (Fastify({
        ...common,
        https: { cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) },
      }) as unknown as FastifyInstance)
    : Fastify(common);
  const metrics = createApiMetrics(opts.registry);
  const forwarder = opts.forwarder ?? httpForwarder(opts.instanceId, opts.forwardTimeoutMs ?? 5_000);
  const logger = opts.logger.child({ component: 'api' });

  app.addHook('onRequest', async (req, reply) => {
    if (!opts.apiToken || isPublicPath(req.url.split('?')[0]!)) return;
    if (!bearerMatches(req.headers.authorization, opts.apiToken)) {
      void reply.header('www-authenticate', 'Bearer');
      return sendError(reply, 'USC_ERR_API_UNAUTHORIZED', 'a valid bearer token is required');
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    metrics.requestSeconds.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, 'USC_ERR_API_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`),
  );
  function answerError(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
    const answer = httpErrorOf(err, limits);
    if (answer) return sendError(reply, answer.code, answer.message);
    logger.error({ err, reqId: req.id, url: req.url.split('?')[0] }, 'request failed; answered 503');
    return sendError(reply, 'USC_ERR_API_UNAVAILABLE', 'the request could not be served; retry', 1);
  }
  app.setErrorHandler((err, req, reply) => answerError(err, req, reply));

  registerCaseRoutes(app, {
    streams: opts.streams,
    view: opts.view,
    forwarder,
    instanceId: opts.instanceId,
    selfUrl: opts.selfUrl,
    metrics,
  });
  registerCaseListRoutes(app, { ...opts, forwarder, metrics });
  registerOpsRoutes(app, {
    streams: opts.streams,
    registry: opts.registry,
    topology: opts.topology,
    forwarder,
    instanceId: opts.instanceId,
    selfUrl: opts.selfUrl,
  });
  if (opts.deadLetters) {
    registerDlqRoutes(app, { deadLetters: opts.deadLetters, instanceId: opts.instanceId });
  }
  const doc = openApiDocument(opts.schemas, opts.version);
  // Public (auth.ts): the document holds no data; Swagger UI at /docs, its "Try it out" sends the bearer token.
  registerApiDocs(app, doc);
  registerConsolePage(app); // public page (auth.ts); its data comes from the JSON routes with the token
  return app;
}
