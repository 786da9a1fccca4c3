/**
 * Backfill events: deterministic content-derived ids, the lifecycle an export line describes, line errors, the
 * allowlist, and (through the real topology in the TopologyTestDriver) that publishing a backfill twice changes
 * nothing.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createCaseSyncMetrics } from '../../../processors/case-sync-metrics.js';
import { caseSyncTopology } from '../../../processors/case-sync-topology.js';
import { backfillEventsForLine, BACKFILL_SOURCE } from '../../../processors/domain/backfill.js';
import type { CaseSyncSettings } from '../../../processors/domain/case-sync-settings.js';
import { caseSyncSettingsOf } from '../../support/case-sync-settings.js';
import type { CaseRecord, DlqRecord } from '../../../processors/domain/event-contract.js';
import { bytesSerde, jsonSerde, stringSerde } from '../../../topology/serde.js';
import { TopologyTestDriver } from '../../../topology/test-driver.js';

const drivers: TopologyTestDriver[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

const settings = caseSyncSettingsOf;
const validation = (s = settings()) => ({
  statusMapping: s.statusMapping,
  attributeAllowlist: s.attributeAllowlist,
});

interface Envelope {
  eventType: string;
  eventTime: string;
  source: string;
  payload: { oldStatus?: string; newStatus?: string; initialStatus?: string; reason?: string };
}

const LINE = {
  urpCaseId: 'URP-7',
  ucmCaseId: 'UCM-70',
  createdAt: '2025-03-01T09:00:00Z',
  status: 'CLOSED',
  statusChangedAt: '2025-03-04T17:30:00Z',
  attributes: { priority: 'high', analystEmail: 'j.doe@example.com' },
  transitions: [
    { status: 'ON_HOLD', at: '2025-03-03T10:00:00Z', reason: 'waiting for customer' },
    { status: 'IN_PROGRESS', at: '2025-03-02T08:00:00Z' },
  ],
};

function events(line: unknown, s?: CaseSyncSettings) {
  const result = backfillEventsForLine(JSON.stringify(line), validation(s));
  if (!result.ok) throw new Error(result.problem);
  return result.events;
}

describe('backfill events', () => {
  it('describes the lifecycle of an export line: created, then each transition in time order, then the final status', () => {
    const parsed = events(LINE).map((e) => JSON.parse(e.value) as Envelope);
    expect(
      parsed.map((e) => [e.eventType, e.payload.oldStatus, e.payload.newStatus ?? e.payload.initialStatus]),
    ).toEqual([
      ['CASE_CREATED', undefined, 'OPEN'],
      ['CASE_STATUS_CHANGED', 'OPEN', 'IN_PROGRESS'],
      ['CASE_STATUS_CHANGED', 'IN_PROGRESS', 'ON_HOLD'],
      ['CASE_STATUS_CHANGED', 'ON_HOLD', 'CLOSED'],
    ]);
    expect(parsed.every((e) => e.source === BACKFILL_SOURCE)).toBe(true);
    expect(parsed[2]!.payload.reason).toBe('waiting for customer');
    expect(parsed[3]!.eventTime).toBe('2025-03-04T17:30:00Z');
    expect(events(LINE).every((e) => e.key === 'UCM-70')).toBe(true);
  });

  it('derives stable, distinct event ids from the content', () => {
    const first = events(LINE);
    const again = events(JSON.parse(JSON.stringify(LINE)));
    expect(again).toEqual(first);
    expect(new Set(first.map((e) => e.eventId)).size).toBe(first.length);
    expect(first[0]!.eventId).toMatch(/^bf-[0-9a-f]{40}$/);
    const changed = events({ ...LINE, statusChangedAt: '2025-03-05T00:00:00Z' });
    expect(changed.slice(0, 3)).toEqual(first.slice(0, 3));
    expect(changed[3]!.eventId).not.toBe(first[3]!.eventId);
  });

  it('publishes only allowlisted attributes', () => {
    const created = events(LINE)[0]!;
    expect(created.value).not.toContain('analystEmail');
    expect(JSON.parse(created.value).payload.extraAttributes).toEqual({ priority: 'high' });
  });

  it('adds no status change when the case never left its initial status', () => {
    expect(
      events({ urpCaseId: 'R', ucmCaseId: 'U', createdAt: '2025-01-01T00:00:00Z', status: 'OPEN' }),
    ).toHaveLength(1);
  });

  it.each([
    ['not json', '{nope', /not JSON/],
    ['an array', '[1]', /not a JSON object/],
    [
      'missing ids',
      JSON.stringify({ createdAt: '2025-01-01T00:00:00Z' }),
      /urpCaseId must be a non-empty string; ucmCaseId/,
    ],
    [
      'a final status without its time',
      JSON.stringify({ urpCaseId: 'R', ucmCaseId: 'U', createdAt: '2025-01-01T00:00:00Z', status: 'CLOSED' }),
      /statusChangedAt is required/,
    ],
    [
      'an unknown status',
      JSON.stringify({ ...LINE, transitions: [{ status: 'ARCHIVED', at: '2025-03-02T08:00:00Z' }] }),
      /^UNKNOWN_STATUS: payload\.newStatus is not a known status/,
    ],
    [
      'a bad timestamp',
      JSON.stringify({ ...LINE, createdAt: 'yesterday' }),
      /^createdAt must be an ISO-8601/,
    ],
    ['bad transitions', JSON.stringify({ ...LINE, transitions: [{ status: 1 }] }), /transitions\[0\]/],
  ])('rejects %s with a reason', (_name, line, reason) => {
    const result = backfillEventsForLine(line, validation());
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problem).toMatch(reason);
  });

  it('accepts statuses through STATUS_MAPPING like the topology does', () => {
    const s = settings({ STATUS_MAPPING: JSON.stringify({ ARCHIVED: 'CLOSED' }) });
    const line = {
      ...LINE,
      transitions: [{ status: 'ARCHIVED', at: '2025-03-02T08:00:00Z' }],
      status: 'ARCHIVED',
    };
    expect(events(line, s)).toHaveLength(2);
  });

  it('yields the case in the topology, and a second run of the same backfill changes nothing', async () => {
    const s = settings();
    const driver = new TopologyTestDriver(
      caseSyncTopology(s, { metrics: createCaseSyncMetrics(new Registry()), applicationId: 'usc' }),
      { applicationId: 'usc', partitions: 3, initialWallClockMs: Date.parse('2025-06-01T00:00:00Z') },
    );
    drivers.push(driver);
    const input = driver.createInputTopic('ucm-case-events', stringSerde, bytesSerde);
    const output = driver.createOutputTopic('urp-case-sync', stringSerde, jsonSerde<CaseRecord>());
    const dlq = driver.createOutputTopic('ucm-case-events-dlq', stringSerde, jsonSerde<DlqRecord>());
    const publish = async () => {
      for (const e of events(LINE)) await input.pipeInput(e.key, Buffer.from(e.value));
    };
    await publish();
    const first = output.readRecordsToList();
    expect(first.at(-1)!.value).toMatchObject({
      urpCaseId: 'URP-7',
      ucmCaseId: 'UCM-70',
      status: 'CLOSED',
      statusChangedAt: '2025-03-04T17:30:00Z',
      createdAt: '2025-03-01T09:00:00Z',
      attributes: { priority: 'high' },
      eventCount: 4,
    });
    await publish();
    expect(output.readRecordsToList()).toEqual([]);
    expect(dlq.readRecordsToList()).toEqual([]);
  });
});
