/**
 * Assembles one urp-case-sync instance: Kafka client, the application's topics, the case-sync topology on the
 * streams runtime, and the query API. Used by `urp-case-sync start`, the integration tests' child processes and
 * the benchmarks, so all of them run the same wiring.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { createApiServer } from '../api/index.js';
import { describeError, UscError } from '../common/errors.js';
import { createKafka, ensureTopics, openAdmin, partitionCounts, type KafkaClient } from '../kafka/index.js';
import { classifyKafkaError, isDefinitelyFatal } from '../kafka/errors.js';
import { createCaseSyncMetrics, initialiseCaseSyncMetrics } from '../processors/case-sync-metrics.js';
import { caseSyncTopology } from '../processors/case-sync-topology.js';
import { caseStoresView } from '../processors/case-sync-view.js';
import type { CaseSyncSettings } from '../processors/domain/case-sync-settings.js';
import {
  caseRecordSchema,
  dlqRecordSchema,
  historyEntrySchema,
} from '../processors/domain/event-contract.js';
import { KafkaStreams } from '../topology/kafka-streams.js';
import type { Logger } from '../topology/processor.js';
import type { ServiceConfig } from './config.js';
import { kafkaDeadLetterSource } from './dlq-source.js';

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

/** How startup retries transient Kafka errors (see {@link retryStartup}). */
export interface StartupRetryOptions {
  /** Total time to keep retrying, from the first attempt (default 120000 ms); then the last error is thrown. */
  readonly maxTotalMs?: number;
  /** First backoff (default 500 ms); doubled after each failed attempt up to `maxDelayMs` (default 10000 ms). */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Aborted = stop retrying at once and throw the last error (a shutdown requested during startup). */
  readonly signal?: AbortSignal;
  readonly clock?: () => number;
  /** Waits `ms`, or less when `signal` aborts; never rejects. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  delay(ms, undefined, { signal }).catch(() => undefined);

/**
 * True when trying the same startup step again may succeed: a {@link UscError} says so itself (`retriable`); any
 * other error is retriable when {@link classifyKafkaError} calls it `retriable` (leader moves, a topic's metadata
 * not yet everywhere, "This server does not host this topic-partition", timeouts, connection refused) and nothing
 * it wraps is definitely fatal (authorization, SASL, invalid config).
 */
export function isRetriableStartupError(err: unknown): boolean {
  if (err instanceof UscError) return err.retriable;
  return classifyKafkaError(err) === 'retriable' && !isDefinitelyFatal(err);
}

/**
 * Runs `attempt` until it succeeds, retrying errors that {@link isRetriableStartupError} accepts with exponential
 * backoff (0.5 s doubling to 10 s by default) for at most `maxTotalMs`, each retry logged at warn with the attempt
 * number and the delay. Throws at once, unchanged, an error that is not retriable (locked state directory,
 * missing topics, authorization, invalid config); throws the last error when the budget is spent or `signal`
 * aborts. `attempt` must leave nothing open when it throws: the next attempt starts afresh.
 */
export async function retryStartup<T>(
  what: string,
  attempt: (attemptNumber: number) => Promise<T>,
  logger: Logger,
  opts: StartupRetryOptions = {},
): Promise<T> {
  const clock = opts.clock ?? Date.now;
  const sleep = opts.sleep ?? defaultSleep;
  const maxTotalMs = opts.maxTotalMs ?? 120_000;
  const maxDelayMs = opts.maxDelayMs ?? 10_000;
  const startedAt = clock();
  let delayMs = opts.initialDelayMs ?? 500;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!isRetriableStartupError(err) || opts.signal?.aborted) throw err;
      const elapsedMs = clock() - startedAt;
      if (elapsedMs + delayMs > maxTotalMs) {
        logger.error(
          { err: describeError(err), attempt: n, elapsedMs },
          `${what} failed with a retriable error and the retry budget of ${maxTotalMs} ms is spent; giving up`,
        );
        throw err;
      }
      logger.warn(
        { err: describeError(err), attempt: n, delayMs },
        `${what} failed with a retriable error; retrying in ${delayMs} ms`,
      );
      await sleep(delayMs, opts.signal);
      if (opts.signal?.aborted) throw err;
      delayMs = Math.min(delayMs * 2, maxDelayMs);
    }
  }
}

export interface RunningService {
  readonly streams: KafkaStreams;
  readonly api: FastifyInstance;
  readonly registry: Registry;
  /** Where the API listens. */
  readonly url: string;
  /**
   * Graceful stop: the API stops accepting, then the streams instance commits and leaves the group.
   * `onStep` learns which of the two is under way (for a shutdown that has to say what it abandoned).
   */
  close(onStep?: (step: string) => void): Promise<void>;
}

export interface StartServiceOptions {
  /** Retries of transient Kafka errors while the topics are created and the instance joins. */
  readonly retry?: StartupRetryOptions;
}

/**
 * Starts topics, streams and API for `brokers`. Resolves once the API listens and the instance joined. Transient
 * Kafka errors on the way (a topic's metadata not yet on every broker right after it was created, a broker
 * restarting) are retried with backoff ({@link retryStartup}); each streams attempt gets a fresh instance and API.
 * Throws what cannot be retried, or the last error once the retry budget is spent.
 */
export async function startService(
  config: ServiceConfig,
  brokers: readonly string[],
  logger: Logger,
  opts: StartServiceOptions = {},
): Promise<RunningService> {
  const settings = config.caseSync;
  const kafka = createKafka({ ...config.kafka, brokers }, logger);
  const clock = opts.retry?.clock ?? Date.now;
  const startedAt = clock();
  const budget = opts.retry?.maxTotalMs ?? 120_000;
  // Topic creation is the first contact with the brokers: a client with few retries of its own makes an unreachable
  // broker fail each attempt in seconds, so every startup retry is one warn line (not minutes of silence).
  const firstContact = createKafka({ ...config.kafka, brokers, retries: config.kafka.retries ?? 2 }, logger);
  await retryStartup(
    'creating the application topics',
    () => ensureAppTopics(firstContact, config, settings, logger),
    logger,
    opts.retry,
  );
  return retryStartup('starting the streams instance', () => startOnce(config, kafka, logger), logger, {
    ...opts.retry,
    maxTotalMs: Math.max(0, budget - (clock() - startedAt)),
  });
}

/** One attempt: a fresh registry, topology, streams instance and API; on failure both are closed again. */
async function startOnce(config: ServiceConfig, kafka: KafkaClient, logger: Logger): Promise<RunningService> {
  const settings = config.caseSync;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const topology = caseSyncTopology(settings, {
    metrics: initialiseCaseSyncMetrics(createCaseSyncMetrics(registry)),
    applicationId: config.streams.applicationId,
    logger,
  });
  const streams = new KafkaStreams(topology, config.streams, { kafka, registry, logger });
  const api = createApiServer({
    streams,
    view: caseStoresView(settings),
    topology,
    schemas: { caseRecord: caseRecordSchema, historyEntry: historyEntrySchema, dlqRecord: dlqRecordSchema },
    registry,
    logger,
    instanceId: config.streams.instanceId,
    selfUrl: config.streams.advertisedUrl,
    apiToken: config.apiToken,
    tls: config.apiTls,
    version: VERSION,
    deadLetters: kafkaDeadLetterSource(
      kafka,
      {
        dlqTopic: settings.dlqTopic,
        inputTopic: settings.inputTopic,
        applicationId: config.streams.applicationId,
      },
      logger,
    ),
  });
  try {
    await api.listen({ host: config.httpHost, port: config.httpPort });
  } catch (err) {
    await api.close().catch(() => {});
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    throw new UscError(
      'USC_ERR_HTTP_PORT_TAKEN',
      `port ${config.httpPort} on ${config.httpHost} is in use; stop what holds it or set HTTP_PORT`,
      { cause: err },
    );
  }
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
    close: async (onStep) => {
      onStep?.('closing the API');
      await api.close();
      onStep?.('closing the streams instance (committing tasks, leaving the group)');
      await streams.close();
    },
  };
}
