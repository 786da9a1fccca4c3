/**
 * The reducer's central promise: any permutation of a case's events, with any duplicates, yields the same final
 * record (ignoring updatedAt, the processing time) and the same history. Checked on the pure reducer and, for a
 * smaller sample, end to end through the topology in the TopologyTestDriver (including events without urpCaseId).
 */
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createCaseSyncMetrics } from '../../../processors/case-sync-metrics.js';
import { caseSyncTopology } from '../../../processors/case-sync-topology.js';
import { toCaseRecord } from '../../../processors/domain/case-record.js';
import { parseCaseSyncSettings } from '../../../processors/domain/case-sync-settings.js';
import type { CaseEvent, CaseRecord } from '../../../processors/domain/event-contract.js';
import {
  reduceCase,
  type CaseState,
  type StoredHistoryEntry,
} from '../../../processors/domain/reduce-case.js';
import { STATUSES } from '../../../processors/domain/statuses.js';
import {
  inOrderGaps,
  materialiseHistory,
  newGapCount,
  readCaseHistory,
  trailGaps,
} from '../../../processors/domain/case-history.js';
import { parseCaseEvent } from '../../../processors/domain/validate-event.js';
import { bytesSerde, jsonSerde, stringSerde } from '../../../topology/serde.js';
import { TopologyTestDriver } from '../../../topology/test-driver.js';
import { at, caseCreated, statusChanged } from '../../support/ucm-events.js';

const settingsResult = parseCaseSyncSettings({});
if (!settingsResult.ok) throw new Error('default settings invalid');
const settings = settingsResult.settings;

/** A case's raw events: CASE_CREATED per UCM case, then status changes; ties in business time included. */
const caseEventsOf = (maxChanges: number) =>
  fc
    .record({
      ucmCount: fc.integer({ min: 1, max: 2 }),
      changes: fc.array(
        fc.record({
          ucm: fc.integer({ min: 0, max: 1 }),
          minute: fc.integer({ min: 1, max: 8 }),
          second: fc.integer({ min: 0, max: 2 }),
          old: fc.constantFrom(...STATUSES),
          next: fc.constantFrom(...STATUSES),
          withUrp: fc.boolean(),
        }),
        { minLength: 1, maxLength: maxChanges },
      ),
    })
    .map(({ ucmCount, changes }) => {
      const events: Record<string, unknown>[] = [];
      for (let u = 0; u < ucmCount; u++) {
        events.push(
          caseCreated({
            eventId: `c${u}`,
            ucmCaseId: `U${u}`,
            urpCaseId: 'R1',
            createdAt: at(0, u),
            extraAttributes: { priority: `p${u}` },
          }),
        );
      }
      changes.forEach((c, i) =>
        events.push(
          statusChanged({
            eventId: `s${i}`,
            ucmCaseId: `U${c.ucm % ucmCount}`,
            urpCaseId: c.withUrp ? 'R1' : undefined,
            oldStatus: c.old,
            newStatus: c.next,
            statusChangedAt: at(c.minute),
            eventTime: at(c.minute, c.second),
          }),
        ),
      );
      return events;
    });
const caseEvents = caseEventsOf(8);

/** A permutation with duplicates: indexes into the list, each at least once. */
const deliveryOf = (n: number) =>
  fc
    .tuple(
      fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
      fc.array(fc.nat(n - 1), { maxLength: n }),
    )
    .chain(([perm, dups]) =>
      fc.shuffledSubarray([...perm, ...dups], {
        minLength: perm.length + dups.length,
        maxLength: perm.length + dups.length,
      }),
    );

function reduceAll(events: CaseEvent[], historyLimit = 100) {
  let state: CaseState | undefined;
  const entries: StoredHistoryEntry[] = [];
  for (const e of events) {
    const r = reduceCase(state, e, 'R1', {
      nowMs: 0,
      dedupeRetentionMs: settings.dedupeRetentionMs,
      dedupeMaxIds: settings.dedupeMaxIds,
    });
    if (r.outcome === 'applied') {
      state = r.state;
      entries.push(r.entry);
    }
  }
  return { record: toCaseRecord(state!), history: materialiseHistory(entries, historyLimit) };
}

const normalized = (raw: Record<string, unknown>[]) =>
  raw.map((r) => {
    const p = parseCaseEvent(Buffer.from(JSON.stringify(r)), settings);
    if (!p.ok) throw new Error(p.message);
    return p.event;
  });

describe('case reducer under reordering and duplication', () => {
  it('reduces any permutation with duplicates to the same record and history (pure reducer)', () => {
    fc.assert(
      fc.property(
        caseEvents.chain((raw) => fc.tuple(fc.constant(raw), deliveryOf(raw.length))),
        ([raw, delivery]) => {
          const events = normalized(raw);
          const reference = reduceAll(events);
          const shuffled = reduceAll(delivery.map((i) => events[i]!));
          expect(shuffled.record).toEqual(reference.record);
          expect(shuffled.history).toEqual(reference.history);
          expect(reference.record.eventCount).toBe(events.length);
          // A bounded history is the same newest entries whatever the order.
          expect(
            reduceAll(
              delivery.map((i) => events[i]!),
              3,
            ).history,
          ).toEqual(reduceAll(events, 3).history);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('counts the gaps of every event from the state (in order, or from its trail) as the whole history would', () => {
    // The gap metric of a late event: new flags in the materialised history after it against before it. The
    // state's answer, when it has one, must be that count, whatever the order, the duplicates and the limit.
    const answered = { inOrder: 0, trail: 0, history: 0 };
    fc.assert(
      fc.property(
        caseEventsOf(20).chain((raw) =>
          fc.tuple(fc.constant(raw), deliveryOf(raw.length), fc.constantFrom(3, 12, 100)),
        ),
        ([raw, delivery, limit]) => {
          const events = normalized(raw);
          let state: CaseState | undefined;
          const known: StoredHistoryEntry[] = [];
          for (const i of delivery) {
            const r = reduceCase(state, events[i]!, 'R1', {
              nowMs: 0,
              dedupeRetentionMs: settings.dedupeRetentionMs,
              dedupeMaxIds: settings.dedupeMaxIds,
            });
            if (r.outcome !== 'applied') continue;
            const expected = newGapCount(
              materialiseHistory(known, limit),
              materialiseHistory([...known, r.entry], limit),
            );
            const quick = inOrderGaps(state, r.entry, limit);
            const fromTrail = quick === undefined ? trailGaps(state, r.entry, limit) : undefined;
            if (quick !== undefined) {
              answered.inOrder++;
              expect(quick).toBe(expected);
            } else if (fromTrail !== undefined) {
              answered.trail++;
              expect(fromTrail).toBe(expected);
            } else answered.history++;
            known.push(r.entry);
            state = r.state;
          }
        },
      ),
      { numRuns: 400 },
    );
    // Every path was taken: late events answered from the trail, and some left to the history (limit, full trail).
    expect(answered.trail).toBeGreaterThan(answered.history);
    expect(answered.history).toBeGreaterThan(0);
    expect(answered.inOrder).toBeGreaterThan(0);
  });

  it('publishes the same final record for any delivery order, end to end through the topology', async () => {
    await fc.assert(
      fc.asyncProperty(
        caseEvents.chain((raw) => fc.tuple(fc.constant(raw), deliveryOf(raw.length))),
        async ([raw, delivery]) => {
          const run = async (order: number[]) => {
            const driver = new TopologyTestDriver(
              caseSyncTopology(settings, {
                metrics: createCaseSyncMetrics(new Registry()),
                applicationId: 'usc',
              }),
              // Processing time after the events (the mock clock starts at 0: they would all be FUTURE_TIME).
              { applicationId: 'usc', partitions: 4, initialWallClockMs: Date.parse(at(30)) },
            );
            const input = driver.createInputTopic('ucm-case-events', stringSerde, bytesSerde);
            for (const i of order) {
              const e = raw[i]!;
              await input.pipeInput(
                (e.payload as { ucmCaseId: string }).ucmCaseId,
                Buffer.from(JSON.stringify(e)),
              );
            }
            const table = driver
              .createOutputTopic('urp-case-sync', stringSerde, jsonSerde<CaseRecord>())
              .readKeyValuesToMap();
            await driver.close();
            const { updatedAt: _u, ...record } = table.get('R1')!;
            return record;
          };
          expect(await run(delivery)).toEqual(await run([...raw.keys()]));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('applies events fetched in batches of any size exactly as one at a time (the batch path)', async () => {
    const run = async (raw: Record<string, unknown>[], order: number[], cuts: ReadonlySet<number> | null) => {
      const driver = new TopologyTestDriver(
        caseSyncTopology(settings, {
          metrics: createCaseSyncMetrics(new Registry()),
          applicationId: 'usc',
        }),
        {
          applicationId: 'usc',
          partitions: 2,
          initialWallClockMs: Date.parse(at(30)),
          autoCommit: cuts === null,
        },
      );
      const input = driver.createInputTopic('ucm-case-events', stringSerde, bytesSerde);
      const output = driver.createOutputTopic('urp-case-sync', stringSerde, jsonSerde<CaseRecord>());
      for (const [n, i] of order.entries()) {
        const e = raw[i]!;
        // One key for all: every event of the batch lands on the same input partition.
        await input.pipeInput('k', Buffer.from(JSON.stringify(e)));
        if (cuts?.has(n)) await driver.commit();
      }
      // validate -> (correlate ->) apply: each hop's output becomes visible, as one batch, with a commit.
      if (cuts !== null) for (let hop = 0; hop < 4; hop++) await driver.commit();
      const records = output.readRecordsToList();
      const history = await readCaseHistory(
        driver.getKeyValueStore('case-history'),
        'R1',
        settings.historyLimit,
      );
      await driver.close();
      const latest = records.filter((r) => r.key === 'R1').at(-1)?.value;
      const { updatedAt: _u, ...record } = latest!;
      return { record, history, outputs: records.length };
    };
    await fc.assert(
      fc.asyncProperty(
        caseEvents.chain((raw) =>
          fc.tuple(
            fc.constant(raw),
            deliveryOf(raw.length),
            fc.uniqueArray(fc.nat(2 * raw.length), { maxLength: 3 }),
          ),
        ),
        async ([raw, delivery, cutList]) => {
          const oneByOne = await run(raw, delivery, null);
          const batched = await run(raw, delivery, new Set(cutList));
          expect(batched.record).toEqual(oneByOne.record);
          expect(batched.history).toEqual(oneByOne.history);
          // At most one output per case per commit: never more than one per distinct event.
          expect(batched.outputs).toBeLessThanOrEqual(raw.length);
        },
      ),
      { numRuns: 40 },
    );
  });
});
