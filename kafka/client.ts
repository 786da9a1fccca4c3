/**
 * The Kafka port: the only folder that imports the Kafka client (`@confluentinc/kafka-javascript`, librdkafka;
 * loaded through ./native.ts). This file turns plain connection settings (brokers, TLS, SASL) into librdkafka
 * properties shared by every consumer, producer and admin client, and routes librdkafka's logs into our
 * structured logger.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from '../common/logger.js';

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
   * How often a failed request may be retried before the operation fails (default 8). The one-shot tools (reset,
   * backfill, dlq) set a small number so an unreachable broker is reported in seconds, not minutes: it bounds
   * their operation timeouts (see {@link KafkaClient.operationTimeoutMs}).
   */
  readonly retries?: number;
  /** librdkafka debug contexts (e.g. `cgrp,eos`): their lines are logged at debug level. */
  readonly debug?: string;
}

/** librdkafka properties. */
export type RdConfig = Record<string, string | number | boolean | ((...args: never[]) => unknown)>;

/** Connection settings plus the logger; clients are created from it inside kafka/. Opaque outside kafka/. */
export interface KafkaClient {
  readonly connection: KafkaConnectionConfig;
  readonly logger: Logger;
  /** librdkafka properties for connection, security and logging, plus `extra`. */
  config(extra?: RdConfig): RdConfig;
  /** Timeout of one admin or metadata operation (shorter when `retries` is small). */
  readonly operationTimeoutMs: number;
}

// Connection attempts that fail (broker down, wrong address, still starting) are reported by the caller once (the
// tools as USC_ERR_KAFKA_UNREACHABLE, `start` as one warn line per startup retry, the runtime through its own
// recovery), so librdkafka's per-attempt lines about them are debug-level; every other error stays visible.
export const CONNECTION_NOISE =
  /Connection refused|ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|Connect to .* failed|Disconnected|all brokers are down|brokers are down|Failed to resolve|Receive failed|Send failed|Connection setup timed out|transport/i;
// Expected during startup, rebalances and leader moves.
const NOISY =
  /coordinator is (loading|not available)|COORDINATOR_LOAD_IN_PROGRESS|NOT_COORDINATOR|COORDINATOR_NOT_AVAILABLE|REBALANCE_IN_PROGRESS|NOT_LEADER|LEADER_NOT_AVAILABLE|UNKNOWN_TOPIC_OR_PART|CONCURRENT_TRANSACTIONS|UNSTABLE_OFFSET_COMMIT/i;

function checkReadable(file: string | undefined): string | undefined {
  if (file !== undefined) readFileSync(file); // a missing or unreadable file is a config error: fail early
  return file;
}

function securityConfig(config: KafkaConnectionConfig): RdConfig {
  const out: RdConfig = {};
  const tls = config.tls !== undefined && config.tls !== false;
  out['security.protocol'] = config.sasl ? (tls ? 'sasl_ssl' : 'sasl_plaintext') : tls ? 'ssl' : 'plaintext';
  if (typeof config.tls === 'object') {
    const ca = checkReadable(config.tls.caFile);
    const cert = checkReadable(config.tls.certFile);
    const key = checkReadable(config.tls.keyFile);
    if (ca) out['ssl.ca.location'] = ca;
    if (cert) out['ssl.certificate.location'] = cert;
    if (key) out['ssl.key.location'] = key;
  }
  if (config.sasl) {
    out['sasl.mechanisms'] = config.sasl.mechanism.toUpperCase();
    out['sasl.username'] = config.sasl.username;
    out['sasl.password'] = config.sasl.password;
  }
  return out;
}

/** Routes one librdkafka log event (`event.log`, syslog levels) into `logger`. */
export function routeLibrdkafkaLog(
  logger: Logger,
  event: { severity?: number; fac?: string; message?: string },
): void {
  const text = `${event.fac ?? ''} ${event.message ?? ''}`;
  const entry = { librdkafka: true, facility: event.fac, severity: event.severity };
  if ((event.severity ?? 7) <= 3 && !NOISY.test(text) && !CONNECTION_NOISE.test(text)) {
    logger.error(entry, event.message ?? 'librdkafka error');
  } else if ((event.severity ?? 7) <= 4 || event.fac !== undefined) {
    logger.debug(entry, event.message ?? '');
  }
}

/** Builds the client settings. Throws if TLS files cannot be read (a config problem). */
export function createKafka(config: KafkaConnectionConfig, logger: Logger): KafkaClient {
  const base: RdConfig = {
    'bootstrap.servers': config.brokers.join(','),
    'client.id': config.clientId,
    'socket.connection.setup.timeout.ms': config.connectionTimeoutMs ?? 3_000,
    'reconnect.backoff.ms': 100,
    'reconnect.backoff.max.ms': 5_000,
    'log.connection.close': false,
    // No re-bootstrap (KIP-899) when every broker is unreachable: librdkafka 2.15 destroys the broker handles then,
    // and an admin request waiting on one of them aborted the process (an assertion in its request bookkeeping) in
    // the failure suite's broker restart. The bootstrap brokers stay known; they are reconnected as they return.
    'metadata.recovery.strategy': 'none',
    ...(config.debug ? { debug: config.debug } : {}),
    ...securityConfig(config),
  };
  const requestTimeoutMs = config.requestTimeoutMs ?? 30_000;
  const retries = config.retries ?? 8;
  return {
    connection: config,
    logger: logger.child({ component: 'librdkafka' }),
    operationTimeoutMs: retries >= 8 ? requestTimeoutMs : Math.max(2_000, (retries + 1) * 2_000),
    config: (extra = {}) => ({ ...base, ...extra }),
  };
}
