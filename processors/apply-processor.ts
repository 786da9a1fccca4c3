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
    return {
      init: (c) => {
        ctx = c;
        cases = c.getStateStore(CASE_STORE);
        histories = c.getStateStore(HISTORY_STORE);
      },
      process: async (record: StreamRecord<string, RoutedMessage>) => {
        const msg = record.value;
        if (msg.kind !== 'event') return;
        const urpCaseId = msg.urpCaseId;
        const state = await cases.get(urpCaseId);
        const history = (await histories.get(urpCaseId)) ?? [];
        const result = reduceCase(state, history, msg.event, urpCaseId, {
          nowMs: ctx.currentSystemTimeMs(),
          dedupeRetentionMs: settings.dedupeRetentionMs,
          dedupeMaxIds: settings.dedupeMaxIds,
          historyLimit: settings.historyLimit,
        });
        const ids = { eventId: msg.event.eventId, urpCaseId, ucmCaseId: msg.event.ucmCaseId };
        if (result.outcome === 'duplicate') {
          metrics.duplicates.inc();
          ctx.logger.debug(ids, 'duplicate event ignored');
          return;
        }
        const late =
          state !== undefined &&
          compareOrderKeys(
            { businessMs: msg.event.businessMs, eventMs: msg.event.eventMs, eventId: msg.event.eventId },
            state.latest.key,
          ) < 0;
        await cases.put(urpCaseId, result.state);
        await histories.put(urpCaseId, [...result.history]);
        await ctx.forward({
          key: urpCaseId,
          value: toCaseRecord(result.state),
          timestamp: record.timestamp,
          headers: { 'content-type': 'application/json', 'event-id': msg.event.eventId },
        });
        // Counted once the record is applied: a record that fails before is rolled back (and dead-lettered).
        metrics.applied.inc({ late: String(late), origin: originOf(msg.event) });
        if (result.newGaps > 0) {
          metrics.gaps.inc(result.newGaps);
          // Info, not warn: under out-of-order delivery most gaps are transient (the missing change arrives later
          // and closes them). The metric and the history's gap flags are the durable signal.
          ctx.logger.info(
            { ...ids, newGaps: result.newGaps },
            'history now has a status gap (an oldStatus that does not follow the status before it); recorded, not rejected',
          );
        }
      },
    };
  };
}
