/** The streams runtime's public API: build topologies, run them on Kafka or in the test driver. */
export {
  TopologyBuilder,
  type RepartitionOptions,
  type SerdeOptions,
  type SinkOptions,
} from './topology-builder.js';
export {
  TopologyTestDriver,
  type TestDriverOptions,
  type TestInputTopic,
  type TestOutputTopic,
  type TestRecord,
} from './test-driver.js';
export {
  KafkaStreams,
  type KafkaStreamsDeps,
  type KeyQueryMetadata,
  type LocalStoreResult,
  type StreamsState,
} from './kafka-streams.js';
export type { StreamsConfig, ProcessingGuarantee } from './streams-config.js';
export { DEFAULT_COMMIT_INTERVAL_MS, DEFAULT_COMMIT_MIN_INTERVAL_MS } from './streams-config.js';
export type {
  Cancellable,
  Logger,
  Processor,
  ProcessorContext,
  ProcessorSupplier,
  PunctuationType,
  Punctuator,
} from './processor.js';
export type { Headers, RecordMetadata, StreamRecord } from './record.js';
export { withRecord } from './record.js';
export {
  bytesSerde,
  compatSerde,
  decodeCompat,
  jsonSerde,
  msgpackSerde,
  stringSerde,
  type CompatLimits,
  type Serde,
} from './serde.js';
export { compareTaskIds, parseTaskId, taskIdToString, type TaskId } from './task-id.js';
export { changelogTopicName, internalTopicName, type Topology, type Subtopology } from './topology.js';
export { resolvePartitionCounts } from './partitions.js';
