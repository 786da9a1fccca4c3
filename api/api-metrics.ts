/** Prometheus instruments of the API (registered on the injected registry). */
import { Counter, Histogram, type Registry } from 'prom-client';

export interface ApiMetrics {
  readonly requestSeconds: Histogram<'method' | 'route' | 'status'>;
  readonly forwarded: Counter<'outcome'>;
}

export function createApiMetrics(registry: Registry): ApiMetrics {
  const metrics = declareApiMetrics(registry);
  for (const outcome of ['ok', 'failed']) metrics.forwarded.inc({ outcome }, 0); // exported at 0 from the start
  return metrics;
}

function declareApiMetrics(registry: Registry): ApiMetrics {
  return {
    requestSeconds: new Histogram({
      name: 'usc_api_request_duration_seconds',
      help: 'HTTP request latency by route template (never by key)',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    forwarded: new Counter({
      name: 'usc_api_forwarded_requests_total',
      help: 'Queries forwarded to the owning instance, by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
  };
}
