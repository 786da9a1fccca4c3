/**
 * Builds a {@link Topology}: sources, processors, sinks, repartition topics and state stores, validated and split
 * into subtopologies (connected parts of the graph; a repartition topic cuts the graph into the part that writes
 * it and the part that reads it). Sources of one subtopology are co-partitioned: task `<sub>_<p>` reads partition
 * p of each of them (checked against the real partition counts at start, see partitions.ts).
 *
 * Usage: `new TopologyBuilder().addSource(...).addProcessor(...).addSink(...).build()`. Every method throws
 * UscError USC_ERR_TOPOLOGY_INVALID with the offending name when the graph would be malformed.
 */
import { UscError } from '../common/errors.js';
import type { StoreDefinition } from '../stores/contracts.js';
import { describeTopology, mermaidTopology } from './internal/describe.js';
import type { ProcessorSupplier } from './processor.js';
import type { RecordErrorHandler, RecordErrorPolicy } from './record-error.js';
import { bytesSerde, type Serde } from './serde.js';
import type {
  InternalTopic,
  Partitioner,
  ProcessorNode,
  SinkNode,
  SourceNode,
  Subtopology,
  Topology,
  TopologyNode,
} from './topology.js';

export interface SerdeOptions<K, V> {
  readonly keySerde?: Serde<K>;
  readonly valueSerde?: Serde<V>;
}

export interface SinkOptions<K, V> extends SerdeOptions<K, V> {
  readonly partitioner?: Partitioner<K, V>;
  /**
   * A table's updates (for a compacted topic): of the records a task sends with the same key between two
   * commits only the latest is written, like a Kafka Streams KTable with caching. Default false: every record.
   */
  readonly latestPerKey?: boolean;
}

export interface RepartitionOptions<K, V> extends SinkOptions<K, V> {
  /** Fixed partition count; default: the largest partition count of the writing subtopology's sources. */
  readonly partitions?: number;
  readonly config?: Readonly<Record<string, string>>;
}

const NAME = /^[A-Za-z0-9._-]{1,100}$/;

type Draft =
  | (Omit<SourceNode, 'children'> & { children: string[] })
  | (Omit<ProcessorNode, 'children' | 'stores'> & { children: string[]; stores: string[] })
  | SinkNode;

function invalid(message: string): never {
  throw new UscError('USC_ERR_TOPOLOGY_INVALID', message);
}

export class TopologyBuilder {
  private readonly nodes = new Map<string, Draft>();
  private readonly parents = new Map<string, string[]>();
  private readonly stores = new Map<string, StoreDefinition>();
  private readonly internal = new Map<string, InternalTopic>();
  private readonly sourceOfTopic = new Map<string, string>();
  private recordErrorPolicy: RecordErrorPolicy | undefined;

  private addNode(node: Draft, parents: readonly string[]): void {
    if (!NAME.test(node.name)) invalid(`node name ${JSON.stringify(node.name)} must match ${NAME}`);
    if (this.nodes.has(node.name)) invalid(`a node named ${node.name} already exists`);
    for (const p of parents) {
      const parent = this.nodes.get(p);
      if (!parent) invalid(`${node.name}: unknown parent ${p} (declare parents first)`);
      if (parent.kind === 'sink') invalid(`${node.name}: a sink (${p}) cannot have children`);
    }
    if (node.kind !== 'source' && parents.length === 0) invalid(`${node.name} needs at least one parent`);
    this.nodes.set(node.name, node);
    this.parents.set(node.name, [...parents]);
    for (const p of parents) (this.nodes.get(p) as { children: string[] }).children.push(node.name);
  }

  /** Reads `topics` (one or many, all co-partitioned with the rest of its subtopology). */
  addSource<K = Buffer | null, V = Buffer | null>(
    name: string,
    topics: string | readonly string[],
    opts: SerdeOptions<K, V> = {},
  ): this {
    const list = typeof topics === 'string' ? [topics] : [...topics];
    if (list.length === 0) invalid(`source ${name} needs at least one topic`);
    for (const t of list) {
      const other = this.sourceOfTopic.get(t);
      if (other) invalid(`topic ${t} is already read by source ${other}`);
    }
    this.addNode(
      {
        kind: 'source',
        name,
        topics: list,
        internal: false,
        keySerde: (opts.keySerde ?? bytesSerde) as Serde<unknown>,
        valueSerde: (opts.valueSerde ?? bytesSerde) as Serde<unknown>,
        children: [],
      },
      [],
    );
    for (const t of list) this.sourceOfTopic.set(t, name);
    return this;
  }

  addProcessor(name: string, supplier: ProcessorSupplier, ...parentNames: string[]): this {
    this.addNode({ kind: 'processor', name, supplier, stores: [], children: [] }, parentNames);
    return this;
  }

  /** Writes to an external topic. */
  addSink<K = unknown, V = unknown>(
    name: string,
    topic: string,
    parentNames: readonly string[],
    opts: SinkOptions<K, V> = {},
  ): this {
    this.addNode(
      {
        kind: 'sink',
        name,
        topic,
        internal: false,
        keySerde: (opts.keySerde ?? bytesSerde) as Serde<unknown>,
        valueSerde: (opts.valueSerde ?? bytesSerde) as Serde<unknown>,
        partitioner: opts.partitioner as Partitioner | undefined,
        ...(opts.latestPerKey ? { latestPerKey: true } : {}),
      },
      parentNames,
    );
    return this;
  }

  /**
   * Re-keys through the internal topic `<applicationId>-<name>-repartition`: records forwarded by `parentNames`
   * go to a sink `<name>-sink` (partitioned by the new key); a source named `<name>` reads them in the next
   * subtopology. Processors downstream use `name` as their parent.
   */
  addRepartition<K = unknown, V = unknown>(
    name: string,
    parentNames: readonly string[],
    opts: RepartitionOptions<K, V> = {},
  ): this {
    if (opts.partitions !== undefined && (!Number.isInteger(opts.partitions) || opts.partitions < 1)) {
      invalid(`repartition ${name}: partitions must be a positive integer`);
    }
    const keySerde = (opts.keySerde ?? bytesSerde) as Serde<unknown>;
    const valueSerde = (opts.valueSerde ?? bytesSerde) as Serde<unknown>;
    this.addNode(
      {
        kind: 'sink',
        name: `${name}-sink`,
        topic: name,
        internal: true,
        keySerde,
        valueSerde,
        partitioner: opts.partitioner as Partitioner | undefined,
      },
      parentNames,
    );
    this.addNode(
      { kind: 'source', name, topics: [name], internal: true, keySerde, valueSerde, children: [] },
      [],
    );
    this.internal.set(name, {
      name,
      kind: 'repartition',
      partitions: opts.partitions,
      config: { 'cleanup.policy': 'delete', ...opts.config },
    });
    return this;
  }

  /** Declares a store and connects it to processors (all in one subtopology). */
  addStateStore(
    definition: StoreDefinition<never, never> | StoreDefinition,
    ...processorNames: string[]
  ): this {
    const def = definition as StoreDefinition;
    if (this.stores.has(def.name)) invalid(`a store named ${def.name} already exists`);
    this.stores.set(def.name, def);
    for (const p of processorNames) this.connectStore(def.name, p);
    return this;
  }

  /** Connects an already declared store to more processors. */
  connectStore(storeName: string, processorName: string): this {
    if (!this.stores.has(storeName)) invalid(`unknown store ${storeName}`);
    const node = this.nodes.get(processorName);
    if (!node || node.kind !== 'processor')
      invalid(`store ${storeName}: ${processorName} is not a processor`);
    if (!node.stores.includes(storeName)) node.stores.push(storeName);
    return this;
  }

  /**
   * Sets the record-error policy: a record whose deserialization, processing or sink serialization throws is
   * rolled back and handed to `handler`, whose dead letters go to `deadLetterTopic` (an external topic). Without
   * one, a record error fails the task.
   */
  onRecordError(handler: RecordErrorHandler, opts: { readonly deadLetterTopic: string }): this {
    if (this.internal.has(opts.deadLetterTopic))
      invalid(`dead-letter topic ${opts.deadLetterTopic} must be an external topic`);
    this.recordErrorPolicy = { handler, deadLetterTopic: opts.deadLetterTopic };
    return this;
  }

  build(): Topology {
    const names = [...this.nodes.keys()];
    // Union-find over parent/child edges: each component is a subtopology.
    const root = new Map(names.map((n) => [n, n]));
    const find = (n: string): string => {
      let r = n;
      while (root.get(r) !== r) r = root.get(r)!;
      root.set(n, r);
      return r;
    };
    const union = (a: string, b: string) => root.set(find(a), find(b));
    for (const [child, parents] of this.parents) for (const p of parents) union(child, p);
    // Processors sharing a store must live in one subtopology (one task owns the store).
    const storeUsers = new Map<string, string[]>();
    for (const node of this.nodes.values()) {
      if (node.kind !== 'processor') continue;
      for (const s of node.stores) storeUsers.set(s, [...(storeUsers.get(s) ?? []), node.name]);
    }
    for (const [store, users] of storeUsers) {
      const roots = new Set(users.map(find));
      if (roots.size > 1)
        invalid(`store ${store} is used by processors in different subtopologies: ${users.join(', ')}`);
    }
    for (const [store] of this.stores) {
      if (!storeUsers.has(store)) invalid(`store ${store} is not connected to any processor`);
    }
    for (const node of this.nodes.values()) {
      if (node.kind === 'source' && node.children.length === 0)
        invalid(`source ${node.name} has no children`);
    }
    const order: string[] = [];
    for (const node of this.nodes.values()) {
      const r = find(node.name);
      if (node.kind === 'source' && !order.includes(r)) order.push(r);
    }
    for (const n of names) {
      if (!order.includes(find(n))) invalid(`node ${n} is not reachable from any source`);
    }
    const subtopologies: Subtopology[] = order.map((r, id) => {
      const members = names.filter((n) => find(n) === r).map((n) => this.freeze(this.nodes.get(n)!));
      const sources = members.filter((m): m is SourceNode => m.kind === 'source');
      const rest = members.filter((m) => m.kind !== 'source');
      const nodes = new Map<string, TopologyNode>([...sources, ...rest].map((m) => [m.name, m]));
      return {
        id,
        nodes,
        sourceTopics: sources.flatMap((s) => s.topics),
        sinkTopics: [...new Set(rest.filter((m): m is SinkNode => m.kind === 'sink').map((s) => s.topic))],
        stores: [...new Set(rest.flatMap((m) => (m.kind === 'processor' ? m.stores : [])))],
      };
    });
    const stores = new Map(this.stores);
    const internalTopics = new Map(this.internal);
    return {
      subtopologies,
      stores,
      internalTopics,
      recordErrorPolicy: this.recordErrorPolicy,
      describe: () => describeTopology(subtopologies, internalTopics),
      describeMermaid: () => mermaidTopology(subtopologies, internalTopics),
    };
  }

  private freeze(node: Draft): TopologyNode {
    if (node.kind === 'sink') return { ...node };
    if (node.kind === 'source') return { ...node, children: [...node.children] };
    return { ...node, children: [...node.children], stores: [...node.stores] };
  }
}
