/**
 * docker-compose.yml cannot run here (no Docker engine), so its shape is checked: valid YAML, the official Kafka
 * image in KRaft mode with the broker version the embedded launcher pins, three app instances that each advertise
 * their own URL and keep their own state, and Prometheus scraping all three.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { KAFKA_VERSION } from '../../../kafka/embedded/versions.js';
import { SETTING_NAMES } from '../../../cli/config.js';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string | number>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] };
}

const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const apps = ['app-1', 'app-2', 'app-3'];

describe('docker-compose.yml', () => {
  it('runs the official Apache Kafka image in KRaft mode at the pinned broker version', () => {
    const kafka = compose.services.kafka!;
    expect(kafka.image).toBe(`apache/kafka:${KAFKA_VERSION}`);
    expect(kafka.environment?.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(kafka.environment?.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR).toBe(1);
    expect(kafka.healthcheck?.test.join(' ')).toContain('kafka-broker-api-versions');
  });

  it('runs three instances in one group, each with its own URL, id and state volume', () => {
    const urls = new Set<string>();
    const volumes = new Set<string>();
    for (const name of apps) {
      const app = compose.services[name]!;
      expect(app.command).toEqual(['start']);
      expect(app.depends_on).toEqual({ kafka: { condition: 'service_healthy' } });
      expect(app.environment?.KAFKA_BROKERS).toBe('kafka:19092');
      expect(app.environment?.APPLICATION_ID).toBe('urp-case-sync');
      expect(app.environment?.INSTANCE_ID).toBe(name);
      urls.add(String(app.environment?.ADVERTISED_URL));
      volumes.add(app.volumes![0]!.split(':')[0]!);
      for (const key of Object.keys(app.environment ?? {}))
        expect(SETTING_NAMES as readonly string[]).toContain(key);
    }
    expect(urls.size).toBe(3);
    expect(volumes.size).toBe(3);
    for (const v of volumes) expect(compose.volumes).toHaveProperty(v);
  });

  it('has Prometheus scrape every instance', () => {
    const prometheus = compose.services.prometheus!;
    const mount = prometheus.volumes![0]!.split(':')[0]!;
    const config = parse(readFileSync(mount, 'utf8')) as {
      scrape_configs: { static_configs: { targets: string[] }[] }[];
    };
    const targets = config.scrape_configs.flatMap((s) => s.static_configs.flatMap((c) => c.targets));
    expect(targets.sort()).toEqual(apps.map((a) => `${a}:8080`));
  });
});
