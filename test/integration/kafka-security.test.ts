/**
 * Kafka SASL and TLS from configuration, end to end: a second embedded broker with a SASL_PLAINTEXT listener (PLAIN);
 * the client built from KAFKA_SASL_* settings produces and reads back through it, and a wrong password fails as
 * an authentication error (which the runtime treats as fatal, not retriable).
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadServiceConfig, rawSettings } from '../../cli/config.js';
import { silentLogger } from '../../common/logger.js';
import { EmbeddedKafka } from '../../kafka/embedded/index.js';
import { freePort } from '../../kafka/embedded/free-port.js';
import { classifyKafkaError, createKafka, isDefinitelyFatal, openAdmin } from '../../kafka/index.js';
import { createTopics, readTopicToEnd, produce, uniqueName } from '../support/kafka-test-utils.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

describe('Kafka SASL and TLS', () => {
  it('connects with PLAIN credentials from the settings and rejects a wrong password as fatal', async () => {
    const port = await freePort('127.0.0.1');
    const saslPort = await freePort('127.0.0.1');
    const controllerPort = await freePort('127.0.0.1');
    const broker = await EmbeddedKafka.start({
      cacheDir: path.resolve('.kafka'),
      port,
      controllerPort,
      logger: silentLogger,
      brokerConfig: {
        listeners: `PLAINTEXT://127.0.0.1:${port},SASL_PLAINTEXT://127.0.0.1:${saslPort},CONTROLLER://127.0.0.1:${controllerPort}`,
        'advertised.listeners': `PLAINTEXT://127.0.0.1:${port},SASL_PLAINTEXT://127.0.0.1:${saslPort}`,
        'listener.security.protocol.map':
          'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT',
        'sasl.enabled.mechanisms': 'PLAIN',
        'listener.name.sasl_plaintext.plain.sasl.jaas.config':
          'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";',
      },
    });
    cleanups.push(() => broker.stop());
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
    const topic = uniqueName('sasl');
    await createTopics(kafka, [{ topic, partitions: 1 }]);
    await produce(kafka, topic, [{ key: 'k', value: 'through SASL' }]);
    expect((await readTopicToEnd(kafka, topic)).map((r) => r.value)).toEqual(['through SASL']);

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
  });

  it('connects over TLS with the CA file from KAFKA_SSL_CA_FILE', async () => {
    const port = await freePort('127.0.0.1');
    const tlsPort = await freePort('127.0.0.1');
    const controllerPort = await freePort('127.0.0.1');
    const broker = await EmbeddedKafka.start({
      cacheDir: path.resolve('.kafka'),
      port,
      controllerPort,
      logger: silentLogger,
      brokerConfig: {
        listeners: `PLAINTEXT://127.0.0.1:${port},SSL://127.0.0.1:${tlsPort},CONTROLLER://127.0.0.1:${controllerPort}`,
        'advertised.listeners': `PLAINTEXT://127.0.0.1:${port},SSL://127.0.0.1:${tlsPort}`,
        'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SSL:SSL,CONTROLLER:PLAINTEXT',
        'ssl.keystore.type': 'PEM',
        'ssl.keystore.location': path.resolve('test/fixtures/tls/keystore.pem'),
        'ssl.endpoint.identification.algorithm': '',
      },
    });
    cleanups.push(() => broker.stop());
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
    const topic = uniqueName('tls');
    await createTopics(kafka, [{ topic, partitions: 1 }]);
    await produce(kafka, topic, [{ key: 'k', value: 'through TLS' }]);
    expect((await readTopicToEnd(kafka, topic)).map((r) => r.value)).toEqual(['through TLS']);
  });
});
