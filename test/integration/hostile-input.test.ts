/**
 * Hostile input on the real broker (ADR 0003): one `urp-case-sync start` process (its own application id and
 * topics) takes 1,200 hostile records of every kind in test/support/hostile-records.ts, then a valid CASE_CREATED
 * on every input partition. The process must never exit; every canary must reach the output topic
 * (read_committed) and the API; every hostile record must be dead-lettered exactly once with its ADR category in
 * the documented shape; no marker may appear in a dead letter, the output, an internal topic or a log line of the
 * process; and the failure counters of /metrics must equal the dead letters per category.
 */
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { listTopics, openAdmin, partitionForKey, Publisher, type PublishMessage } from '../../kafka/index.js';
import { createCaseSyncMetrics } from '../../processors/case-sync-metrics.js';
import { dlqRecordSchema } from '../../processors/domain/event-contract.js';
import { TEST_TOKEN } from '../support/cluster.js';
import { startOneInstanceApp } from '../support/one-instance-app.js';
import {
  canary,
  deadLetterProblems,
  findLeaks,
  firstMarker,
  generateHostileRecords,
  parseMarker,
  type CanaryRecord,
  type HostileRecord,
  type SchemaLike,
  Tally,
} from '../support/hostile-records.js';
import { readTopicToEnd, uniqueName, type CollectedRecord } from '../support/kafka-test-utils.js';

const PARTITIONS = 4;
const HOSTILE = 1_200;
const SEED = 4_711;

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/** Sends in requests of at most ~300 KB (a record over 64 KB alone): the broker caps a batch at 1 MiB. */
async function produceAll(publisher: Publisher, topic: string, messages: readonly PublishMessage[]) {
  const size = (m: PublishMessage) => (m.value?.length ?? 0) + (m.key?.length ?? 0);
  let batch: PublishMessage[] = [];
  let bytes = 0;
  const flush = async () => {
    if (batch.length > 0) await publisher.publish(topic, batch);
    batch = [];
    bytes = 0;
  };
  for (const m of messages) {
    if (size(m) > 65_536 || bytes + size(m) > 300_000) await flush();
    batch.push(m);
    bytes += size(m);
    if (size(m) > 65_536) await flush();
  }
  await flush();
}

/** Sums of a counter's samples in a Prometheus text exposition, by the value of its (only) label. */
function countersByLabel(exposition: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const m = /^[^{]+\{[^=]+="([^"]*)"[^}]*\}\s+(\S+)/.exec(line);
    if (!m || Number(m[2]) === 0) continue;
    out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  }
  return out;
}

const describeRecord = (r: HostileRecord) => `hostile #${r.index} ${r.kind} (${r.variant})`;

describe('hostile input against a running instance on a real broker', () => {
  it('dead-letters every hostile record once, applies the canaries, leaks nothing and never exits', async () => {
    const app = uniqueName('usc-hostile');
    const { kafka, settings, instance, collector } = await startOneInstanceApp(
      app,
      'hostile',
      {
        PARTITIONS: String(PARTITIONS),
        NUM_STANDBY_REPLICAS: '0',
        CORRELATION_GRACE_MS: '1000',
        LOG_LEVEL: 'debug',
      },
      cleanups,
    );

    // 1. The hostile records, then one canary per input partition (keys chosen to hash to each of them).
    const hostile = generateHostileRecords({ seed: SEED, count: HOSTILE, idPrefix: 'IH', heavyWeight: 0.04 });
    expect(new Set(hostile.map((r) => r.kind)).size).toBeGreaterThanOrEqual(25);
    const canaries: CanaryRecord[] = [];
    for (let p = 0, i = 0; p < PARTITIONS; i++) {
      const ucm = `${app}-CU-${i}`;
      if (partitionForKey(Buffer.from(ucm), PARTITIONS) !== p) continue;
      canaries.push(canary(`${app}-CR-${p}`, ucm, { secret: `PII-canary-${p}-7f3a` }));
      p++;
    }
    const publisher = await Publisher.open(kafka);
    try {
      await produceAll(
        publisher,
        settings.inputTopic,
        hostile.map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
      );
      await produceAll(
        publisher,
        settings.inputTopic,
        canaries.map((c) => ({ key: c.key, value: c.value, headers: c.headers })),
      );
    } finally {
      await publisher.close();
    }

    // 2. Where each record landed (partition:offset), from the input topic itself (by its marker).
    const hostileAt = new Map<string, HostileRecord>();
    const canaryAt = new Map<string, CanaryRecord>();
    for (const r of await readTopicToEnd(kafka, settings.inputTopic)) {
      const marker = firstMarker(`${r.key ?? ''}\n${r.value ?? ''}`);
      const named = marker === undefined ? undefined : parseMarker(marker);
      const at = `${r.partition}:${r.offset}`;
      if (named?.kind === 'canary') {
        expect(r.partition, 'a canary on the partition its key hashes to').toBe(named.index);
        canaryAt.set(at, canaries[named.index]!);
      } else if (named && hostile[named.index]?.marker === marker) {
        hostileAt.set(at, hostile[named.index]!);
      }
    }
    expect(hostileAt.size).toBe(hostile.length);
    expect(canaryAt.size).toBe(PARTITIONS);

    // 3. Wait until every hostile record is dead-lettered and every canary is in the output.
    const progress = () => {
      const dead = new Set<string>();
      for (const r of collector.records) {
        if (r.topic !== settings.dlqTopic || r.value === null) continue;
        const v = JSON.parse(r.value) as { originalPartition?: unknown; originalOffset?: unknown };
        dead.add(`${String(v.originalPartition)}:${String(v.originalOffset)}`);
      }
      const output = collector.latest(settings.outputTopic);
      return {
        deadLettered: [...hostileAt.keys()].filter((at) => dead.has(at)).length,
        canariesInOutput: canaries.filter((c) => output.has(c.urpCaseId)).length,
        exited: instance.exit ?? null,
      };
    };
    await expect
      .poll(progress, { timeout: 150_000, interval: 500 })
      .toEqual({ deadLettered: hostile.length, canariesInOutput: PARTITIONS, exited: null });

    // 4. The instance never exited and answers for every canary.
    expect(instance.exit, instance.tail()).toBeUndefined();
    expect(instance.lines.some((l) => l.stream === 'stdout' && l.text.includes('the instance failed'))).toBe(
      false,
    );
    for (const c of canaries) {
      const res = await fetch(`${instance.url}/cases/${encodeURIComponent(c.urpCaseId)}`, {
        headers: { authorization: `Bearer ${TEST_TOKEN}` },
      });
      expect.soft(res.status, c.urpCaseId).toBe(200);
      const body = (await res.json()) as Record<string, unknown>;
      expect.soft(body, c.urpCaseId).toMatchObject({
        urpCaseId: c.urpCaseId,
        ucmCaseId: c.ucmCaseId,
        status: 'OPEN',
        createdAt: c.createdAt,
        attributes: { priority: 'high', caseType: 'canary' },
      });
    }
    const output = collector.latest(settings.outputTopic);
    for (const c of canaries) {
      expect.soft(JSON.parse(output.get(c.urpCaseId) ?? 'null'), c.urpCaseId).toMatchObject({
        ucmCaseId: c.ucmCaseId,
        status: 'OPEN',
        attributes: { priority: 'high', caseType: 'canary' },
      });
    }

    // 5. Exactly one dead letter per hostile record, none for anything else, each with its category and shape.
    const deadLetters = await readTopicToEnd(kafka, settings.dlqTopic);
    const byOrigin = new Map<string, Record<string, unknown>[]>();
    for (const d of deadLetters) {
      const v = JSON.parse(d.value!) as Record<string, unknown>;
      const at = `${String(v.originalPartition)}:${String(v.originalOffset)}`;
      byOrigin.set(at, [...(byOrigin.get(at) ?? []), v]);
    }
    const ctx = {
      inputTopic: settings.inputTopic,
      consumer: app,
      dlqSchema: dlqRecordSchema as unknown as SchemaLike,
      attributeAllowlist: settings.attributeAllowlist,
    };
    const counting = new Tally();
    const problems = new Tally();
    const categories: Record<string, Record<string, number>> = {};
    const expectedCategories: Record<string, Record<string, number>> = {};
    for (const [at, rec] of hostileAt) {
      const found = byOrigin.get(at) ?? [];
      byOrigin.delete(at);
      if (found.length !== 1)
        counting.add(`${rec.kind}: dead-lettered ${found.length} times`, describeRecord(rec));
      const dl = found[0];
      const got = String(dl?.errorCategory ?? 'none');
      (categories[rec.kind] ??= {})[got] = (categories[rec.kind]![got] ?? 0) + 1;
      (expectedCategories[rec.kind] ??= {})[rec.expectedCategory] =
        (expectedCategories[rec.kind]![rec.expectedCategory] ?? 0) + 1;
      if (!dl) continue;
      for (const p of deadLetterProblems(rec, dl, ctx))
        if (!p.startsWith('category ')) problems.add(`${rec.kind}: ${p}`, describeRecord(rec));
    }
    for (const at of byOrigin.keys())
      counting.add(
        canaryAt.has(at) ? 'a canary was dead-lettered' : 'a dead letter of no produced record',
        at,
      );
    expect.soft(counting.summary(), 'dead letters per record').toEqual({});
    expect.soft(categories, 'categories per kind').toEqual(expectedCategories);
    expect.soft(problems.summary(), 'dead-letter shape and minimisation').toEqual({});

    // 6. The failure counters of /metrics equal the dead letters per category.
    const dlqByCategory: Record<string, number> = {};
    for (const d of deadLetters) {
      const c = String((JSON.parse(d.value!) as { errorCategory?: unknown }).errorCategory);
      dlqByCategory[c] = (dlqByCategory[c] ?? 0) + 1;
    }
    const probe = createCaseSyncMetrics(new Registry());
    const failedName = (await probe.failed.get()).name;
    const dlqName = (await probe.dlqWrites.get()).name;
    const metrics = async () => {
      const res = await fetch(`${instance.url}/metrics`, {
        headers: { authorization: `Bearer ${TEST_TOKEN}` },
      });
      const text = await res.text();
      return { failed: countersByLabel(text, failedName), dlq: countersByLabel(text, dlqName) };
    };
    await expect
      .poll(metrics, { timeout: 30_000, interval: 500 })
      .toEqual({ failed: dlqByCategory, dlq: dlqByCategory });

    // 7. No marker in any record the application wrote: dead letters, output, repartition and changelog topics.
    const admin = await openAdmin(kafka);
    let topics: string[];
    try {
      topics = (await listTopics(admin)).filter((t) => t.startsWith(`${app}-`) && t !== settings.inputTopic);
    } finally {
      await admin.disconnect();
    }
    const leaks = new Tally();
    const scanned: Record<string, number> = {};
    const scan = (where: string, text: string) => {
      for (const found of findLeaks(text)) leaks.add(`${where}: ${parseMarker(found)?.kind ?? found}`, found);
    };
    for (const topic of topics.sort()) {
      const records: CollectedRecord[] = await readTopicToEnd(kafka, topic);
      scanned[topic] = records.length;
      for (const r of records) {
        const headers = Object.entries(r.headers)
          .map(([k, v]) => `${k}=${v}`)
          .join('\n');
        scan(`topic ${topic.slice(app.length + 1)}`, `${r.key ?? ''}\n${r.value ?? ''}\n${headers}`);
      }
    }
    expect.soft(Object.entries(scanned).some(([t, n]) => t.endsWith('-repartition') && n > 0)).toBe(true);
    expect.soft(Object.entries(scanned).some(([t, n]) => t.endsWith('-changelog') && n > 0)).toBe(true);

    // 8. Nor in the process's output: stopped gracefully first, so that every line is in.
    instance.signal('SIGTERM');
    const exit = await instance.exited;
    expect.soft(exit.code, instance.tail()).toBe(0);
    expect(instance.lines.length).toBeGreaterThan(0);
    for (const line of instance.lines) scan(`${line.stream} line`, line.text);
    console.log(
      `hostile input: ${hostile.length} records of ${new Set(hostile.map((r) => r.kind)).size} kinds; dead letters ${JSON.stringify(dlqByCategory)}; scanned ${JSON.stringify(Object.fromEntries(Object.entries(scanned).map(([t, n]) => [t.slice(app.length + 1), n])))} and ${instance.lines.length} output lines`,
    );
    expect(leaks.summary(), 'leaks').toEqual({});
  }, 420_000);
});
