/**
 * The processor-facing layer: typed keys and values through serdes, and per-operation latency metrics. Delegates
 * to the bytes layer; never touches the backend directly. {@link CommittedView} is the interactive-query view of
 * the same store: committed values only, never this commit's staged writes.
 */
import { performance } from 'node:perf_hooks';
import { UscError } from '../../common/errors.js';
import type { Serde } from '../../topology/serde.js';
import type { KeyValue, KeyValueStore, ReadOnlyKeyValueStore, StoreMetrics } from '../contracts.js';
import { prefixEnd, type KeyRange } from './backend.js';
import type { BytesStore } from './buffered-store.js';

/** Freezes a value and everything reachable from it (the test driver's guard against mutated store values). */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  return value;
}

export interface MeteredStoreOptions {
  /** Deep-freeze every value put or read (values are shared with the store's cache: never mutate them). */
  readonly freezeValues?: boolean;
}

export class MeteredStore<K, V> implements KeyValueStore<K, V> {
  private readonly decode: (bytes: Buffer) => unknown;
  private readonly freeze: boolean;

  constructor(
    readonly name: string,
    private readonly inner: () => BytesStore,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly metrics: StoreMetrics,
    options: MeteredStoreOptions = {},
  ) {
    this.freeze = options.freezeValues ?? false;
    this.decode = this.freeze
      ? (bytes) => deepFreeze(this.valueSerde.deserialize(bytes))
      : (bytes) => this.valueSerde.deserialize(bytes);
  }

  keyBytes(key: K): Buffer {
    const bytes = this.keySerde.serialize(key);
    if (bytes === null)
      throw new UscError('USC_ERR_SERDE_FAILED', `store ${this.name}: a key serialized to null`);
    return bytes;
  }

  async get(key: K): Promise<V | undefined> {
    const started = performance.now();
    const value = await this.inner().getValue(this.keyBytes(key), this.decode);
    this.metrics.observeOperation(this.name, 'get', (performance.now() - started) / 1000);
    return value as V | undefined;
  }

  async getMany(keys: readonly K[]): Promise<(V | undefined)[]> {
    if (keys.length === 0) return [];
    const started = performance.now();
    const values = await this.inner().getValues(
      keys.map((k) => this.keyBytes(k)),
      this.decode,
    );
    this.metrics.observeOperation(this.name, 'get', (performance.now() - started) / 1000);
    return values as (V | undefined)[];
  }

  async put(key: K, value: V): Promise<void> {
    const started = performance.now();
    const bytes = this.valueSerde.serialize(value);
    this.inner().put(this.keyBytes(key), bytes, this.freeze ? deepFreeze(value) : value);
    this.metrics.observeOperation(this.name, 'put', (performance.now() - started) / 1000);
  }

  async delete(key: K): Promise<void> {
    const started = performance.now();
    this.inner().put(this.keyBytes(key), null);
    this.metrics.observeOperation(this.name, 'delete', (performance.now() - started) / 1000);
  }

  range(from?: K, to?: K): AsyncIterable<KeyValue<K, V>> {
    return this.scan(this.rangeOf(from, to), (r) => this.inner().entries(r));
  }

  prefixScan(prefix: K): AsyncIterable<KeyValue<K, V>> {
    return this.scan(this.prefixRange(prefix), (r) => this.inner().entries(r));
  }

  rangeOf(from?: K, to?: K): KeyRange {
    return {
      gte: from === undefined ? undefined : this.keyBytes(from),
      lt: to === undefined ? undefined : this.keyBytes(to),
    };
  }

  prefixRange(prefix: K): KeyRange {
    const p = this.keyBytes(prefix);
    return { gte: p, lt: prefixEnd(p) };
  }

  async *scan(
    range: KeyRange,
    entries: (range: KeyRange) => AsyncIterable<readonly [Buffer, Buffer]>,
  ): AsyncIterable<KeyValue<K, V>> {
    const started = performance.now();
    try {
      for await (const [k, v] of entries(range)) {
        yield { key: this.keySerde.deserialize(k) as K, value: this.decode(v) as V };
      }
    } finally {
      this.metrics.observeOperation(this.name, 'range', (performance.now() - started) / 1000);
    }
  }

  approximateNumEntries(): Promise<number> {
    return this.inner().approximateCount();
  }

  /** The committed-only view of this store (interactive queries). */
  committedView(): ReadOnlyKeyValueStore<K, V> {
    return new CommittedView(this, this.inner, this.decode);
  }
}

/** Reads of committed state only: the value cache and the backend, never the write buffer. */
class CommittedView<K, V> implements ReadOnlyKeyValueStore<K, V> {
  constructor(
    private readonly metered: MeteredStore<K, V>,
    private readonly inner: () => BytesStore,
    private readonly decode: (bytes: Buffer) => unknown,
  ) {}

  async get(key: K): Promise<V | undefined> {
    return (await this.inner().getCommittedValue(this.metered.keyBytes(key), this.decode)) as V | undefined;
  }

  async getMany(keys: readonly K[]): Promise<(V | undefined)[]> {
    const inner = this.inner();
    return Promise.all(
      keys.map((k) => inner.getCommittedValue(this.metered.keyBytes(k), this.decode)),
    ) as Promise<(V | undefined)[]>;
  }

  range(from?: K, to?: K): AsyncIterable<KeyValue<K, V>> {
    return this.metered.scan(this.metered.rangeOf(from, to), (r) => this.inner().committedEntries(r));
  }

  prefixScan(prefix: K): AsyncIterable<KeyValue<K, V>> {
    return this.metered.scan(this.metered.prefixRange(prefix), (r) => this.inner().committedEntries(r));
  }

  approximateNumEntries(): Promise<number> {
    return this.inner().committedCount();
  }
}
