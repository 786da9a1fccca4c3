/**
 * The stored case state's layout: ids as array elements in id order (not object keys), each UCM case with its
 * trail; a state the previous version stored (ids as keys, no trails) is read into that layout, deduplicates and
 * computes gaps as before, and is written back in the new layout when its case changes.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createCaseSyncMetrics } from '../../../processors/case-sync-metrics.js';
import { caseSyncTopology } from '../../../processors/case-sync-topology.js';
import { caseStateSerde, readCaseState } from '../../../processors/domain/case-state.js';
import type { CaseRecord, DlqRecord } from '../../../processors/domain/event-contract.js';
import type { CaseState, UcmCaseState } from '../../../processors/domain/reduce-case.js';
import { bytesSerde, jsonSerde, msgpackSerde, stringSerde } from '../../../topology/serde.js';
import { TopologyTestDriver } from '../../../topology/test-driver.js';
import { caseSyncSettingsOf } from '../../support/case-sync-settings.js';
import { at, caseCreated, statusChanged } from '../../support/ucm-events.js';

const drivers: TopologyTestDriver[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

function harness(raw: Record<string, string> = {}) {
  const registry = new Registry();
  const driver = new TopologyTestDriver(
    caseSyncTopology(caseSyncSettingsOf(raw), {
      metrics: createCaseSyncMetrics(registry),
      applicationId: 'usc',
    }),
    { applicationId: 'usc', partitions: 1, initialWallClockMs: Date.parse(at(59)) },
  );
  drivers.push(driver);
  const input = driver.createInputTopic('ucm-case-events', stringSerde, bytesSerde);
  const send = (event: Record<string, unknown>) =>
    input.pipeInput((event.payload as { ucmCaseId: string }).ucmCaseId, Buffer.from(JSON.stringify(event)));
  const output = driver.createOutputTopic('urp-case-sync', stringSerde, jsonSerde<CaseRecord>());
  const dlq = driver.createOutputTopic('ucm-case-events-dlq', stringSerde, jsonSerde<DlqRecord>());
  const state = async () => (await driver.getKeyValueStore<string, CaseState>('cases').get('R1'))!;
  const counter = async (name: string) => {
    const text = await registry.getSingleMetricAsString(name);
    return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'gm'))].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
  };
  return { driver, send, output, dlq, state, counter };
}

const created = (eventId: string, ucmCaseId: string, minute: number) =>
  caseCreated({ eventId, ucmCaseId, urpCaseId: 'R1', createdAt: at(minute) });
const change = (eventId: string, ucmCaseId: string, minute: number, oldStatus: string, newStatus: string) =>
  statusChanged({ eventId, ucmCaseId, urpCaseId: 'R1', oldStatus, newStatus, statusChangedAt: at(minute) });

/** The previous version's layout of a state: ids as object keys, no trails. */
function previousLayout(state: CaseState): Record<string, unknown> {
  return {
    ...state,
    ucmCases: Object.fromEntries(
      state.ucmCases.map(({ trail: _trail, ...u }: UcmCaseState) => [u.ucmCaseId, u]),
    ),
    seen: Object.fromEntries(state.seen),
  };
}

describe('the stored case state', () => {
  it('keeps UCM cases and remembered events as arrays in id order, whatever the arrival order', async () => {
    const h = harness();
    await h.send(created('e-9', 'U2', 1));
    await h.send(created('e-1', 'U1', 2));
    await h.send(change('e-5', 'U2', 3, 'OPEN', 'IN_PROGRESS'));
    const state = await h.state();
    expect(state.ucmCases.map((u) => u.ucmCaseId)).toEqual(['U1', 'U2']);
    expect(state.seen.map(([id]) => id)).toEqual(['e-1', 'e-5', 'e-9']);
    expect(state.ucmCases[1]!.trail!.map((step) => step[2])).toEqual(['e-9', 'e-5']);
  });

  it('reads the previous layout into the current one; in order and current states are kept as they are', () => {
    const current = readCaseState({
      urpCaseId: 'R1',
      ucmCases: [{ ucmCaseId: 'A' } as UcmCaseState, { ucmCaseId: 'B' } as UcmCaseState],
      seen: [
        ['a', 2],
        ['b', 1],
      ],
    } as unknown as CaseState);
    expect(readCaseState(current)).toBe(current);
    const previous = readCaseState({
      urpCaseId: 'R1',
      ucmCases: { B: { ucmCaseId: 'B' }, A: { ucmCaseId: 'A' } },
      seen: { z: 1, constructor: 3, a: 2 },
    } as unknown as CaseState);
    expect(previous.ucmCases.map((u) => u.ucmCaseId)).toEqual(['A', 'B']);
    expect(previous.seen).toEqual([
      ['a', 2],
      ['constructor', 3],
      ['z', 1],
    ]);
    // Out of order (a foreign writer): sorted, so that the binary searches find every id.
    const unordered = readCaseState({
      ucmCases: [],
      seen: [
        ['b', 1],
        ['a', 2],
      ],
    } as unknown as CaseState);
    expect(unordered.seen.map(([id]) => id)).toEqual(['a', 'b']);
    const bytes = caseStateSerde(1_000_000).serialize(previous)!;
    expect(msgpackSerde<CaseState>().deserialize(bytes)!.seen).toEqual(previous.seen);
  });

  it('applies events to a state of the previous layout: dedupe, gaps from the history, rewritten on change', async () => {
    const built = harness();
    await built.send(created('c1', 'U1', 1));
    await built.send(change('s1', 'U1', 2, 'OPEN', 'IN_PROGRESS'));
    await built.send(change('s3', 'U1', 4, 'ON_HOLD', 'CLOSED'));
    await built.send(created('c2', 'U2', 3));
    const old = previousLayout(await built.state());
    const history = built.driver.getKeyValueStore<string, unknown>('case-history');
    const entries: [string, unknown][] = [];
    for await (const { key, value } of history.range()) entries.push([key as string, value]);

    const h = harness();
    const msgpack = msgpackSerde<unknown>();
    await h.driver.createInputTopic('usc-cases-changelog', stringSerde, msgpack).pipeInput('R1', old);
    const historyLog = h.driver.createInputTopic('usc-case-history-changelog', stringSerde, msgpack);
    for (const [key, value] of entries) await historyLog.pipeInput(key, value);
    await h.driver.simulateCrashAndRestore();
    const restored = await h.state();
    expect(restored.ucmCases.map((u) => [u.ucmCaseId, u.status, u.trail])).toEqual([
      ['U1', 'CLOSED', undefined],
      ['U2', 'OPEN', undefined],
    ]);

    // A remembered event is still a duplicate.
    await h.send(change('s1', 'U1', 2, 'OPEN', 'IN_PROGRESS'));
    expect(await h.counter('ucm_case_events_duplicate_total')).toBe(1);
    expect(h.output.readRecordsToList()).toHaveLength(0);
    // A late event of a UCM case without a trail: its gaps come from the stored history. s2 (OPEN -> ON_HOLD,
    // after s1 set IN_PROGRESS) is a gap itself and closes s3's (ON_HOLD -> CLOSED): one new gap.
    const gapsBefore = await h.counter('ucm_case_status_gaps_total');
    await h.send(change('s2', 'U1', 3, 'OPEN', 'ON_HOLD'));
    expect(await h.counter('ucm_case_status_gaps_total')).toBe(gapsBefore + 1);
    const record = h.output.readKeyValuesToMap().get('R1')!;
    expect(record.ucmCases.map((u) => [u.ucmCaseId, u.status])).toEqual([
      ['U1', 'CLOSED'],
      ['U2', 'OPEN'],
    ]);
    expect(record.eventCount).toBe(5);
    // Written back in the current layout (the changelog carries the stored bytes): arrays, the previous
    // version's UCM cases still without a trail (one started now would be incomplete).
    const logged = h.driver
      .createOutputTopic('usc-cases-changelog', stringSerde, msgpack)
      .readValuesToList()
      .at(-1) as CaseState;
    expect(Array.isArray(logged.ucmCases) && Array.isArray(logged.seen)).toBe(true);
    expect(logged.seen.map(([id]) => id)).toEqual(['c1', 'c2', 's1', 's2', 's3']);
    expect(logged.ucmCases.map((u) => u.trail)).toEqual([undefined, undefined]);
  });

  it('dead-letters an event that would make the state larger than MAX_CASE_STATE_BYTES; the case keeps its state', async () => {
    const h = harness({ MAX_CASE_STATE_BYTES: '16384' });
    const big = (eventId: string, ucmCaseId: string, minute: number) =>
      caseCreated({
        eventId,
        ucmCaseId,
        urpCaseId: 'R1',
        createdAt: at(minute),
        extraAttributes: { priority: `${ucmCaseId}-${'x'.repeat(4_000)}` },
      });
    for (const [i, ucm] of ['U1', 'U2', 'U3', 'U4'].entries()) await h.send(big(`c${i}`, ucm, i + 1));
    const [dead] = h.dlq.readValuesToList();
    expect(dead).toMatchObject({ eventId: 'c3', errorCategory: 'PROCESSING_ERROR' });
    expect(dead!.errorMessage).toMatch(/state of this case would be \d+ bytes, above its limit of 16384/);
    expect(h.dlq.readValuesToList()).toHaveLength(0);
    expect((await h.state()).ucmCases.map((u) => u.ucmCaseId)).toEqual(['U1', 'U2', 'U3']);
    // Events that keep the state within the bound still apply, before and after.
    await h.send(change('s1', 'U1', 9, 'OPEN', 'IN_PROGRESS'));
    const record = h.output.readKeyValuesToMap().get('R1')!;
    expect(record.ucmCases.map((u) => [u.ucmCaseId, u.status])).toEqual([
      ['U1', 'IN_PROGRESS'],
      ['U2', 'OPEN'],
      ['U3', 'OPEN'],
    ]);
    expect(record.eventCount).toBe(4);
  });
});
