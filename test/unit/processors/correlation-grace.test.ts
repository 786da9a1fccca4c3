/**
 * Correlation grace in stream time (ADR 0007) in the TopologyTestDriver: an event without urpCaseId is due at its
 * record timestamp + CORRELATION_GRACE_MS and expires when the task's stream time reaches that, whatever the wall
 * clock; the same input gives the same dead letters (wall clock moving or not, restart in the middle or not); an idle
 * partition expires by the wall-clock fallback; the due index is kept with the pending entries (release deletes
 * both keys) and expiry reads only its due part; entries written by the previous version (wall-clock `sinceMs`, no
 * due time) are released and expired after the upgrade; an unreadable entry is dead-lettered and the others go on.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createCaseSyncMetrics } from '../../../processors/case-sync-metrics.js';
import { caseSyncTopology } from '../../../processors/case-sync-topology.js';
import {
  CORRELATE_CHILDREN,
  correlateProcessor,
  INDEX_STORE,
  PENDING_STORE,
} from '../../../processors/correlate-processor.js';
import type { CaseRecord, DlqRecord } from '../../../processors/domain/event-contract.js';
import { dueKey, dueKeysUpTo, DUE_END, DUE_PREFIX } from '../../../processors/pending-correlation.js';
import type { RoutedMessage } from '../../../processors/routed-event.js';
import type { KeyValueStore } from '../../../stores/contracts.js';
import { keyValueStore } from '../../../stores/store-factory.js';
import type { Processor, ProcessorSupplier } from '../../../topology/processor.js';
import { bytesSerde, jsonSerde, msgpackSerde, stringSerde } from '../../../topology/serde.js';
import { TopologyTestDriver } from '../../../topology/test-driver.js';
import { TopologyBuilder } from '../../../topology/topology-builder.js';
import { caseSyncSettingsOf } from '../../support/case-sync-settings.js';
import { at, caseCreated, statusChanged } from '../../support/ucm-events.js';

const GRACE = 60_000;
const T0 = Date.parse(at(30));

const drivers: TopologyTestDriver[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

/** The whole case-sync topology on one partition (one correlate task, one stream time). */
function harness(raw: Record<string, string> = {}) {
  const registry = new Registry();
  const metrics = createCaseSyncMetrics(registry);
  const driver = new TopologyTestDriver(
    caseSyncTopology(caseSyncSettingsOf({ CORRELATION_GRACE_MS: String(GRACE), ...raw }), {
      metrics,
      applicationId: 'usc',
    }),
    { applicationId: 'usc', partitions: 1, initialWallClockMs: T0 },
  );
  drivers.push(driver);
  const input = driver.createInputTopic('ucm-case-events', stringSerde, bytesSerde);
  const dlq = driver.createOutputTopic('ucm-case-events-dlq', stringSerde, jsonSerde<DlqRecord>());
  const output = driver.createOutputTopic('urp-case-sync', stringSerde, jsonSerde<CaseRecord>());
  const changelog = driver.createInputTopic(
    'usc-pending-correlation-changelog',
    stringSerde,
    msgpackSerde<unknown>(),
  );
  /** Pipes one UCM event with record timestamp `timestamp` (default: the mock wall clock). */
  const send = (event: Record<string, unknown>, timestamp?: number) =>
    input.pipeInput(
      (event.payload as { ucmCaseId: string }).ucmCaseId,
      Buffer.from(JSON.stringify(event)),
      timestamp,
    );
  const dead = () => dlq.readValuesToList().map((d) => [d!.eventId, d!.errorCategory]);
  const keys = async () => {
    const out: string[] = [];
    for await (const { key } of driver.getKeyValueStore<string, unknown>(PENDING_STORE).range())
      out.push(key);
    return out;
  };
  const metric = async (name: string) =>
    (await registry.getSingleMetricAsString(name)).split('\n').filter((l) => !l.startsWith('#'));
  return { driver, send, dlq, output, changelog, dead, keys, metric };
}

const orphan = (eventId: string, ucmCaseId: string) =>
  statusChanged({ eventId, ucmCaseId, oldStatus: 'OPEN', newStatus: 'CLOSED', statusChangedAt: at(2) });
const created = (eventId: string, ucmCaseId: string, urpCaseId: string) =>
  caseCreated({ eventId, ucmCaseId, urpCaseId, createdAt: at(1) });

describe('correlation grace in stream time', () => {
  it('expires an event when stream time reaches its record timestamp + grace, not before, whatever the wall clock', async () => {
    const h = harness();
    await h.send(orphan('e1', 'U1'), T0);
    // The wall clock does not move: a record timestamped at the due time expires it.
    await h.send(created('c9', 'U9', 'R9'), T0 + GRACE - 1);
    expect(h.dead()).toEqual([]);
    await h.send(created('c8', 'U8', 'R8'), T0 + GRACE);
    expect(h.dead()).toEqual([['e1', 'UNRESOLVED_CORRELATION']]);
    expect(h.driver.wallClockMs).toBe(T0);

    // The wall clock runs far past the grace period while records keep arriving below the due time: nothing.
    await h.send(orphan('e2', 'U2'), T0 + GRACE);
    for (let i = 0; i < 10; i++) {
      await h.driver.advanceWallClockTime(GRACE - 10_000);
      await h.send(created(`c${i}`, `UX${i}`, `RX${i}`), T0 + 2 * GRACE - 1);
    }
    expect(h.driver.wallClockMs - T0).toBe(10 * (GRACE - 10_000));
    expect(h.dead()).toEqual([]);
    expect(await h.metric('ucm_case_events_pending_correlations')).toEqual([
      'ucm_case_events_pending_correlations 1',
    ]);
    await h.send(created('c7', 'U7', 'R7'), T0 + 2 * GRACE);
    expect(h.dead()).toEqual([['e2', 'UNRESOLVED_CORRELATION']]);
    expect(await h.metric('ucm_case_events_correlation_expired_total')).toEqual([
      'ucm_case_events_correlation_expired_total{clock="stream-time"} 2',
    ]);
    expect(await h.metric('ucm_case_events_pending_correlations')).toEqual([
      'ucm_case_events_pending_correlations 0',
    ]);
  });

  it('keeps one pending entry for a waiting event delivered again, whether its case had waited before or not', async () => {
    const h = harness();
    await h.send(orphan('e1', 'U1'), T0);
    await h.send(orphan('e1', 'U1'), T0 + 1_000);
    await h.send(orphan('e2', 'U2'), T0 + 2_000);
    await h.send(orphan('e2', 'U2'), T0 + 3_000);
    expect(await h.keys()).toEqual([
      'U1|e1',
      'U2|e2',
      dueKey(T0 + GRACE, 'U1|e1'),
      dueKey(T0 + 2_000 + GRACE, 'U2|e2'),
      '~stream-time',
    ]);
    expect(await h.metric('ucm_case_events_pending_correlations')).toEqual([
      'ucm_case_events_pending_correlations 2',
    ]);
    await h.send(created('c1', 'U1', 'R1'), T0 + 4_000);
    expect(h.output.readKeyValuesToMap().get('R1')).toMatchObject({ eventCount: 2 });
    expect(await h.metric('ucm_case_events_pending_correlations')).toEqual([
      'ucm_case_events_pending_correlations 1',
    ]);
  });

  it('releases an event whose CASE_CREATED comes within the grace period in stream time, and no later', async () => {
    const h = harness();
    await h.send(orphan('e1', 'U1'), T0);
    await h.send(orphan('e2', 'U2'), T0);
    await h.send(created('c1', 'U1', 'R1'), T0 + GRACE - 1);
    expect(h.output.readKeyValuesToMap().get('R1')).toMatchObject({ status: 'CLOSED', eventCount: 2 });
    // Arriving at the due time is too late: stream time (this record included) has reached it.
    await h.send(created('c2', 'U2', 'R2'), T0 + GRACE);
    expect(h.dead()).toEqual([['e2', 'UNRESOLVED_CORRELATION']]);
    expect(h.output.readKeyValuesToMap().get('R2')).toMatchObject({ status: 'OPEN', eventCount: 1 });
    // A late record (already due when it arrives) whose case is unknown is dead-lettered at once.
    await h.send(orphan('e3', 'U3'), T0);
    expect(h.dead()).toEqual([['e3', 'UNRESOLVED_CORRELATION']]);
    // ... but one whose case is known is applied, however late.
    await h.send(orphan('e4', 'U1'), T0);
    expect(h.dead()).toEqual([]);
    expect(await h.keys()).toEqual(['~stream-time']);
  });

  it('gives the same dead letters for the same input, live (wall clock running) or replayed (restarted midway)', async () => {
    const input: [Record<string, unknown>, number][] = [
      [orphan('a1', 'UA'), T0],
      [orphan('b1', 'UB'), T0 + 5_000],
      [created('cb', 'UB', 'RB'), T0 + 30_000], // in time: b1 released
      [created('cx', 'UX', 'RX'), T0 + 70_000], // stream time passes a1's due time: a1 expires
      [orphan('d1', 'UD'), T0 + 10_000], // late and unknown: dead at once
      [created('cd', 'UD', 'RD'), T0 + 15_000], // too late for d1 (in event order, it would not be)
      [created('ca', 'UA', 'RA'), T0 + 20_000], // too late for a1 (already gone), in time in event order
      [orphan('e1', 'UE'), T0 + 71_000],
      [orphan('f1', 'UF'), T0 + 72_000],
      [created('ce', 'UE', 'RE'), T0 + 100_000], // in time for e1
      [created('cy', 'UY', 'RY'), T0 + 132_000], // f1 due
      [created('cf', 'UF', 'RF'), T0 + 132_500], // too late for f1
    ];
    const run = async (mode: 'live' | 'replay') => {
      const h = harness();
      for (const [i, [event, timestamp]] of input.entries()) {
        if (mode === 'live') await h.driver.advanceWallClockTime(7_000);
        // A restart resets the engine's stream time: the saved one still decides (d1 is late either way).
        if (mode === 'replay' && i === 4) await h.driver.simulateCrashAndRestore();
        await h.send(event, timestamp);
      }
      const table = [...h.output.readKeyValuesToMap()].map(([k, v]) => [k, v!.eventCount] as const);
      return { dead: h.dead(), table: new Map(table) };
    };
    const live = await run('live');
    const replay = await run('replay');
    expect(live.dead).toEqual([
      ['a1', 'UNRESOLVED_CORRELATION'],
      ['d1', 'UNRESOLVED_CORRELATION'],
      ['f1', 'UNRESOLVED_CORRELATION'],
    ]);
    expect(replay).toEqual(live);
    expect(live.table).toEqual(
      new Map([
        ['RB', 2],
        ['RX', 1],
        ['RA', 1],
        ['RD', 1],
        ['RE', 2],
        ['RY', 1],
        ['RF', 1],
      ]),
    );
  });

  it('expires by wall clock in a partition that receives no records: a grace period past the due time', async () => {
    const h = harness();
    await h.send(orphan('e1', 'U1'), T0);
    // Due at T0 + grace in stream time; with no record to advance it, the wall clock decides once the partition
    // has been quiet for a grace period and the due time is a grace period behind the wall clock.
    await h.driver.advanceWallClockTime(2 * GRACE - 1_000);
    expect(h.dead()).toEqual([]);
    await h.driver.advanceWallClockTime(6_000); // the next wall-clock punctuation (every grace / 10)
    expect(h.dead()).toEqual([['e1', 'UNRESOLVED_CORRELATION']]);
    expect(await h.metric('ucm_case_events_correlation_expired_total')).toEqual([
      'ucm_case_events_correlation_expired_total{clock="wall-clock"} 1',
    ]);
    // Its CASE_CREATED, arriving afterwards, is timestamped past the due time anyway: no second dead letter.
    await h.send(created('c1', 'U1', 'R1'));
    expect(h.dead()).toEqual([]);
    expect(await h.keys()).toEqual(['~stream-time']);
  });

  it('keeps each pending event under its UCM case and in the due index; a release deletes both keys', async () => {
    const h = harness();
    await h.send(orphan('e1', 'U1'), T0);
    await h.send(orphan('e2', 'U1'), T0 + 1_000);
    await h.send(orphan('e3', 'U2'), T0 + 2_000);
    expect(await h.keys()).toEqual([
      'U1|e1',
      'U1|e2',
      'U2|e3',
      dueKey(T0 + GRACE, 'U1|e1'),
      dueKey(T0 + 1_000 + GRACE, 'U1|e2'),
      dueKey(T0 + 2_000 + GRACE, 'U2|e3'),
      '~stream-time',
    ]);
    expect(dueKey(T0 + GRACE, 'U1|e1')).toBe(`~due|000${T0 + GRACE}|U1|e1`);
    await h.send(created('c1', 'U1', 'R1'), T0 + 3_000);
    expect(h.output.readKeyValuesToMap().get('R1')).toMatchObject({ eventCount: 3 });
    expect(await h.keys()).toEqual(['U2|e3', dueKey(T0 + 2_000 + GRACE, 'U2|e3'), '~stream-time']);
  });

  it('releases and expires the entries of the previous version (wall-clock sinceMs, no due time) after an upgrade', async () => {
    // An entry as the previous version wrote it: the current one without its due time.
    const template = harness();
    await template.send(orphan('e0', 'U0'), T0);
    const current = (await template.driver
      .getKeyValueStore<string, Record<string, unknown>>(PENDING_STORE)
      .get('U0|e0'))!;
    expect(current.dueMs).toBe(T0 + GRACE);
    const previous = (eventId: string, ucmCaseId: string, sinceMs: number) => {
      const { event, origin } = current as { event: Record<string, unknown>; origin: unknown };
      return { event: { ...event, eventId, ucmCaseId }, origin, sinceMs };
    };

    const h = harness();
    await h.changelog.pipeInput('U1|e1', previous('e1', 'U1', T0));
    await h.changelog.pipeInput('U2|e2', previous('e2', 'U2', T0 + 10_000));
    await h.changelog.pipeInput('U3|e3', previous('e3', 'U3', T0 - 2 * GRACE));
    await h.driver.simulateCrashAndRestore(); // the upgraded instance restores them
    expect(await h.metric('ucm_case_events_pending_correlations')).toEqual([
      'ucm_case_events_pending_correlations 3',
    ]);
    // A CASE_CREATED releases an old entry as before (the prefix scan finds it).
    await h.send(created('c1', 'U1', 'R1'), T0 + 1);
    expect(h.output.readKeyValuesToMap().get('R1')).toMatchObject({ status: 'CLOSED', eventCount: 2 });
    // The first punctuation indexed the others, due at sinceMs + grace: e3 was due already.
    expect(h.dead()).toEqual([['e3', 'UNRESOLVED_CORRELATION']]);
    expect(await h.keys()).toEqual(['U2|e2', dueKey(T0 + 10_000 + GRACE, 'U2|e2'), '~stream-time']);
    expect(
      await h.driver.getKeyValueStore<string, Record<string, unknown>>(PENDING_STORE).get('U2|e2'),
    ).toMatchObject({ sinceMs: T0 + 10_000, dueMs: T0 + 10_000 + GRACE });
    await h.send(created('c9', 'U9', 'R9'), T0 + 10_000 + GRACE);
    expect(h.dead()).toEqual([['e2', 'UNRESOLVED_CORRELATION']]);
    // Never twice: neither another restart nor the wall clock brings any of them back.
    await h.driver.simulateCrashAndRestore();
    await h.driver.advanceWallClockTime(10 * GRACE);
    await h.send(created('c2', 'U2', 'R2'), T0 + 20 * GRACE);
    expect(h.dead()).toEqual([]);
    expect(await h.keys()).toEqual(['~stream-time']);
  });

  it('dead-letters an unreadable entry reached through the due index as PROCESSING_ERROR; the others go on', async () => {
    const h = harness();
    await h.send(orphan('e1', 'U1'), T0);
    await h.send(orphan('e2', 'U2'), T0);
    const due = T0 + GRACE;
    await h.changelog.pipeInput('U1|e0', { dueMs: due, sinceMs: T0, event: { eventId: 'e0' }, origin: null });
    await h.changelog.pipeInput(dueKey(due, 'U1|e0'), { sinceMs: 8.64e15 });
    // An index key whose entry is gone (e.g. settled by the previous version after a rollback): dropped silently.
    await h.changelog.pipeInput(dueKey(due, 'U7|e7'), { sinceMs: 8.64e15 });
    await h.driver.simulateCrashAndRestore();
    await h.send(created('c9', 'U9', 'R9'), due);
    const dead = h.dlq.readValuesToList();
    expect(dead.map((d) => [d!.eventId, d!.errorCategory])).toEqual([
      ['e0', 'PROCESSING_ERROR'],
      ['e1', 'UNRESOLVED_CORRELATION'],
      ['e2', 'UNRESOLVED_CORRELATION'],
    ]);
    expect(dead[0]!.errorMessage).toBe(
      'processing failed in correlate (punctuate): MalformedPendingEvent: pending entry field event.eventType is missing or malformed',
    );
    expect(await h.keys()).toEqual(['~stream-time']);
    expect((await h.metric('ucm_case_events_failed_total')).sort()).toEqual([
      'ucm_case_events_failed_total{reason="PROCESSING_ERROR"} 1',
      'ucm_case_events_failed_total{reason="UNRESOLVED_CORRELATION"} 2',
    ]);
  });
});

describe('which CASE_CREATED look for waiting events', () => {
  it('still releases what waits after the set of cases that may have waiting events is rebuilt', async () => {
    const h = harness();
    // 1,100 events wait and are released: the set of cases that may have some grows past its rebuild threshold.
    for (let i = 0; i < 1_100; i++) await h.send(orphan(`o${i}`, `UO${i}`), T0);
    for (let i = 0; i < 1_100; i++) await h.send(created(`c${i}`, `UO${i}`, `RO${i}`), T0);
    // Two more wait; a wall-clock punctuation rebuilds the set from the store.
    await h.send(orphan('late1', 'UL1'), T0);
    await h.send(orphan('late2', 'UL2'), T0);
    await h.driver.advanceWallClockTime(GRACE / 10);
    await h.send(created('cl1', 'UL1', 'RL1'), T0);
    await h.send(created('cl2', 'UL2', 'RL2'), T0);
    const table = h.output.readKeyValuesToMap();
    expect(table.get('RL1')).toMatchObject({ status: 'CLOSED', eventCount: 2 });
    expect(table.get('RL2')).toMatchObject({ status: 'CLOSED', eventCount: 2 });
    expect(table.get('RO1099')).toMatchObject({ status: 'CLOSED', eventCount: 2 });
    expect(h.dead()).toEqual([]);
    expect(await h.keys()).toEqual(['~stream-time']);
  });
});

describe('correlation expiry reads only what is due', () => {
  /** A store view that records every read the correlate processor makes. */
  function recording(store: KeyValueStore<string, unknown>, log: string[]): KeyValueStore<string, unknown> {
    const scan = (what: string, it: AsyncIterable<{ key: string; value: unknown }>) =>
      (async function* () {
        let n = 0;
        try {
          for await (const e of it) {
            n++;
            yield e;
          }
        } finally {
          log.push(`${what} -> ${n}`);
        }
      })();
    return {
      name: store.name,
      get: async (key) => {
        log.push(`get ${key}`);
        return store.get(key);
      },
      getMany: (keys) => store.getMany(keys),
      range: (from, to) => scan(`range ${from ?? ''}..${to ?? ''}`, store.range(from, to)),
      prefixScan: (prefix) => scan(`prefix ${prefix}`, store.prefixScan(prefix)),
      approximateNumEntries: () => store.approximateNumEntries(),
      put: (key, value) => store.put(key, value),
      delete: (key) => store.delete(key),
    };
  }

  it('range-scans the due index up to stream time (and one key beyond): 10 due out of 200 pending', async () => {
    const log: string[] = [];
    const settings = caseSyncSettingsOf({ CORRELATION_GRACE_MS: String(GRACE) });
    const metrics = createCaseSyncMetrics(new Registry());
    const inner = correlateProcessor(settings, metrics, 'usc');
    const supplier: ProcessorSupplier<string, RoutedMessage, string, unknown> = () => {
      const p = inner() as Processor<string, RoutedMessage, string, unknown>;
      return {
        init: (ctx) =>
          p.init?.({
            ...ctx,
            getStateStore: <K, V>(name: string) =>
              (name === PENDING_STORE
                ? recording(ctx.getStateStore<string, unknown>(name), log)
                : ctx.getStateStore(name)) as KeyValueStore<K, V>,
          }),
        process: (r) => p.process(r),
        close: () => p.close?.(),
      };
    };
    const routed = jsonSerde<RoutedMessage>();
    const topology = new TopologyBuilder()
      .addSource('in', 'by-ucm', { keySerde: stringSerde, valueSerde: routed })
      .addProcessor('correlate', supplier as ProcessorSupplier, 'in')
      .addStateStore(keyValueStore(INDEX_STORE), 'correlate')
      .addStateStore(keyValueStore(PENDING_STORE), 'correlate')
      .addSink(CORRELATE_CHILDREN.resolved, 'resolved', ['correlate'], {
        keySerde: stringSerde,
        valueSerde: routed,
      })
      .addSink(CORRELATE_CHILDREN.dlq, 'dlq', ['correlate'], {
        keySerde: stringSerde,
        valueSerde: jsonSerde<unknown>(),
      })
      .build();
    const driver = new TopologyTestDriver(topology, { applicationId: 'usc', initialWallClockMs: T0 });
    drivers.push(driver);
    const input = driver.createInputTopic('by-ucm', stringSerde, routed);
    const dlq = driver.createOutputTopic('dlq', stringSerde, jsonSerde<DlqRecord>());
    const resolve = (i: number): RoutedMessage => ({
      kind: 'resolve',
      event: {
        eventId: `e${i}`,
        eventType: 'CASE_STATUS_CHANGED',
        eventTime: at(2),
        eventMs: Date.parse(at(2)),
        source: 'UCMv2',
        ucmCaseId: `U${i}`,
        businessTime: at(2),
        businessMs: Date.parse(at(2)),
        urpCaseId: undefined,
        oldStatus: 'OPEN',
        newStatus: 'CLOSED',
        reason: undefined,
      },
      origin: {
        topic: 'ucm-case-events',
        partition: 0,
        offset: String(i),
        key: `U${i}`,
        payloadHash: 'a'.repeat(64),
      },
    });
    // 200 pending events, one every 100 ms.
    for (let i = 0; i < 200; i++) await input.pipeInput(`U${i}`, resolve(i), T0 + i * 100);
    expect(dlq.readValuesToList()).toEqual([]);

    // Stream time reaches the due time of the first 10.
    log.length = 0;
    const horizon = T0 + 900 + GRACE;
    await input.pipeInput('UZ', { kind: 'index', ucmCaseId: 'UZ', urpCaseId: 'RZ' }, horizon);
    expect(dlq.readValuesToList().map((d) => d!.eventId)).toEqual(
      Array.from({ length: 10 }, (_, i) => `e${i}`),
    );
    expect(log).toEqual([
      // The CASE_CREATED's own UCM case has nothing waiting: no scan for it.
      `range ${DUE_PREFIX}..${dueKeysUpTo(horizon)} -> 10`, // what is due
      `range ${dueKeysUpTo(horizon)}..${DUE_END} -> 1`, // where the next expiry needs to look
      ...Array.from({ length: 10 }, (_, i) => `get U${i}|e${i}`),
    ]);

    // Stream time advancing while nothing is due reads nothing.
    log.length = 0;
    await input.pipeInput('UY', { kind: 'index', ucmCaseId: 'UY', urpCaseId: 'RY' }, horizon + 50);
    expect(log).toEqual([]);
    expect(dlq.isEmpty()).toBe(true);

    // A CASE_CREATED of a case with an event waiting reads that case's pending events, and releases them.
    log.length = 0;
    await input.pipeInput('U150', { kind: 'index', ucmCaseId: 'U150', urpCaseId: 'R150' }, horizon + 60);
    expect(log).toEqual(['prefix U150| -> 1']);
    expect(
      driver
        .createOutputTopic('resolved', stringSerde, routed)
        .readRecordsToList()
        .map((r) => r.key),
    ).toEqual(['R150']);
    expect(dlq.isEmpty()).toBe(true);
  });
});
