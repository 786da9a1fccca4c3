/**
 * Sub-topology 2 (partitioned by urpCaseId): applies each event to its case with the pure reducer, stores the
 * state and the event's history entry, and publishes the case record to `urp-case-sync` (JSON, content-type
 * header; one record per case per commit). Duplicates change nothing and are only counted.
 *
 * Batch at a time: the cases of a fetched batch are read with one multi-get, its events folded in memory in
 * order, and each changed case written and published once. `process` is the batch of one.
 *
 * History: one entry per key (domain/case-history.ts). A case whose state predates that layout (no
 * `historySize`) has its history array moved to per-entry keys the first time it changes again.
 */
import type { KeyValueStore } from '../stores/contracts.js';
import type { Processor, ProcessorContext } from '../topology/processor.js';
import type { StreamRecord } from '../topology/record.js';
import { originOf, type CaseSyncMetrics } from './case-sync-metrics.js';
import {
  historyKey,
  historyPrefix,
  inOrderGaps,
  materialiseHistory,
  newGapCount,
  pruneDue,
  trailGaps,
} from './domain/case-history.js';
import { toCaseRecord } from './domain/case-record.js';
import type { CaseSyncSettings } from './domain/case-sync-settings.js';
import type { CaseRecord } from './domain/event-contract.js';
import { compareOrderKeys } from './domain/order-key.js';
import { reduceCase, type CaseState, type StoredHistoryEntry } from './domain/reduce-case.js';
import type { RoutedMessage } from './routed-event.js';

export const CASE_STORE = 'cases';
export const HISTORY_STORE = 'case-history';
export const OUTPUT_SINK = 'output';

/** One case while a batch is folded. */
interface Touched {
  state: CaseState | undefined;
  /** History entries of this batch, by store key. */
  readonly added: Map<string, StoredHistoryEntry>;
  /** The history array of the previous layout, to move to per-entry keys. */
  legacy: readonly StoredHistoryEntry[] | undefined;
  /** The stored entries (read only when a late event needs them). */
  stored: StoredHistoryEntry[] | undefined;
  changed: { readonly timestamp: number; readonly eventId: string } | undefined;
}

export function applyProcessor(
  settings: CaseSyncSettings,
  metrics: CaseSyncMetrics,
): () => Processor<string, RoutedMessage, string, CaseRecord> {
  return () => {
    let ctx: ProcessorContext<string, CaseRecord>;
    let cases: KeyValueStore<string, CaseState>;
    let histories: KeyValueStore<string, unknown>;
    const limit = settings.historyLimit;

    /** A case's stored entries (this commit's staged ones included) and the legacy array, read once per batch. */
    const storedOf = async (urpCaseId: string, t: Touched): Promise<StoredHistoryEntry[]> => {
      if (t.stored === undefined) {
        const stored: StoredHistoryEntry[] = [...(t.legacy ?? [])];
        for await (const { value } of histories.prefixScan(historyPrefix(urpCaseId))) {
          stored.push(value as StoredHistoryEntry);
        }
        t.stored = stored;
      }
      return t.stored;
    };

    /**
     * Gaps the entry newly flags: from the state when it is in order for its UCM case or its neighbours are in the
     * UCM case's trail, else from the history (a prefix scan: a LevelDB seek, ~15x a point read).
     */
    const gapsOf = async (urpCaseId: string, t: Touched, entry: StoredHistoryEntry): Promise<number> => {
      const quick = inOrderGaps(t.state, entry, limit) ?? trailGaps(t.state, entry, limit);
      if (quick !== undefined) return quick;
      const known = [...(await storedOf(urpCaseId, t)), ...t.added.values()];
      return newGapCount(materialiseHistory(known, limit), materialiseHistory([...known, entry], limit));
    };

    /** Writes a changed case: the legacy move, the batch's entries, a prune when due, the state. */
    const write = async (urpCaseId: string, t: Touched, state: CaseState): Promise<CaseState> => {
      if (t.legacy !== undefined) {
        for (const e of t.legacy) await histories.put(historyKey(urpCaseId, e.key), e);
        await histories.delete(urpCaseId);
      }
      for (const [key, entry] of t.added) await histories.put(key, entry);
      if (!pruneDue(state.historySize ?? 0, limit)) return state;
      const keys: string[] = [];
      for await (const { key } of histories.prefixScan(historyPrefix(urpCaseId))) keys.push(key as string);
      // Key order is order-key order: the oldest come first.
      for (const key of keys.slice(0, Math.max(0, keys.length - limit))) await histories.delete(key);
      return { ...state, historySize: Math.min(keys.length, limit) };
    };

    const apply = async (records: readonly StreamRecord<string, RoutedMessage>[]) => {
      const keys: string[] = [];
      const touched = new Map<string, Touched>();
      for (const r of records) {
        if (r.value.kind === 'event' && !touched.has(r.value.urpCaseId)) {
          touched.set(r.value.urpCaseId, {
            state: undefined,
            added: new Map(),
            legacy: undefined,
            stored: undefined,
            changed: undefined,
          });
          keys.push(r.value.urpCaseId);
        }
      }
      if (keys.length === 0) return;
      const states = await cases.getMany(keys);
      const legacyKeys = keys.filter(
        (_, i) => states[i] !== undefined && states[i]!.historySize === undefined,
      );
      const legacy = legacyKeys.length > 0 ? await histories.getMany(legacyKeys) : [];
      keys.forEach((k, i) => (touched.get(k)!.state = states[i]));
      legacyKeys.forEach((k, i) => {
        const t = touched.get(k)!;
        const old = legacy[i];
        t.legacy = Array.isArray(old) ? (old as StoredHistoryEntry[]) : [];
        t.state = { ...t.state!, historySize: t.legacy.length };
      });
      const options = {
        nowMs: ctx.currentSystemTimeMs(),
        dedupeRetentionMs: settings.dedupeRetentionMs,
        dedupeMaxIds: settings.dedupeMaxIds,
      };
      // Metrics and log lines wait until the batch is applied: a batch that fails is rolled back and run again
      // record by record, and must not count twice.
      const effects: (() => void)[] = [];
      for (const record of records) {
        const msg = record.value;
        if (msg.kind !== 'event') continue;
        const urpCaseId = msg.urpCaseId;
        const t = touched.get(urpCaseId)!;
        const result = reduceCase(t.state, msg.event, urpCaseId, options);
        const ids = { eventId: msg.event.eventId, urpCaseId, ucmCaseId: msg.event.ucmCaseId };
        if (result.outcome === 'duplicate') {
          effects.push(() => {
            metrics.duplicates.inc();
            ctx.logger.debug(ids, 'duplicate event ignored');
          });
          continue;
        }
        const late =
          t.state !== undefined &&
          compareOrderKeys(
            { businessMs: msg.event.businessMs, eventMs: msg.event.eventMs, eventId: msg.event.eventId },
            t.state.latest.key,
          ) < 0;
        const newGaps = await gapsOf(urpCaseId, t, result.entry);
        t.added.set(historyKey(urpCaseId, result.entry.key), result.entry);
        t.state = result.state;
        t.changed = { timestamp: record.timestamp, eventId: msg.event.eventId };
        const origin = originOf(msg.event);
        effects.push(() => {
          metrics.applied.inc({ late: String(late), origin });
          if (newGaps > 0) {
            metrics.gaps.inc(newGaps);
            // Info, not warn: under out-of-order delivery most gaps are transient (the missing change arrives
            // later and closes them). The metric and the history's gap flags are the durable signal.
            ctx.logger.info(
              { ...ids, newGaps },
              'history now has a status gap (an oldStatus that does not follow the status before it); recorded, not rejected',
            );
          }
        });
      }
      for (const [urpCaseId, t] of touched) {
        if (t.changed === undefined || t.state === undefined) continue;
        const state = await write(urpCaseId, t, t.state);
        await cases.put(urpCaseId, state);
        await ctx.forward({
          key: urpCaseId,
          value: toCaseRecord(state),
          timestamp: t.changed.timestamp,
          headers: { 'content-type': 'application/json', 'event-id': t.changed.eventId },
        });
      }
      for (const effect of effects) effect();
    };

    return {
      init: (c) => {
        ctx = c;
        cases = c.getStateStore(CASE_STORE);
        histories = c.getStateStore(HISTORY_STORE);
      },
      process: (record: StreamRecord<string, RoutedMessage>) => apply([record]),
      processBatch: (records) => apply(records),
    };
  };
}
