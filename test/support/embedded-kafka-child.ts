/**
 * Child process of the orphan test: starts an embedded broker, reports the JVM pid over IPC, then waits to be
 * killed (SIGKILL: no exit handler of ours runs, only the watchdog can stop the JVM).
 */
import path from 'node:path';
import { silentLogger } from '../../common/logger.js';
import { EmbeddedKafka } from '../../kafka/embedded/index.js';

const broker = await EmbeddedKafka.start({
  cacheDir: process.env.KAFKA_EMBEDDED_DIR ?? path.resolve('.kafka'),
  logger: silentLogger,
});
process.send?.({ event: 'started', data: { pid: broker.pid, dataDir: broker.dataDir } });
setInterval(() => {}, 60_000);
