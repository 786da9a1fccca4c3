/**
 * ADR 0003's input bounds, in their order: no value, size (before decoding), UTF-8, nesting depth (a linear scan
 * before parsing), JSON syntax, string lengths (keys included), the contract, then business time. Messages name
 * the field and the rule and never quote the input.
 */
import { describe, expect, it } from 'vitest';
import type { ParseFailure } from '../../../processors/domain/validate-event.js';
import { parseCaseEvent } from '../../../processors/domain/validate-event.js';
import { nestingDepthExceeds, syntaxErrorPosition } from '../../../processors/domain/input-bounds.js';
import { caseSyncSettingsOf } from '../../support/case-sync-settings.js';
import { at, caseCreated, statusChanged } from '../../support/ucm-events.js';

const MARKER = 'PII-MARKER-42';
const cfg = caseSyncSettingsOf();
const NOW = Date.parse(at(30));
const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), 'utf8');
const fail = (value: Buffer | null, config = cfg, now: number | undefined = NOW): ParseFailure => {
  const out = parseCaseEvent(value, config, now);
  if (out.ok) throw new Error('expected a failure');
  expect(out.message).not.toContain(MARKER);
  expect(out.field ?? '').not.toContain(MARKER);
  return out;
};
const created = (extra: Record<string, unknown> = {}) => ({
  ...caseCreated({ eventId: 'e1', ucmCaseId: 'U1', urpCaseId: 'R1', createdAt: at(1) }),
  ...extra,
});
const deep = (n: number, inner = '1') => `${'['.repeat(n)}${inner}${']'.repeat(n)}`;

describe('input bounds, in order', () => {
  it('1. a tombstone or an empty value is INVALID_JSON', () => {
    expect(fail(null)).toMatchObject({ category: 'INVALID_JSON', message: 'the record has no value' });
    expect(fail(Buffer.alloc(0))).toMatchObject({
      category: 'INVALID_JSON',
      message: 'the record has no value',
    });
  });

  it('2. a value over MAX_RECORD_BYTES is LIMIT_EXCEEDED before it is decoded (even if not UTF-8)', () => {
    const small = caseSyncSettingsOf({ MAX_RECORD_BYTES: '1024' });
    const notUtf8 = Buffer.alloc(1025, 0xff);
    expect(fail(notUtf8, small)).toMatchObject({
      category: 'LIMIT_EXCEEDED',
      message: 'the value is 1025 bytes, more than MAX_RECORD_BYTES (1024)',
    });
    expect(fail(bytes(`"${MARKER}${'x'.repeat(300_000)}"`))).toMatchObject({ category: 'LIMIT_EXCEEDED' });
    expect(parseCaseEvent(Buffer.alloc(1024, 0xff), small, NOW)).toMatchObject({ category: 'INVALID_JSON' });
  });

  it('3. invalid UTF-8 is INVALID_JSON, before the depth scan', () => {
    const value = Buffer.concat([bytes('['.repeat(100)), Buffer.from([0xc3, 0x28])]);
    expect(fail(value)).toMatchObject({ category: 'INVALID_JSON', message: 'the value is not valid UTF-8' });
  });

  it('4. nesting deeper than MAX_NESTING_DEPTH is LIMIT_EXCEEDED before JSON.parse, however deep', () => {
    expect(fail(bytes(deep(17)))).toMatchObject({
      category: 'LIMIT_EXCEEDED',
      message: 'the value nests arrays or objects deeper than MAX_NESTING_DEPTH (16)',
    });
    // Not even JSON: the depth is found first.
    expect(fail(bytes(`${'{"a":'.repeat(17)} ${MARKER}`))).toMatchObject({ category: 'LIMIT_EXCEEDED' });
    // Ten thousand levels (the crash of issue 12) cost one linear scan.
    expect(fail(bytes(deep(10_000)))).toMatchObject({ category: 'LIMIT_EXCEEDED' });
    // At the bound it parses (and fails the contract instead).
    expect(fail(bytes(deep(16)))).toMatchObject({ category: 'SCHEMA_INVALID', field: 'event' });
    const custom = caseSyncSettingsOf({ MAX_NESTING_DEPTH: '3' });
    const nested = created();
    (nested.payload as Record<string, unknown>).extraAttributes = { priority: { level: 'high' } };
    expect(fail(bytes(nested), custom)).toMatchObject({ category: 'LIMIT_EXCEEDED' });
  });

  it('counts brackets outside JSON strings only, escapes included', () => {
    expect(nestingDepthExceeds('"[[[[[[" ', 2)).toBe(false);
    expect(nestingDepthExceeds('["\\"[[[[", 1]', 1)).toBe(false);
    expect(nestingDepthExceeds('["\\\\", [[1]]]', 2)).toBe(true); // an escaped backslash ends the string
    expect(nestingDepthExceeds(']]]][[', 2)).toBe(false);
    const reason = `${'['.repeat(40)} "quoted" ${'{'.repeat(40)}`;
    const event = statusChanged({
      eventId: 'e2',
      ucmCaseId: 'U1',
      urpCaseId: 'R1',
      oldStatus: 'OPEN',
      newStatus: 'CLOSED',
      statusChangedAt: at(2),
      reason,
    });
    expect(parseCaseEvent(bytes(event), cfg, NOW)).toMatchObject({ ok: true, event: { reason } });
  });

  it('5. a syntax error is INVALID_JSON with the position, never the text', () => {
    expect(fail(bytes(`{"eventId": "${MARKER}" "x"}`))).toMatchObject({
      category: 'INVALID_JSON',
      message: 'the value is not JSON (syntax error at position 28)',
      errorPosition: 28,
    });
    expect(fail(bytes(`${MARKER}`))).toMatchObject({
      category: 'INVALID_JSON',
      message: 'the value is not JSON (syntax error)',
    });
    expect(fail(bytes('[1,'))).toMatchObject({ errorPosition: 3 });
    expect(fail(bytes(`"${MARKER}`))).toMatchObject({ category: 'INVALID_JSON' });
    expect(fail(bytes(`{"a": tru} at position 3`)).errorPosition).toBeUndefined();
  });

  it('reads the position only from the end of V8 messages, not from quoted input', () => {
    expect(
      syntaxErrorPosition(
        new SyntaxError('Unexpected token \'x\', "x in JSON at position 5" is not valid JSON'),
        'x',
      ),
    ).toBe(undefined);
    expect(
      syntaxErrorPosition(
        new SyntaxError('Unexpected number in JSON at position 6 (line 1 column 7)'),
        '{"a":01}',
      ),
    ).toBe(6);
    expect(syntaxErrorPosition(new SyntaxError('Bad thing in JSON at position 99'), 'short')).toBeUndefined();
  });

  it('6. a string (or key) over MAX_STRING_LENGTH is LIMIT_EXCEEDED, naming the path but not unknown keys', () => {
    const long = MARKER + 'x'.repeat(8_192);
    const reason = statusChanged({
      eventId: 'e2',
      ucmCaseId: 'U1',
      oldStatus: 'OPEN',
      newStatus: 'CLOSED',
      statusChangedAt: at(2),
      reason: long,
    });
    expect(fail(bytes(reason))).toMatchObject({
      category: 'LIMIT_EXCEEDED',
      field: 'payload.reason',
      message: 'payload.reason is longer than MAX_STRING_LENGTH (8192 characters)',
      eventId: 'e2',
    });
    const unknownField = created({ [MARKER]: { nested: [1, long] } });
    expect(fail(bytes(unknownField))).toMatchObject({ category: 'LIMIT_EXCEEDED', field: '*.*[1]' });
    const allowlisted = created();
    (allowlisted.payload as Record<string, unknown>).extraAttributes = { priority: long };
    expect(fail(bytes(allowlisted))).toMatchObject({ field: 'payload.extraAttributes.priority' });
    const longKey = created();
    (longKey.payload as Record<string, unknown>)[long] = 1;
    expect(fail(bytes(longKey))).toMatchObject({
      category: 'LIMIT_EXCEEDED',
      field: 'payload.*',
      message: 'a key in payload is longer than MAX_STRING_LENGTH (8192 characters)',
    });
    // The bound comes before the contract: an unknown type with a long string is LIMIT_EXCEEDED.
    expect(fail(bytes(created({ eventType: 'CASE_MERGED', source: long })))).toMatchObject({
      category: 'LIMIT_EXCEEDED',
      field: 'source',
    });
    expect(fail(bytes(`"${'y'.repeat(9000)}"`))).toMatchObject({ field: 'event' });
  });

  it('7. then the contract, with messages that name the field and never quote the value', () => {
    expect(fail(bytes(created({ eventType: MARKER })))).toMatchObject({
      category: 'UNKNOWN_EVENT_TYPE',
      message: 'eventType is not one of CASE_CREATED, CASE_STATUS_CHANGED',
    });
    const status = created();
    (status.payload as Record<string, unknown>).initialStatus = MARKER;
    expect(fail(bytes(status))).toMatchObject({
      category: 'UNKNOWN_STATUS',
      field: 'payload.initialStatus',
      message: 'payload.initialStatus is not a known status and STATUS_MAPPING does not map it',
    });
    expect(fail(bytes(created({ eventId: `${MARKER} x` })))).toMatchObject({ field: 'eventId' });
    expect(fail(bytes(created({ eventTime: MARKER })))).toMatchObject({ field: 'eventTime' });
    expect(fail(bytes(created({ source: { [MARKER]: MARKER } })))).toMatchObject({ field: 'source' });
  });

  it('8. a time more than MAX_FUTURE_SKEW_MS ahead of the processing time is FUTURE_TIME', () => {
    const hour = 3_600_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(fail(bytes(created({ eventTime: iso(NOW + hour + 1) })))).toMatchObject({
      category: 'FUTURE_TIME',
      field: 'eventTime',
      eventId: 'e1',
      message: 'eventTime is more than MAX_FUTURE_SKEW_MS (3600000 ms) ahead of the processing time',
    });
    const createdLater = caseCreated({
      eventId: 'e1',
      ucmCaseId: 'U1',
      urpCaseId: 'R1',
      createdAt: iso(NOW + 2 * hour),
      eventTime: at(1),
    });
    expect(fail(bytes(createdLater))).toMatchObject({ category: 'FUTURE_TIME', field: 'payload.createdAt' });
    const changedLater = statusChanged({
      eventId: 'e2',
      ucmCaseId: 'U1',
      oldStatus: 'OPEN',
      newStatus: 'CLOSED',
      statusChangedAt: iso(NOW + 2 * hour),
      eventTime: at(1),
    });
    expect(fail(bytes(changedLater))).toMatchObject({
      category: 'FUTURE_TIME',
      field: 'payload.statusChangedAt',
    });
    // At the bound, and without a processing time, it is accepted.
    expect(parseCaseEvent(bytes(created({ eventTime: iso(NOW + hour) })), cfg, NOW).ok).toBe(true);
    expect(parseCaseEvent(bytes(changedLater), cfg).ok).toBe(true);
    const wide = caseSyncSettingsOf({ MAX_FUTURE_SKEW_MS: String(3 * hour) });
    expect(parseCaseEvent(bytes(changedLater), wide, NOW).ok).toBe(true);
    // The contract comes first: a future event with a bad field is SCHEMA_INVALID.
    expect(fail(bytes({ ...createdLater, source: '' }))).toMatchObject({ category: 'SCHEMA_INVALID' });
  });
});
