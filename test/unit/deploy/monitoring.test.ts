/**
 * The Grafana dashboard and the Prometheus alert rules of deploy/ cannot be loaded here (no Docker, no
 * Prometheus), so their shape is checked: the dashboard JSON is one Grafana can provision (uid, title, panels with
 * a datasource and non-empty queries, the panels operators asked for), the alert rules have the structure
 * `promtool check rules` expects with valid durations, and every PromQL expression selects only metrics the code
 * declares (a renamed metric would otherwise leave an empty panel or an alert that can never fire).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { balanced, declaredMetrics, isPrometheusDuration, selectedMetrics } from './metric-names.js';

interface Target {
  refId?: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  gridPos?: { h: number; w: number; x: number; y: number };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating?: { list: { name: string; query?: unknown; datasource?: { uid?: string } }[] };
}
interface Rule {
  alert?: string;
  record?: string;
  expr?: unknown;
  for?: unknown;
  labels?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
  [key: string]: unknown;
}
interface RuleGroup {
  name?: unknown;
  interval?: unknown;
  rules?: Rule[];
  [key: string]: unknown;
}

const DASHBOARD_FILE = 'deploy/grafana/dashboards/urp-case-sync.json';
const ALERTS_FILE = 'deploy/prometheus/alerts.yml';
const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
const alerts = parse(readFileSync(ALERTS_FILE, 'utf8')) as { groups: RuleGroup[] };
const datasources = parse(readFileSync('deploy/grafana/provisioning/datasources/prometheus.yml', 'utf8')) as {
  datasources: { uid: string; type: string }[];
};
const declared = declaredMetrics();

const queryPanels = dashboard.panels.filter((p) => p.type !== 'row');
const dashboardExprs = queryPanels.flatMap((p) =>
  (p.targets ?? []).map((t) => ({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr ?? '' })),
);
const rules = alerts.groups.flatMap((g) => g.rules ?? []);
const alertExprs = rules.map((r) => ({ where: `alert ${r.alert}`, expr: String(r.expr ?? '') }));

describe('metric name extraction (used by the checks below)', () => {
  it('finds the metrics the code declares, with their types', () => {
    expect(declared.byName.get('usc_streams_records_processed_total')).toBe('Counter');
    expect(declared.byName.get('usc_streams_consumer_lag_records')).toBe('Gauge');
    expect(declared.byName.get('usc_streams_record_errors_total')).toBe('Counter');
    expect(declared.byName.get('usc_streams_commit_seconds')).toBe('Histogram');
    expect(declared.byName.get('ucm_case_events_dlq_total')).toBe('Counter');
    expect(declared.byName.get('usc_api_request_duration_seconds')).toBe('Histogram');
    expect(declared.selectable.has('usc_api_request_duration_seconds_bucket')).toBe(true);
    expect(declared.selectable.has('usc_streams_commits_total_bucket')).toBe(false);
    expect(declared.selectable.has('up')).toBe(true);
  });

  it('extracts only metric names from PromQL', () => {
    expect(
      selectedMetrics(
        'histogram_quantile(0.99, sum by (le, route) (rate(a_seconds_bucket{route!~"/metrics|x"}[$__rate_interval])))',
      ),
    ).toEqual(['a_seconds_bucket']);
    expect(
      selectedMetrics(
        'sum by (topic) (lag) > 1e4 and on (topic) sum without (partition) (deriv(lag[10m] offset 5m)) > 0',
      ),
    ).toEqual(['lag', 'lag']);
    expect(selectedMetrics('up{job="urp-case-sync", instance=~"$instance"} == 0')).toEqual(['up']);
    expect(selectedMetrics('sum(rate(x_total[5m])) unless ignoring (a) y / 2')).toEqual(['x_total', 'y']);
  });

  it('accepts Prometheus durations only', () => {
    for (const ok of ['1m', '10m', '5m', '1h30m', '90s', '500ms', '1d', '0'])
      expect(isPrometheusDuration(ok), ok).toBe(true);
    for (const bad of ['', '10', '10 m', '1.5m', 'm', '5M', '30s1m', 10])
      expect(isPrometheusDuration(bad), String(bad)).toBe(false);
  });
});

describe('Grafana dashboard', () => {
  it('is a dashboard Grafana can provision: uid, title, panels each with a datasource and queries', () => {
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(dashboard.title).toBe('urp-case-sync');
    expect(queryPanels.length).toBeGreaterThanOrEqual(10);
    const uids = new Set(datasources.datasources.filter((d) => d.type === 'prometheus').map((d) => d.uid));
    const ids = new Set<number>();
    for (const p of dashboard.panels) {
      expect(ids.has(p.id), `duplicate panel id ${p.id}`).toBe(false);
      ids.add(p.id);
      expect(p.gridPos, p.title).toBeDefined();
    }
    for (const p of queryPanels) {
      expect(p.title, `panel ${p.id}`).toBeTruthy();
      expect(
        uids.has(p.datasource?.uid ?? ''),
        `${p.title}: datasource ${JSON.stringify(p.datasource)}`,
      ).toBe(true);
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      const refIds = new Set<string>();
      for (const t of p.targets!) {
        expect(t.expr?.trim(), `${p.title} ${t.refId}`).toBeTruthy();
        expect(refIds.has(t.refId!), `${p.title}: duplicate refId`).toBe(false);
        refIds.add(t.refId!);
        if (t.datasource) expect(uids.has(t.datasource.uid ?? ''), p.title).toBe(true);
      }
    }
    for (const variable of dashboard.templating?.list ?? []) {
      expect(uids.has(variable.datasource?.uid ?? ''), `variable ${variable.name}`).toBe(true);
      const query = JSON.stringify(variable.query ?? '');
      for (const [, metric] of query.matchAll(/label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)/g))
        expect(declared.selectable.has(metric!), `variable ${variable.name}: ${metric}`).toBe(true);
    }
  });

  it('has the panels operators asked for', () => {
    const selecting = (metric: string) =>
      queryPanels.filter((p) =>
        (p.targets ?? []).some((t) => selectedMetrics(t.expr ?? '').includes(metric)),
      );
    const required: [string, RegExp][] = [
      ['usc_streams_records_processed_total', /throughput/i],
      ['usc_streams_consumer_lag_records', /lag/i],
      ['ucm_case_events_dlq_total', /dead letter/i],
      ['usc_streams_restore_records_total', /restored/i],
      ['usc_streams_restore_remaining_records', /restore/i],
      ['usc_streams_commit_seconds_bucket', /commit latency/i],
      ['usc_streams_commits_total', /commit outcomes/i],
      ['usc_api_request_duration_seconds_bucket', /API latency/i],
      ['up', /instances up/i],
      ['usc_streams_tasks', /tasks/i],
      ['usc_streams_record_errors_total', /record errors/i],
    ];
    for (const [metric, title] of required) {
      const panels = selecting(metric);
      expect(
        panels.some((p) => title.test(p.title)),
        `${metric} in a panel titled ${title}`,
      ).toBe(true);
    }
    // Throughput per subtopology, lag per partition and total, dead letters and record errors as rates.
    const exprs = dashboardExprs.map((e) => e.expr.replace(/\s+/g, ' '));
    expect(
      exprs.some((e) => /sum by \(subtopology\) \(rate\(usc_streams_records_processed_total/.test(e)),
    ).toBe(true);
    expect(exprs.some((e) => /by \(topic, partition\) \(usc_streams_consumer_lag_records/.test(e))).toBe(
      true,
    );
    expect(exprs.some((e) => /^sum\(usc_streams_consumer_lag_records/.test(e))).toBe(true);
    expect(exprs.some((e) => /by \(category\) \(rate\(ucm_case_events_dlq_total/.test(e))).toBe(true);
    expect(exprs.some((e) => /by \(stage, action\) \(rate\(usc_streams_record_errors_total/.test(e))).toBe(
      true,
    );
    for (const q of ['0.5', '0.99']) {
      expect(
        exprs.some(
          (e) => e.startsWith(`histogram_quantile(${q},`) && e.includes('usc_streams_commit_seconds_bucket'),
        ),
      ).toBe(true);
      expect(
        exprs.some(
          (e) =>
            e.startsWith(`histogram_quantile(${q},`) && e.includes('usc_api_request_duration_seconds_bucket'),
        ),
      ).toBe(true);
    }
  });
});

describe('Prometheus alert rules', () => {
  it('have the structure promtool check rules expects', () => {
    expect(Array.isArray(alerts.groups) && alerts.groups.length > 0).toBe(true);
    const groupNames = new Set<unknown>();
    const alertNames = new Set<unknown>();
    for (const group of alerts.groups) {
      expect(typeof group.name === 'string' && group.name.length > 0).toBe(true);
      expect(groupNames.has(group.name), `duplicate group ${group.name}`).toBe(false);
      groupNames.add(group.name);
      for (const key of Object.keys(group))
        expect(
          ['name', 'interval', 'limit', 'query_offset', 'labels', 'rules'],
          `group key ${key}`,
        ).toContain(key);
      if (group.interval !== undefined) expect(isPrometheusDuration(group.interval)).toBe(true);
      expect(group.rules?.length, String(group.name)).toBeGreaterThan(0);
      for (const rule of group.rules!) {
        const what = `rule ${rule.alert ?? rule.record}`;
        for (const key of Object.keys(rule))
          expect(
            ['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'],
            `${what}: key ${key}`,
          ).toContain(key);
        expect(typeof rule.alert === 'string' && /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(rule.alert), what).toBe(
          true,
        );
        expect(alertNames.has(rule.alert), `duplicate ${what}`).toBe(false);
        alertNames.add(rule.alert);
        expect(typeof rule.expr === 'string' && rule.expr.trim().length > 0, what).toBe(true);
        expect(isPrometheusDuration(rule.for), `${what}: for ${String(rule.for)}`).toBe(true);
        expect(['critical', 'warning', 'info'], what).toContain(rule.labels?.severity);
        expect(
          typeof rule.annotations?.summary === 'string' && rule.annotations.summary.length > 0,
          what,
        ).toBe(true);
        for (const value of [...Object.values(rule.labels ?? {}), ...Object.values(rule.annotations ?? {})])
          expect(typeof value, `${what}: labels and annotations are strings`).toBe('string');
      }
    }
  });

  it('cover lag growing, dead-letter rate, instance down and stuck tasks with the asked-for windows', () => {
    const compact = (r: Rule) => String(r.expr).replace(/\s+/g, ' ').trim();
    const find = (pattern: RegExp) => rules.find((r) => pattern.test(compact(r)));

    const lag = find(
      /usc_streams_consumer_lag_records\) > \d+ and .*deriv\(usc_streams_consumer_lag_records\[10m\]\)\) > 0/,
    );
    expect(lag?.for).toBe('10m');
    const dlq = find(/rate\(ucm_case_events_dlq_total\[\w+\]\)\) > [\d.]+$/);
    expect(dlq).toBeDefined();
    const down = find(/^up\{job="urp-case-sync"\} == 0$/);
    expect(down?.for).toBe('1m');
    expect(down?.labels?.severity).toBe('critical');
    const stuck = find(
      /usc_streams_consumer_lag_records\) > 0 unless .*rate\(usc_streams_records_processed_total\[5m\]\)\) > 0/,
    );
    expect(stuck?.for).toBe('5m');
  });

  it('are loaded by Prometheus (rule_files of deploy/prometheus.yml)', () => {
    const config = parse(readFileSync('deploy/prometheus.yml', 'utf8')) as { rule_files?: string[] };
    expect(config.rule_files).toEqual(['/etc/prometheus/alerts.yml']);
  });
});

describe('PromQL of the dashboard and the alerts', () => {
  it('selects only metrics the code declares (plus up and histogram series)', () => {
    const all = [...dashboardExprs, ...alertExprs];
    expect(all.length).toBeGreaterThan(15);
    for (const { where, expr } of all) {
      expect(balanced(expr), `${where}: unbalanced ${expr}`).toBe(true);
      const names = selectedMetrics(expr);
      expect(names.length, `${where}: selects no metric: ${expr}`).toBeGreaterThan(0);
      for (const name of names)
        expect(declared.selectable.has(name), `${where}: unknown metric ${name}`).toBe(true);
    }
  });

  it('would catch a metric the code does not declare', () => {
    const names = selectedMetrics('sum(rate(usc_streams_records_dropped_total[5m]))');
    expect(names.every((n) => declared.selectable.has(n))).toBe(false);
  });
});
