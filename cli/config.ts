/**
 * The one module that reads the environment. Settings come from env vars, overridden by command-line flags of the
 * same name in kebab-case (`--http-port 9090` overrides `HTTP_PORT`). Validation collects every problem and
 * reports them together; the CLI exits with code 2 on an invalid config.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UscError } from '../common/errors.js';
import { LOG_FORMATS, type LogFormat, type LogLevel } from '../common/logger.js';
import type { KafkaConnectionConfig, SaslMechanism } from '../kafka/index.js';
import { parseCaseSyncSettings, type CaseSyncSettings } from '../processors/domain/case-sync-settings.js';
import type { ProcessingGuarantee, StreamsConfig } from '../topology/streams-config.js';
import { intSetting as int } from '../common/settings.js';

export interface ServiceConfig {
  /** undefined = start the embedded broker. */
  readonly kafkaBrokers: readonly string[] | undefined;
  /** The embedded broker used when KAFKA_BROKERS is unset. */
  readonly embedded: EmbeddedKafkaSettings;
  readonly kafka: Omit<KafkaConnectionConfig, 'brokers'>;
  readonly streams: StreamsConfig;
  /** Partition count of topics this service creates when missing. */
  readonly partitions: number;
  readonly httpHost: string;
  readonly httpPort: number;
  readonly apiToken: string | undefined;
  readonly apiTls: { readonly certFile: string; readonly keyFile: string } | undefined;
  readonly logLevel: LogLevel;
  /** LOG_FORMAT: auto (pretty on a terminal, JSON otherwise), json or pretty. */
  readonly logFormat: LogFormat;
  /** How long a graceful stop may take before the process exits anyway with code 1 (SHUTDOWN_TIMEOUT_MS). */
  readonly shutdownTimeoutMs: number;
  /** The case-sync application's settings (topics, STATUS_MAPPING, ATTRIBUTE_ALLOWLIST, ...), validated. */
  readonly caseSync: CaseSyncSettings;
}

export interface EmbeddedKafkaSettings {
  /** Client port (KAFKA_EMBEDDED_PORT, default 9092; 0 = any free port). */
  readonly port: number;
  /** Classpath cache and data (KAFKA_EMBEDDED_DIR, default ./.kafka). */
  readonly cacheDir: string;
  /** Persistent KRaft data of `npm start` (<cacheDir>/data), so a restart keeps topics and offsets. */
  readonly dataDir: string;
  readonly javaHome: string | undefined;
  readonly heapMb: number;
}

/** Every setting name this service understands (env form). */
export const SETTING_NAMES = [
  'KAFKA_BROKERS',
  'KAFKA_EMBEDDED_PORT',
  'KAFKA_EMBEDDED_DIR',
  'KAFKA_EMBEDDED_HEAP_MB',
  'JAVA_HOME',
  'KAFKA_CLIENT_ID',
  'KAFKA_SSL',
  'KAFKA_SSL_CA_FILE',
  'KAFKA_SSL_CERT_FILE',
  'KAFKA_SSL_KEY_FILE',
  'KAFKA_SASL_MECHANISM',
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD',
  'KAFKA_CLIENT_DEBUG',
  'APPLICATION_ID',
  'INSTANCE_ID',
  'INPUT_TOPIC',
  'OUTPUT_TOPIC',
  'DLQ_TOPIC',
  'STATE_DIR',
  'HTTP_HOST',
  'HTTP_PORT',
  'ADVERTISED_URL',
  'PROCESSING_GUARANTEE',
  'NUM_STANDBY_REPLICAS',
  'COMMIT_INTERVAL_MS',
  'COMMIT_MIN_INTERVAL_MS',
  'SESSION_TIMEOUT_MS',
  'GROUP_PROTOCOL',
  'TRANSACTION_TIMEOUT_MS',
  'STORE_MEMORY_MB',
  'STORE_CACHE_MB',
  'SHUTDOWN_TIMEOUT_MS',
  'PARTITIONS',
  'REPLICATION_FACTOR',
  'API_TOKEN',
  'API_TLS_CERT',
  'API_TLS_KEY',
  'LOG_LEVEL',
  'LOG_FORMAT',
  'STATUS_MAPPING',
  'ATTRIBUTE_ALLOWLIST',
  'CORRELATION_GRACE_MS',
  'DEDUPE_RETENTION_MS',
  'HISTORY_LIMIT',
  'DEDUPE_MAX_IDS',
  'DLQ_INCLUDE_PAYLOAD',
  'MAX_RECORD_BYTES',
  'MAX_NESTING_DEPTH',
  'MAX_STRING_LENGTH',
  'MAX_FUTURE_SKEW_MS',
  'MAX_CASE_STATE_BYTES',
] as const;

export type SettingName = (typeof SETTING_NAMES)[number];
const APP_SETTINGS: readonly SettingName[] = [
  'STATUS_MAPPING',
  'ATTRIBUTE_ALLOWLIST',
  'CORRELATION_GRACE_MS',
  'DEDUPE_RETENTION_MS',
  'HISTORY_LIMIT',
  'DEDUPE_MAX_IDS',
  'DLQ_INCLUDE_PAYLOAD',
  'MAX_RECORD_BYTES',
  'MAX_NESTING_DEPTH',
  'MAX_STRING_LENGTH',
  'MAX_FUTURE_SKEW_MS',
  'MAX_CASE_STATE_BYTES',
  'INPUT_TOPIC',
  'OUTPUT_TOPIC',
  'DLQ_TOPIC',
];

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const SASL: readonly SaslMechanism[] = ['plain', 'scram-sha-256', 'scram-sha-512'];

/**
 * Splits argv into flags (`--name value`, `--name=value`, bare `--flag` = "true") and positionals. Flag names
 * map to setting names (`--http-port` -> HTTP_PORT); unknown flags are returned for the command to judge.
 */
export function parseFlags(argv: readonly string[]): {
  flags: Record<string, string>;
  positionals: string[];
} {
  const flags: Record<string, string> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = (eq >= 0 ? arg.slice(2, eq) : arg.slice(2)).toUpperCase().replace(/-/g, '_');
    if (eq >= 0) flags[name] = arg.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) flags[name] = argv[++i]!;
    else flags[name] = 'true';
  }
  return { flags, positionals };
}

/** The launch environment beyond the settings (NODE_OPTIONS, glibc's variables), for cli/instance-runtime.ts. */
export function launchEnvironment(): NodeJS.ProcessEnv {
  return process.env;
}

/** The raw settings: environment, then flags on top. */
export function rawSettings(
  flags: Readonly<Record<string, string>>,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string | undefined> {
  const raw: Record<string, string | undefined> = {};
  for (const name of SETTING_NAMES) raw[name] = flags[name] ?? env[name];
  return raw;
}

function bool(raw: string | undefined, name: string, problems: string[]): boolean | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  problems.push(`${name} must be true or false, got ${JSON.stringify(raw)}`);
  return undefined;
}

/**
 * Validates raw settings into a {@link ServiceConfig}. Throws UscError USC_ERR_CONFIG_INVALID listing every
 * problem (secret values are never echoed).
 */
export function loadServiceConfig(raw: Readonly<Record<string, string | undefined>>): ServiceConfig {
  const problems: string[] = [];
  const brokers = raw.KAFKA_BROKERS?.trim()
    ? raw.KAFKA_BROKERS.split(',')
        .map((b) => b.trim())
        .filter(Boolean)
    : undefined;
  for (const b of brokers ?? []) {
    if (!/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/.test(b))
      problems.push(`KAFKA_BROKERS entry ${JSON.stringify(b)} is not host:port`);
  }
  const applicationId = raw.APPLICATION_ID ?? 'urp-case-sync';
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(applicationId)) {
    problems.push('APPLICATION_ID must be 1-100 characters of letters, digits, ".", "_" or "-"');
  }
  const httpPort = int(raw.HTTP_PORT, 'HTTP_PORT', 8080, 0, 65535, problems);
  const httpHost = raw.HTTP_HOST ?? '0.0.0.0';
  const groupProtocol = (raw.GROUP_PROTOCOL ?? 'classic') as 'classic' | 'consumer';
  if (groupProtocol !== 'classic' && groupProtocol !== 'consumer') {
    problems.push(`GROUP_PROTOCOL must be classic or consumer, got ${JSON.stringify(raw.GROUP_PROTOCOL)}`);
  }
  const guarantee = (raw.PROCESSING_GUARANTEE ?? 'exactly_once') as ProcessingGuarantee;
  if (guarantee !== 'exactly_once' && guarantee !== 'at_least_once') {
    problems.push(
      `PROCESSING_GUARANTEE must be exactly_once or at_least_once, got ${JSON.stringify(raw.PROCESSING_GUARANTEE)}`,
    );
  }
  const logLevel = (raw.LOG_LEVEL ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  const logFormat = (raw.LOG_FORMAT ?? 'auto') as LogFormat;
  if (!LOG_FORMATS.includes(logFormat)) problems.push(`LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')}`);
  const ssl = bool(raw.KAFKA_SSL, 'KAFKA_SSL', problems);
  const saslMechanism = raw.KAFKA_SASL_MECHANISM?.toLowerCase() as SaslMechanism | undefined;
  let sasl: KafkaConnectionConfig['sasl'];
  if (saslMechanism) {
    if (!SASL.includes(saslMechanism))
      problems.push(`KAFKA_SASL_MECHANISM must be one of ${SASL.join(', ')}`);
    if (!raw.KAFKA_SASL_USERNAME || !raw.KAFKA_SASL_PASSWORD) {
      problems.push('KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required with KAFKA_SASL_MECHANISM');
    }
    sasl = {
      mechanism: saslMechanism,
      username: raw.KAFKA_SASL_USERNAME ?? '',
      password: raw.KAFKA_SASL_PASSWORD ?? '',
    };
  }
  const tlsFiles = raw.KAFKA_SSL_CA_FILE || raw.KAFKA_SSL_CERT_FILE || raw.KAFKA_SSL_KEY_FILE;
  const tls: KafkaConnectionConfig['tls'] = tlsFiles
    ? { caFile: raw.KAFKA_SSL_CA_FILE, certFile: raw.KAFKA_SSL_CERT_FILE, keyFile: raw.KAFKA_SSL_KEY_FILE }
    : (ssl ?? false);
  if ((raw.API_TLS_CERT === undefined) !== (raw.API_TLS_KEY === undefined)) {
    problems.push('API_TLS_CERT and API_TLS_KEY must be set together');
  }
  const apiToken = raw.API_TOKEN === '' ? undefined : raw.API_TOKEN;
  if (apiToken !== undefined && apiToken.length < 16)
    problems.push('API_TOKEN must be at least 16 characters');
  const instanceId = raw.INSTANCE_ID ?? `${hostname()}-${process.pid}`;
  const scheme = raw.API_TLS_CERT ? 'https' : 'http';
  const advertisedUrl =
    raw.ADVERTISED_URL ?? `${scheme}://${httpHost === '0.0.0.0' ? '127.0.0.1' : httpHost}:${httpPort}`;
  try {
    new URL(advertisedUrl);
  } catch {
    problems.push(`ADVERTISED_URL is not a URL: ${JSON.stringify(advertisedUrl)}`);
  }
  const streams: StreamsConfig = {
    applicationId,
    instanceId,
    advertisedUrl,
    stateDir: raw.STATE_DIR ?? join(process.cwd(), '.state'),
    processingGuarantee: guarantee,
    commitIntervalMs: int(raw.COMMIT_INTERVAL_MS, 'COMMIT_INTERVAL_MS', 100, 1, 600_000, problems),
    commitMinIntervalMs: int(raw.COMMIT_MIN_INTERVAL_MS, 'COMMIT_MIN_INTERVAL_MS', 20, 0, 600_000, problems),
    numStandbyReplicas: int(raw.NUM_STANDBY_REPLICAS, 'NUM_STANDBY_REPLICAS', 1, 0, 10, problems),
    replicationFactor: int(raw.REPLICATION_FACTOR, 'REPLICATION_FACTOR', -1, -1, 10, problems),
    sessionTimeoutMs: int(raw.SESSION_TIMEOUT_MS, 'SESSION_TIMEOUT_MS', 10_000, 6_000, 300_000, problems),
    groupProtocol,
    transactionTimeoutMs: int(
      raw.TRANSACTION_TIMEOUT_MS,
      'TRANSACTION_TIMEOUT_MS',
      10_000,
      1_000,
      900_000,
      problems,
    ),
    storeMemoryBytes: int(raw.STORE_MEMORY_MB, 'STORE_MEMORY_MB', 32, 4, 65_536, problems) * 1024 * 1024,
    storeCacheBytes: int(raw.STORE_CACHE_MB, 'STORE_CACHE_MB', 16, 0, 65_536, problems) * 1024 * 1024,
  };
  const embeddedDir = raw.KAFKA_EMBEDDED_DIR ?? join(process.cwd(), '.kafka');
  const embedded: EmbeddedKafkaSettings = {
    port: int(raw.KAFKA_EMBEDDED_PORT, 'KAFKA_EMBEDDED_PORT', 9092, 0, 65535, problems),
    cacheDir: embeddedDir,
    dataDir: join(embeddedDir, 'data'),
    javaHome: raw.JAVA_HOME || undefined,
    heapMb: int(raw.KAFKA_EMBEDDED_HEAP_MB, 'KAFKA_EMBEDDED_HEAP_MB', 768, 256, 16_384, problems),
  };
  const partitions = int(raw.PARTITIONS, 'PARTITIONS', 12, 1, 1000, problems);
  const shutdownTimeoutMs = int(
    raw.SHUTDOWN_TIMEOUT_MS,
    'SHUTDOWN_TIMEOUT_MS',
    10_000,
    1_000,
    600_000,
    problems,
  );
  for (const [name, value] of [
    ['INPUT_TOPIC', raw.INPUT_TOPIC],
    ['OUTPUT_TOPIC', raw.OUTPUT_TOPIC],
    ['DLQ_TOPIC', raw.DLQ_TOPIC],
  ] as const) {
    if (value !== undefined && !/^[A-Za-z0-9._-]{1,249}$/.test(value))
      problems.push(`${name} is not a valid topic name`);
  }
  const appSettings: Record<string, string | undefined> = {};
  for (const name of APP_SETTINGS) appSettings[name] = raw[name];
  const caseSync = parseCaseSyncSettings(appSettings);
  if (!caseSync.ok) problems.push(...caseSync.problems);
  if (problems.length > 0 || !caseSync.ok) {
    throw new UscError('USC_ERR_CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`, {
      details: { problems },
    });
  }
  return {
    kafkaBrokers: brokers,
    embedded,
    kafka: {
      clientId: raw.KAFKA_CLIENT_ID ?? applicationId,
      tls,
      sasl,
      ...(raw.KAFKA_CLIENT_DEBUG ? { debug: raw.KAFKA_CLIENT_DEBUG } : {}),
    },
    streams,
    partitions,
    httpHost,
    httpPort,
    apiToken,
    apiTls:
      raw.API_TLS_CERT && raw.API_TLS_KEY
        ? { certFile: raw.API_TLS_CERT, keyFile: raw.API_TLS_KEY }
        : undefined,
    logLevel,
    logFormat,
    shutdownTimeoutMs,
    caseSync: caseSync.settings,
  };
}
