/**
 * Every HTTP error of the API answers in the documented shape `{"error": {"code", "message"}}` with a
 * USC_ERR_API_* code and the status that code documents: the API's own errors, fastify's (body parsing, body
 * limit, content type), its router's (malformed URL, over-long path parameter) and those of Node's HTTP parser,
 * which answers before fastify sees a request (headers too large, timeout, not HTTP): the latter over a real
 * socket.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../common/errors.js';
import { silentLogger } from '../../../common/logger.js';
import { createApiServer } from '../../../api/index.js';
import type { QueryableStreams } from '../../../api/api-contracts.js';
import { answerClientError, statusOf, type ApiErrorCode } from '../../../api/api-errors.js';

const streams: QueryableStreams = {
  state: 'running',
  isReady: () => true,
  metadataForKey: () => ({ partition: 0, taskId: '0_0', active: undefined, standbys: [] }),
  localStore: () => ({ ok: false, reason: 'restoring' }),
  localTasks: () => ({ active: [], standby: [] }),
  hosts: () => [],
};

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

function server(apiToken?: string) {
  const app = createApiServer({
    streams,
    view: {
      caseStore: 'cases',
      historyStore: 'history',
      indexStore: 'index',
      toRecord: (v) => v,
      readHistory: async () => undefined,
      indexTarget: (v) => String(v),
    },
    topology: { describe: () => '', describeMermaid: () => '' },
    schemas: { caseRecord: { type: 'object' }, historyEntry: { type: 'object' } },
    registry: new Registry(),
    logger: silentLogger,
    instanceId: 'i1',
    selfUrl: 'http://i1:8080',
    version: 'test',
    apiToken,
    forwarder: { forward: async () => ({ ok: false, message: 'unreachable' }) },
  });
  apps.push(app);
  return app;
}

/** Asserts the documented shape: exactly `{ error: { code, message } }`, a known API code and its status. */
function expectShape(status: number, body: unknown, code: ApiErrorCode, what: string): void {
  expect(body, what).toEqual({ error: { code, message: expect.any(String) } });
  expect(Object.keys(ERROR_CODES), what).toContain(code);
  expect(status, what).toBe(statusOf(code));
  expect((body as { error: { message: string } }).error.message.length, what).toBeGreaterThan(0);
}

interface RawResponse {
  readonly status: number;
  readonly headers: string;
  readonly body: string;
}

/** Sends raw bytes over a real socket and reads until the server closes the connection. */
function rawRequest(port: number, request: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    // The server may close before it has read the whole request: the peer then sees a reset after the answer.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return reject(new Error(`no HTTP response: ${JSON.stringify(text.slice(0, 200))}`));
      const head = text.slice(0, split);
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1]),
        headers: head,
        body: text.slice(split + 4),
      });
    });
    socket.write(request);
  });
}

async function listening(apiToken?: string): Promise<number> {
  const app = server(apiToken);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return (app.server.address() as AddressInfo).port;
}

describe('HTTP errors in the documented shape', () => {
  it('answers a malformed URL (FST_ERR_BAD_URL) with 400 USC_ERR_API_BAD_REQUEST', async () => {
    const app = server();
    for (const url of ['/cases/%E0%A4%A', '/cases/%E0%A4%A/history', '/cases/by-ucm/%ZZ']) {
      const res = await app.inject({ method: 'GET', url });
      expectShape(res.statusCode, res.json(), 'USC_ERR_API_BAD_REQUEST', url);
      expect(res.headers['content-type']).toContain('application/json');
      expect(res.body).not.toContain('FST_ERR');
    }
  });

  it('answers an over-long path parameter with 414 USC_ERR_API_URI_TOO_LONG', async () => {
    const res = await server().inject({ method: 'GET', url: `/cases/${'a'.repeat(300)}` });
    expectShape(res.statusCode, res.json(), 'USC_ERR_API_URI_TOO_LONG', 'long param');
    expect(res.json().error.message).toBe('a path parameter is longer than 256 characters');
  });

  it('answers body errors of POST /cases/lookup with their own codes and statuses', async () => {
    const app = server();
    const post = (payload: string, contentType: string) =>
      app.inject({ method: 'POST', url: '/cases/lookup', payload, headers: { 'content-type': contentType } });
    const cases: [string, Awaited<ReturnType<typeof post>>, ApiErrorCode][] = [
      ['invalid JSON', await post('{"ids": [', 'application/json'), 'USC_ERR_API_BAD_REQUEST'],
      ['empty JSON body', await post('', 'application/json'), 'USC_ERR_API_BAD_REQUEST'],
      [
        'prototype poisoning',
        await post('{"__proto__": {"x": 1}}', 'application/json'),
        'USC_ERR_API_BAD_REQUEST',
      ],
      ['wrong content type', await post('<ids/>', 'application/xml'), 'USC_ERR_API_UNSUPPORTED_MEDIA_TYPE'],
      [
        'body too large',
        await post(JSON.stringify({ ids: ['a'.repeat(300 * 1024)] }), 'application/json'),
        'USC_ERR_API_PAYLOAD_TOO_LARGE',
      ],
    ];
    for (const [what, res, code] of cases) {
      expectShape(res.statusCode, res.json(), code, what);
      // Never echoes the request body.
      expect(res.body, what).not.toContain('__proto__');
      expect(res.body, what).not.toContain('<ids/>');
    }
    expect(cases[4]![1].json().error.message).toBe('the request body is larger than 262144 bytes');
  });

  it('keeps the shape for unknown routes and methods, with or without a token', async () => {
    for (const app of [server(), server('a-very-secret-token-123')]) {
      for (const [method, url] of [
        ['GET', '/nope'],
        ['DELETE', '/cases/a1'],
        ['GET', '/nope/%E0%A4%A'],
      ] as const) {
        const res = await app.inject({ method, url });
        expect([400, 401, 404], `${method} ${url}`).toContain(res.statusCode);
        const code = res.json().error?.code as ApiErrorCode;
        expectShape(res.statusCode, res.json(), code, `${method} ${url}`);
      }
    }
  });

  it('answers headers and request lines larger than the parser accepts with 431 over a real socket', async () => {
    const port = await listening();
    const bigHeader = await rawRequest(
      port,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(20_000)}\r\n\r\n`,
    );
    const longUrl = await rawRequest(
      port,
      `GET /cases/a1?pad=${'u'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    for (const [what, res] of [
      ['large header', bigHeader],
      ['long URL', longUrl],
    ] as const) {
      expectShape(res.status, JSON.parse(res.body), 'USC_ERR_API_HEADERS_TOO_LARGE', what);
      expect(res.headers, what).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
      expect(res.headers.toLowerCase(), what).toContain('content-type: application/json');
      expect(res.headers.toLowerCase(), what).toContain('connection: close');
      expect(res.headers.toLowerCase(), what).toContain(`content-length: ${Buffer.byteLength(res.body)}`);
    }
  });

  it('answers 414, a malformed URL and bytes that are not HTTP in the shape over a real socket', async () => {
    const port = await listening('a-very-secret-token-123');
    const long = await rawRequest(
      port,
      `GET /cases/${'a'.repeat(300)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expectShape(long.status, JSON.parse(long.body), 'USC_ERR_API_URI_TOO_LONG', '414');
    const bad = await rawRequest(
      port,
      'GET /cases/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expectShape(bad.status, JSON.parse(bad.body), 'USC_ERR_API_BAD_REQUEST', 'bad URL');
    const garbage = await rawRequest(port, 'HELLO\x01 there\r\n\r\n');
    expectShape(garbage.status, JSON.parse(garbage.body), 'USC_ERR_API_BAD_REQUEST', 'not HTTP');
    // The server still answers normally afterwards.
    const ok = await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(ok.status).toBe(200);
  });

  it('answers a request timeout with 408, and writes nothing once a response has started or the peer is gone', () => {
    const limits = { bodyLimit: 1, maxParamLength: 1, maxHeaderSize: 1 };
    const fakeSocket = (extra: Record<string, unknown> = {}) => {
      const state = { written: '', ended: false };
      const socket = {
        destroyed: false,
        writable: true,
        write: (chunk: string) => {
          state.written += chunk;
          return true;
        },
        destroySoon: () => {
          state.ended = true;
        },
        ...extra,
      };
      return { socket: socket as unknown as net.Socket, state };
    };
    const timeout = fakeSocket();
    answerClientError({ code: 'ERR_HTTP_REQUEST_TIMEOUT' }, timeout.socket, limits);
    const [head, body] = timeout.state.written.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expectShape(408, JSON.parse(body!), 'USC_ERR_API_REQUEST_TIMEOUT', '408');
    expect(timeout.state.ended).toBe(true);

    const started = fakeSocket({ _httpMessage: { headersSent: true } });
    answerClientError({ code: 'HPE_HEADER_OVERFLOW' }, started.socket, limits);
    expect(started.state).toEqual({ written: '', ended: true });

    const reset = fakeSocket();
    answerClientError({ code: 'ECONNRESET' }, reset.socket, limits);
    expect(reset.state).toEqual({ written: '', ended: false });
  });

  it('documents in OpenAPI the status of every error code it names', async () => {
    const doc = (await server().inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>>;
    };
    let named = 0;
    for (const ops of Object.values(doc.paths)) {
      for (const op of Object.values(ops)) {
        for (const [status, response] of Object.entries(op.responses)) {
          for (const [code] of response.description.matchAll(/USC_ERR_API_[A-Z_]+/g)) {
            named++;
            expect(status, code).toBe(String(statusOf(code as ApiErrorCode)));
          }
        }
      }
    }
    expect(named).toBeGreaterThan(10);
  });
});
