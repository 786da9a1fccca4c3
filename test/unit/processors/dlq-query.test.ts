/**
 * Browsing dead letters without a broker: parameter validation, every filter, newest-first order and paging with
 * a cursor that stays stable when newer dead letters arrive.
 */
import { describe, expect, it } from 'vitest';
import {
  compareNewestFirst,
  parseDlqQuery,
  parseRef,
  queryDeadLetters,
  type DeadLetter,
  type DlqQuery,
} from '../../../processors/domain/dlq-query.js';
import type { DlqCategory, DlqRecord } from '../../../processors/domain/event-contract.js';

function letter(
  partition: number,
  offset: number,
  lastFailureAt: string,
  category: DlqCategory,
  extra: Partial<DlqRecord> = {},
): DeadLetter {
  return {
    ref: `${partition}:${offset}`,
    partition,
    offset: String(offset),
    record: {
      originalTopic: 'in',
      originalPartition: 0,
      originalOffset: '1',
      originalKey: null,
      eventId: null,
      consumer: 'urp-case-sync',
      errorCategory: category,
      errorMessage: 'rule',
      retryCount: 0,
      firstFailureAt: lastFailureAt,
      lastFailureAt,
      payloadHash: '0'.repeat(64),
      replayEligible: category === 'UNKNOWN_STATUS',
      ...extra,
    },
  };
}

const letters: DeadLetter[] = [
  letter(0, 1, '2026-01-01T10:00:00.000Z', 'UNKNOWN_STATUS', {
    eventId: 'e1',
    payload: { eventId: 'e1', payload: { ucmCaseId: 'U1', urpCaseId: 'R1' } },
  }),
  letter(1, 7, '2026-01-01T11:00:00.000Z', 'SCHEMA_INVALID', {
    eventId: 'e2',
    payload: { eventId: 'e2', payload: { ucmCaseId: 'U2' } },
  }),
  letter(0, 2, '2026-01-01T12:00:00.000Z', 'INVALID_JSON'),
  // Same time as 0:2: the partition then the offset decide.
  letter(1, 8, '2026-01-01T12:00:00.000Z', 'UNKNOWN_STATUS', {
    eventId: 'e4',
    payload: { eventId: 'e4', payload: { ucmCaseId: 'U1', urpCaseId: 'R1' } },
  }),
  letter(2, 3, '2026-01-02T00:00:00.000Z', 'FUTURE_TIME', {
    eventId: null,
    payload: { eventId: 'e5', payload: { urpCaseId: 'R2' } },
  }),
];

const q = (query: Partial<DlqQuery> = {}): DlqQuery => ({ limit: 50, ...query });
const refs = (query: Partial<DlqQuery>, from = letters) => {
  const page = queryDeadLetters(from, q(query));
  if (!page.ok) throw new Error(page.message);
  return page.value.items.map((l) => l.ref);
};

describe('dead-letter query', () => {
  it('orders newest first by lastFailureAt, then partition and offset descending', () => {
    expect(refs({})).toEqual(['2:3', '1:8', '0:2', '1:7', '0:1']);
    expect(compareNewestFirst(letters[0]!, letters[0]!)).toBe(0);
  });

  it('filters by categories, time window, eventId, urpCaseId and ucmCaseId (all must match)', () => {
    expect(refs({ categories: ['UNKNOWN_STATUS', 'FUTURE_TIME'] })).toEqual(['2:3', '1:8', '0:1']);
    expect(
      refs({ sinceMs: Date.parse('2026-01-01T11:00:00Z'), untilMs: Date.parse('2026-01-01T12:00:00Z') }),
    ).toEqual(['1:7']); // since inclusive, until exclusive
    expect(refs({ eventId: 'e2' })).toEqual(['1:7']);
    expect(refs({ eventId: 'e5' })).toEqual(['2:3']); // the payload's eventId when the record has none
    expect(refs({ urpCaseId: 'R1' })).toEqual(['1:8', '0:1']);
    expect(refs({ ucmCaseId: 'U1', categories: ['UNKNOWN_STATUS'] })).toEqual(['1:8', '0:1']);
    expect(refs({ ucmCaseId: 'U2', categories: ['UNKNOWN_STATUS'] })).toEqual([]);
    expect(refs({ urpCaseId: 'nobody' })).toEqual([]);
  });

  it('pages with the ref of the last item as cursor, stable when newer dead letters arrive', () => {
    const first = queryDeadLetters(letters, q({ limit: 2 }));
    expect(first).toEqual({
      ok: true,
      value: { items: [letters[4], letters[3]], nextCursor: '1:8' },
    });
    const newer = [...letters, letter(0, 9, '2026-02-01T00:00:00.000Z', 'UNKNOWN_STATUS')];
    expect(refs({ limit: 2, cursor: '1:8' }, newer)).toEqual(['0:2', '1:7']);
    const last = queryDeadLetters(newer, q({ limit: 2, cursor: '1:7' }));
    expect(last.ok && last.value).toEqual({ items: [letters[0]], nextCursor: null });
    // With a filter, the cursor is a position in the order, whether or not its record matches.
    expect(refs({ categories: ['UNKNOWN_STATUS'], cursor: '0:2' })).toEqual(['0:1']);
    expect(queryDeadLetters(letters, q({ cursor: '5:5' }))).toEqual({
      ok: false,
      message: expect.stringContaining('cursor names no dead letter'),
    });
  });

  it('validates raw parameters with messages naming the parameter and the rule', () => {
    expect(parseDlqQuery({})).toEqual({ ok: true, value: { limit: 50 } });
    expect(
      parseDlqQuery({
        category: ['UNKNOWN_STATUS,FUTURE_TIME', 'UNKNOWN_STATUS'],
        since: '2026-01-01T00:00:00Z',
        until: '2026-01-02T00:00:00+01:00',
        eventId: 'e1',
        urpCaseId: 'R1',
        ucmCaseId: 'U1',
        limit: '500',
        cursor: '3:0001207',
      }),
    ).toEqual({
      ok: true,
      value: {
        categories: ['UNKNOWN_STATUS', 'FUTURE_TIME'],
        sinceMs: Date.parse('2026-01-01T00:00:00Z'),
        untilMs: Date.parse('2026-01-01T23:00:00Z'),
        eventId: 'e1',
        urpCaseId: 'R1',
        ucmCaseId: 'U1',
        limit: 500,
        cursor: '3:1207',
      },
    });
    const bad = (raw: Record<string, unknown>) => {
      const r = parseDlqQuery(raw);
      return r.ok ? 'ok' : r.message;
    };
    expect(bad({ category: 'NOPE' })).toMatch(/^category must be a comma-separated list of INVALID_JSON/);
    expect(bad({ category: ',' })).toMatch(/^category must be/);
    expect(bad({ since: 'yesterday' })).toMatch(/^since must be an ISO-8601 date-time with a zone/);
    expect(bad({ until: '2026-01-01T00:00:00' })).toMatch(/^until must be an ISO-8601/);
    expect(bad({ since: '2026-01-02T00:00:00Z', until: '2026-01-01T00:00:00Z' })).toBe(
      'since must be earlier than until',
    );
    expect(bad({ eventId: 'a b' })).toMatch(/^eventId must be 1-128 characters/);
    expect(bad({ urpCaseId: '__proto__' })).toMatch(/^urpCaseId must be/);
    expect(bad({ ucmCaseId: ['U1', 'U2'] })).toMatch(/^ucmCaseId must be/);
    expect(bad({ limit: '0' })).toBe('limit must be an integer between 1 and 500');
    expect(bad({ limit: '501' })).toBe('limit must be an integer between 1 and 500');
    expect(bad({ limit: '1e3' })).toBe('limit must be an integer between 1 and 500');
    expect(bad({ cursor: '3-1207' })).toMatch(/^cursor must be a dead-letter ref <partition>:<offset>/);
    expect(parseDlqQuery({ limit: '5000' }, { defaultLimit: 100, maxLimit: 100_000 })).toEqual({
      ok: true,
      value: { limit: 5000 },
    });
  });

  it('parses refs into partition and offset', () => {
    expect(parseRef('ref', '3:1207')).toEqual({
      ok: true,
      value: { ref: '3:1207', partition: 3, offset: '1207' },
    });
    for (const raw of ['3', ':1', '3:', '-1:2', '3:1:2', 3, undefined]) {
      expect(parseRef('ref', raw).ok, String(raw)).toBe(false);
    }
  });
});
