/**
 * Assembles one urp-case-sync instance: Kafka client, the application's topics, the case-sync topology on the
 * streams runtime, and the query API. Used by `urp-case-sync start`, the integration tests' child processes and
 * the benchmarks, so all of them run the same wiring.
 */
import { readFileSync } from 'node:fs';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { createApiServer } from '../api/index.js';
import { createKafka, ensureTopics, openAdmin, partitionCounts, type KafkaClient } from '../kafka/index.js';
import { createCaseSyncMetrics } from '../processors/case-sync-metrics.js';
import { caseSyncTopology } from '../processors/case-sync-topology.js';
import { caseStoresView } from '../processors/case-sync-view.js';
import type { CaseSyncSettings } from '../processors/domain/case-sync-settings.js';
import { caseRecordSchema, historyEntrySchema } from '../processors/domain/event-contract.js';
import { KafkaStreams } from '../topology/kafka-streams.js';
import type { Logger } from '../topology/processor.js';
import type { ServiceConfig } from './config.js';

/** This package's version (package.json is found from the compiled and the source layout alike). */
export const VERSION: string = readVersion();

function readVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'urp-case-sync' && pkg.version) return pkg.version;
    } catch {
      // try the next layout
    }
  }
  return '0.0.0';
}

/**
 * Creates the input, output (compacted) and dead-letter topics when missing: the input with PARTITIONS, the
 * output with the input's partition count, the DLQ with the input's count too.
 */
export async function ensureAppTopics(
  kafka: KafkaClient,
  config: ServiceConfig,
  settings: CaseSyncSettings,
  logger: Logger,
): Promise<void> {
  const admin = await openAdmin(kafka);
  try {
    const existing = await partitionCounts(admin, [settings.inputTopic]);
    const partitions = existing.get(settings.inputTopic) ?? config.partitions;
    const created = await ensureTopics(admin, [
      { topic: settings.inputTopic, partitions, replicationFactor: config.streams.replicationFactor },
      {
        topic: settings.outputTopic,
        partitions,
        replicationFactor: config.streams.replicationFactor,
        config: { 'cleanup.policy': 'compact' },
      },
      { topic: settings.dlqTopic, partitions, replicationFactor: config.streams.replicationFactor },
    ]);
    if (created.length > 0) logger.info({ topics: created, partitions }, 'created application topics');
  } finally {
    await admin.disconnect();
  }
}

export interface RunningService {
  readonly streams: KafkaStreams;
  readonly api: FastifyInstance;
  readonly registry: Registry;
  /** Where the API listens. */
  readonly url: string;
  close(): Promise<void>;
}

/** Starts topics, streams and API for `brokers`. Resolves once the API listens and the instance joined. */
export async function startService(
  config: ServiceConfig,
  brokers: readonly string[],
  logger: Logger,
): Promise<RunningService> {
  const settings = config.caseSync;
  const kafka = createKafka({ ...config.kafka, brokers }, logger);
  await ensureAppTopics(kafka, config, settings, logger);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const topology = caseSyncTopology(settings, {
    metrics: createCaseSyncMetrics(registry),
    applicationId: config.streams.applicationId,
  });
  const streams = new KafkaStreams(topology, config.streams, { kafka, registry, logger });
  const api = createApiServer({
    streams,
    view: caseStoresView,
    topology,
    schemas: { caseRecord: caseRecordSchema, historyEntry: historyEntrySchema },
    registry,
    logger,
    instanceId: config.streams.instanceId,
    selfUrl: config.streams.advertisedUrl,
    apiToken: config.apiToken,
    tls: config.apiTls,
    version: VERSION,
  });
  await api.listen({ host: config.httpHost, port: config.httpPort });
  const address = api.server.address();
  const port = typeof address === 'object' && address ? address.port : config.httpPort;
  const url = `${config.apiTls ? 'https' : 'http'}://${config.httpHost === '0.0.0.0' ? '127.0.0.1' : config.httpHost}:${port}`;
  try {
    await streams.start();
  } catch (err) {
    await api.close();
    throw err;
  }
  return {
    streams,
    api,
    registry,
    url,
    close: async () => {
      await api.close();
      await streams.close();
    },
  };
}
