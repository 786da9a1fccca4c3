/**
 * Metrics of the case-sync application (names from the seed design: ucm_case_events_consumed_total{type},
 * ucm_case_events_failed_total{reason}; plus duplicates, gaps, pending correlations and DLQ writes). Labels are
 * bounded vocabularies; record keys never become labels.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { DLQ_CATEGORIES, EVENT_TYPES, RUN_KINDS, type CaseEvent } from './domain/event-contract.js';

/** The `origin` label of applied events: live, or the kind of operator run that published the event. */
export type EventOrigin = 'live' | 'backfill' | 'dlq-replay';
export const originOf = (event: Pick<CaseEvent, 'run'>): EventOrigin => event.run?.kind ?? 'live';

/** The clocks that can expire a pending correlation (label `clock` of ucm_case_events_correlation_expired_total). */
export const CORRELATION_CLOCKS = ['stream-time', 'wall-clock'] as const;
export type CorrelationClock = (typeof CORRELATION_CLOCKS)[number];

export interface CaseSyncMetrics {
  readonly consumed: Counter<'type'>;
  readonly failed: Counter<'reason'>;
  readonly duplicates: Counter;
  readonly gaps: Counter;
  /** Labels: late, and origin (live | backfill | dlq-replay, see {@link originOf}). */
  readonly applied: Counter<'late' | 'origin'>;
  readonly pendingCorrelations: Gauge;
  /**
   * Pending events dead-lettered UNRESOLVED_CORRELATION, by the clock that decided: stream-time (their due time
   * passed in stream time) or wall-clock (the fallback of an idle partition, ADR 0007).
   */
  readonly correlationsExpired: Counter<'clock'>;
  readonly dlqWrites: Counter<'category'>;
}

export function createCaseSyncMetrics(registry: Registry): CaseSyncMetrics {
  return declareCaseSyncMetrics(registry);
}

/**
 * Exports every known label set at 0 (event types, DLQ categories, late x origin), so a counter that never moved
 * still has a sample on GET /metrics (docs/operations.md lists them all). The service calls it at startup; tests
 * that compare exact series leave it out.
 */
export function initialiseCaseSyncMetrics(metrics: CaseSyncMetrics): CaseSyncMetrics {
  for (const type of EVENT_TYPES) metrics.consumed.inc({ type }, 0);
  for (const category of DLQ_CATEGORIES) {
    metrics.failed.inc({ reason: category }, 0);
    metrics.dlqWrites.inc({ category }, 0);
  }
  for (const clock of CORRELATION_CLOCKS) metrics.correlationsExpired.inc({ clock }, 0);
  for (const late of ['false', 'true']) {
    for (const origin of ['live', ...RUN_KINDS]) metrics.applied.inc({ late, origin }, 0);
  }
  return metrics;
}

function declareCaseSyncMetrics(registry: Registry): CaseSyncMetrics {
  const registers = [registry];
  return {
    consumed: new Counter({
      name: 'ucm_case_events_consumed_total',
      help: 'Valid UCM case events consumed, by event type',
      labelNames: ['type'],
      registers,
    }),
    failed: new Counter({
      name: 'ucm_case_events_failed_total',
      help: 'UCM case events that could not be applied, by reason (the DLQ category)',
      labelNames: ['reason'],
      registers,
    }),
    duplicates: new Counter({
      name: 'ucm_case_events_duplicate_total',
      help: 'Events ignored because their eventId was already applied to the case',
      registers,
    }),
    gaps: new Counter({
      name: 'ucm_case_status_gaps_total',
      help: 'Status changes whose oldStatus did not match the previous status of their UCM case',
      registers,
    }),
    applied: new Counter({
      name: 'ucm_case_events_applied_total',
      help:
        'Events applied to a case; late = older than the current state (history only); origin = live, ' +
        'backfill or dlq-replay (the operator run that published the event)',
      labelNames: ['late', 'origin'],
      registers,
    }),
    pendingCorrelations: new Gauge({
      name: 'ucm_case_events_pending_correlations',
      help: 'Events without urpCaseId waiting for their CASE_CREATED (on this instance)',
      registers,
    }),
    correlationsExpired: new Counter({
      name: 'ucm_case_events_correlation_expired_total',
      help:
        'Events without urpCaseId dead-lettered because no CASE_CREATED came within CORRELATION_GRACE_MS, by the ' +
        'clock that decided: stream-time, or wall-clock (the fallback of a partition that receives no records)',
      labelNames: ['clock'],
      registers,
    }),
    dlqWrites: new Counter({
      name: 'ucm_case_events_dlq_total',
      help: 'Records written to the dead-letter topic, by category',
      labelNames: ['category'],
      registers,
    }),
  };
}
