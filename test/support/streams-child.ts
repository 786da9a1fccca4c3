/**
 * Child-process entry for runtime tests: runs one KafkaStreams instance of the word-count topology and talks to
 * the parent over IPC. Messages in: {cmd: 'tasks' | 'hosts' | 'replacements' | 'processed' | 'aborted' | 'restored' |
 * 'close', id}. Messages out:
 * {event: 'state', state}, {event: 'ready'}, {event: 'reply', id, data}, {event: 'fatal', error}.
 * Settings come from env (tests may read env; production code may not).
 */
import { Registry } from 'prom-client';
import { createKafka } from '../../kafka/index.js';
import { KafkaStreams } from '../../topology/kafka-streams.js';
import { createLogger } from '../../common/logger.js';
import { wordCountTopology } from '../../topology/examples/word-count.js';

const env = process.env;
const send = (msg: object): void => {
  process.send?.(msg);
};

async function main(): Promise<void> {
  const logger = createLogger((env.LOG_LEVEL as 'info') ?? 'warn', { test: true });
  const kafka = createKafka({ brokers: env.KAFKA_BROKERS!.split(','), clientId: env.INSTANCE_ID! }, logger);
  const registry = new Registry();
  const streams = new KafkaStreams(
    wordCountTopology(env.INPUT_TOPIC!, env.OUTPUT_TOPIC!, { failOnWord: env.FAIL_ON_WORD }),
    {
      applicationId: env.APPLICATION_ID!,
      instanceId: env.INSTANCE_ID!,
      advertisedUrl: `http://${env.INSTANCE_ID}.test:1`,
      stateDir: env.STATE_DIR!,
      processingGuarantee: (env.PROCESSING_GUARANTEE as 'exactly_once') ?? 'exactly_once',
      commitIntervalMs: Number(env.COMMIT_INTERVAL_MS ?? 100),
      ...(env.COMMIT_MIN_INTERVAL_MS ? { commitMinIntervalMs: Number(env.COMMIT_MIN_INTERVAL_MS) } : {}),
      numStandbyReplicas: Number(env.NUM_STANDBY_REPLICAS ?? 0),
      replicationFactor: 1,
      sessionTimeoutMs: 6_000,
      groupProtocol: (env.GROUP_PROTOCOL as 'consumer' | undefined) ?? 'classic',
    },
    { kafka, registry, logger },
  );
  streams.onStateChange((state) => {
    send({ event: 'state', state });
    if (state === 'running' && streams.isReady()) send({ event: 'ready' });
    if (state === 'error') send({ event: 'fatal', error: String(streams.error) });
  });
  process.on('message', async (msg: { cmd: string; id: number }) => {
    let data: unknown;
    if (msg.cmd === 'tasks') data = { ...streams.localTasks(), ready: streams.isReady() };
    else if (msg.cmd === 'hosts') data = streams.hosts();
    else if (msg.cmd === 'replacements')
      data = (await streams.metrics.consumerReplacements.get()).values[0]?.value;
    else if (msg.cmd === 'processed') {
      data = (await streams.metrics.recordsProcessed.get()).values.reduce((n, v) => n + v.value, 0);
    } else if (msg.cmd === 'aborted') {
      const metric = await streams.metrics.commitsTotal.get();
      data = metric.values.find((v) => v.labels.outcome === 'aborted')?.value ?? 0;
    } else if (msg.cmd === 'restored') {
      const metric = await streams.metrics.restoreRecords.get();
      data = metric.values.reduce((n, v) => n + v.value, 0);
    } else if (msg.cmd === 'close') {
      await streams.close();
      send({ event: 'reply', id: msg.id, data: 'closed' });
      process.exit(0);
    }
    send({ event: 'reply', id: msg.id, data });
  });
  await streams.start();
}

main().catch((err) => {
  send({ event: 'fatal', error: String(err?.stack ?? err) });
  process.exit(1);
});
