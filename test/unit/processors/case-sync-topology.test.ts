/**
 * The URP case-sync topology in the TopologyTestDriver: every rule of the issue (validation and dead-letter
 * categories, status mapping, dedupe, ordering, status-before-created, gaps, correlation with grace period, 1:N,
 * allowlist, history bound, DLQ payload switch).
 */
import { createHash } from 'node:crypto';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createCaseSyncMetrics } from '../../../processors/case-sync-metrics.js';
import { caseSyncTopology } from '../../../processors/case-sync-topology.js';
import { caseSyncSettingsOf } from '../../support/case-sync-settings.js';
import type { CaseRecord, DlqRecord, HistoryEntry } from '../../../processors/domain/event-contract.js';
import { toHistoryEntries } from '../../../processors/domain/case-record.js';
import { readCaseHistory } from '../../../processors/domain/case-history.js';
import { bytesSerde, jsonSerde, stringSerde } from '../../../topology/serde.js';
import { TopologyTestDriver } from '../../../topology/test-driver.js';
import { at, caseCreated, statusChanged } from '../../support/ucm-events.js';

const drivers: TopologyTestDriver[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

const settings = caseSyncSettingsOf;

function harness(raw: Record<string, string> = {}, partitions = 3) {
  const registry = new Registry();
  const metrics = createCaseSyncMetrics(registry);
  const s = settings(raw);
  const driver = new TopologyTestDriver(caseSyncTopology(s, { metrics, applicationId: 'usc' }), {
    applicationId: 'usc',
    partitions,
    initialWallClockMs: Date.parse(at(30)),
  });
  drivers.push(driver);
  const input = driver.createInputTopic('ucm-case-events', stringSerde, bytesSerde);
  const output = driver.createOutputTopic('urp-case-sync', stringSerde, jsonSerde<CaseRecord>());
  const dlq = driver.createOutputTopic('ucm-case-events-dlq', stringSerde, jsonSerde<DlqRecord>());
  const send = (
    event: unknown,
    key: string | null = null,
    headers?: Record<string, string>,
    timestamp?: number,
  ) =>
    input.pipeInput(
      key as string,
      Buffer.from(typeof event === 'string' ? event : JSON.stringify(event)),
      timestamp,
      headers,
    );
  const table = () => output.readKeyValuesToMap() as Map<string, CaseRecord>;
  const metric = async (name: string) =>
    (await registry.getSingleMetricAsString(name)).split('\n').filter((l) => !l.startsWith('#'));
  const history = async (urp: string): Promise<HistoryEntry[]> =>
    toHistoryEntries(
      (await readCaseHistory(driver.getKeyValueStore('case-history'), urp, s.historyLimit)) ?? [],
    );
  return { driver, send, output, dlq, table, metric, history };
}

describe('case-sync topology', () => {
  it('publishes one record per URP case with the UCM case id and latest status', async () => {
    const h = harness();
    await h.send(
      caseCreated({
        eventId: 'e1',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        initialStatus: 'OPEN',
        createdAt: at(1),
        extraAttributes: { priority: 'high', caseType: 'fraud' },
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
    );
    const records = h.output.readRecordsToList();
    expect(records).toHaveLength(2);
    expect(records[1]!.headers['content-type']).toBe('application/json');
    expect(records[1]!.key).toBe('R1');
    expect(records[1]!.value).toEqual({
      urpCaseId: 'R1',
      ucmCaseId: 'U1',
      status: 'IN_PROGRESS',
      statusLabel: 'In progress',
      statusChangedAt: at(2),
      createdAt: at(1),
      attributes: { priority: 'high', caseType: 'fraud' },
      ucmCases: [
        {
          ucmCaseId: 'U1',
          status: 'IN_PROGRESS',
          statusLabel: 'In progress',
          statusChangedAt: at(2),
          createdAt: at(1),
        },
      ],
      lastEventId: 'e2',
      lastEventTime: at(2),
      eventCount: 2,
      updatedAt: new Date(Date.parse(at(30))).toISOString(),
      lastRunId: null,
    });
    expect(await h.metric('ucm_case_events_consumed_total')).toEqual([
      'ucm_case_events_consumed_total{type="CASE_CREATED"} 1',
      'ucm_case_events_consumed_total{type="CASE_STATUS_CHANGED"} 1',
    ]);
  });

  it('dead-letters every kind of invalid input with its category, the field and full context', async () => {
    const h = harness();
    await h.send('{not json', 'k1');
    await h.send(
      caseCreated({
        eventId: 'e1',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        createdAt: '2026-01-10T09:00:00',
        eventTime: at(1),
      }),
      'k2',
    );
    await h.send(
      {
        ...caseCreated({ eventId: 'e2', ucmCaseId: 'U1', urpCaseId: 'R1', createdAt: at(1) }),
        eventType: 'CASE_DELETED',
      },
      'k3',
    );
    await h.send(
      caseCreated({
        eventId: 'e3',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        initialStatus: 'WEIRD',
        createdAt: at(1),
      }),
      'k4',
    );
    await h.send(
      {
        eventId: 'e4',
        eventType: 'CASE_CREATED',
        eventTime: at(1),
        source: 'UCMv2',
        payload: { ucmCaseId: 'U1', initialStatus: 'OPEN', createdAt: at(1) },
      },
      'k5',
    );
    const dead = h.dlq.readRecordsToList().map((r) => r.value!);
    // Keys that are none of the event's ids are carried as a hash only.
    expect(dead.map((d) => [d.originalKey, d.errorCategory, d.eventId, d.errorField])).toEqual([
      [null, 'INVALID_JSON', null, undefined],
      [null, 'SCHEMA_INVALID', 'e1', 'payload.createdAt'],
      [null, 'UNKNOWN_EVENT_TYPE', 'e2', 'eventType'],
      [null, 'UNKNOWN_STATUS', 'e3', 'payload.initialStatus'],
      [null, 'SCHEMA_INVALID', 'e4', 'payload.urpCaseId'],
    ]);
    expect(dead[0]!.originalKeyHash).toBe(createHash('sha256').update('k1').digest('hex'));
    expect(dead[1]!.errorMessage).toContain('payload.createdAt must be an ISO-8601 date-time with a zone');
    expect(dead[3]!.errorMessage).toBe(
      'payload.initialStatus is not a known status and STATUS_MAPPING does not map it',
    );
    expect(dead[4]!.errorMessage).toBe('payload.urpCaseId is required');
    expect(dead[0]).toMatchObject({
      originalTopic: 'ucm-case-events',
      originalPartition: expect.any(Number),
      originalOffset: expect.stringMatching(/^\d+$/),
      consumer: 'usc',
      retryCount: 0,
      replayEligible: false,
      errorMessage: 'the value is not JSON (syntax error at position 1)',
      errorPosition: 1,
      payloadSize: 9,
      payloadHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(dead[0]).not.toHaveProperty('payload');
    expect(dead[3]!.replayEligible).toBe(true);
    expect(h.output.isEmpty()).toBe(true);
    expect(await h.metric('ucm_case_events_failed_total')).toContain(
      'ucm_case_events_failed_total{reason="SCHEMA_INVALID"} 2',
    );
  });

  it('maps richer UCM statuses through STATUS_MAPPING, in any letter case', async () => {
    const h = harness({ STATUS_MAPPING: '{"TRIAGE":"OPEN","waiting customer":"ON_HOLD"}' });
    await h.send(
      caseCreated({
        eventId: 'e1',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        initialStatus: 'Triage',
        createdAt: at(1),
      }),
    );
    await h.send(
      statusChanged({
        eventId: 'e2',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        oldStatus: 'triage',
        newStatus: 'Waiting-Customer',
        statusChangedAt: at(2),
      }),
    );
    expect(h.table().get('R1')).toMatchObject({ status: 'ON_HOLD', statusLabel: 'On hold' });
    expect((await h.history('R1')).map((e) => e.gap)).toEqual([false, false]);
  });

  it('ignores a duplicate eventId entirely and counts it', async () => {
    const h = harness();
    const created = caseCreated({ eventId: 'e1', ucmCaseId: 'U1', urpCaseId: 'R1', createdAt: at(1) });
    await h.send(created);
    await h.send(created);
    await h.send(
      statusChanged({
        eventId: 'e1',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        oldStatus: 'OPEN',
        newStatus: 'CLOSED',
        statusChangedAt: at(5),
      }),
    );
    expect(h.output.readRecordsToList()).toHaveLength(1);
    expect(await h.history('R1')).toHaveLength(1);
    expect(await h.metric('ucm_case_events_duplicate_total')).toEqual(['ucm_case_events_duplicate_total 2']);
  });

  it('never regresses the current state with a late event, but records it in the history in order', async () => {
    const h = harness();
    await h.send(caseCreated({ eventId: 'e1', ucmCaseId: 'U1', urpCaseId: 'R1', createdAt: at(1) }));
    await h.send(
      statusChanged({
        eventId: 'e3',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        oldStatus: 'IN_PROGRESS',
        newStatus: 'CLOSED',
        statusChangedAt: at(3),
      }),
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
    );
    expect(h.table().get('R1')).toMatchObject({
      status: 'CLOSED',
      statusChangedAt: at(3),
      lastEventId: 'e3',
      eventCount: 3,
    });
    const history = await h.history('R1');
    expect(history.map((e) => [e.eventId, e.gap])).toEqual([
      ['e1', false],
      ['e2', false],
      ['e3', false], // was a gap (OPEN -> oldStatus IN_PROGRESS) until e2 arrived and filled it
    ]);
  });

  it('orders equal business times by eventTime, then eventId', async () => {
    const h = harness();
    await h.send(
      statusChanged({
        eventId: 'b',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        oldStatus: 'OPEN',
        newStatus: 'ON_HOLD',
        statusChangedAt: at(2),
        eventTime: at(3),
      }),
    );
    await h.send(
      statusChanged({
        eventId: 'a',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        oldStatus: 'OPEN',
        newStatus: 'REJECTED',
        statusChangedAt: at(2),
        eventTime: at(3),
      }),
    );
    await h.send(
      statusChanged({
        eventId: 'c',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        oldStatus: 'OPEN',
        newStatus: 'CLOSED',
        statusChangedAt: at(2),
        eventTime: at(2),
      }),
    );
    expect(h.table().get('R1')).toMatchObject({ status: 'ON_HOLD', lastEventId: 'b' });
  });

  it('shows a case whose status change arrived first, and completes it when CASE_CREATED arrives', async () => {
    const h = harness();
    await h.send(
      statusChanged({
        eventId: 'e2',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        oldStatus: 'OPEN',
        newStatus: 'IN_PROGRESS',
        statusChangedAt: at(2),
      }),
    );
    expect(h.table().get('R1')).toMatchObject({
      status: 'IN_PROGRESS',
      createdAt: null,
      attributes: {},
      eventCount: 1,
    });
    await h.send(
      caseCreated({
        eventId: 'e1',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        createdAt: at(1),
        extraAttributes: { priority: 'low' },
      }),
    );
    expect(h.table().get('R1')).toMatchObject({
      status: 'IN_PROGRESS',
      createdAt: at(1),
      attributes: { priority: 'low' },
      eventCount: 2,
    });
  });

  it('records an oldStatus that does not follow the previous status as a gap, and counts it', async () => {
    const h = harness();
    await h.send(caseCreated({ eventId: 'e1', ucmCaseId: 'U1', urpCaseId: 'R1', createdAt: at(1) }));
    await h.send(
      statusChanged({
        eventId: 'e2',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        oldStatus: 'ON_HOLD',
        newStatus: 'CLOSED',
        statusChangedAt: at(2),
      }),
    );
    expect(h.table().get('R1')).toMatchObject({ status: 'CLOSED' });
    expect((await h.history('R1')).map((e) => e.gap)).toEqual([false, true]);
    expect(await h.metric('ucm_case_status_gaps_total')).toEqual(['ucm_case_status_gaps_total 1']);
  });

  it('resolves a status change without urpCaseId through the index, before or after its CASE_CREATED', async () => {
    const h = harness();
    await h.send(
      statusChanged({
        eventId: 'e2',
        ucmCaseId: 'U1',
        oldStatus: 'OPEN',
        newStatus: 'ON_HOLD',
        statusChangedAt: at(2),
      }),
      'U1',
    );
    expect(h.output.isEmpty()).toBe(true);
    expect(await h.metric('ucm_case_events_pending_correlations')).toEqual([
      'ucm_case_events_pending_correlations 1',
    ]);
    await h.send(caseCreated({ eventId: 'e1', ucmCaseId: 'U1', urpCaseId: 'R1', createdAt: at(1) }), 'U1');
    expect(h.table().get('R1')).toMatchObject({ status: 'ON_HOLD', createdAt: at(1), eventCount: 2 });
    expect(await h.metric('ucm_case_events_pending_correlations')).toEqual([
      'ucm_case_events_pending_correlations 0',
    ]);
    await h.send(
      statusChanged({
        eventId: 'e3',
        ucmCaseId: 'U1',
        oldStatus: 'ON_HOLD',
        newStatus: 'CLOSED',
        statusChangedAt: at(3),
      }),
      'U1',
    );
    expect(h.table().get('R1')).toMatchObject({ status: 'CLOSED', eventCount: 3 });
    expect(h.dlq.isEmpty()).toBe(true);
  });

  it('dead-letters an unresolved event after CORRELATION_GRACE_MS, with its envelope rebuilt', async () => {
    const h = harness({ CORRELATION_GRACE_MS: '60000' });
    const orphan = statusChanged({
      eventId: 'e9',
      ucmCaseId: 'U404',
      oldStatus: 'OPEN',
      newStatus: 'CLOSED',
      statusChangedAt: at(2),
    });
    await h.send(orphan, 'U404');
    // The grace period runs in stream time (ADR 0007): 66 s of wall clock without records expire nothing (the
    // idle-partition fallback waits two grace periods), a record timestamped at the due time does.
    await h.driver.advanceWallClockTime(30_000);
    expect(h.dlq.isEmpty()).toBe(true);
    await h.driver.advanceWallClockTime(36_000);
    expect(h.dlq.isEmpty()).toBe(true);
    // A CASE_CREATED arriving after the grace period (in stream time) does not resurrect it.
    await h.send(
      caseCreated({ eventId: 'e1', ucmCaseId: 'U404', urpCaseId: 'R4', createdAt: at(1) }),
      'U404',
      undefined,
      Date.parse(at(30)) + 60_000,
    );
    const [dead] = h.dlq.readValuesToList();
    expect(dead).toMatchObject({
      errorCategory: 'UNRESOLVED_CORRELATION',
      eventId: 'e9',
      originalKey: 'U404',
      replayEligible: true,
      payload: orphan,
      firstFailureAt: new Date(Date.parse(at(30))).toISOString(),
    });
    expect(dead!.errorMessage).toBe(
      'payload.urpCaseId is missing and no CASE_CREATED of payload.ucmCaseId arrived within CORRELATION_GRACE_MS (60000 ms)',
    );
    expect(dead!.errorField).toBe('payload.urpCaseId');
    expect(h.table().get('R4')).toMatchObject({ status: 'OPEN', eventCount: 1 });
  });

  it('lists every UCM case linked to one URP case, each with its own latest status (1:N)', async () => {
    const h = harness();
    await h.send(
      caseCreated({
        eventId: 'a1',
        ucmCaseId: 'UA',
        urpCaseId: 'R1',
        createdAt: at(1),
        extraAttributes: { priority: 'low' },
      }),
    );
    await h.send(
      caseCreated({
        eventId: 'b1',
        ucmCaseId: 'UB',
        urpCaseId: 'R1',
        createdAt: at(2),
        extraAttributes: { priority: 'high' },
      }),
    );
    await h.send(
      statusChanged({
        eventId: 'a2',
        ucmCaseId: 'UA',
        urpCaseId: 'R1',
        oldStatus: 'OPEN',
        newStatus: 'CLOSED',
        statusChangedAt: at(4),
      }),
    );
    await h.send(
      statusChanged({
        eventId: 'b2',
        ucmCaseId: 'UB',
        urpCaseId: 'R1',
        oldStatus: 'OPEN',
        newStatus: 'ON_HOLD',
        statusChangedAt: at(3),
      }),
    );
    const record = h.table().get('R1')!;
    expect(record).toMatchObject({
      ucmCaseId: 'UA',
      status: 'CLOSED',
      eventCount: 4,
      attributes: { priority: 'high' },
    });
    expect(record.ucmCases.map((u) => [u.ucmCaseId, u.status])).toEqual([
      ['UA', 'CLOSED'],
      ['UB', 'ON_HOLD'],
    ]);
  });

  it('keeps only allowlisted attributes anywhere: store, output, history, dead-letter', async () => {
    const h = harness({ ATTRIBUTE_ALLOWLIST: 'priority' });
    const secret = { priority: 'high', ssn: '123-45-6789', caseType: 'x' };
    await h.send(
      caseCreated({
        eventId: 'e1',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        createdAt: at(1),
        extraAttributes: secret,
      }),
    );
    await h.send({
      ...caseCreated({
        eventId: 'e2',
        ucmCaseId: 'U2',
        urpCaseId: 'R2',
        createdAt: 'bad',
        extraAttributes: secret,
      }),
    });
    const everything = JSON.stringify([
      h.output.readRecordsToList(),
      h.dlq.readRecordsToList(),
      await h.driver.getKeyValueStore('cases').get('R1'),
      await h.history('R1'),
    ]);
    expect(everything).toContain('high');
    expect(everything).not.toContain('123-45-6789');
    expect(everything).not.toContain('"caseType"');
  });

  it('bounds the history per case, dropping the oldest', async () => {
    const h = harness({ HISTORY_LIMIT: '3' });
    await h.send(caseCreated({ eventId: 'e0', ucmCaseId: 'U1', urpCaseId: 'R1', createdAt: at(0) }));
    const statuses = ['IN_PROGRESS', 'ON_HOLD', 'IN_PROGRESS', 'CLOSED'];
    for (const [i, s] of statuses.entries()) {
      await h.send(
        statusChanged({
          eventId: `e${i + 1}`,
          ucmCaseId: 'U1',
          urpCaseId: 'R1',
          oldStatus: i === 0 ? 'OPEN' : statuses[i - 1]!,
          newStatus: s,
          statusChangedAt: at(i + 1),
        }),
      );
    }
    expect((await h.history('R1')).map((e) => e.eventId)).toEqual(['e2', 'e3', 'e4']);
    expect(h.table().get('R1')).toMatchObject({ eventCount: 5, status: 'CLOSED' });
  });

  it('omits the payload from dead-letter records when DLQ_INCLUDE_PAYLOAD=false', async () => {
    const h = harness({ DLQ_INCLUDE_PAYLOAD: 'false' });
    await h.send('{"eventId":"x"');
    const [dead] = h.dlq.readValuesToList();
    expect(dead).not.toHaveProperty('payload');
    expect(dead!.payloadHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('continues the lineage of a replayed dead letter that fails again (retryCount + 1, first failure kept)', async () => {
    const h = harness({ CORRELATION_GRACE_MS: '60000' });
    const replay = {
      'x-usc-replay-of': 'ucm-case-events-dlq/0:7',
      'x-usc-retry-count': '2',
      'x-usc-first-failure-at': '2026-01-01T00:00:00.000Z',
    };
    await h.send(
      statusChanged({
        eventId: 'e5',
        ucmCaseId: 'U5',
        urpCaseId: 'R5',
        oldStatus: 'OPEN',
        newStatus: 'ARCHIVED',
        statusChangedAt: at(2),
      }),
      'U5',
      replay,
    );
    await h.send(
      statusChanged({
        eventId: 'e6',
        ucmCaseId: 'U6',
        oldStatus: 'OPEN',
        newStatus: 'CLOSED',
        statusChangedAt: at(2),
      }),
      'U6',
      replay,
    );
    // No record follows, so stream time stays put: the idle-partition fallback expires e6 once the wall clock is
    // a grace period past its due time (ADR 0007).
    await h.driver.advanceWallClockTime(121_000);
    const dead = h.dlq.readValuesToList();
    expect(dead.map((d) => [d!.eventId, d!.errorCategory, d!.retryCount, d!.firstFailureAt])).toEqual([
      ['e5', 'UNKNOWN_STATUS', 2, '2026-01-01T00:00:00.000Z'],
      ['e6', 'UNRESOLVED_CORRELATION', 2, '2026-01-01T00:00:00.000Z'],
    ]);
    // A first delivery starts a lineage.
    await h.send(
      statusChanged({
        eventId: 'e7',
        ucmCaseId: 'U7',
        urpCaseId: 'R7',
        oldStatus: 'OPEN',
        newStatus: 'NOPE',
        statusChangedAt: at(2),
      }),
      'U7',
    );
    expect(h.dlq.readValuesToList()[0]).toMatchObject({
      eventId: 'e7',
      retryCount: 0,
      firstFailureAt: new Date(Date.parse(at(30)) + 121_000).toISOString(),
    });
  });
});
