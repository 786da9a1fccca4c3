/**
 * ADR 0003 end to end in the TopologyTestDriver: a marker placed in every part of the input the contract does not
 * keep (unknown fields, non-allowlisted attributes, wrong-typed known fields, invalid JSON text, over-long strings,
 * deep nesting, record keys) reaches no dead letter, output record, repartition record, store value, changelog
 * record or log line. Also: FUTURE_TIME, and one bad pending entry not stopping the others.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createCaseSyncMetrics } from '../../../processors/case-sync-metrics.js';
import { caseSyncTopology } from '../../../processors/case-sync-topology.js';
import type { CaseRecord, DlqRecord } from '../../../processors/domain/event-contract.js';
import { bytesSerde, jsonSerde, msgpackSerde, stringSerde } from '../../../topology/serde.js';
import { TopologyTestDriver } from '../../../topology/test-driver.js';
import { caseSyncSettingsOf } from '../../support/case-sync-settings.js';
import { at, caseCreated, statusChanged } from '../../support/ucm-events.js';
import { captureLogger } from './capture-logger.js';

const MARKER = 'PII-MARKER-42';
const STORES = ['cases', 'case-history', 'ucm-index', 'pending-correlation'];
const REPARTITIONS = ['by-urp', 'by-ucm', 'resolved'];

const drivers: TopologyTestDriver[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

function harness(raw: Record<string, string> = {}, partitions = 3) {
  const registry = new Registry();
  const logger = captureLogger();
  const driver = new TopologyTestDriver(
    caseSyncTopology(caseSyncSettingsOf(raw), {
      metrics: createCaseSyncMetrics(registry),
      applicationId: 'usc',
      logger,
    }),
    { applicationId: 'usc', partitions, initialWallClockMs: Date.parse(at(30)), logger },
  );
  drivers.push(driver);
  const input = driver.createInputTopic('ucm-case-events', stringSerde, bytesSerde);
  const send = (value: unknown, key: string | null = MARKER) =>
    input.pipeInput(
      key as string,
      value === null
        ? (null as unknown as Buffer)
        : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    );
  const dlq = driver.createOutputTopic('ucm-case-events-dlq', stringSerde, jsonSerde<DlqRecord>());
  const output = driver.createOutputTopic('urp-case-sync', stringSerde, jsonSerde<CaseRecord>());
  const topicText = (topic: string) =>
    driver
      .createOutputTopic(topic, bytesSerde, bytesSerde)
      .readRecordsToList()
      .map((r) => `${r.key?.toString('utf8') ?? ''} ${r.value?.toString('utf8') ?? ''}`)
      .join('\n');
  const stores = async () => {
    const out: unknown[] = [];
    for (const name of STORES)
      for await (const entry of driver.getKeyValueStore(name).range())
        out.push([name, entry.key, entry.value]);
    return JSON.stringify(out);
  };
  const metric = async (name: string) =>
    (await registry.getSingleMetricAsString(name)).split('\n').filter((l) => !l.startsWith('#'));
  return { driver, send, dlq, output, topicText, stores, logger, metric };
}

/** Everything the contract does not keep, with the marker in it. */
const noise = { [MARKER]: MARKER, note: `call ${MARKER}` };
const withNoise = (event: Record<string, unknown>, payloadExtra: Record<string, unknown> = {}) => ({
  ...event,
  ...noise,
  payload: { ...(event.payload as object), ...noise, ...payloadExtra },
});

describe('data minimisation end to end', () => {
  it('keeps the marker out of every dead letter, output, repartition record, store, changelog and log line', async () => {
    const h = harness({ CORRELATION_GRACE_MS: '60000' });
    const attributes = { extraAttributes: { priority: 'high', ssn: MARKER, [MARKER]: 'x' } };
    // Valid events: created, status change with urpCaseId, one resolved through the index, one never resolved.
    await h.send(
      withNoise(
        caseCreated({ eventId: 'c1', ucmCaseId: 'U1', urpCaseId: 'R1', createdAt: at(1) }),
        attributes,
      ),
    );
    await h.send(
      withNoise(
        statusChanged({
          eventId: 's1',
          ucmCaseId: 'U1',
          urpCaseId: 'R1',
          oldStatus: 'OPEN',
          newStatus: 'ON_HOLD',
          statusChangedAt: at(2),
          reason: 'waiting',
        }),
      ),
      'U1',
    );
    await h.send(
      withNoise(
        statusChanged({
          eventId: 's2',
          ucmCaseId: 'U1',
          oldStatus: 'ON_HOLD',
          newStatus: 'CLOSED',
          statusChangedAt: at(3),
        }),
      ),
    );
    await h.send(
      withNoise(
        statusChanged({
          eventId: 's3',
          ucmCaseId: 'U2',
          oldStatus: 'OPEN',
          newStatus: 'CLOSED',
          statusChangedAt: at(3),
        }),
      ),
    );
    // Invalid ones of every category.
    await h.send(`{"eventId": "e-json", "ssn": "${MARKER}"`);
    await h.send(null);
    await h.send(`[${'['.repeat(40)}"${MARKER}"${']'.repeat(40)}]`);
    await h.send(
      withNoise(caseCreated({ eventId: 'e-long', ucmCaseId: 'U3', urpCaseId: 'R3', createdAt: at(1) }), {
        comment: MARKER.repeat(700),
      }),
    );
    await h.send(JSON.stringify({ pad: MARKER.repeat(25_000) }));
    await h.send(
      withNoise({
        ...caseCreated({ eventId: 'e-schema', ucmCaseId: 'U4', urpCaseId: 'R4', createdAt: at(1) }),
        eventTime: MARKER,
      }),
    );
    await h.send(
      withNoise({
        ...caseCreated({ eventId: 'e-source', ucmCaseId: 'U4', urpCaseId: 'R4', createdAt: at(1) }),
        source: { [MARKER]: MARKER },
      }),
    );
    await h.send(
      withNoise({
        ...caseCreated({ eventId: 'e-type', ucmCaseId: 'U4', urpCaseId: 'R4', createdAt: at(1) }),
        eventType: MARKER,
      }),
    );
    await h.send(
      withNoise(
        statusChanged({
          eventId: 'e-status',
          ucmCaseId: 'U5',
          urpCaseId: 'R5',
          oldStatus: 'OPEN',
          newStatus: 'ESCALATED',
          statusChangedAt: at(2),
        }),
        { reason: { text: MARKER }, statusChangedAt: at(2) },
      ),
    );
    await h.send(
      withNoise(
        caseCreated({
          eventId: 'e-initial',
          ucmCaseId: 'U6',
          urpCaseId: 'R6',
          initialStatus: 'TRIAGE',
          createdAt: at(1),
        }),
        attributes,
      ),
    );
    await h.send(
      withNoise(
        caseCreated({
          eventId: 'e-future',
          ucmCaseId: 'U7',
          urpCaseId: 'R7',
          createdAt: at(1),
          eventTime: at(200),
        }),
      ),
    );
    const storedWhilePending = await h.stores();
    // Nothing follows in stream time: the idle-partition fallback expires s3 once the wall clock is a grace
    // period past its due time (ADR 0007).
    await h.driver.advanceWallClockTime(121_000);

    const dead = h.dlq.readRecordsToList();
    expect(dead.map((d) => [d.value!.errorCategory, d.value!.eventId]).sort()).toEqual(
      [
        ['FUTURE_TIME', 'e-future'],
        ['INVALID_JSON', null],
        ['INVALID_JSON', null],
        ['LIMIT_EXCEEDED', null],
        ['LIMIT_EXCEEDED', null],
        ['LIMIT_EXCEEDED', 'e-long'],
        ['SCHEMA_INVALID', 'e-schema'],
        ['SCHEMA_INVALID', 'e-source'],
        ['UNKNOWN_EVENT_TYPE', 'e-type'],
        ['UNKNOWN_STATUS', 'e-initial'],
        ['UNKNOWN_STATUS', 'e-status'],
        ['UNRESOLVED_CORRELATION', 's3'],
      ].sort(),
    );
    const byId = new Map(dead.map((d) => [d.value!.eventId, d]));
    // Replay-eligible dead letters carry the known fields (enough to replay); the others identifiers only.
    expect(byId.get('e-status')!.value!.payload).toEqual(
      statusChanged({
        eventId: 'e-status',
        ucmCaseId: 'U5',
        urpCaseId: 'R5',
        oldStatus: 'OPEN',
        newStatus: 'ESCALATED',
        statusChangedAt: at(2),
      }),
    );
    expect(byId.get('e-initial')!.value!.payload).toMatchObject({
      payload: { extraAttributes: { priority: 'high' } },
    });
    expect(byId.get('s3')!.value!.payload).toEqual(
      statusChanged({
        eventId: 's3',
        ucmCaseId: 'U2',
        oldStatus: 'OPEN',
        newStatus: 'CLOSED',
        statusChangedAt: at(3),
      }),
    );
    expect(byId.get('e-future')!.value!.payload).toEqual({
      eventId: 'e-future',
      eventType: 'CASE_CREATED',
      eventTime: at(200),
      payload: { ucmCaseId: 'U7', urpCaseId: 'R7' },
    });
    expect(dead.map((d) => d.key)).toEqual(dead.map((d) => d.value!.eventId ?? d.value!.payloadHash));
    expect(h.output.readKeyValuesToMap().get('R1')).toMatchObject({
      status: 'CLOSED',
      attributes: { priority: 'high' },
      eventCount: 3,
    });

    const everything = [
      JSON.stringify(dead),
      JSON.stringify(h.output.readRecordsToList()),
      storedWhilePending,
      await h.stores(),
      ...STORES.map((s) => h.topicText(`usc-${s}-changelog`)),
      ...REPARTITIONS.map((t) => h.topicText(`usc-${t}-repartition`)),
      ...h.logger.lines,
    ];
    expect(storedWhilePending).toContain('s3'); // the pending store was looked at while it held something
    expect(h.topicText('usc-pending-correlation-changelog')).toContain('s3');
    expect(h.logger.lines.length).toBeGreaterThan(10);
    for (const text of everything) expect(text).not.toContain(MARKER);
    expect(h.topicText('ucm-case-events')).toContain(MARKER); // the check itself can see a marker

    // Failure counters equal dead-letter counts, per category.
    const failed = await h.metric('ucm_case_events_failed_total');
    const written = await h.metric('ucm_case_events_dlq_total');
    const counts = new Map<string, number>();
    for (const d of dead) counts.set(d.value!.errorCategory, (counts.get(d.value!.errorCategory) ?? 0) + 1);
    for (const [category, n] of counts) {
      expect(failed).toContain(`ucm_case_events_failed_total{reason="${category}"} ${n}`);
      expect(written).toContain(`ucm_case_events_dlq_total{category="${category}"} ${n}`);
    }
  });

  it('dead-letters an event from the future as FUTURE_TIME instead of making it the latest state forever', async () => {
    const h = harness();
    await h.send(caseCreated({ eventId: 'c1', ucmCaseId: 'U1', urpCaseId: 'R1', createdAt: at(1) }), 'U1');
    const future = new Date(Date.parse(at(30)) + 2 * 3_600_000).toISOString();
    await h.send(
      statusChanged({
        eventId: 's9',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        oldStatus: 'OPEN',
        newStatus: 'CLOSED',
        statusChangedAt: future,
        eventTime: at(5),
      }),
      'U1',
    );
    const [dead] = h.dlq.readValuesToList();
    expect(dead).toMatchObject({
      errorCategory: 'FUTURE_TIME',
      errorField: 'payload.statusChangedAt',
      errorMessage:
        'payload.statusChangedAt is more than MAX_FUTURE_SKEW_MS (3600000 ms) ahead of the processing time',
      originalKey: 'U1',
      replayEligible: false,
    });
    await h.send(
      statusChanged({
        eventId: 's2',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        oldStatus: 'OPEN',
        newStatus: 'IN_PROGRESS',
        statusChangedAt: at(2),
      }),
      'U1',
    );
    expect(h.output.readKeyValuesToMap().get('R1')).toMatchObject({ status: 'IN_PROGRESS', eventCount: 2 });
  });

  it('settles every pending entry when one cannot be read: PROCESSING_ERROR for it, the others go on', async () => {
    const h = harness({ CORRELATION_GRACE_MS: '60000' }, 1);
    const orphan = statusChanged({
      eventId: 'e9',
      ucmCaseId: 'U404',
      oldStatus: 'OPEN',
      newStatus: 'CLOSED',
      statusChangedAt: at(2),
    });
    await h.send(orphan, 'U404');
    const waiting = statusChanged({
      eventId: 'e61',
      ucmCaseId: 'U600',
      oldStatus: 'OPEN',
      newStatus: 'CLOSED',
      statusChangedAt: at(2),
    });
    await h.send(waiting, 'U600');
    // Entries a bug (or an older version) could have left in the store.
    const changelog = h.driver.createInputTopic(
      'usc-pending-correlation-changelog',
      stringSerde,
      msgpackSerde<unknown>(),
    );
    await changelog.pipeInput('U500|e50', {
      sinceMs: 'soon',
      event: { eventId: 'e50', note: MARKER },
      origin: MARKER,
    });
    await changelog.pipeInput('U501|e51', {
      sinceMs: Date.parse(at(30)),
      event: { eventId: 'e51', eventType: 'CASE_STATUS_CHANGED', ucmCaseId: 'U501', newStatus: MARKER },
      origin: {
        topic: 'ucm-case-events',
        partition: 0,
        offset: '17',
        key: MARKER,
        payloadHash: 'f'.repeat(64),
      },
    });
    await changelog.pipeInput('U600|e60', { sinceMs: Date.parse(at(30)), event: null, origin: null });
    await h.driver.simulateCrashAndRestore();
    expect(await h.metric('ucm_case_events_pending_correlations')).toEqual([
      'ucm_case_events_pending_correlations 5',
    ]);

    // The index releases e61; the broken entry of the same UCM case is dead-lettered, not the CASE_CREATED. The
    // first punctuation after the restart indexes the entries that have no due time (as the previous version wrote
    // them) and dead-letters those it cannot read (ADR 0007).
    await h.send(
      caseCreated({ eventId: 'c6', ucmCaseId: 'U600', urpCaseId: 'R6', createdAt: at(1) }),
      'U600',
    );
    expect(h.output.readKeyValuesToMap().get('R6')).toMatchObject({ status: 'CLOSED', eventCount: 2 });
    const broken = h.dlq.readRecordsToList();
    expect(broken.map((d) => [d.key, d.value!.errorCategory])).toEqual([
      ['e60', 'PROCESSING_ERROR'],
      ['e50', 'PROCESSING_ERROR'],
      ['e51', 'PROCESSING_ERROR'],
    ]);
    expect(broken[0]!.value).toMatchObject({
      errorCategory: 'PROCESSING_ERROR',
      eventId: 'e60',
      originalTopic: 'usc-pending-correlation-changelog',
      errorMessage:
        'processing failed in correlate (process): MalformedPendingEvent: pending entry field event is missing or malformed',
      payload: { eventId: 'e60', payload: { ucmCaseId: 'U600' } },
    });
    expect(broken[2]!.value).toMatchObject({
      originalTopic: 'ucm-case-events',
      originalOffset: '17',
      originalKey: null,
      payloadHash: 'f'.repeat(64),
      errorMessage:
        'processing failed in correlate (punctuate): MalformedPendingEvent: pending entry field event.eventTime is missing or malformed',
      payload: { eventId: 'e51', eventType: 'CASE_STATUS_CHANGED', payload: { ucmCaseId: 'U501' } },
    });

    // e9 still waits; no record follows, so the idle-partition fallback expires it.
    await h.driver.advanceWallClockTime(121_000);
    const expired = h.dlq.readRecordsToList();
    expect(expired.map((d) => [d.key, d.value!.errorCategory])).toEqual([['e9', 'UNRESOLVED_CORRELATION']]);
    const dead = [...broken, ...expired];
    expect(JSON.stringify(dead)).not.toContain(MARKER);
    expect(h.logger.lines.join('\n')).not.toContain(MARKER);
    // Nothing is left but the saved stream time: no pending event, no due-index key.
    const left: string[] = [];
    for await (const { key } of h.driver.getKeyValueStore<string, unknown>('pending-correlation').range())
      left.push(key);
    expect(left).toEqual(['~stream-time']);
    expect(await h.metric('ucm_case_events_pending_correlations')).toEqual([
      'ucm_case_events_pending_correlations 0',
    ]);
    expect(await h.metric('ucm_case_events_failed_total')).toEqual([
      'ucm_case_events_failed_total{reason="PROCESSING_ERROR"} 3',
      'ucm_case_events_failed_total{reason="UNRESOLVED_CORRELATION"} 1',
    ]);
  });
});
