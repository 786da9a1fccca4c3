/**
 * The operational part of the OpenAPI document (openapi.ts spreads it into its paths, after `/cases` and `/dlq`):
 * liveness and readiness, Prometheus metrics, the topology (JSON and its page), the group's instances and this
 * document itself, with their answers and examples (`/readyz` refers to the Readiness schema of openapi.ts).
 */

/** The operational paths, built afresh for each document. */
export function opsPaths(): Record<string, unknown> {
  return {
    '/healthz': {
      get: {
        summary: 'Liveness (no auth)',
        security: [],
        responses: {
          '200': {
            description: 'alive',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['status', 'instance'],
                  properties: { status: { const: 'ok' }, instance: { type: 'string' } },
                },
                example: { status: 'ok', instance: 'urp-case-sync-0' },
              },
            },
          },
        },
      },
    },
    '/readyz': {
      get: {
        summary: "Readiness (no auth): 200 once this instance's active tasks are restored and running",
        security: [],
        responses: {
          '200': {
            description: 'ready',
            content: {
              'application/json': {
                schema: { $ref: '#/components/schemas/Readiness' },
                example: { ready: true, state: 'running', instance: 'urp-case-sync-0' },
              },
            },
          },
          '503': {
            description: 'starting, restoring or rebalancing (not an error body: the same shape as 200)',
            content: {
              'application/json': {
                schema: { $ref: '#/components/schemas/Readiness' },
                example: { ready: false, state: 'rebalancing', instance: 'urp-case-sync-0' },
              },
            },
          },
        },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics',
        responses: {
          '200': {
            description: 'Prometheus text exposition format',
            content: {
              'text/plain': {
                schema: { type: 'string' },
                example:
                  '# TYPE usc_api_request_duration_seconds histogram\n' +
                  'usc_api_request_duration_seconds_count{method="GET",route="/cases/:urpCaseId",status="200"} 1\n',
              },
            },
          },
        },
      },
    },
    '/topology': {
      get: {
        summary: 'Topology description and Mermaid diagram (JSON; as a picture in a browser: /topology/view)',
        responses: {
          '200': {
            description: 'The text description and the Mermaid flowchart source of the topology',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['description', 'mermaid'],
                  properties: { description: { type: 'string' }, mermaid: { type: 'string' } },
                },
                example: {
                  description: 'Sub-topology: 0\n  Source: ucm-source (topics: [ucm.case.events])\n',
                  mermaid:
                    'flowchart LR\n  subgraph sub0["Sub-topology 0"]\n    n_ucm_source(["source: ucm-source"])\n  end\n',
                },
              },
            },
          },
        },
      },
    },
    '/topology/view': {
      get: {
        summary:
          'HTML page drawing the topology (no auth for the page; it asks for the token to fetch /topology)',
        security: [],
        responses: {
          '200': { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } },
        },
      },
    },
    '/instances': {
      get: {
        summary: 'Members of the group with active/standby tasks and lag',
        responses: {
          '200': {
            description:
              'Each member from the owner map; reachable members with their own view of tasks and lag',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['self', 'state', 'members'],
                  properties: {
                    self: { type: 'string' },
                    state: { type: 'string' },
                    members: {
                      type: 'array',
                      items: {
                        type: 'object',
                        required: ['instanceId', 'url', 'active', 'standby', 'reachable'],
                        properties: {
                          instanceId: { type: 'string' },
                          url: { type: 'string' },
                          active: { type: 'array', items: { type: 'string' } },
                          standby: { type: 'array', items: { type: 'string' } },
                          reachable: { type: 'boolean' },
                          tasks: { type: 'object' },
                        },
                      },
                    },
                  },
                },
                example: {
                  self: 'urp-case-sync-0',
                  state: 'running',
                  members: [
                    {
                      instanceId: 'urp-case-sync-0',
                      url: 'http://urp-case-sync-0:8080',
                      active: ['0_0'],
                      standby: ['0_1'],
                      reachable: true,
                      tasks: {
                        active: [{ id: '0_0', state: 'running', lag: 0 }],
                        standby: [{ id: '0_1', lag: 3 }],
                      },
                    },
                  ],
                },
              },
            },
          },
        },
      },
    },
    '/openapi.json': {
      get: {
        summary: 'This document (no auth; rendered by Swagger UI at /docs)',
        security: [],
        responses: {
          '200': {
            description: 'OpenAPI 3.1',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
  };
}
