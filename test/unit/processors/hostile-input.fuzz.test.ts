/**
 * Fuzz (ADR 0003): 10,000 hostile records of every kind in test/support/hostile-records.ts, with a valid
 * CASE_CREATED every 100 records, through the case-sync topology on the TopologyTestDriver (4 partitions, the
 * wall clock at the current time). Every hostile record must be dead-lettered exactly once with the category the
 * ADR gives it and in the documented shape; no personal-data marker (nor any piece of the bulk filler strings) may
 * reach a dead letter, the output, a repartition or changelog topic, a store or a log line; the valid events must
 * be applied as if nothing else had happened; the failure metrics must count what the dead-letter topic holds.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionForKey } from '../../../kafka/partitioner.js';
import { createCaseSyncMetrics, type CaseSyncMetrics } from '../../../processors/case-sync-metrics.js';
import { caseSyncTopology } from '../../../processors/case-sync-topology.js';
import type { CaseSyncSettings } from '../../../processors/domain/case-sync-settings.js';
import { dlqRecordSchema } from '../../../processors/domain/event-contract.js';
import type { Logger } from '../../../topology/processor.js';
import { bytesSerde } from '../../../topology/serde.js';
import { TopologyTestDriver } from '../../../topology/test-driver.js';
import { changelogTopicName, internalTopicName, type Topology } from '../../../topology/topology.js';
import { caseSyncSettingsOf } from '../../support/case-sync-settings.js';
import {
  canary,
  deadLetterProblems,
  findLeaks,
  generateHostileRecords,
  parseMarker,
  textOf,
  type CanaryRecord,
  type HostileRecord,
  type SchemaLike,
  Tally,
} from '../../support/hostile-records.js';

const APP = 'usc-fuzz';
const PARTITIONS = 4;
const HOSTILE = 10_000;
const CANARY_EVERY = 100;
const SEED = 20_261_124;

/** Records every log line (level, message, bindings and the logged object's every string). */
class CapturingLogger implements Logger {
  constructor(
    readonly lines: string[],
    private readonly bindings: Record<string, unknown> = {},
  ) {}
  private line(level: string, obj: object, msg?: string): void {
    this.lines.push(`${level} ${msg ?? ''}\n${textOf(this.bindings)}\n${textOf(obj)}`);
  }
  debug(obj: object, msg?: string): void {
    this.line('debug', obj, msg);
  }
  info(obj: object, msg?: string): void {
    this.line('info', obj, msg);
  }
  warn(obj: object, msg?: string): void {
    this.line('warn', obj, msg);
  }
  error(obj: object, msg?: string): void {
    this.line('error', obj, msg);
  }
  child(bindings: Record<string, unknown>): Logger {
    return new CapturingLogger(this.lines, { ...this.bindings, ...bindings });
  }
}

type Origin = { readonly hostile: HostileRecord } | { readonly canary: CanaryRecord };

interface DeadLetter {
  readonly origin: string;
  readonly value: Record<string, unknown> | undefined;
}

interface Run {
  readonly settings: CaseSyncSettings;
  readonly topology: Topology;
  readonly driver: TopologyTestDriver;
  readonly metrics: CaseSyncMetrics;
  readonly hostile: readonly HostileRecord[];
  readonly canaries: readonly CanaryRecord[];
  /** `<partition>:<offset>` of every piped record. */
  readonly origins: ReadonlyMap<string, Origin>;
  readonly logLines: string[];
  /** The first record whose processing threw out of the driver (the task failed), if any. */
  crash: string | undefined;
}

let run: Run;

function originOf(record: Origin): string {
  return 'hostile' in record
    ? `hostile #${record.hostile.index} ${record.hostile.kind} (${record.hostile.variant})`
    : `canary ${record.canary.urpCaseId}`;
}

beforeAll(async () => {
  const settings = caseSyncSettingsOf();
  const registry = new Registry();
  const metrics = createCaseSyncMetrics(registry);
  const logLines: string[] = [];
  const logger = new CapturingLogger(logLines);
  const topology = caseSyncTopology(settings, { metrics, applicationId: APP, logger });
  const driver = new TopologyTestDriver(topology, {
    applicationId: APP,
    partitions: PARTITIONS,
    initialWallClockMs: Date.now(),
    logger,
  });
  const hostile = generateHostileRecords({ seed: SEED, count: HOSTILE });
  const input = driver.createInputTopic(settings.inputTopic, bytesSerde, bytesSerde);
  const origins = new Map<string, Origin>();
  const canaries: CanaryRecord[] = [];
  const next = new Array<number>(PARTITIONS).fill(0);
  run = { settings, topology, driver, metrics, hostile, canaries, origins, logLines, crash: undefined };
  const pipe = async (
    key: Buffer | null,
    value: Buffer | null,
    headers: Record<string, string>,
    o: Origin,
  ) => {
    // The driver's own placement: a null key goes to partition 0, others by Kafka's murmur2 of the key bytes.
    const partition = key === null ? 0 : partitionForKey(key, PARTITIONS);
    origins.set(`${partition}:${next[partition]!++}`, o);
    try {
      await input.pipeInput(key, value, undefined, headers);
    } catch (err) {
      run.crash = `${originOf(o)}: ${err instanceof Error ? `${err.name}: ${err.message.slice(0, 300)}` : String(err)}`;
    }
  };
  for (const [i, rec] of hostile.entries()) {
    if (i % CANARY_EVERY === 0) {
      const k = i / CANARY_EVERY;
      const c = canary(`FZ-R-${k}`, `FZ-U-${k}`, {
        secret: `PII-canary-${k}-7f3a`,
        createdAt: new Date(Date.UTC(2024, 0, 1, 0, k)).toISOString(),
      });
      canaries.push(c);
      await pipe(c.key, c.value, { ...c.headers }, { canary: c });
      if (run.crash) break;
    }
    await pipe(rec.key, rec.value, { ...rec.headers }, { hostile: rec });
    if (run.crash) break;
  }
  // Unresolved correlations are dead-lettered once the grace period has passed. Every record is timestamped at the
  // same mock time, so stream time never passes a due time: the idle-partition fallback expires them once the wall
  // clock is a grace period past their due time (ADR 0007).
  if (!run.crash) await driver.advanceWallClockTime(2 * settings.correlationGraceMs + 60_000);
}, 240_000);

afterAll(async () => {
  await run?.driver.close().catch(() => {});
});

/** Every topic the topology writes (sinks, repartitions, changelogs, the record-error dead-letter topic). */
function writtenTopics(topology: Topology, inputTopic: string): string[] {
  const topics = new Set<string>();
  const resolve = (t: string) => (topology.internalTopics.has(t) ? internalTopicName(APP, t) : t);
  for (const sub of topology.subtopologies) {
    for (const t of [...sub.sinkTopics, ...sub.sourceTopics]) topics.add(resolve(t));
  }
  for (const store of topology.stores.keys()) topics.add(changelogTopicName(APP, store));
  const policy = (topology as unknown as { recordErrorPolicy?: { deadLetterTopic?: string } })
    .recordErrorPolicy;
  if (policy?.deadLetterTopic) topics.add(policy.deadLetterTopic);
  topics.delete(inputTopic);
  return [...topics].sort();
}

function readDeadLetters(): DeadLetter[] {
  const dlq = run.driver.createOutputTopic(run.settings.dlqTopic, bytesSerde, bytesSerde);
  return dlq.readRecordsToList().map((r) => {
    let value: Record<string, unknown> | undefined;
    try {
      value = JSON.parse(r.value?.toString('utf8') ?? 'null') as Record<string, unknown>;
    } catch {
      value = undefined;
    }
    return {
      origin: value ? `${String(value.originalPartition)}:${String(value.originalOffset)}` : 'unreadable',
      value,
    };
  });
}

describe('hostile input through the case-sync topology (TopologyTestDriver)', () => {
  it('pipes 10,000 hostile records of every kind without a task failure', () => {
    expect(run.crash).toBeUndefined();
    expect(run.hostile.length).toBeGreaterThanOrEqual(10_000);
    expect(new Set(run.hostile.map((r) => r.kind)).size).toBeGreaterThanOrEqual(25);
    expect(run.origins.size).toBe(run.hostile.length + run.canaries.length);
  });

  it('dead-letters every hostile record exactly once and nothing else', () => {
    const byOrigin = new Map<string, number>();
    for (const d of readDeadLetters()) byOrigin.set(d.origin, (byOrigin.get(d.origin) ?? 0) + 1);
    const problems = new Tally();
    for (const [origin, record] of run.origins) {
      const n = byOrigin.get(origin) ?? 0;
      if ('canary' in record) {
        if (n > 0) problems.add('a valid event was dead-lettered', originOf(record));
      } else if (n !== 1) {
        problems.add(`${record.hostile.kind}: dead-lettered ${n} times`, originOf(record));
      }
      byOrigin.delete(origin);
    }
    for (const origin of byOrigin.keys())
      problems.add('a dead letter of no piped record', `origin ${origin}`);
    expect(problems.summary()).toEqual({});
  });

  it('gives every dead letter the category of ADR 0003', () => {
    const deadLetters = new Map(readDeadLetters().map((d) => [d.origin, d.value]));
    const byKind: Record<string, Record<string, number>> = {};
    const expected: Record<string, Record<string, number>> = {};
    for (const [origin, record] of run.origins) {
      if (!('hostile' in record)) continue;
      const { kind, expectedCategory } = record.hostile;
      const got = String(deadLetters.get(origin)?.errorCategory ?? 'none');
      byKind[kind] ??= {};
      byKind[kind][got] = (byKind[kind][got] ?? 0) + 1;
      expected[kind] ??= {};
      expected[kind][expectedCategory] = (expected[kind][expectedCategory] ?? 0) + 1;
    }
    expect(byKind).toEqual(expected);
  });

  it('writes dead letters in the documented shape, minimised as ADR 0003 says', () => {
    const deadLetters = new Map(readDeadLetters().map((d) => [d.origin, d.value]));
    const ctx = {
      inputTopic: run.settings.inputTopic,
      consumer: APP,
      dlqSchema: dlqRecordSchema as unknown as SchemaLike,
      attributeAllowlist: run.settings.attributeAllowlist,
    };
    const problems = new Tally();
    for (const [origin, record] of run.origins) {
      if (!('hostile' in record)) continue;
      const dl = deadLetters.get(origin);
      if (!dl) continue; // counted by the exactly-once test
      for (const p of deadLetterProblems(record.hostile, dl, ctx)) {
        if (p.startsWith('category ')) continue; // reported by the category test
        problems.add(`${record.hostile.kind}: ${p}`, originOf(record));
      }
    }
    expect(problems.summary()).toEqual({});
  });

  it('leaks no marker or filler into dead letters, outputs, internal topics, stores or log lines', async () => {
    const leaks = new Tally();
    const note = (where: string, text: string) => {
      for (const found of findLeaks(text)) {
        const kind = parseMarker(found)?.kind ?? found;
        leaks.add(`${where}: ${kind}`, found);
      }
    };
    const scanned: Record<string, number> = {};
    for (const topic of writtenTopics(run.topology, run.settings.inputTopic)) {
      const records = run.driver.createOutputTopic(topic, bytesSerde, bytesSerde).readRecordsToList();
      scanned[topic] = records.length;
      for (const r of records) {
        const headers = Object.entries(r.headers)
          .map(([k, v]) => `${k}=${v}`)
          .join('\n');
        note(
          `topic ${topic}`,
          `${r.key?.toString('latin1') ?? ''}\n${r.value?.toString('latin1') ?? ''}\n${headers}`,
        );
      }
    }
    for (const name of run.topology.stores.keys()) {
      for await (const { key, value } of run.driver.getKeyValueStore<unknown, unknown>(name).range())
        note(`store ${name}`, textOf([key, value]));
    }
    for (const line of run.logLines) note('log line', line);
    expect(leaks.summary()).toEqual({});
    // The scan saw the pipeline's work: dead letters, repartitioned events and changelogged stores.
    expect(scanned[run.settings.dlqTopic]).toBeGreaterThanOrEqual(run.hostile.length);
    expect(scanned[run.settings.outputTopic]).toBeGreaterThanOrEqual(run.canaries.length);
    expect(Object.entries(scanned).some(([t, n]) => t.endsWith('-repartition') && n > 0)).toBe(true);
    expect(Object.entries(scanned).some(([t, n]) => t.endsWith('-changelog') && n > 0)).toBe(true);
    expect(run.logLines.length).toBeGreaterThan(0);
  });

  it('applies the valid events interleaved with the hostile ones', async () => {
    const output = run.driver.createOutputTopic(run.settings.outputTopic, bytesSerde, bytesSerde);
    const table = new Map<string, Record<string, unknown>>();
    for (const r of output.readRecordsToList())
      table.set(r.key!.toString('utf8'), JSON.parse(r.value!.toString('utf8')) as Record<string, unknown>);
    expect([...table.keys()].sort()).toEqual(run.canaries.map((c) => c.urpCaseId).sort());
    for (const c of run.canaries) {
      expect(table.get(c.urpCaseId), c.urpCaseId).toMatchObject({
        urpCaseId: c.urpCaseId,
        ucmCaseId: c.ucmCaseId,
        status: 'OPEN',
        createdAt: c.createdAt,
        lastEventId: c.eventId,
        eventCount: 1,
      });
      expect(table.get(c.urpCaseId)?.attributes, c.urpCaseId).toEqual({
        priority: 'high',
        caseType: 'canary',
      });
    }
    const cases = run.driver.getKeyValueStore<string, unknown>('cases');
    expect(await cases.approximateNumEntries()).toBe(run.canaries.length);
  });

  it('counts failures and dead letters per category exactly as the dead-letter topic holds them', async () => {
    const dlq: Record<string, number> = {};
    for (const d of readDeadLetters()) {
      const category = String(d.value?.errorCategory);
      dlq[category] = (dlq[category] ?? 0) + 1;
    }
    const byLabel = async (counter: CaseSyncMetrics['failed'] | CaseSyncMetrics['dlqWrites']) => {
      const out: Record<string, number> = {};
      for (const v of (await counter.get()).values) {
        if (v.value === 0) continue;
        const label = String(Object.values(v.labels)[0]);
        out[label] = (out[label] ?? 0) + v.value;
      }
      return out;
    };
    expect(await byLabel(run.metrics.failed)).toEqual(dlq);
    expect(await byLabel(run.metrics.dlqWrites)).toEqual(dlq);
  });

  it('leaves Object.prototype alone (__proto__ and constructor keys in the input)', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'eventType')).toBe(false);
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'urpCaseId')).toBe(false);
  });
});
