/**
 * Data minimisation by projection: what is carried is built from the contract's known fields, each only if
 * well-typed, so a marker placed anywhere else (unknown fields, non-allowlisted attributes, wrong-typed known
 * fields) never survives.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deadLetterKey, deadLetterPayload, REPLAY_ELIGIBLE } from '../../../processors/domain/dlq-record.js';
import { DLQ_CATEGORIES } from '../../../processors/domain/event-contract.js';
import {
  idsOf,
  minimiseKey,
  projectEventLike,
  projectIdentifiers,
  projectKnownFields,
  toEnvelope,
} from '../../../processors/domain/project.js';
import { parseCaseEvent } from '../../../processors/domain/validate-event.js';
import { caseSyncSettingsOf } from '../../support/case-sync-settings.js';
import { at, caseCreated, statusChanged } from '../../support/ucm-events.js';

const MARKER = 'PII-MARKER-42';
const settings = caseSyncSettingsOf({ STATUS_MAPPING: '{"TRIAGE":"OPEN"}' });
const allow = settings.attributeAllowlist;
const parse = (v: unknown) => {
  const out = parseCaseEvent(Buffer.from(JSON.stringify(v)), settings);
  if (!out.ok) throw new Error(out.message);
  return out.event;
};

/** A value with the marker everywhere the contract does not define (or defines with another type). */
const poisoned = () => ({
  eventId: 'e1',
  eventType: 'CASE_CREATED',
  eventTime: at(1),
  source: 'UCMv2',
  [MARKER]: MARKER,
  note: MARKER,
  payload: {
    ucmCaseId: 'U1',
    urpCaseId: 'R1',
    initialStatus: 'WEIRD',
    createdAt: at(1),
    reason: { text: MARKER },
    comment: MARKER,
    extraAttributes: { priority: 'high', ssn: MARKER, [MARKER]: 'x' },
  },
});

describe('projection', () => {
  it('rebuilds a valid envelope from a normalised event (replaying it gives the same event)', () => {
    const events = [
      caseCreated({
        eventId: 'c1',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        initialStatus: 'Triage',
        createdAt: at(1),
        extraAttributes: { priority: 'high', ssn: MARKER },
      }),
      statusChanged({
        eventId: 's1',
        ucmCaseId: 'U1',
        oldStatus: null,
        newStatus: 'in progress',
        statusChangedAt: at(2),
        reason: 'picked up',
      }),
      statusChanged({
        eventId: 's2',
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        oldStatus: 'OPEN',
        newStatus: 'CLOSED',
        statusChangedAt: at(3),
      }),
    ];
    for (const raw of events) {
      const event = parse({ ...raw, [MARKER]: MARKER });
      const envelope = toEnvelope(event);
      expect(JSON.stringify(envelope)).not.toContain(MARKER);
      expect(parse(envelope)).toEqual(event);
    }
    expect(toEnvelope(parse(events[0]!))).toEqual({
      eventId: 'c1',
      eventType: 'CASE_CREATED',
      eventTime: at(1),
      source: 'UCMv2',
      payload: {
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        initialStatus: 'OPEN',
        createdAt: at(1),
        extraAttributes: { priority: 'high' },
      },
    });
    expect(toEnvelope(parse(events[1]!)).payload).not.toHaveProperty('urpCaseId');
  });

  it('keeps only the known fields, each only with its contract type, for replay-eligible dead letters', () => {
    const projected = projectKnownFields(poisoned(), allow);
    expect(projected).toEqual({
      eventId: 'e1',
      eventType: 'CASE_CREATED',
      eventTime: at(1),
      source: 'UCMv2',
      payload: {
        ucmCaseId: 'U1',
        urpCaseId: 'R1',
        initialStatus: 'WEIRD',
        createdAt: at(1),
        extraAttributes: { priority: 'high' },
      },
    });
    const wrong = {
      eventId: `${MARKER} has spaces`,
      eventType: MARKER,
      eventTime: MARKER,
      source: { MARKER },
      payload: {
        ucmCaseId: [MARKER],
        urpCaseId: 42,
        oldStatus: MARKER.repeat(10),
        newStatus: { MARKER },
        statusChangedAt: `${MARKER}Z`,
        reason: MARKER.repeat(100),
        extraAttributes: [MARKER],
      },
    };
    expect(projectKnownFields(wrong, allow)).toEqual({});
    expect(projectKnownFields({ payload: { oldStatus: null, newStatus: 'X' } }, allow)).toEqual({
      payload: { oldStatus: null, newStatus: 'X' },
    });
    for (const v of [null, 42, MARKER, [MARKER], undefined]) expect(projectKnownFields(v, allow)).toEqual({});
  });

  it('keeps identifiers only (each only if valid) for the other categories', () => {
    expect(projectIdentifiers(poisoned())).toEqual({
      eventId: 'e1',
      eventType: 'CASE_CREATED',
      eventTime: at(1),
      payload: { ucmCaseId: 'U1', urpCaseId: 'R1' },
    });
    expect(
      projectIdentifiers({
        eventId: 'e1',
        eventType: MARKER,
        eventTime: 'now',
        payload: { ucmCaseId: 'a b' },
      }),
    ).toEqual({
      eventId: 'e1',
    });
    expect(projectIdentifiers([MARKER])).toEqual({});
  });

  it('chooses the projection by category and carries nothing when nothing was parsed', () => {
    expect(DLQ_CATEGORIES.filter((c) => REPLAY_ELIGIBLE[c])).toEqual([
      'UNKNOWN_STATUS',
      'UNRESOLVED_CORRELATION',
      'PROCESSING_ERROR',
    ]);
    for (const category of DLQ_CATEGORIES) {
      const payload = deadLetterPayload(category, poisoned(), allow);
      expect(JSON.stringify(payload)).not.toContain(MARKER);
      expect(payload).toEqual(
        REPLAY_ELIGIBLE[category] ? projectKnownFields(poisoned(), allow) : projectIdentifiers(poisoned()),
      );
      expect(deadLetterPayload(category, undefined, allow)).toBeUndefined();
    }
  });

  it('re-projects something that should be a normalised event, whatever it holds', () => {
    const event = parse(caseCreated({ eventId: 'c1', ucmCaseId: 'U1', urpCaseId: 'R1', createdAt: at(1) }));
    expect(projectEventLike({ ...event, extra: MARKER }, allow)).toEqual(toEnvelope(event));
    const changed = parse(
      statusChanged({
        eventId: 's1',
        ucmCaseId: 'U1',
        oldStatus: 'OPEN',
        newStatus: 'CLOSED',
        statusChangedAt: at(2),
      }),
    );
    expect(projectEventLike(changed, allow, 'R9')).toMatchObject({ payload: { urpCaseId: 'R9' } });
    expect(projectEventLike({ eventType: 'CASE_STATUS_CHANGED', reason: { MARKER } }, allow)).toEqual({
      eventType: 'CASE_STATUS_CHANGED',
    });
    expect(projectEventLike(MARKER, allow)).toBeUndefined();
    expect(projectEventLike(null, allow)).toBeUndefined();
  });

  it('carries a key only when it is one of the validated ids, else its sha256', () => {
    const ids = idsOf(poisoned());
    expect(ids).toEqual({ eventId: 'e1', ucmCaseId: 'U1', urpCaseId: 'R1' });
    expect(minimiseKey(Buffer.from('U1'), ids)).toEqual({ key: 'U1' });
    expect(minimiseKey('R1', ids)).toEqual({ key: 'R1' });
    expect(minimiseKey(Buffer.from(MARKER), ids)).toEqual({
      key: null,
      keyHash: createHash('sha256').update(MARKER).digest('hex'),
    });
    expect(minimiseKey(Buffer.from('U1'), {})).toMatchObject({ key: null });
    expect(minimiseKey(null, ids)).toEqual({ key: null });
  });

  it('keys a dead letter by eventId, else ucmCaseId, else the payload hash', () => {
    expect(deadLetterKey({ eventId: 'e1', ucmCaseId: 'U1' }, 'h')).toBe('e1');
    expect(deadLetterKey({ eventId: null, ucmCaseId: 'U1' }, 'h')).toBe('U1');
    expect(deadLetterKey({}, 'h')).toBe('h');
  });
});
