/**
 * Lineage of operator runs through the TopologyTestDriver: a record published by a backfill or a dlq replay
 * (headers x-usc-run-id / x-usc-run-kind) is marked in the case history (runId / runKind) and on the case record
 * (lastRunId, the run of the latest event); a record without them, or with malformed ones, is live (null).
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createCaseSyncMetrics, originOf } from '../../../processors/case-sync-metrics.js';
import { caseSyncTopology } from '../../../processors/case-sync-topology.js';
import { toHistoryEntries } from '../../../processors/domain/case-record.js';
import { newRunId, RUN_HEADERS, runFromHeaders, runHeaders } from '../../../processors/domain/dlq-record.js';
import type { CaseRecord, HistoryEntry } from '../../../processors/domain/event-contract.js';
import { readCaseHistory } from '../../../processors/domain/case-history.js';
import { bytesSerde, jsonSerde, stringSerde } from '../../../topology/serde.js';
import { TopologyTestDriver } from '../../../topology/test-driver.js';
import { caseSyncSettingsOf } from '../../support/case-sync-settings.js';
import { at, caseCreated, statusChanged } from '../../support/ucm-events.js';

const drivers: TopologyTestDriver[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

function harness() {
  const metrics = createCaseSyncMetrics(new Registry());
  const driver = new TopologyTestDriver(
    caseSyncTopology(caseSyncSettingsOf({}), { metrics, applicationId: 'usc' }),
    { applicationId: 'usc', partitions: 3, initialWallClockMs: Date.parse(at(30)) },
  );
  drivers.push(driver);
  const input = driver.createInputTopic('ucm-case-events', stringSerde, bytesSerde);
  const output = driver.createOutputTopic('urp-case-sync', stringSerde, jsonSerde<CaseRecord>());
  const send = (event: unknown, key: string, headers?: Record<string, string>) =>
    input.pipeInput(key, Buffer.from(JSON.stringify(event)), undefined, headers);
  const table = () => output.readKeyValuesToMap() as Map<string, CaseRecord>;
  const history = async (urp: string): Promise<HistoryEntry[]> =>
    toHistoryEntries((await readCaseHistory(driver.getKeyValueStore('case-history'), urp, 200)) ?? []);
  return { send, table, history };
}

const BF = 'bf-20260102T030405Z-0a1b2c3d';
const RP = 'rp-20260102T030405Z-deadbeef';

describe('run ids', () => {
  it('are bf-/rp- + UTC time to the second + 8 random hex digits, read back only when well-formed', () => {
    const id = newRunId('backfill', Date.parse('2026-01-02T03:04:05.678Z'), Buffer.from([10, 27, 44, 61]));
    expect(id).toBe(BF);
    expect(newRunId('dlq-replay', 0)).toMatch(/^rp-19700101T000000Z-[0-9a-f]{8}$/);
    expect(runFromHeaders(runHeaders({ id: BF, kind: 'backfill' }))).toEqual({ id: BF, kind: 'backfill' });
    expect(runFromHeaders({ [RUN_HEADERS.runId]: RP, [RUN_HEADERS.runKind]: 'dlq-replay' })).toEqual({
      id: RP,
      kind: 'dlq-replay',
    });
    // Ignored: absent, malformed, over-long, unknown kind, kind not matching the prefix.
    expect(runFromHeaders({})).toBeUndefined();
    expect(runFromHeaders({ [RUN_HEADERS.runId]: BF })).toBeUndefined();
    expect(
      runFromHeaders({ [RUN_HEADERS.runId]: 'anything', [RUN_HEADERS.runKind]: 'backfill' }),
    ).toBeUndefined();
    expect(
      runFromHeaders({ [RUN_HEADERS.runId]: `${BF}${'0'.repeat(100)}`, [RUN_HEADERS.runKind]: 'backfill' }),
    ).toBeUndefined();
    expect(runFromHeaders({ [RUN_HEADERS.runId]: BF, [RUN_HEADERS.runKind]: 'live' })).toBeUndefined();
    expect(runFromHeaders({ [RUN_HEADERS.runId]: BF, [RUN_HEADERS.runKind]: 'dlq-replay' })).toBeUndefined();
    expect(originOf({})).toBe('live');
    expect(originOf({ run: { id: RP, kind: 'dlq-replay' } })).toBe('dlq-replay');
  });
});

describe('lineage of operator runs in the topology', () => {
  it('marks history entries and the case record with the run that published the event', async () => {
    const h = harness();
    await h.send(
      caseCreated({
        eventId: 'e1',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        initialStatus: 'OPEN',
        createdAt: at(1),
      }),
      'U1',
      runHeaders({ id: BF, kind: 'backfill' }),
    );
    expect(h.table().get('R1')!.lastRunId).toBe(BF);
    await h.send(
      statusChanged({
        eventId: 'e2',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        oldStatus: 'OPEN',
        newStatus: 'IN_PROGRESS',
        statusChangedAt: at(2),
      }),
      'U1',
    );
    expect(h.table().get('R1')!.lastRunId).toBeNull();
    await h.send(
      statusChanged({
        eventId: 'e3',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        oldStatus: 'IN_PROGRESS',
        newStatus: 'CLOSED',
        statusChangedAt: at(3),
      }),
      'U1',
      runHeaders({ id: RP, kind: 'dlq-replay' }),
    );
    expect(h.table().get('R1')!.lastRunId).toBe(RP);
    expect((await h.history('R1')).map((e) => [e.eventId, e.runId, e.runKind])).toEqual([
      ['e1', BF, 'backfill'],
      ['e2', null, null],
      ['e3', RP, 'dlq-replay'],
    ]);
  });

  it('keeps the run of a status change that waited for its CASE_CREATED (correlated by ucmCaseId)', async () => {
    const h = harness();
    await h.send(
      statusChanged({
        eventId: 'e2',
        ucmCaseId: 'U9',
        oldStatus: 'OPEN',
        newStatus: 'CLOSED',
        statusChangedAt: at(2),
      }),
      'U9',
      runHeaders({ id: RP, kind: 'dlq-replay' }),
    );
    await h.send(
      caseCreated({
        eventId: 'e1',
        ucmCaseId: 'U9',
        urpCaseId: 'R9',
        initialStatus: 'OPEN',
        createdAt: at(1),
      }),
      'U9',
    );
    expect(h.table().get('R9')!.lastRunId).toBe(RP);
    expect((await h.history('R9')).map((e) => [e.eventId, e.runId])).toEqual([
      ['e1', null],
      ['e2', RP],
    ]);
  });

  it('treats records without run headers, or with malformed ones, as live', async () => {
    const h = harness();
    await h.send(
      caseCreated({
        eventId: 'e1',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        initialStatus: 'OPEN',
        createdAt: at(1),
      }),
      'U1',
    );
    await h.send(
      statusChanged({
        eventId: 'e2',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        oldStatus: 'OPEN',
        newStatus: 'IN_PROGRESS',
        statusChangedAt: at(2),
      }),
      'U1',
      { [RUN_HEADERS.runId]: 'bf-<script>', [RUN_HEADERS.runKind]: 'backfill' },
    );
    const record = h.table().get('R1')!;
    expect(record.lastRunId).toBeNull();
    expect(record.lastEventId).toBe('e2');
    expect((await h.history('R1')).map((e) => [e.runId, e.runKind])).toEqual([
      [null, null],
      [null, null],
    ]);
  });

  it('keeps lastRunId on the latest event by order key: a late backfilled event does not take it over', async () => {
    const h = harness();
    await h.send(
      statusChanged({
        eventId: 'e2',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        oldStatus: 'OPEN',
        newStatus: 'IN_PROGRESS',
        statusChangedAt: at(5),
      }),
      'U1',
    );
    await h.send(
      caseCreated({
        eventId: 'e1',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        initialStatus: 'OPEN',
        createdAt: at(1),
      }),
      'U1',
      runHeaders({ id: BF, kind: 'backfill' }),
    );
    const record = h.table().get('R1')!;
    expect(record.lastEventId).toBe('e2');
    expect(record.lastRunId).toBeNull();
    expect((await h.history('R1')).map((e) => [e.eventId, e.runId])).toEqual([
      ['e1', BF],
      ['e2', null],
    ]);
  });
});
