/**
 * The processor-facing layer: typed keys and values through serdes, and per-operation latency metrics. Delegates
 * to the bytes layer; never touches the backend directly.
 */
import { performance } from 'node:perf_hooks';
import { UscError } from '../../common/errors.js';
import type { Serde } from '../../topology/serde.js';
import type { KeyValue, KeyValueStore, StoreMetrics } from '../contracts.js';
import { prefixEnd } from './backend.js';
import type { BytesStore } from './buffered-store.js';

export class MeteredStore<K, V> implements KeyValueStore<K, V> {
  constructor(
    readonly name: string,
    private readonly inner: () => BytesStore,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly metrics: StoreMetrics,
  ) {}

  private keyBytes(key: K): Buffer {
    const bytes = this.keySerde.serialize(key);
    if (bytes === null)
      throw new UscError('USC_ERR_SERDE_FAILED', `store ${this.name}: a key serialized to null`);
    return bytes;
  }

  private value(bytes: Buffer): V {
    return this.valueSerde.deserialize(bytes) as V;
  }

  async get(key: K): Promise<V | undefined> {
    const started = performance.now();
    const bytes = await this.inner().get(this.keyBytes(key));
    this.metrics.observeOperation(this.name, 'get', (performance.now() - started) / 1000);
    return bytes === undefined ? undefined : this.value(bytes);
  }

  async put(key: K, value: V): Promise<void> {
    const started = performance.now();
    const bytes = this.valueSerde.serialize(value);
    this.inner().put(this.keyBytes(key), bytes);
    this.metrics.observeOperation(this.name, 'put', (performance.now() - started) / 1000);
  }

  async delete(key: K): Promise<void> {
    const started = performance.now();
    this.inner().put(this.keyBytes(key), null);
    this.metrics.observeOperation(this.name, 'delete', (performance.now() - started) / 1000);
  }

  range(from?: K, to?: K): AsyncIterable<KeyValue<K, V>> {
    return this.scan({
      gte: from === undefined ? undefined : this.keyBytes(from),
      lt: to === undefined ? undefined : this.keyBytes(to),
    });
  }

  prefixScan(prefix: K): AsyncIterable<KeyValue<K, V>> {
    const p = this.keyBytes(prefix);
    return this.scan({ gte: p, lt: prefixEnd(p) });
  }

  private async *scan(range: { gte?: Buffer; lt?: Buffer }): AsyncIterable<KeyValue<K, V>> {
    const started = performance.now();
    try {
      for await (const [k, v] of this.inner().entries(range)) {
        yield { key: this.keySerde.deserialize(k) as K, value: this.value(v) };
      }
    } finally {
      this.metrics.observeOperation(this.name, 'range', (performance.now() - started) / 1000);
    }
  }

  approximateNumEntries(): Promise<number> {
    return this.inner().approximateCount();
  }
}
