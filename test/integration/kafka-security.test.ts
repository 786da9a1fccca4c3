/**
 * Kafka SASL and TLS from configuration, end to end, each against a second embedded broker with one secured
 * listener: SASL_PLAINTEXT (PLAIN) with the client built from KAFKA_SASL_* settings (a wrong password fails as an
 * authentication error, which the runtime treats as fatal, not retriable), and SSL with KAFKA_SSL_CA_FILE.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadServiceConfig, rawSettings } from '../../cli/config.js';
import { silentLogger } from '../../common/logger.js';
import { EmbeddedKafka } from '../../kafka/embedded/index.js';
import { freePort } from '../../kafka/embedded/free-port.js';
import {
  Publisher,
  classifyKafkaError,
  createKafka,
  isDefinitelyFatal,
  openAdmin,
  type KafkaClient,
} from '../../kafka/index.js';
import { createTopics, readTopicToEnd, produce, uniqueName } from '../support/kafka-test-utils.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/**
 * Starts an embedded broker with a PLAINTEXT listener (its own use) and one listener named `listener` speaking
 * `protocol`, plus the broker settings that listener needs; returns that listener's port.
 */
async function brokerWithListener(
  listener: string,
  protocol: string,
  config: Record<string, string>,
): Promise<number> {
  const port = await freePort('127.0.0.1');
  const securedPort = await freePort('127.0.0.1');
  const controllerPort = await freePort('127.0.0.1');
  const broker = await EmbeddedKafka.start({
    cacheDir: path.resolve('.kafka'),
    port,
    controllerPort,
    logger: silentLogger,
    brokerConfig: {
      listeners: `PLAINTEXT://127.0.0.1:${port},${listener}://127.0.0.1:${securedPort},CONTROLLER://127.0.0.1:${controllerPort}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${port},${listener}://127.0.0.1:${securedPort}`,
      'listener.security.protocol.map': `PLAINTEXT:PLAINTEXT,${listener}:${protocol},CONTROLLER:PLAINTEXT`,
      ...config,
    },
  });
  cleanups.push(() => broker.stop());
  return securedPort;
}

/** Creates a topic through `kafka`, produces one record and reads the topic back. */
async function roundTrip(kafka: KafkaClient, value: string): Promise<(string | null)[]> {
  const topic = uniqueName('secured');
  await createTopics(kafka, [{ topic, partitions: 1 }]);
  await produce(kafka, topic, [{ key: 'k', value }]);
  return (await readTopicToEnd(kafka, topic)).map((r) => r.value);
}

describe('Kafka SASL and TLS', () => {
  it('connects with PLAIN credentials from the settings and rejects a wrong password as fatal', async () => {
    const saslPort = await brokerWithListener('SASL_PLAINTEXT', 'SASL_PLAINTEXT', {
      'sasl.enabled.mechanisms': 'PLAIN',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config':
        'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";',
    });
    const settings = (password: string) =>
      loadServiceConfig(
        rawSettings(
          {},
          {
            KAFKA_BROKERS: `127.0.0.1:${saslPort}`,
            KAFKA_SASL_MECHANISM: 'plain',
            KAFKA_SASL_USERNAME: 'alice',
            KAFKA_SASL_PASSWORD: password,
          },
        ),
      );
    const good = settings('alice-secret');
    const kafka = createKafka({ ...good.kafka, brokers: good.kafkaBrokers! }, silentLogger);
    expect(await roundTrip(kafka, 'through SASL')).toEqual(['through SASL']);

    const bad = settings('wrong-password');
    const rejected = createKafka({ ...bad.kafka, brokers: bad.kafkaBrokers! }, silentLogger);
    const err = await openAdmin(rejected).then(
      async (admin) => {
        await admin.disconnect();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(String(err)).toMatch(/SASL|authentication/i);
    expect(classifyKafkaError(err)).toBe('fatal');
    expect(isDefinitelyFatal(err)).toBe(true);
    // The same for a producer: the tools' publisher fails to open instead of retrying the login.
    const publisherErr = await Publisher.open(rejected).then(
      async (publisher) => {
        await publisher.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(String(publisherErr)).toMatch(/Invalid username or password/);
    expect(isDefinitelyFatal(publisherErr)).toBe(true);
  });

  it('connects over TLS with the CA file from KAFKA_SSL_CA_FILE', async () => {
    const tlsPort = await brokerWithListener('SSL', 'SSL', {
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.location': path.resolve('test/fixtures/tls/keystore.pem'),
      'ssl.endpoint.identification.algorithm': '',
    });
    const config = loadServiceConfig(
      rawSettings(
        {},
        {
          KAFKA_BROKERS: `127.0.0.1:${tlsPort}`,
          KAFKA_SSL_CA_FILE: path.resolve('test/fixtures/tls/cert.pem'),
        },
      ),
    );
    const kafka = createKafka({ ...config.kafka, brokers: config.kafkaBrokers! }, silentLogger);
    expect(await roundTrip(kafka, 'through TLS')).toEqual(['through TLS']);
  });
});
