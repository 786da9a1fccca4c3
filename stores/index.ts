/** State stores: contracts, declaration and the runtime's task-store factory. */
export type {
  ChangelogRecord,
  KeyValue,
  KeyValueStore,
  ReadOnlyKeyValueStore,
  RestoreRecord,
  StoreDefinition,
  StoreMetrics,
  TaskStore,
} from './contracts.js';
export { noopStoreMetrics } from './contracts.js';
export {
  createTaskStore,
  keyValueStore,
  storeDirectory,
  type KeyValueStoreOptions,
  type TaskStoreContext,
} from './store-factory.js';
export { StateDirectory } from './state-directory.js';
export {
  DEFAULT_STORE_MEMORY_BYTES,
  StoreMemory,
  levelDbTuning,
  type LevelDbTuning,
} from './memory-budget.js';
