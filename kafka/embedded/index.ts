/** The embedded Apache Kafka broker (development, tests, `npm start` without KAFKA_BROKERS). */
export { EmbeddedKafka, type EmbeddedKafkaOptions, type EmbeddedKafkaTimings } from './embedded-kafka.js';
export { brokerProperties } from './broker-config.js';
export { KAFKA_VERSION } from './versions.js';
export { parseJavaMajor, MIN_JAVA_MAJOR } from './prerequisites.js';
