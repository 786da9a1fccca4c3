/**
 * The DLQ tools' logic that needs no broker: decoding DLQ values, the replay plan (what would be re-published,
 * with which key and lineage headers, and what is skipped and why) and the `dlq list` line.
 */
import { describe, expect, it } from 'vitest';
import { formatDeadLetterLine } from '../../../cli/dlq-command.js';
import { decodeDlqEntry, type DlqEntry } from '../../../cli/dlq-reader.js';
import { planReplay } from '../../../cli/dlq-replay.js';

const value = (record: Record<string, unknown>) => Buffer.from(JSON.stringify(record));

const entries: DlqEntry[] = [
  decodeDlqEntry(
    0,
    '4',
    value({
      eventId: 's1',
      originalKey: null,
      errorCategory: 'UNKNOWN_STATUS',
      errorMessage: 'payload.newStatus is not a known status',
      errorField: 'payload.newStatus',
      retryCount: 1,
      firstFailureAt: '2026-01-01T00:00:00.000Z',
      lastFailureAt: '2026-01-02T00:00:00.000Z',
      replayEligible: true,
      payload: { eventId: 's1', payload: { ucmCaseId: 'U1' } },
    }),
  ),
  decodeDlqEntry(0, '5', value({ eventId: null, errorCategory: 'INVALID_JSON', replayEligible: false })),
  decodeDlqEntry(
    1,
    '0',
    value({
      eventId: 's2',
      originalKey: 'K2',
      errorCategory: 'SCHEMA_INVALID',
      replayEligible: false,
      payload: { eventId: 's2' },
    }),
  ),
  decodeDlqEntry(1, '1', Buffer.from('{torn')),
  decodeDlqEntry(1, '2', Buffer.from('"a string"')),
];

describe('dlq tools', () => {
  it('decodes dead letters and reports values that are not one', () => {
    expect(entries[0]).toMatchObject({ ok: true, ref: '0:4', partition: 0, offset: '4' });
    expect(entries[3]).toEqual({
      ok: false,
      ref: '1:1',
      partition: 1,
      offset: '1',
      reason: 'DLQ record is not JSON',
    });
    expect(entries[4]).toMatchObject({ ok: false, reason: 'DLQ record is not a JSON object' });
  });

  it('plans a replay: what it publishes (key, lineage) and what it skips, unknown refs included', () => {
    const all = planReplay(entries, { all: true }, 'dlq');
    expect(all.selected.map(({ ref, eventId, key }) => ({ ref, eventId, key }))).toEqual([
      { ref: '0:4', eventId: 's1', key: 'U1' },
    ]);
    expect(all.selected[0]!.headers).toEqual({
      'x-usc-replay-of': 'dlq/0:4',
      'x-usc-retry-count': '2',
      'x-usc-first-failure-at': '2026-01-01T00:00:00.000Z',
    });
    expect(JSON.parse(all.selected[0]!.value.toString())).toEqual({
      eventId: 's1',
      payload: { ucmCaseId: 'U1' },
    });
    expect(all.skipped.map((s) => s.ref)).toEqual(['0:5', '1:0', '1:1', '1:2']);
    expect(all.skipped[1]!.reason).toBe('not replay-eligible (SCHEMA_INVALID); use --force');

    const byRef = planReplay(entries, { refs: ['1:0', '9:9'], force: true }, 'dlq');
    expect(byRef.selected.map(({ ref, key }) => [ref, key])).toEqual([['1:0', 'K2']]);
    expect(byRef.skipped).toEqual([
      { ref: '9:9', reason: 'no such dead letter (the ref is not in the DLQ topic)' },
    ]);
    expect(planReplay(entries, { categories: ['UNKNOWN_STATUS'] }, 'dlq').skipped).toEqual([]);
  });

  it('prints one line per dead letter with the fields an operator needs', () => {
    const first = entries[0]!;
    if (!first.ok) throw new Error('decoded as a dead letter above');
    expect(formatDeadLetterLine(first)).toBe(
      '0:4  2026-01-02T00:00:00.000Z  UNKNOWN_STATUS  retry=1  replayEligible=true  eventId=s1  ' +
        'field=payload.newStatus  payload.newStatus is not a known status',
    );
  });
});
