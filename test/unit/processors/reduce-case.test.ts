/** The reducer's dedupe memory: bounded by DEDUPE_MAX_IDS (newest by event time kept) as well as by retention. */
import { describe, expect, it } from 'vitest';
import type { CaseEvent } from '../../../processors/domain/event-contract.js';
import { reduceCase, type CaseState, type SeenEvent } from '../../../processors/domain/reduce-case.js';
import { parseCaseEvent } from '../../../processors/domain/validate-event.js';
import { caseSyncSettingsOf } from '../../support/case-sync-settings.js';
import { at, statusChanged } from '../../support/ucm-events.js';

const settings = caseSyncSettingsOf();
const change = (eventId: string, minute: number): CaseEvent => {
  const out = parseCaseEvent(
    Buffer.from(
      JSON.stringify(
        statusChanged({
          eventId,
          ucmCaseId: 'U1',
          urpCaseId: 'R1',
          oldStatus: 'OPEN',
          newStatus: 'IN_PROGRESS',
          statusChangedAt: at(minute),
        }),
      ),
    ),
    settings,
  );
  if (!out.ok) throw new Error(out.message);
  return out.event;
};

function reduceAll(events: readonly CaseEvent[], dedupeMaxIds: number, start?: CaseState) {
  let state = start;
  const outcomes: string[] = [];
  for (const e of events) {
    const r = reduceCase(state, e, 'R1', {
      nowMs: 0,
      dedupeRetentionMs: settings.dedupeRetentionMs,
      dedupeMaxIds,
    });
    outcomes.push(r.outcome);
    if (r.outcome === 'applied') state = r.state;
  }
  return { state: state!, outcomes };
}

describe('dedupe memory', () => {
  it('keeps at most DEDUPE_MAX_IDS ids, the newest by event time, whatever the arrival order', () => {
    const events = [change('a', 5), change('b', 1), change('c', 4), change('d', 2), change('e', 3)];
    const { state } = reduceAll(events, 3);
    expect(state.seen.map(([id]) => id)).toEqual(['a', 'c', 'e']);
    const reversed = reduceAll([...events].reverse(), 3).state;
    expect(reversed.seen).toEqual(state.seen);
    // Ties in event time: the greater eventId stays.
    const tied = reduceAll([change('x', 1), change('y', 1), change('z', 1)], 2).state;
    expect(tied.seen.map(([id]) => id)).toEqual(['y', 'z']);
  });

  it('still ignores a remembered duplicate; a forgotten old one applies again (the price of the bound)', () => {
    const events = [change('a', 5), change('b', 1), change('c', 4)];
    const { outcomes } = reduceAll([...events, change('a', 5), change('b', 1)], 2);
    expect(outcomes).toEqual(['applied', 'applied', 'applied', 'duplicate', 'applied']);
    expect(reduceAll([...events, change('a', 5)], 1_000).outcomes.at(-1)).toBe('duplicate');
  });

  it('bounds a huge remembered set without spreading it into an argument list', () => {
    const base = Date.parse(at(0));
    const seen = Array.from({ length: 150_000 }, (_, i): SeenEvent => [`id-${i}`, base + i]).sort(
      ([a], [b]) => (a < b ? -1 : 1),
    );
    const start = { ...reduceAll([change('first', 0)], 10).state, seen };
    const { state, outcomes } = reduceAll([change('next', 59)], 1_000, start);
    expect(outcomes).toEqual(['applied']);
    expect(state.seen).toHaveLength(1_000);
    const remembered = new Map(state.seen);
    expect(remembered.get('next')).toBe(Date.parse(at(59)));
    expect(remembered.get('id-149999')).toBe(base + 149_999);
    expect(remembered.has('id-0')).toBe(false);
    // Still in eventId order (the dedupe lookup is a binary search).
    expect(state.seen.map(([id]) => id)).toEqual(state.seen.map(([id]) => id).sort());
  });

  it('does not mistake ids named like Object.prototype members for duplicates', () => {
    const { outcomes, state } = reduceAll(
      [change('first', 0), change('constructor', 1), change('toString', 2)],
      10,
    );
    expect(outcomes).toEqual(['applied', 'applied', 'applied']);
    expect(state.eventCount).toBe(3);
  });
});
