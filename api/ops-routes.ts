/**
 * Operational routes: liveness, readiness (503 until every active task of this instance is restored and
 * running), Prometheus metrics, the topology description and the group's instances with their tasks and lag.
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { QueryableStreams, TopologyView } from './api-contracts.js';
import type { Forwarder } from './forwarder.js';
import { registerTopologyPage } from './topology-page.js';

export interface OpsRouteDeps {
  readonly streams: QueryableStreams;
  readonly registry: Registry;
  readonly topology: TopologyView;
  readonly forwarder: Forwarder;
  readonly instanceId: string;
  readonly selfUrl: string;
}

export function registerOpsRoutes(app: FastifyInstance, deps: OpsRouteDeps): void {
  const { streams } = deps;

  app.get('/healthz', async () => ({ status: 'ok', instance: deps.instanceId }));

  app.get('/readyz', async (_req, reply) => {
    const ready = streams.isReady();
    return reply.code(ready ? 200 : 503).send({ ready, state: streams.state, instance: deps.instanceId });
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await deps.registry.metrics();
    return reply.header('content-type', deps.registry.contentType).send(body);
  });

  // JSON for API clients (needs the token); browsers use the page at /topology/view, which fetches this.
  app.get('/topology', async () => ({
    description: deps.topology.describe(),
    mermaid: deps.topology.describeMermaid(),
  }));
  registerTopologyPage(app);

  app.get('/instances/self', async () => ({
    instanceId: deps.instanceId,
    url: deps.selfUrl,
    state: streams.state,
    ready: streams.isReady(),
    tasks: streams.localTasks(),
  }));

  /** Every member of the group (from the owner map), with its own view of its tasks and lag when reachable. */
  app.get('/instances', async (req) => {
    const members = await Promise.all(
      streams.hosts().map(async (h) => {
        const base = { instanceId: h.instanceId, url: h.url, active: h.active, standby: h.standby };
        if (h.url === deps.selfUrl) return { ...base, reachable: true, tasks: streams.localTasks() };
        const res = await deps.forwarder.forward({
          baseUrl: h.url,
          method: 'GET',
          path: '/instances/self',
          authorization: req.headers.authorization,
        });
        if (!res.ok || res.response.status !== 200) return { ...base, reachable: false };
        const self = JSON.parse(res.response.body) as { tasks: unknown };
        return { ...base, reachable: true, tasks: self.tasks };
      }),
    );
    return { self: deps.instanceId, state: streams.state, members };
  });
}
