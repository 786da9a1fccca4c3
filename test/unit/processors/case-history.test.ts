/**
 * The history layout: one entry per key in the `case-history` store (the changelog carries one entry per applied
 * event, not the whole history), read as the newest HISTORY_LIMIT entries with gap flags computed over them,
 * pruned by range once past the limit, the gap metric right for late events too, and a history written by the
 * previous layout (one array under the case's key) read as before and moved to per-entry keys when its case next
 * changes.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createCaseSyncMetrics } from '../../../processors/case-sync-metrics.js';
import { caseSyncTopology } from '../../../processors/case-sync-topology.js';
import { HISTORY_SEPARATOR, readCaseHistory } from '../../../processors/domain/case-history.js';
import type { CaseState, StoredHistoryEntry } from '../../../processors/domain/reduce-case.js';
import { bytesSerde, msgpackSerde, stringSerde } from '../../../topology/serde.js';
import { TopologyTestDriver } from '../../../topology/test-driver.js';
import { caseSyncSettingsOf } from '../../support/case-sync-settings.js';
import { at, caseCreated, statusChanged } from '../../support/ucm-events.js';

const drivers: TopologyTestDriver[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

function harness(raw: Record<string, string> = {}) {
  const registry = new Registry();
  const settings = caseSyncSettingsOf(raw);
  const driver = new TopologyTestDriver(
    caseSyncTopology(settings, { metrics: createCaseSyncMetrics(registry), applicationId: 'usc' }),
    { applicationId: 'usc', partitions: 2, initialWallClockMs: Date.parse(at(59)) },
  );
  drivers.push(driver);
  const input = driver.createInputTopic('ucm-case-events', stringSerde, bytesSerde);
  const send = (event: Record<string, unknown>) =>
    input.pipeInput((event.payload as { ucmCaseId: string }).ucmCaseId, Buffer.from(JSON.stringify(event)));
  const store = () => driver.getKeyValueStore<string, unknown>('case-history');
  const history = async (urp: string) => readCaseHistory(store(), urp, settings.historyLimit);
  const keysOf = async (urp: string) => {
    const keys: string[] = [];
    for await (const { key } of store().range()) if (key.startsWith(urp)) keys.push(key);
    return keys;
  };
  const gaps = async () => {
    const text = await registry.getSingleMetricAsString('ucm_case_status_gaps_total');
    return Number(/ucm_case_status_gaps_total (\d+)/.exec(text)?.[1] ?? '0');
  };
  return { driver, send, history, keysOf, gaps, store };
}

const change = (id: string, minute: number, oldStatus: string, newStatus: string) =>
  statusChanged({
    eventId: id,
    ucmCaseId: 'U1',
    urpCaseId: 'R1',
    oldStatus,
    newStatus,
    statusChangedAt: at(minute),
  });

describe('case history, one entry per key', () => {
  it('stores and logs one entry per applied event', async () => {
    const h = harness();
    await h.send(caseCreated({ eventId: 'c', ucmCaseId: 'U1', urpCaseId: 'R1', createdAt: at(1) }));
    await h.send(change('s1', 2, 'OPEN', 'IN_PROGRESS'));
    await h.send(change('s2', 3, 'IN_PROGRESS', 'CLOSED'));
    const keys = await h.keysOf('R1');
    expect(keys).toHaveLength(3);
    expect(keys.every((k) => k.startsWith(`R1${HISTORY_SEPARATOR}`))).toBe(true);
    const changelog = h.driver
      .createOutputTopic('usc-case-history-changelog', stringSerde, msgpackSerde<StoredHistoryEntry>())
      .readRecordsToList();
    expect(changelog.map((r) => r.value?.eventId)).toEqual(['c', 's1', 's2']);
    expect((await h.history('R1'))!.map((e) => e.eventId)).toEqual(['c', 's1', 's2']);
  });

  it('keeps the newest HISTORY_LIMIT entries, pruning the store by range past a slack', async () => {
    const h = harness({ HISTORY_LIMIT: '3' });
    await h.send(caseCreated({ eventId: 'c', ucmCaseId: 'U1', urpCaseId: 'R1', createdAt: at(0) }));
    const statuses = ['IN_PROGRESS', 'ON_HOLD'];
    for (let i = 1; i <= 30; i++) {
      await h.send(change(`s${i}`, i, statuses[(i + 1) % 2]!, statuses[i % 2]!));
      expect((await h.keysOf('R1')).length).toBeLessThanOrEqual(3 + 8);
    }
    expect((await h.history('R1'))!.map((e) => e.eventId)).toEqual(['s28', 's29', 's30']);
    // A late event older than everything kept does not show.
    await h.send(change('late', 0, 'OPEN', 'IN_PROGRESS'));
    expect((await h.history('R1'))!.map((e) => e.eventId)).toEqual(['s28', 's29', 's30']);
  });

  it('counts gaps a late event opens or closes, and flags them over the kept entries', async () => {
    const h = harness();
    await h.send(caseCreated({ eventId: 'c', ucmCaseId: 'U1', urpCaseId: 'R1', createdAt: at(1) }));
    await h.send(change('s2', 2, 'OPEN', 'IN_PROGRESS'));
    await h.send(change('s4', 4, 'ON_HOLD', 'CLOSED'));
    expect(await h.gaps()).toBe(1);
    expect((await h.history('R1'))!.filter((e) => e.gap).map((e) => e.eventId)).toEqual(['s4']);
    // The missing change arrives late: it closes the gap and opens none.
    await h.send(change('s3', 3, 'IN_PROGRESS', 'ON_HOLD'));
    expect(await h.gaps()).toBe(1);
    expect((await h.history('R1'))!.filter((e) => e.gap)).toEqual([]);
    // A late change that does not follow its predecessor is a new gap.
    await h.send(change('s15', 1.5, 'ON_HOLD', 'OPEN'));
    expect(await h.gaps()).toBe(2);
    expect((await h.history('R1'))!.filter((e) => e.gap).map((e) => e.eventId)).toEqual(['s15']);
  });

  it('reads a history of the previous layout, and moves it to per-entry keys when the case changes', async () => {
    // Build a case, then rewrite its stores as the previous version kept them: no historySize in the state and
    // the whole history as one array under the case's key.
    const h = harness();
    await h.send(caseCreated({ eventId: 'c', ucmCaseId: 'U1', urpCaseId: 'R1', createdAt: at(1) }));
    await h.send(change('s1', 2, 'OPEN', 'IN_PROGRESS'));
    const cases = h.driver.getKeyValueStore<string, CaseState>('cases');
    const { historySize: _size, ...legacyState } = (await cases.get('R1'))!;
    const entries = (await h.history('R1'))!;
    const legacy = new TopologyTestDriver(
      caseSyncTopology(caseSyncSettingsOf(), {
        metrics: createCaseSyncMetrics(new Registry()),
        applicationId: 'usc',
      }),
      { applicationId: 'usc', partitions: 2, initialWallClockMs: Date.parse(at(59)) },
    );
    drivers.push(legacy);
    const msgpack = msgpackSerde<unknown>();
    await legacy.createInputTopic('usc-cases-changelog', stringSerde, msgpack).pipeInput('R1', legacyState);
    await legacy
      .createInputTopic('usc-case-history-changelog', stringSerde, msgpack)
      .pipeInput('R1', entries);
    await legacy.simulateCrashAndRestore();
    const store = legacy.getKeyValueStore<string, unknown>('case-history');
    expect(await readCaseHistory(store, 'R1', 200)).toEqual(entries);

    const input = legacy.createInputTopic('ucm-case-events', stringSerde, bytesSerde);
    await input.pipeInput('U1', Buffer.from(JSON.stringify(change('s2', 3, 'IN_PROGRESS', 'CLOSED'))));
    expect((await readCaseHistory(store, 'R1', 200))!.map((e) => e.eventId)).toEqual(['c', 's1', 's2']);
    expect(await store.get('R1')).toBeUndefined();
    const keys: string[] = [];
    for await (const { key } of store.range()) keys.push(key);
    expect(keys).toHaveLength(3);
    expect((await legacy.getKeyValueStore<string, CaseState>('cases').get('R1'))!.historySize).toBe(3);
  });
});
