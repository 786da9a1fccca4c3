/** The Kafka port: the only module that imports the Kafka client (@confluentinc/kafka-javascript, librdkafka). */
export { createKafka, type KafkaClient, type KafkaConnectionConfig, type SaslMechanism } from './client.js';
export {
  openAdmin,
  ensureTopics,
  partitionCounts,
  topicOffsets,
  deleteTopics,
  listTopics,
  type KafkaAdmin,
  type TopicSpec,
} from './admin.js';
export {
  committedOffsets,
  setGroupOffsets,
  resetGroupOffsets,
  describeGroup,
  deleteGroups,
  type GroupView,
  type GroupMemberView,
} from './group-admin.js';
export {
  GroupConsumer,
  type ConsumedBatch,
  type ConsumedRecord,
  type GroupConsumerOptions,
  type GroupConsumerHandlers,
  type GroupProtocol,
  type TopicPartition,
  type TopicPartitionOffset,
  type TopicPartitions,
} from './group-consumer.js';
export {
  InstanceProducer,
  isProducerFatal,
  topicPartitionKey,
  type InputOffset,
  type WrittenOffsets,
} from './instance-producer.js';
export {
  PartitionReader,
  partitionOffsets,
  type PartitionStart,
  type PartitionReaderOptions,
} from './partition-reader.js';
export {
  FROM_BEGINNING,
  followTopic,
  readRangesToEnd,
  wholeTopicRanges,
  type ReadRange,
} from './read-to-end.js';
export { Publisher, publishRecords, type PublishMessage } from './publisher.js';
export { classifyKafkaError, isConsumerFatal, isDefinitelyFatal, type KafkaErrorClass } from './errors.js';
export { partitionForKey } from './partitioner.js';
