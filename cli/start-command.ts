/**
 * `urp-case-sync start`: runs one instance. Without KAFKA_BROKERS it first starts the embedded Apache Kafka
 * broker. Stops gracefully on SIGINT/SIGTERM: the API stops accepting, tasks commit and leave the group, the
 * embedded broker (if any) shuts down.
 */
import { createKafka } from '../kafka/index.js';
import type { EmbeddedKafka } from '../kafka/embedded/index.js';
import type { Logger } from '../topology/processor.js';
import type { ServiceConfig } from './config.js';
import { startDemoFeed, type DemoFeed } from './demo-feed.js';
import { startEmbeddedKafka } from './kafka-command.js';
import { startService } from './service.js';

export async function runStartCommand(
  config: ServiceConfig,
  logger: Logger,
  out: (line: string) => void,
  untilSignal: () => Promise<NodeJS.Signals>,
  opts: { demo: boolean },
): Promise<number> {
  const settings = config.caseSync;
  let broker: EmbeddedKafka | undefined;
  let brokers = config.kafkaBrokers;
  if (!brokers) {
    out('KAFKA_BROKERS is not set: starting the embedded Apache Kafka broker...');
    broker = await startEmbeddedKafka(config.embedded, logger);
    brokers = [broker.bootstrap];
    out(`Kafka broker ready at ${broker.bootstrap} (data: ${broker.dataDir})`);
  }
  let demo: DemoFeed | undefined;
  try {
    const service = await startService(config, brokers, logger);
    out(`urp-case-sync ${config.streams.instanceId} is running`);
    out(
      `  API:      ${service.url}/cases/<urpCaseId>   (docs ${service.url}/docs, OpenAPI ${service.url}/openapi.json)`,
    );
    out(
      `  health:   ${service.url}/readyz   metrics: ${service.url}/metrics   topology: ${service.url}/topology`,
    );
    out(
      `  topics:   in ${settings.inputTopic} -> out ${settings.outputTopic} (dead letters ${settings.dlqTopic}) on ${brokers.join(',')}`,
    );
    if (opts.demo) {
      demo = await startDemoFeed(
        createKafka({ ...config.kafka, brokers }, logger),
        settings.inputTopic,
        logger,
        {
          eventsPerSecond: 20,
          cases: 500,
        },
      );
      out(
        `  demo:     feeding generated UCM events; try ${service.url}/instances and the case ids in ${settings.outputTopic}`,
      );
    }
    const failed = new Promise<'failed'>((resolve) =>
      service.streams.onStateChange((state) => {
        if (state === 'error') resolve('failed');
      }),
    );
    const why = await Promise.race([untilSignal(), failed]);
    out(why === 'failed' ? 'the instance failed; shutting down' : `${why}: shutting down`);
    await demo?.stop().catch(() => {});
    await service.close();
    return why === 'failed' ? 1 : 0;
  } finally {
    await broker?.stop();
  }
}
