/**
 * The Kafka port: the only folder that imports kafkajs. This file builds clients from plain config (brokers,
 * TLS, SASL) and routes kafkajs' own logs into our structured logger.
 */
import kafkajs, { type Kafka, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import { readFileSync } from 'node:fs';
import type { Logger } from '../topology/processor.js';

// kafkajs is CommonJS: Node's ESM loader cannot see its named exports, so take them off the default export.
const { Kafka: KafkaCtor, logLevel: KafkaLogLevel } = kafkajs;

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

/** Connection settings. Secrets (password, key) are used here only; never logged. */
export interface KafkaConnectionConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** true = TLS with the system CAs; an object = TLS with PEM files. */
  readonly tls?:
    boolean | { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
  readonly sasl?: { readonly mechanism: SaslMechanism; readonly username: string; readonly password: string };
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /**
   * How often kafkajs retries a failed request or connection (default 8, backing off up to 5 s). The one-shot
   * tools (reset, backfill, dlq) set a small number so an unreachable broker is reported in seconds, not minutes.
   */
  readonly retries?: number;
}

/** A kafkajs client; treat it as opaque outside kafka/. */
export type KafkaClient = Kafka;

function tlsOptions(tls: KafkaConnectionConfig['tls']): KafkaConfig['ssl'] {
  if (tls === undefined || tls === false) return undefined;
  if (tls === true) return true;
  return {
    ca: tls.caFile ? [readFileSync(tls.caFile, 'utf8')] : undefined,
    cert: tls.certFile ? readFileSync(tls.certFile, 'utf8') : undefined,
    key: tls.keyFile ? readFileSync(tls.keyFile, 'utf8') : undefined,
  };
}

function saslOptions(sasl: KafkaConnectionConfig['sasl']): SASLOptions | undefined {
  if (!sasl) return undefined;
  return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as SASLOptions;
}

// kafkajs logs every retried protocol error at ERROR (e.g. "coordinator is loading" while the broker starts);
// those are expected during startup and rebalances, so they are demoted to debug unless they are final.
const NOISY =
  /coordinator is (loading|not available)|not the correct coordinator|concurrent operation on the same transaction|rebalanc|not the leader|leadership election|unknown topic or partition|does not host this topic-partition/i;

// Connection attempts that fail (broker down, wrong address, still starting): kafkajs logs each attempt and each
// seed broker at ERROR, 16 lines for one unreachable broker. The caller reports the outcome once (the tools as
// USC_ERR_KAFKA_UNREACHABLE, `start` as one warn line per startup retry, the runtime through its own recovery),
// so these are debug-level; every other kafkajs error stays visible.
export const CONNECTION_NOISE =
  /ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|connection (error|timeout)|failed to connect to seed broker|KafkaJSConnectionError|KafkaJSConnectionClosedError|closed connection|connection.*closed/i;

function logCreator(logger: Logger) {
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, ...extra } = log;
      const entry = { kafkajs: true, ...extra };
      const text = `${message} ${String(extra.error ?? '')}`;
      if (level === KafkaLogLevel.ERROR && !NOISY.test(text) && !CONNECTION_NOISE.test(text)) {
        logger.error(entry, message);
      } else if (level <= KafkaLogLevel.WARN && level !== KafkaLogLevel.NOTHING) {
        logger.debug(entry, message);
      }
    };
}

/** Builds a kafkajs client from config. Throws if TLS files cannot be read (a config problem). */
export function createKafka(config: KafkaConnectionConfig, logger: Logger): KafkaClient {
  return new KafkaCtor({
    brokers: [...config.brokers],
    clientId: config.clientId,
    ssl: tlsOptions(config.tls),
    sasl: saslOptions(config.sasl),
    connectionTimeout: config.connectionTimeoutMs ?? 3_000,
    requestTimeout: config.requestTimeoutMs ?? 30_000,
    logLevel: KafkaLogLevel.WARN,
    logCreator: logCreator(logger.child({ component: 'kafkajs' })),
    retry: { initialRetryTime: 100, retries: config.retries ?? 8, maxRetryTime: 5_000 },
  });
}
