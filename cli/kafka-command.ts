/**
 * `urp-case-sync kafka`: runs the embedded Apache Kafka broker in the foreground (what `npm start` uses when
 * KAFKA_BROKERS is unset), prints its bootstrap address and stops it cleanly on SIGINT/SIGTERM.
 */
import { EmbeddedKafka } from '../kafka/embedded/index.js';
import type { Logger } from '../topology/processor.js';
import type { EmbeddedKafkaSettings } from './config.js';

/** Starts the broker the service would use (persistent data under the embedded dir). */
export function startEmbeddedKafka(settings: EmbeddedKafkaSettings, logger: Logger): Promise<EmbeddedKafka> {
  return EmbeddedKafka.start({
    cacheDir: settings.cacheDir,
    dataDir: settings.dataDir,
    port: settings.port,
    javaHome: settings.javaHome,
    heapMb: settings.heapMb,
    logger,
  });
}

/** Runs until a signal arrives; resolves with the exit code. */
export async function runKafkaCommand(
  settings: EmbeddedKafkaSettings,
  logger: Logger,
  out: (line: string) => void,
  untilSignal: () => Promise<NodeJS.Signals>,
): Promise<number> {
  const broker = await startEmbeddedKafka(settings, logger);
  out(`Kafka broker ready at ${broker.bootstrap} (data: ${broker.dataDir}, log: ${broker.logFile})`);
  out(`Use it with: KAFKA_BROKERS=${broker.bootstrap}`);
  const stopped = new Promise<'exited'>((resolve) => {
    const timer = setInterval(() => {
      if (!broker.isRunning()) {
        clearInterval(timer);
        resolve('exited');
      }
    }, 1000);
    timer.unref();
  });
  const why = await Promise.race([untilSignal(), stopped]);
  if (why === 'exited') {
    logger.error({ logFile: broker.logFile }, 'the Kafka broker exited by itself; see its log');
    return 1;
  }
  out(`${why}: stopping the Kafka broker`);
  await broker.stop();
  return 0;
}
