/**
 * The metrics table of docs/operations.md tells the truth: after a small stream (valid events, a duplicate, an
 * invalid record, status changes without urpCaseId) through two real instances (one standby replica each), every
 * metric the table names is exported by an instance's GET /metrics with at least one sample, and the consumer
 * lag has a sample per source partition of the instance's active tasks. The table is parsed from the markdown,
 * so the test follows the docs.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { generateUcmEvents } from '../../processors/simulation/ucm-event-generator.js';
import { expectedOutcome } from '../support/case-model.js';
import { Cluster, type ClusterMember } from '../support/cluster.js';

const cluster = new Cluster({ NUM_STANDBY_REPLICAS: '1' });
afterAll(() => cluster.stop());

/** The metric names of the table under "## Metrics" in docs/operations.md. */
function documentedMetrics(): string[] {
  const md = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
  const section = md.slice(md.indexOf('## Metrics'));
  const table = section.slice(0, section.indexOf('\n## ') === -1 ? undefined : section.indexOf('\n## '));
  return [...table.matchAll(/^\|\s*`([a-z_:][a-z0-9_:]*)`\s*\|/gm)].map((m) => m[1]!);
}

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Samples of the Prometheus text exposition format. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The samples of metric `name` (a histogram's _bucket, _sum and _count included). */
const samplesOf = (samples: readonly Sample[], name: string) =>
  samples.filter((s) => [name, `${name}_bucket`, `${name}_sum`, `${name}_count`].includes(s.name));

async function scrape(member: ClusterMember): Promise<Sample[]> {
  const res = await cluster.get(member, '/metrics');
  expect(res.status).toBe(200);
  return parseExposition(res.body as unknown as string);
}

describe('GET /metrics against docs/operations.md', () => {
  it('exports every documented metric with a sample, and the lag of every active source partition', async () => {
    const documented = documentedMetrics();
    expect(documented.length).toBeGreaterThan(15);
    const records = generateUcmEvents({
      seed: 7,
      cases: 12,
      prefix: 'MT',
      duplicateRate: 0.3,
      missingUrpRate: 0.5,
      invalidRate: 0.2,
      secondUcmRate: 0,
      shuffleWindow: 1,
    });
    const model = expectedOutcome(records);
    const a = await cluster.start('a');
    const b = await cluster.start('b');
    await cluster.allReady();
    await cluster.produce(records);
    await cluster.waitForTable(model.table);
    // Queries through both instances: some are answered locally, some forwarded to the owner.
    for (const member of [a, b]) {
      for (const urp of model.table.keys())
        expect((await cluster.get(member, `/cases/${urp}`)).status).toBe(200);
    }

    for (const member of [a, b]) {
      const samples = await scrape(member);
      const missing = documented.filter((name) => samplesOf(samples, name).length === 0);
      expect(missing, `${member.name}: documented metrics without a sample`).toEqual([]);
      for (const s of samples) expect(Number.isNaN(s.value), `${s.name} is not a number`).toBe(false);

      // One lag sample per source partition of the instance's active tasks (task id <subtopology>_<partition>).
      const tasks = await member.handle.request<{ active: { id: string }[] }>('tasks');
      const lag = samplesOf(samples, 'usc_streams_consumer_lag_records');
      const inputPartitions = tasks.active
        .filter((t) => t.id.startsWith('0_'))
        .map((t) => t.id.split('_')[1]!)
        .sort();
      expect(tasks.active.length).toBeGreaterThan(0);
      expect(
        lag
          .filter((s) => s.labels.topic === cluster.input)
          .map((s) => s.labels.partition!)
          .sort(),
      ).toEqual(inputPartitions);
      for (const t of tasks.active) {
        const partition = t.id.split('_')[1]!;
        expect(
          lag.some((s) => s.labels.partition === partition),
          `lag sample for task ${t.id}`,
        ).toBe(true);
      }
      expect(lag.every((s) => s.value >= 0)).toBe(true);
    }
    // The stream really moved the counters the test is about (not only the zero-initialised label sets).
    const samples = [...(await scrape(a)), ...(await scrape(b))];
    const total = (name: string, labels: Record<string, string> = {}) =>
      samplesOf(samples, name)
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((x, s) => x + s.value, 0);
    expect(total('ucm_case_events_consumed_total', { type: 'CASE_CREATED' })).toBeGreaterThanOrEqual(12);
    expect(total('ucm_case_events_duplicate_total')).toBeGreaterThan(0);
    expect(total('ucm_case_events_dlq_total')).toBe([...model.dlq.values()].reduce((x, y) => x + y, 0));
  });
});
