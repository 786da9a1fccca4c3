/**
 * The shape of a built topology: what TopologyBuilder.build() returns and what the runtime and the
 * TopologyTestDriver consume. Topic names here are logical; internal topics (repartition, changelog) are resolved
 * to `<applicationId>-<name>-repartition` / `<applicationId>-<store>-changelog` by {@link internalTopicName} and
 * {@link changelogTopicName}.
 */
import type { ProcessorSupplier } from './processor.js';
import type { Serde } from './serde.js';
import type { StoreDefinition } from '../stores/contracts.js';
import type { RecordErrorPolicy } from './record-error.js';

/** Chooses a partition for a record; default is Kafka's murmur2 of the serialized key (the Java client's default). */
export type Partitioner<K = unknown, V = unknown> = (
  key: K,
  value: V,
  keyBytes: Buffer | null,
  numPartitions: number,
) => number;

export interface SourceNode {
  readonly kind: 'source';
  readonly name: string;
  /** Logical topic names. For a repartition source this is the internal topic's logical name. */
  readonly topics: readonly string[];
  readonly internal: boolean;
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
  readonly children: readonly string[];
}

export interface ProcessorNode {
  readonly kind: 'processor';
  readonly name: string;
  readonly supplier: ProcessorSupplier;
  readonly stores: readonly string[];
  readonly children: readonly string[];
}

export interface SinkNode {
  readonly kind: 'sink';
  readonly name: string;
  /** Logical topic name (internal repartition topics by logical name too). */
  readonly topic: string;
  readonly internal: boolean;
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
  readonly partitioner?: Partitioner;
  /** Send only the latest record per key per commit (see SinkOptions.latestPerKey). */
  readonly latestPerKey?: boolean;
}

export type TopologyNode = SourceNode | ProcessorNode | SinkNode;

/** An internal topic the runtime must create before starting. */
export interface InternalTopic {
  /** Logical name, e.g. `by-urp`; the Kafka topic is `<applicationId>-by-urp-repartition`. */
  readonly name: string;
  readonly kind: 'repartition';
  /** Fixed partition count, or undefined = the max partition count of the upstream subtopology's sources. */
  readonly partitions: number | undefined;
  readonly config: Readonly<Record<string, string>>;
}

export interface Subtopology {
  readonly id: number;
  /** Nodes of this subtopology by name (sources first, in declaration order). */
  readonly nodes: ReadonlyMap<string, TopologyNode>;
  /** Logical source topics (external and internal); all co-partitioned. */
  readonly sourceTopics: readonly string[];
  /** Logical sink topics. */
  readonly sinkTopics: readonly string[];
  /** Names of the stores its processors use. */
  readonly stores: readonly string[];
}

export interface Topology {
  readonly subtopologies: readonly Subtopology[];
  readonly stores: ReadonlyMap<string, StoreDefinition>;
  readonly internalTopics: ReadonlyMap<string, InternalTopic>;
  /** What happens to a record that fails (see record-error.ts); undefined: a record error fails the task. */
  readonly recordErrorPolicy: RecordErrorPolicy | undefined;
  /** Text description, in the spirit of Kafka Streams' TopologyDescription. */
  describe(): string;
  /** A Mermaid `flowchart` of the topology. */
  describeMermaid(): string;
}

/** Kafka topic name of an internal (repartition) topic. */
export function internalTopicName(applicationId: string, name: string): string {
  return `${applicationId}-${name}-repartition`;
}

/** Kafka topic name of a store's changelog. */
export function changelogTopicName(applicationId: string, storeName: string): string {
  return `${applicationId}-${storeName}-changelog`;
}
