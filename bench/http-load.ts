/**
 * A small closed-loop HTTP load generator (no extra dependency): `connections` keep-alive clients each send
 * requests back to back for `durationMs`, after a warm-up. Reports requests/s and latency percentiles. Used for
 * the API benchmark (local vs forwarded vs a bare fastify route).
 */
import { Agent, request } from 'node:http';

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** events, p50, p99 and max of a list of latencies (ms); sorts it in place. */
export function latencySummary(latencies: number[]): {
  events: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
} {
  latencies.sort((a, b) => a - b);
  return {
    events: latencies.length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? Number.NaN,
  };
}

function get(agent: Agent, url: URL, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Runs the load; `paths()` picks each request's path (so keys vary). Only 200 counts as success. */
export async function runLoad(options: {
  readonly baseUrl: string;
  readonly paths: () => string;
  readonly headers?: Record<string, string>;
  readonly connections?: number;
  readonly durationMs?: number;
  readonly warmupMs?: number;
}): Promise<LoadResult> {
  const connections = options.connections ?? 16;
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const headers = options.headers ?? {};
  const run = async (ms: number, record: boolean) => {
    const latencies: number[] = [];
    let errors = 0;
    const end = performance.now() + ms;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (performance.now() < end) {
          const started = performance.now();
          try {
            const status = await get(agent, new URL(options.paths(), options.baseUrl), headers);
            if (status !== 200) errors++;
          } catch {
            errors++;
          }
          if (record) latencies.push(performance.now() - started);
        }
      }),
    );
    return { latencies, errors };
  };
  try {
    await run(options.warmupMs ?? 1_000, false);
    const durationMs = options.durationMs ?? 5_000;
    const { latencies, errors } = await run(durationMs, true);
    latencies.sort((a, b) => a - b);
    return {
      requests: latencies.length,
      errors,
      requestsPerSecond: latencies.length / (durationMs / 1000),
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
    };
  } finally {
    agent.destroy();
  }
}
