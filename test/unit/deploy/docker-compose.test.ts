/**
 * docker-compose.yml cannot run here (no Docker engine), so its shape is checked: valid YAML, the official Kafka
 * image in KRaft mode with the broker version the embedded launcher pins and its data in its volume, three app
 * instances that each advertise their own URL, keep their own state and report healthy when ready, Prometheus
 * scraping all three and loading the alert rules, and Grafana with its provisioning mounted.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
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
  ports?: string[];
}

interface DataSource {
  uid: string;
  type: string;
  url: string;
}

interface Provider {
  type: string;
  options: { path: string };
}

const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const apps = ['app-1', 'app-2', 'app-3'];

interface Mount {
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
}

/** Short-syntax volumes (`source:target[:mode]`). */
function mounts(service: Service): Mount[] {
  return (service.volumes ?? []).map((v) => {
    const [source, target, mode] = v.split(':');
    return { source: source!, target: target!, readOnly: mode === 'ro' };
  });
}

/** The host path mounted at `target` (a bind mount of this repository), checked to exist. */
function hostPathOf(service: Service, target: string): string {
  const mount = mounts(service).find((m) => m.target === target);
  expect(mount, `a mount at ${target}`).toBeDefined();
  expect(mount!.source.startsWith('./'), `${mount!.source} is a path of this repository`).toBe(true);
  expect(mount!.readOnly, `${target} mounted read-only`).toBe(true);
  expect(existsSync(mount!.source), `${mount!.source} exists`).toBe(true);
  return mount!.source;
}

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

  it("keeps Kafka's data in its volume (KAFKA_LOG_DIRS is the mount path, not the image default in /tmp)", () => {
    const kafka = compose.services.kafka!;
    const logDirs = String(kafka.environment?.KAFKA_LOG_DIRS ?? '');
    expect(logDirs).not.toBe('');
    const dataMount = mounts(kafka).find((m) => m.target === logDirs);
    expect(dataMount, `a volume mounted at ${logDirs}`).toBeDefined();
    expect(compose.volumes, 'a named volume').toHaveProperty(dataMount!.source);
    expect(logDirs.startsWith('/tmp')).toBe(false);
    // The data in the volume belongs to one cluster id: it must not change between container re-creations.
    expect(String(kafka.environment?.CLUSTER_ID ?? '')).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('reports an instance healthy once it is ready (/readyz), not merely alive (/healthz)', () => {
    const appServices = Object.entries(compose.services).filter(([, s]) => s.image === 'urp-case-sync:local');
    expect(appServices.map(([name]) => name).sort()).toEqual(apps);
    for (const [name, app] of appServices) {
      const test = app.healthcheck?.test.join(' ') ?? '';
      expect(test, name).toContain('http://127.0.0.1:8080/readyz');
      expect(test, name).not.toContain('/healthz');
    }
  });

  it('has Prometheus load the alert rules it is configured with', () => {
    const prometheus = compose.services.prometheus!;
    const config = parse(readFileSync(hostPathOf(prometheus, '/etc/prometheus/prometheus.yml'), 'utf8')) as {
      rule_files?: string[];
    };
    expect(config.rule_files?.length).toBeGreaterThan(0);
    for (const file of config.rule_files!) {
      const source = hostPathOf(prometheus, file);
      expect(path.normalize(source)).toBe(path.normalize('deploy/prometheus/alerts.yml'));
    }
  });

  it('runs Grafana (official image, pinned) with its datasource and dashboards provisioned', () => {
    const grafana = compose.services.grafana!;
    expect(grafana.image).toMatch(/^grafana\/grafana(-oss)?:\d+\.\d+\.\d+$/);
    expect(grafana.ports).toContain('3000:3000');
    expect(grafana.depends_on).toContain('prometheus');

    const provisioning = hostPathOf(grafana, '/etc/grafana/provisioning');
    const yamls = (dir: string) =>
      readdirSync(path.join(provisioning, dir)).filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'));

    const datasources = yamls('datasources').flatMap(
      (f) =>
        (
          parse(readFileSync(path.join(provisioning, 'datasources', f), 'utf8')) as {
            datasources: DataSource[];
          }
        ).datasources,
    );
    const prometheusSource = datasources.find((d) => d.type === 'prometheus');
    expect(prometheusSource?.url).toBe('http://prometheus:9090');
    expect(compose.services.prometheus?.ports).toContain('9090:9090');

    const providers = yamls('dashboards').flatMap(
      (f) =>
        (parse(readFileSync(path.join(provisioning, 'dashboards', f), 'utf8')) as { providers: Provider[] })
          .providers,
    );
    expect(providers.length).toBeGreaterThan(0);
    for (const provider of providers) {
      expect(provider.type).toBe('file');
      const hostDir = hostPathOf(grafana, provider.options.path);
      expect(statSync(hostDir).isDirectory()).toBe(true);
      const dashboards = readdirSync(hostDir).filter((f) => f.endsWith('.json'));
      expect(dashboards).toContain('urp-case-sync.json');
      for (const file of dashboards) {
        const dashboard = JSON.parse(readFileSync(path.join(hostDir, file), 'utf8')) as {
          panels: { datasource?: { uid?: string } }[];
        };
        for (const panel of dashboard.panels.filter((p) => p.datasource))
          expect(panel.datasource?.uid).toBe(prometheusSource?.uid);
      }
    }
    const home = String(grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? '');
    if (home) expect(providers.some((p) => home.startsWith(`${p.options.path}/`))).toBe(true);
    expect(compose.volumes).toHaveProperty(
      mounts(grafana).find((m) => m.target === '/var/lib/grafana')!.source,
    );
  });
});
