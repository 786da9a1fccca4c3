/** The Kafka port: the only module that imports kafkajs. */
export { createKafka, type KafkaClient, type KafkaConnectionConfig, type SaslMechanism } from './client.js';
export {
  openAdmin,
  ensureTopics,
  partitionCounts,
  describeTopicConfig,
  topicOffsets,
  committedOffsets,
  setGroupOffsets,
  resetGroupOffsets,
  describeGroup,
  deleteGroups,
  deleteTopics,
  listTopics,
  type KafkaAdmin,
  type TopicSpec,
  type GroupView,
  type GroupMemberView,
} from './admin.js';
export {
  GroupConsumer,
  type ConsumedBatch,
  type ConsumedRecord,
  type BatchControls,
  type GroupAssignor,
  type GroupConsumerOptions,
  type GroupConsumerHandlers,
  type TopicPartitions,
} from './group-consumer.js';
export { TaskProducer, topicPartitionKey, type InputOffset, type WrittenOffsets } from './task-producer.js';
export { PartitionReader, type PartitionStart, type PartitionReaderOptions } from './partition-reader.js';
export { readRangesToEnd, wholeTopicRanges, type ReadRange } from './read-to-end.js';
export { Publisher, publishRecords, type PublishMessage } from './publisher.js';
export { classifyKafkaError, isDefinitelyFatal, type KafkaErrorClass } from './errors.js';
export { partitionForKey } from './partitioner.js';
