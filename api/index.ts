/** The interactive-query HTTP API. */
export { createApiServer, type ApiServerOptions } from './api-server.js';
export type {
  CaseStoresView,
  InstanceInfo,
  KeyLocation,
  LocalStoreAnswer,
  QueryableStreams,
  TopologyView,
} from './api-contracts.js';
export { openApiDocument, type ApiSchemas } from './openapi.js';
export { bearerMatches } from './auth.js';
export { routeKey, type KeyRoute } from './key-router.js';
