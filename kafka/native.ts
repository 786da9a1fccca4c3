/**
 * The one place that loads `@confluentinc/kafka-javascript` (librdkafka). It is loaded on first use, not at import:
 * the binding is native and built for the Node that installed it, so pure modules of kafka/ (the partitioner, error
 * classification) stay importable by unit tests running on another Node version.
 */
import { createRequire } from 'node:module';

export type RdKafka = typeof import('@confluentinc/kafka-javascript');
export type LowLevelConsumer = import('@confluentinc/kafka-javascript').KafkaConsumer;
export type LowLevelProducer = import('@confluentinc/kafka-javascript').Producer;
export type LowLevelMessage = import('@confluentinc/kafka-javascript').Message;

let loaded: RdKafka | undefined;

export function rdkafka(): RdKafka {
  loaded ??= createRequire(import.meta.url)('@confluentinc/kafka-javascript') as RdKafka;
  return loaded;
}

/** Runs a node-style callback API as a promise. */
export function callback<T = void>(run: (done: (err: unknown, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    run((err, value) => (err ? reject(err) : resolve(value as T)));
  });
}
