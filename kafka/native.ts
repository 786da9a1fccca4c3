/**
 * The one place that loads `@confluentinc/kafka-javascript` (librdkafka). It is loaded on first use, not at import:
 * the binding is native and built for the Node that installed it, so pure modules of kafka/ (the partitioner, error
 * classification) stay importable by unit tests running on another Node version.
 */
import { createRequire } from 'node:module';
import { UscError } from '../common/errors.js';

export type RdKafka = typeof import('@confluentinc/kafka-javascript');
export type LowLevelConsumer = import('@confluentinc/kafka-javascript').KafkaConsumer;
export type LowLevelProducer = import('@confluentinc/kafka-javascript').Producer;
export type LowLevelMessage = import('@confluentinc/kafka-javascript').Message;

let loaded: RdKafka | undefined;

/**
 * The client package. Throws UscError USC_ERR_KAFKA_CLIENT_UNAVAILABLE when its native binding does not load (not
 * built, or built for another Node.js version), naming the fix.
 */
export function rdkafka(): RdKafka {
  if (loaded) return loaded;
  try {
    loaded = createRequire(import.meta.url)('@confluentinc/kafka-javascript') as RdKafka;
  } catch (err) {
    throw new UscError(
      'USC_ERR_KAFKA_CLIENT_UNAVAILABLE',
      `the Kafka client's native binding does not load on Node ${process.versions.node}: run \`npm rebuild @confluentinc/kafka-javascript\` (or npm ci) with this Node`,
      { cause: err },
    );
  }
  return loaded;
}

/** Runs a node-style callback API as a promise. */
export function callback<T = void>(run: (done: (err: unknown, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    run((err, value) => (err ? reject(err) : resolve(value as T)));
  });
}
