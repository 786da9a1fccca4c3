/**
 * Sub-topology 2 (partitioned by urpCaseId): applies each event to its case with the pure reducer, stores the
 * state and the history, and publishes the case record to `urp-case-sync` on every change (JSON, content-type
 * header). Duplicates change nothing and are only counted.
 */
import type { KeyValueStore } from '../stores/contracts.js';
import type { Processor, ProcessorContext } from '../topology/processor.js';
import type { StreamRecord } from '../topology/record.js';
import { originOf, type CaseSyncMetrics } from './case-sync-metrics.js';
import { toCaseRecord } from './domain/case-record.js';
import type { CaseSyncSettings } from './domain/case-sync-settings.js';
import type { CaseRecord } from './domain/event-contract.js';
import { compareOrderKeys } from './domain/order-key.js';
import { reduceCase, type CaseState, type StoredHistoryEntry } from './domain/reduce-case.js';
import type { RoutedMessage } from './routed-event.js';

export const CASE_STORE = 'cases';
export const HISTORY_STORE = 'case-history';
export const OUTPUT_SINK = 'output';

export function applyProcessor(
  settings: CaseSyncSettings,
  metrics: CaseSyncMetrics,
): () => Processor<string, RoutedMessage, string, CaseRecord> {
  return () => {
    let ctx: ProcessorContext<string, CaseRecord>;
    let cases: KeyValueStore<string, CaseState>;
    let histories: KeyValueStore<string, StoredHistoryEntry[]>;

    /**
     * Applies events in order: the cases they touch are read once (one multi-get per store), folded in memory
     * with the pure reducer, then written and published once per case. `process` is the batch of one.
     */
    const apply = async (records: readonly StreamRecord<string, RoutedMessage>[]) => {
      const keys: string[] = [];
      const touched = new Map<string, Touched>();
      for (const r of records) {
        if (r.value.kind === 'event' && !touched.has(r.value.urpCaseId)) {
          touched.set(r.value.urpCaseId, { state: undefined, history: [], changed: undefined });
          keys.push(r.value.urpCaseId);
        }
      }
      if (keys.length === 0) return;
      const [states, stored] = await Promise.all([cases.getMany(keys), histories.getMany(keys)]);
      keys.forEach((k, i) => {
        const t = touched.get(k)!;
        t.state = states[i];
        t.history = stored[i] ?? [];
      });
      const nowMs = ctx.currentSystemTimeMs();
      const options = {
        nowMs,
        dedupeRetentionMs: settings.dedupeRetentionMs,
        dedupeMaxIds: settings.dedupeMaxIds,
        historyLimit: settings.historyLimit,
      };
      // Metrics and log lines wait until the batch is applied: a batch that fails is rolled back and run again
      // record by record, and must not count twice.
      const effects: (() => void)[] = [];
      for (const record of records) {
        const msg = record.value;
        if (msg.kind !== 'event') continue;
        const urpCaseId = msg.urpCaseId;
        const t = touched.get(urpCaseId)!;
        const result = reduceCase(t.state, t.history, msg.event, urpCaseId, options);
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
        t.state = result.state;
        t.history = result.history;
        t.changed = { timestamp: record.timestamp, eventId: msg.event.eventId };
        const origin = originOf(msg.event);
        const newGaps = result.newGaps;
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
        await cases.put(urpCaseId, t.state);
        await histories.put(urpCaseId, [...t.history]);
        await ctx.forward({
          key: urpCaseId,
          value: toCaseRecord(t.state),
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

/** One case while a batch is folded: its state and history so far, and the last event that changed it. */
interface Touched {
  state: CaseState | undefined;
  history: readonly StoredHistoryEntry[];
  changed: { readonly timestamp: number; readonly eventId: string } | undefined;
}
