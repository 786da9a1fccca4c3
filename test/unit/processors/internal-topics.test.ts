/**
 * The case-sync topology's repartition topics (by-urp, by-ucm, resolved) carry msgpack (ADR 0006), and records
 * the previous version wrote there in JSON are still read during an upgrade, with the same result.
 */
import { createHash } from 'node:crypto';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createCaseSyncMetrics } from '../../../processors/case-sync-metrics.js';
import { caseSyncTopology, REPARTITIONS } from '../../../processors/case-sync-topology.js';
import type { CaseEvent, CaseRecord, DlqRecord } from '../../../processors/domain/event-contract.js';
import { parseCaseEvent } from '../../../processors/domain/validate-event.js';
import { routedMessageSerde, type Origin, type RoutedMessage } from '../../../processors/routed-event.js';
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
  it('carry msgpack maps on by-urp, by-ucm and resolved, smaller than the JSON', async () => {
    const h = harness();
    const input = h.driver.createInputTopic(settings.inputTopic, stringSerde, bytesSerde);
    await input.pipeInput('U1', Buffer.from(JSON.stringify(changed))); // waits for the index
    await input.pipeInput('U1', Buffer.from(JSON.stringify(created)));
    const serde = routedMessageSerde(settings);
    const kinds: Record<string, string[]> = {};
    for (const name of Object.values(REPARTITIONS)) {
      const records = h.raw(name);
      expect(records.length, name).toBeGreaterThan(0);
      for (const r of records) {
        expect(isMsgpackMapHeader(r.value![0]), name).toBe(true);
        const msg = serde.deserialize(r.value)!;
        (kinds[name] ??= []).push(msg.kind);
        expect(r.value!.length).toBeLessThan(Buffer.byteLength(JSON.stringify(msg)));
      }
    }
    expect(kinds).toEqual({
      'by-urp': ['event'],
      'by-ucm': ['resolve', 'index'],
      resolved: ['event'],
    });
    expect(h.table().get('R1')).toMatchObject({
      urpCaseId: 'R1',
      ucmCaseId: 'U1',
      status: 'IN_PROGRESS',
      attributes: { priority: 'high', caseType: 'fraud – ünïcödé 😀' },
      eventCount: 2,
    });
    expect(h.dlq()).toEqual([]);
  });

  it('read the JSON records of the previous version (an upgrade) with the same result as msgpack ones', async () => {
    const run = async (encode: (m: RoutedMessage) => Buffer) => {
      const h = harness();
      const { byUrp, byUcm } = messages();
      const urp = h.driver.createInputTopic(h.topic(REPARTITIONS.byUrp), stringSerde, bytesSerde);
      const ucm = h.driver.createInputTopic(h.topic(REPARTITIONS.byUcm), stringSerde, bytesSerde);
      for (const [key, m] of byUcm) await ucm.pipeInput(key, encode(m));
      for (const [key, m] of byUrp) await urp.pipeInput(key, encode(m));
      return { table: h.table(), dlq: h.dlq(), resolved: h.raw(REPARTITIONS.resolved) };
    };
    const fromJson = await run((m) => Buffer.from(JSON.stringify(m), 'utf8'));
    const serde = routedMessageSerde(settings);
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
});
