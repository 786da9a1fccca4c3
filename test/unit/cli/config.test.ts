/** The config module: flags over env, Kafka TLS/SASL settings, secrets never echoed. */
import { describe, expect, it } from 'vitest';
import { loadServiceConfig, parseFlags, rawSettings } from '../../../cli/config.js';
import { hasCode } from '../../../common/errors.js';

const load = (env: Record<string, string>, argv: string[] = []) =>
  loadServiceConfig(rawSettings(parseFlags(argv).flags, env));

function problemsOf(env: Record<string, string>): string {
  try {
    load(env);
  } catch (err) {
    expect(hasCode(err, 'USC_ERR_CONFIG_INVALID')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected an invalid configuration');
}

describe('service configuration', () => {
  it('lets a flag override the environment', () => {
    const config = load({ HTTP_PORT: '8080', APPLICATION_ID: 'from-env' }, [
      '--http-port',
      '9090',
      '--application-id=cli',
    ]);
    expect(config.httpPort).toBe(9090);
    expect(config.streams.applicationId).toBe('cli');
  });

  it('configures SASL/SCRAM and mutual TLS for Kafka from the environment', () => {
    const config = load({
      KAFKA_BROKERS: 'b1:9093,b2:9093',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'urp-case-sync',
      KAFKA_SASL_PASSWORD: 'p4ss',
      KAFKA_SSL_CA_FILE: '/etc/kafka/ca.pem',
      KAFKA_SSL_CERT_FILE: '/etc/kafka/client.pem',
      KAFKA_SSL_KEY_FILE: '/etc/kafka/client.key',
    });
    expect(config.kafkaBrokers).toEqual(['b1:9093', 'b2:9093']);
    expect(config.kafka.sasl).toEqual({
      mechanism: 'scram-sha-512',
      username: 'urp-case-sync',
      password: 'p4ss',
    });
    expect(config.kafka.tls).toEqual({
      caFile: '/etc/kafka/ca.pem',
      certFile: '/etc/kafka/client.pem',
      keyFile: '/etc/kafka/client.key',
    });
    expect(load({ KAFKA_SSL: 'true' }).kafka.tls).toBe(true);
  });

  it('rejects an incomplete or unknown SASL setup without echoing the password', () => {
    const message = problemsOf({ KAFKA_SASL_MECHANISM: 'kerberos', KAFKA_SASL_PASSWORD: 'very-secret-pw' });
    expect(message).toContain('KAFKA_SASL_MECHANISM must be one of plain, scram-sha-256, scram-sha-512');
    expect(message).toContain('KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required');
    expect(message).not.toContain('very-secret-pw');
  });

  it('requires the API certificate and key together', () => {
    expect(problemsOf({ API_TLS_CERT: '/tls/cert.pem' })).toContain(
      'API_TLS_CERT and API_TLS_KEY must be set together',
    );
    const config = load({ API_TLS_CERT: '/tls/cert.pem', API_TLS_KEY: '/tls/key.pem', HTTP_PORT: '8443' });
    expect(config.apiTls).toEqual({ certFile: '/tls/cert.pem', keyFile: '/tls/key.pem' });
    expect(config.streams.advertisedUrl).toBe('https://127.0.0.1:8443');
  });

  it('reads the input bounds and the dedupe bound, listing every out-of-range value at once', () => {
    const config = load({
      MAX_RECORD_BYTES: '65536',
      MAX_NESTING_DEPTH: '8',
      MAX_STRING_LENGTH: '2000',
      MAX_FUTURE_SKEW_MS: '60000',
      DEDUPE_MAX_IDS: '50',
      MAX_CASE_STATE_BYTES: '500000',
    });
    expect(config.caseSync).toMatchObject({
      maxRecordBytes: 65_536,
      maxNestingDepth: 8,
      maxStringLength: 2_000,
      maxFutureSkewMs: 60_000,
      dedupeMaxIds: 50,
      maxCaseStateBytes: 500_000,
    });
    expect(load({}).caseSync).toMatchObject({
      maxRecordBytes: 262_144,
      maxNestingDepth: 16,
      maxStringLength: 8_192,
      maxFutureSkewMs: 3_600_000,
      dedupeMaxIds: 1_000,
      maxCaseStateBytes: 1_000_000,
    });
    expect(load({}, ['--max-nesting-depth', '4']).caseSync.maxNestingDepth).toBe(4);
    const message = problemsOf({
      MAX_RECORD_BYTES: '10',
      MAX_NESTING_DEPTH: '2',
      MAX_STRING_LENGTH: 'lots',
      MAX_FUTURE_SKEW_MS: '-1',
      DEDUPE_MAX_IDS: '0',
      MAX_CASE_STATE_BYTES: '1000',
    });
    expect(message).toContain('MAX_RECORD_BYTES must be an integer between 1024 and 16777216');
    expect(message).toContain('MAX_NESTING_DEPTH must be an integer between 3 and 256');
    expect(message).toContain('MAX_STRING_LENGTH must be an integer between 1000 and 1048576');
    expect(message).toContain('MAX_FUTURE_SKEW_MS must be an integer between 1000 and 2592000000');
    expect(message).toContain('DEDUPE_MAX_IDS must be an integer between 1 and 100000');
    expect(message).toContain('MAX_CASE_STATE_BYTES must be an integer between 16384 and 16777216');
  });
});
