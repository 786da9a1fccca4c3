/**
 * vitest globalSetup of the integration project: one real Apache Kafka broker per test run (the embedded
 * launcher, official jars via Maven), unless KAFKA_BROKERS already points at a cluster. The address reaches test
 * files (and child processes they spawn) through KAFKA_BROKERS.
 */
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { createLogger } from '../../common/logger.js';
import { EmbeddedKafka } from '../../kafka/embedded/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const existing = process.env.KAFKA_BROKERS;
  if (existing) {
    project.provide('kafkaBrokers', existing);
    return undefined;
  }
  const logger = createLogger((process.env.TEST_LOG_LEVEL as 'info' | undefined) ?? 'warn', {
    component: 'embedded-kafka',
  });
  const broker = await EmbeddedKafka.start({
    cacheDir: process.env.KAFKA_EMBEDDED_DIR ?? path.resolve('.kafka'),
    javaHome: process.env.JAVA_HOME || undefined,
    // Transactions open past their timeout are aborted within a second of expiring (the default check runs every
    // 10 s): kafka-port's expiry test stalls for 5 s, not 12. Scenario 5 of the failure suite runs its own broker
    // with the defaults.
    brokerConfig: { 'transaction.abort.timed.out.transaction.cleanup.interval.ms': '1000' },
    logger,
  });
  process.stderr.write(
    `[global-setup] Kafka ${broker.bootstrap} ready in ${broker.timings.totalSeconds.toFixed(1)} s ` +
      `(jars ${broker.timings.resolvedJars ? 'resolved by Maven' : 'cached'} in ${broker.timings.classpathSeconds.toFixed(1)} s)\n`,
  );
  process.env.KAFKA_BROKERS = broker.bootstrap;
  project.provide('kafkaBrokers', broker.bootstrap);
  return async () => {
    await broker.stop();
  };
}
