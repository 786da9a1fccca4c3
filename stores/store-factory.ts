/**
 * Declares stores (for a topology) and builds the runtime's {@link TaskStore} for one task:
 *
 *   MeteredStore (serdes, metrics) -> BufferedStore (write buffer, caching, change-logging) -> Backend
 *
 * The backend is LevelDB under `<stateDir>/<applicationId>/<taskId>/<store>` for persistent stores, or memory.
 */
import path from 'node:path';
import { UscError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { msgpackSerde, stringSerde, type Serde } from '../topology/serde.js';
import { taskIdToString, type TaskId } from '../topology/task-id.js';
import { changelogTopicName } from '../topology/topology.js';
import type {
  ChangelogRecord,
  KeyValueStore,
  ReadOnlyKeyValueStore,
  RestoreRecord,
  StoreDefinition,
  StoreMetrics,
  TaskStore,
} from './contracts.js';
import type { Backend } from './internal/backend.js';
import { BufferedStore } from './internal/buffered-store.js';
import { LevelDbBackend } from './internal/leveldb-backend.js';
import { MemoryBackend } from './internal/memory-backend.js';
import { MeteredStore } from './internal/metered-store.js';
import type { StoreMemory } from './memory-budget.js';

export interface KeyValueStoreOptions<K, V> {
  /** LevelDB on disk (default) or memory. */
  readonly persistent?: boolean;
  /** Changelog-backed (default true). */
  readonly logging?: boolean;
  /** Collapse repeated writes of a key within a commit (default true). */
  readonly caching?: boolean;
  readonly keySerde?: Serde<K>;
  readonly valueSerde?: Serde<V>;
  readonly changelogConfig?: Readonly<Record<string, string>>;
}

const STORE_NAME = /^[A-Za-z0-9._-]{1,100}$/;

/** Declares a key-value store (string keys and msgpack values unless serdes are given). */
export function keyValueStore<K = string, V = unknown>(
  name: string,
  opts: KeyValueStoreOptions<K, V> = {},
): StoreDefinition<K, V> {
  if (!STORE_NAME.test(name)) {
    throw new UscError(
      'USC_ERR_TOPOLOGY_INVALID',
      `store name ${JSON.stringify(name)} must match ${STORE_NAME}`,
    );
  }
  return {
    name,
    type: 'key-value',
    persistent: opts.persistent ?? true,
    logging: opts.logging ?? true,
    caching: opts.caching ?? true,
    keySerde: opts.keySerde,
    valueSerde: opts.valueSerde,
    changelogConfig: opts.changelogConfig,
  };
}

export interface TaskStoreContext {
  readonly applicationId: string;
  readonly taskId: TaskId;
  readonly stateDir: string;
  readonly metrics: StoreMetrics;
  readonly logger: Logger;
  /** Use memory even for persistent stores (the TopologyTestDriver). */
  readonly forceInMemory?: boolean;
  /** The instance's LevelDB memory budget (LevelDB's defaults per store without one). */
  readonly memory?: StoreMemory;
  /**
   * Bytes of deserialised committed values this store may cache (see internal/value-cache.ts); default: the
   * memory budget's per-store cache share, or {@link DEFAULT_VALUE_CACHE_BYTES} without a budget.
   */
  readonly valueCacheBytes?: number;
  /** Deep-freeze values put and read, so a processor that mutates a store value fails (the test driver). */
  readonly freezeValues?: boolean;
}

/** Value cache of a store built without a memory budget (the test driver, tools). */
export const DEFAULT_VALUE_CACHE_BYTES = 1024 * 1024;

/** Directory of one store of one task. */
export function storeDirectory(
  stateDir: string,
  applicationId: string,
  taskId: string,
  store: string,
): string {
  return path.join(stateDir, applicationId, taskId, store);
}

class LayeredTaskStore implements TaskStore {
  readonly store: KeyValueStore<unknown, unknown>;
  readonly committed: ReadOnlyKeyValueStore<unknown, unknown>;
  readonly changelog: { readonly topic: string; readonly partition: number } | undefined;
  private readonly buffered: BufferedStore;
  private readonly memory: StoreMemory | undefined;
  private opened = false;

  constructor(
    readonly definition: StoreDefinition,
    private readonly backend: Backend,
    ctx: TaskStoreContext,
  ) {
    this.memory = ctx.memory;
    this.buffered = new BufferedStore(backend, {
      logging: definition.logging,
      caching: definition.caching,
      cacheBytes: ctx.valueCacheBytes ?? ctx.memory?.valueCacheBytes ?? DEFAULT_VALUE_CACHE_BYTES,
    });
    this.changelog = definition.logging
      ? { topic: changelogTopicName(ctx.applicationId, definition.name), partition: ctx.taskId.partition }
      : undefined;
    const metered = new MeteredStore(
      definition.name,
      () => this.ensureOpen(),
      (definition.keySerde ?? stringSerde) as Serde<unknown>,
      (definition.valueSerde ?? msgpackSerde()) as Serde<unknown>,
      ctx.metrics,
      { freezeValues: ctx.freezeValues },
    );
    this.store = metered;
    this.committed = metered.committedView();
  }

  /** The value cache of this store (metrics). */
  get valueCache(): { readonly sizeBytes: number; readonly hits: number; readonly misses: number } {
    return this.buffered.cache;
  }

  private ensureOpen(): BufferedStore {
    if (!this.opened) {
      throw new UscError(
        'USC_ERR_STORE_NOT_OPEN',
        `store ${this.definition.name} used before open or after close`,
      );
    }
    return this.buffered;
  }

  async open(): Promise<void> {
    await this.backend.open();
    this.opened = true;
    this.memory?.trackCache(this.buffered.cache);
  }

  checkpoint(): Promise<string | undefined> {
    return this.backend.checkpoint();
  }

  async prepareCommit(): Promise<readonly ChangelogRecord[]> {
    return this.ensureOpen().changelogRecords();
  }

  takeChangelogAhead(): readonly ChangelogRecord[] {
    return this.ensureOpen().takeChangelogAhead();
  }

  async completeCommit(nextChangelogOffset: string | undefined): Promise<void> {
    await this.ensureOpen().commit(nextChangelogOffset);
  }

  abortCommit(): void {
    this.buffered.abort();
  }

  savepoint(): void {
    this.buffered.savepoint();
  }

  rollbackToSavepoint(): void {
    this.buffered.rollbackToSavepoint();
  }

  async restoreBatch(records: readonly RestoreRecord[]): Promise<void> {
    await this.ensureOpen().restore(records);
  }

  async wipe(): Promise<void> {
    this.buffered.abort();
    this.buffered.dropCache();
    await this.backend.wipe();
    this.buffered.dropCache();
  }

  async close(): Promise<void> {
    if (!this.opened) return;
    this.opened = false;
    this.memory?.untrackCache(this.buffered.cache);
    this.buffered.abort();
    this.buffered.dropCache();
    await this.backend.close();
  }
}

/** One savepoint over all stores of a task (the engine's `undo`: marked per record, rolled back on failure). */
export function taskSavepoints(stores: ReadonlyMap<string, TaskStore>): {
  savepoint(): void;
  rollback(): void;
} {
  return {
    savepoint: () => {
      for (const s of stores.values()) s.savepoint();
    },
    rollback: () => {
      for (const s of stores.values()) s.rollbackToSavepoint();
    },
  };
}

/** Builds (does not open) the task store for `definition`. */
export function createTaskStore(definition: StoreDefinition, ctx: TaskStoreContext): TaskStore {
  const backend =
    definition.persistent && !ctx.forceInMemory
      ? new LevelDbBackend(
          storeDirectory(ctx.stateDir, ctx.applicationId, taskIdToString(ctx.taskId), definition.name),
          ctx.memory,
        )
      : new MemoryBackend();
  return new LayeredTaskStore(definition, backend, ctx);
}
