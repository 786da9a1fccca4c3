/**
 * The case-sync topology's repartition topics (by-urp, by-ucm) carry msgpack (ADR 0006), and records the previous
 * version wrote there in JSON are still read during an upgrade, with the same result; `resolved`, the previous
 * version's hop from correlate to apply, is still read (ADR 0008).
 */
import { createHash } from 'node:crypto';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createCaseSyncMetrics } from '../../../processors/case-sync-metrics.js';
import { caseSyncTopology, REPARTITIONS } from '../../../processors/case-sync-topology.js';
import type { CaseEvent, CaseRecord, DlqRecord } from '../../../processors/domain/event-contract.js';
import { parseCaseEvent } from '../../../processors/domain/validate-event.js';
import { routedMessageSerde, type Origin, type RoutedMessage } from '../../../processors/routed-event.js';
import { partitionForKey } from '../../../kafka/partitioner.js';
import { isMsgpackMapHeader } from '../../../topology/plain-msgpack.js';
import { bytesSerde, jsonSerde, stringSerde } from '../../../topology/serde.js';
import { TopologyTestDriver } from '../../../topology/test-driver.js';
import { caseSyncSettingsOf } from '../../support/case-sync-settings.js';
import { at, caseCreated, statusChanged } from '../../support/ucm-events.js';

const settings = caseSyncSettingsOf();
const drivers: TopologyTestDriver[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

function harness() {
  const driver = new TopologyTestDriver(
    caseSyncTopology(settings, { metrics: createCaseSyncMetrics(new Registry()), applicationId: 'usc' }),
    { applicationId: 'usc', partitions: 3, initialWallClockMs: Date.parse(at(30)) },
  );
  drivers.push(driver);
  const topic = (name: string) => `usc-${name}-repartition`;
  const raw = (name: string) =>
    driver.createOutputTopic(topic(name), stringSerde, bytesSerde).readRecordsToList();
  const table = () =>
    driver.createOutputTopic(settings.outputTopic, stringSerde, jsonSerde<CaseRecord>()).readKeyValuesToMap();
  const dlq = () =>
    driver.createOutputTopic(settings.dlqTopic, stringSerde, jsonSerde<DlqRecord>()).readValuesToList();
  return { driver, topic, raw, table, dlq };
}

const created = caseCreated({
  eventId: 'e1',
  ucmCaseId: 'U1',
  urpCaseId: 'R1',
  createdAt: at(1),
  extraAttributes: { priority: 'high', caseType: 'fraud – ünïcödé 😀' },
});
const changed = statusChanged({
  eventId: 'e2',
  ucmCaseId: 'U1',
  oldStatus: 'OPEN',
  newStatus: 'IN_PROGRESS',
  statusChangedAt: at(2),
  reason: 'picked up',
});

function normalised(event: Record<string, unknown>): CaseEvent {
  const parsed = parseCaseEvent(Buffer.from(JSON.stringify(event)), settings);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.event;
}

const origin = (offset: string, key: string): Origin => ({
  topic: settings.inputTopic,
  partition: 0,
  offset,
  key,
  payloadHash: createHash('sha256').update(offset).digest('hex'),
  payloadSize: 100,
});

/** What validate writes for `created` and `changed` (no urpCaseId: correlated through the index). */
function messages(): { byUrp: [string, RoutedMessage][]; byUcm: [string, RoutedMessage][] } {
  const c = normalised(created);
  const s = normalised(changed);
  if (s.eventType !== 'CASE_STATUS_CHANGED') throw new Error('setup');
  return {
    byUrp: [['R1', { kind: 'event', event: c, urpCaseId: 'R1', origin: origin('0', 'U1') }]],
    byUcm: [
      ['U1', { kind: 'index', ucmCaseId: 'U1', urpCaseId: 'R1' }],
      ['U1', { kind: 'resolve', event: s, origin: origin('1', 'U1') }],
    ],
  };
}

describe('internal topics', () => {
  it('carry msgpack maps on by-urp and by-ucm, smaller than the JSON; resolved is no longer written', async () => {
    const h = harness();
    const input = h.driver.createInputTopic(settings.inputTopic, stringSerde, bytesSerde);
    // Keyed otherwise than by ucmCaseId (on another partition): correlation goes round through by-ucm.
    const elsewhere = ['a', 'b', 'c', 'd'].find(
      (k) => partitionForKey(Buffer.from(k), 3) !== partitionForKey(Buffer.from('U1'), 3),
    )!;
    await input.pipeInput(elsewhere, Buffer.from(JSON.stringify(changed))); // waits for the index
    await input.pipeInput(elsewhere, Buffer.from(JSON.stringify(created)));
    const serde = routedMessageSerde(settings);
    const kinds: Record<string, string[]> = {};
    for (const name of [REPARTITIONS.byUrp, REPARTITIONS.byUcm]) {
      const records = h.raw(name);
      expect(records.length, name).toBeGreaterThan(0);
      for (const r of records) {
        expect(isMsgpackMapHeader(r.value![0]), name).toBe(true);
        const msg = serde.deserialize(r.value)!;
        (kinds[name] ??= []).push(msg.kind);
        expect(r.value!.length).toBeLessThan(Buffer.byteLength(JSON.stringify(msg)));
      }
    }
    expect(kinds).toEqual({ 'by-urp': ['event', 'event'], 'by-ucm': ['resolve', 'index'] });
    expect(h.raw(REPARTITIONS.resolved)).toEqual([]);
    expect(h.table().get('R1')).toMatchObject({
      urpCaseId: 'R1',
      ucmCaseId: 'U1',
      status: 'IN_PROGRESS',
      attributes: { priority: 'high', caseType: 'fraud – ünïcödé 😀' },
      eventCount: 2,
    });
    expect(h.dlq()).toEqual([]);
  });

  it('apply still reads what the previous version left on resolved, JSON or msgpack', async () => {
    const h = harness();
    const { byUrp } = messages();
    const serde = routedMessageSerde(settings);
    const s = normalised(changed);
    const resolved = h.driver.createInputTopic(h.topic(REPARTITIONS.resolved), stringSerde, bytesSerde);
    await resolved.pipeInput(
      'R1',
      Buffer.from(
        JSON.stringify({
          kind: 'event',
          event: { ...s, urpCaseId: 'R1' },
          urpCaseId: 'R1',
          origin: origin('1', 'U1'),
        }),
      ),
    );
    await h.driver
      .createInputTopic(h.topic(REPARTITIONS.byUrp), stringSerde, bytesSerde)
      .pipeInput('R1', serde.serialize(byUrp[0]![1])!);
    expect(h.dlq()).toEqual([]);
    expect(h.table().get('R1')).toMatchObject({ status: 'IN_PROGRESS', createdAt: at(1), eventCount: 2 });
  });

  it('read the JSON records of the previous version (an upgrade) with the same result as msgpack ones', async () => {
    const serde = routedMessageSerde(settings);
    const run = async (encode: (m: RoutedMessage) => Buffer) => {
      const h = harness();
      const { byUrp, byUcm } = messages();
      const urp = h.driver.createInputTopic(h.topic(REPARTITIONS.byUrp), stringSerde, bytesSerde);
      const ucm = h.driver.createInputTopic(h.topic(REPARTITIONS.byUcm), stringSerde, bytesSerde);
      for (const [key, m] of byUcm) await ucm.pipeInput(key, encode(m));
      for (const [key, m] of byUrp) await urp.pipeInput(key, encode(m));
      // The status change, resolved through the index, goes on to by-urp.
      const onward = h
        .raw(REPARTITIONS.byUrp)
        .filter((r) => serde.deserialize(r.value)?.kind === 'event' && r.key === 'R1')
        .filter((r) => (serde.deserialize(r.value) as { event: { eventId: string } }).event.eventId === 'e2');
      return { table: h.table(), dlq: h.dlq(), resolved: onward };
    };
    const fromJson = await run((m) => Buffer.from(JSON.stringify(m), 'utf8'));
    const fromMsgpack = await run((m) => serde.serialize(m)!);
    expect(fromJson.dlq).toEqual([]);
    expect(fromJson.table.get('R1')).toMatchObject({
      urpCaseId: 'R1',
      ucmCaseId: 'U1',
      status: 'IN_PROGRESS',
      createdAt: at(1),
      eventCount: 2,
    });
    expect(fromJson.table).toEqual(fromMsgpack.table);
    // What the new version writes onward is msgpack, whatever it read.
    expect(fromJson.resolved.map((r) => isMsgpackMapHeader(r.value![0]))).toEqual([true]);
    expect(fromJson.resolved.map((r) => r.value)).toEqual(fromMsgpack.resolved.map((r) => r.value));
  });

  it('mixes old JSON and new msgpack records of one case', async () => {
    const h = harness();
    const { byUrp, byUcm } = messages();
    const serde = routedMessageSerde(settings);
    const ucm = h.driver.createInputTopic(h.topic(REPARTITIONS.byUcm), stringSerde, bytesSerde);
    await ucm.pipeInput('U1', Buffer.from(JSON.stringify(byUcm[0]![1]))); // index, written before the upgrade
    await ucm.pipeInput('U1', serde.serialize(byUcm[1]![1])!); // resolve, after
    await h.driver
      .createInputTopic(h.topic(REPARTITIONS.byUrp), stringSerde, bytesSerde)
      .pipeInput('R1', Buffer.from(JSON.stringify(byUrp[0]![1])));
    expect(h.dlq()).toEqual([]);
    expect(h.table().get('R1')).toMatchObject({ status: 'IN_PROGRESS', createdAt: at(1), eventCount: 2 });
  });

  it('correlate records keyed by their ucmCaseId in place: one hop, each CASE_CREATED written once', async () => {
    const h = harness();
    const input = h.driver.createInputTopic(settings.inputTopic, stringSerde, bytesSerde);
    const events = [changed, created];
    for (let i = 0; i < 20; i++) {
      const u = `UX${i}`;
      events.push(
        caseCreated({ eventId: `c${i}`, ucmCaseId: u, urpCaseId: `RX${i}`, createdAt: at(1) }),
        statusChanged({
          eventId: `s${i}`,
          ucmCaseId: u,
          oldStatus: 'OPEN',
          newStatus: 'CLOSED',
          statusChangedAt: at(2),
        }),
      );
    }
    for (const e of events) {
      await input.pipeInput((e.payload as { ucmCaseId: string }).ucmCaseId, Buffer.from(JSON.stringify(e)));
    }
    expect(h.raw(REPARTITIONS.byUcm)).toEqual([]);
    expect(h.raw(REPARTITIONS.resolved)).toEqual([]);
    // One by-urp record per event: the 21 CASE_CREATED once each, the 21 status changes once resolved.
    expect(h.raw(REPARTITIONS.byUrp)).toHaveLength(events.length);
    const table = h.table();
    expect(table.get('R1')).toMatchObject({ status: 'IN_PROGRESS', eventCount: 2 });
    for (let i = 0; i < 20; i++) expect(table.get(`RX${i}`), `RX${i}`).toMatchObject({ status: 'CLOSED' });
    expect(h.dlq()).toEqual([]);
  });

  it('correlate records without a key, or keyed otherwise, through by-ucm with the same result', async () => {
    const run = async (keyOf: (e: Record<string, unknown>) => string | null) => {
      const h = harness();
      const input = h.driver.createInputTopic(settings.inputTopic, stringSerde, bytesSerde);
      for (const e of [changed, created])
        await input.pipeInput(keyOf(e) as string, Buffer.from(JSON.stringify(e)));
      return { table: h.table(), byUcm: h.raw(REPARTITIONS.byUcm).length };
    };
    const inPlace = await run((e) => (e.payload as { ucmCaseId: string }).ucmCaseId);
    const unkeyed = await run(() => null);
    const byEventId = await run((e) => `k-${e.eventId as string}`);
    expect(inPlace.byUcm).toBe(0);
    expect(unkeyed.table).toEqual(inPlace.table);
    expect(byEventId.table).toEqual(inPlace.table);
    // The unkeyed records land on partition 0: round through by-ucm unless U1 belongs there.
    expect(unkeyed.byUcm + byEventId.byUcm).toBeGreaterThan(0);
  });
});
