/**
 * Forwards a query to the instance that owns the key (one hop). The forwarded request carries the caller's
 * Authorization header and the loop guard `x-usc-forwarded-by`; the answer (status, body and the headers that
 * matter) is passed back unchanged.
 */
export const FORWARDED_HEADER = 'x-usc-forwarded-by';
const PASSED_HEADERS = ['content-type', 'x-served-by', 'x-stale', 'x-stale-lag', 'retry-after'] as const;

export interface ForwardedResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export type ForwardResult =
  | { readonly ok: true; readonly response: ForwardedResponse }
  | { readonly ok: false; readonly message: string };

export interface Forwarder {
  forward(request: {
    baseUrl: string;
    method: 'GET' | 'POST';
    path: string;
    authorization: string | undefined;
    body?: unknown;
  }): Promise<ForwardResult>;
}

/** A forwarder on the platform `fetch` with a per-request timeout. */
export function httpForwarder(selfInstanceId: string, timeoutMs: number): Forwarder {
  return {
    async forward({ baseUrl, method, path, authorization, body }) {
      const headers: Record<string, string> = { [FORWARDED_HEADER]: selfInstanceId };
      if (authorization) headers.authorization = authorization;
      if (body !== undefined) headers['content-type'] = 'application/json';
      try {
        const res = await fetch(new URL(path, baseUrl), {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
        const out: Record<string, string> = {};
        for (const h of PASSED_HEADERS) {
          const v = res.headers.get(h);
          if (v !== null) out[h] = v;
        }
        return { ok: true, response: { status: res.status, headers: out, body: await res.text() } };
      } catch (err) {
        const reason = err instanceof Error ? err.name : 'error';
        return { ok: false, message: `the owning instance at ${baseUrl} did not answer (${reason})` };
      }
    },
  };
}
