/** Validation edge cases: every outcome is a value, never an exception; messages name the field. */
import { describe, expect, it } from 'vitest';
import { parseCaseSyncSettings } from '../../../processors/domain/case-sync-settings.js';
import { parseCaseEvent } from '../../../processors/domain/validate-event.js';
import { parseStatusMapping } from '../../../processors/domain/statuses.js';
import { at, caseCreated, statusChanged } from '../../support/ucm-events.js';

const r = parseCaseSyncSettings({});
if (!r.ok) throw new Error('defaults');
const cfg = r.settings;
const parse = (v: unknown) =>
  parseCaseEvent(v === null ? null : Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)), cfg);
const fail = (v: unknown) => {
  const out = parse(v);
  if (out.ok) throw new Error('expected a failure');
  return out;
};

describe('parseCaseEvent', () => {
  it('classifies unreadable values as INVALID_JSON', () => {
    expect(fail(null)).toMatchObject({ category: 'INVALID_JSON', message: 'the record has no value' });
    expect(parseCaseEvent(Buffer.from([0xff, 0xfe]), cfg)).toMatchObject({
      ok: false,
      category: 'INVALID_JSON',
      message: 'the value is not valid UTF-8',
    });
    expect(fail('[1,')).toMatchObject({ category: 'INVALID_JSON' });
  });

  it('names the field and the rule for schema violations', () => {
    const good = caseCreated({ eventId: 'e1', ucmCaseId: 'U1', urpCaseId: 'R1', createdAt: at(1) });
    const cases: [unknown, string, string][] = [
      [[], 'event', 'event must be an object'],
      [{ ...good, eventType: undefined }, 'eventType', 'eventType is required'],
      [{ ...good, eventId: 'a b' }, 'eventId', 'eventId must be 1-128 characters'],
      [{ ...good, eventId: '__proto__' }, 'eventId', 'eventId must be 1-128 characters'],
      [{ ...good, eventId: 'x'.repeat(129) }, 'eventId', 'eventId must be 1-128'],
      [
        { ...good, eventTime: '2026-01-10' },
        'eventTime',
        'eventTime must be an ISO-8601 date-time with a zone',
      ],
      [{ ...good, source: '' }, 'source', 'source must be a string of 1-128 characters'],
      [{ ...good, payload: 'x' }, 'payload', 'payload must be an object'],
      [
        { ...good, payload: { ...(good.payload as object), extraAttributes: [1] } },
        'payload.extraAttributes',
        'must be an object',
      ],
      [
        statusChanged({
          eventId: 'e2',
          ucmCaseId: 'U1',
          oldStatus: 'OPEN',
          newStatus: 'CLOSED',
          statusChangedAt: 'yesterday',
          eventTime: at(1),
        }),
        'payload.statusChangedAt',
        'payload.statusChangedAt must be an ISO-8601',
      ],
      [
        {
          ...statusChanged({
            eventId: 'e2',
            ucmCaseId: 'U1',
            oldStatus: 'OPEN',
            newStatus: 'CLOSED',
            statusChangedAt: at(1),
          }),
          payload: { ucmCaseId: 'U1', newStatus: 'CLOSED', statusChangedAt: at(1) },
        },
        'payload.oldStatus',
        'payload.oldStatus is required',
      ],
    ];
    for (const [value, field, message] of cases) {
      const out = fail(value);
      expect(out.category, field).toBe('SCHEMA_INVALID');
      expect(out.field, field).toBe(field);
      expect(out.message, field).toContain(message);
    }
  });

  it('accepts a null oldStatus (first status known) and normalises statuses', () => {
    const out = parse(
      statusChanged({
        eventId: 'e2',
        ucmCaseId: 'U1',
        oldStatus: null,
        newStatus: 'in progress',
        statusChangedAt: '2026-01-10T10:00:00+01:00',
      }),
    );
    expect(out).toMatchObject({
      ok: true,
      event: {
        oldStatus: null,
        newStatus: 'IN_PROGRESS',
        businessMs: Date.parse('2026-01-10T09:00:00Z'),
        urpCaseId: undefined,
      },
    });
  });

  it('rejects unknown event types and statuses with their own categories', () => {
    expect(
      fail({
        ...caseCreated({ eventId: 'e', ucmCaseId: 'U', urpCaseId: 'R', createdAt: at(1) }),
        eventType: 'CASE_MERGED',
      }),
    ).toMatchObject({
      category: 'UNKNOWN_EVENT_TYPE',
      message: 'eventType is not one of CASE_CREATED, CASE_STATUS_CHANGED',
    });
    expect(
      fail(
        statusChanged({
          eventId: 'e',
          ucmCaseId: 'U',
          oldStatus: 'OPEN',
          newStatus: 'ESCALATED',
          statusChangedAt: at(1),
        }),
      ),
    ).toMatchObject({
      category: 'UNKNOWN_STATUS',
      field: 'payload.newStatus',
      message: 'payload.newStatus is not a known status and STATUS_MAPPING does not map it',
    });
  });
});

describe('settings', () => {
  it('lists every problem of STATUS_MAPPING and the other settings at once', () => {
    expect(parseStatusMapping('{"A":"NOPE","B":"OPEN"}')).toEqual({
      ok: false,
      problems: [
        'STATUS_MAPPING maps "A" to "NOPE", which is not one of OPEN, IN_PROGRESS, ON_HOLD, CLOSED, REJECTED',
      ],
    });
    const bad = parseCaseSyncSettings({
      STATUS_MAPPING: '[',
      HISTORY_LIMIT: '0',
      DLQ_INCLUDE_PAYLOAD: 'maybe',
      ATTRIBUTE_ALLOWLIST: 'ok,no way',
    });
    expect(bad).toEqual({
      ok: false,
      problems: [
        'STATUS_MAPPING is not valid JSON',
        'ATTRIBUTE_ALLOWLIST entry "no way" is not a plain key',
        'DLQ_INCLUDE_PAYLOAD must be true or false',
        'HISTORY_LIMIT must be an integer between 1 and 10000, got "0"',
      ],
    });
  });
});
