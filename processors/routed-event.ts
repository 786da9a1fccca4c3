/**
 * Messages on the application's repartition topics (JSON): a validated event on its way to its case, an index
 * entry ucmCaseId -> urpCaseId, or an event that still needs its urpCaseId resolved. Each event carries where it
 * came from, so a later dead-letter record has full context.
 */
import type { ReplayLineage } from './domain/dlq-record.js';
import type { CaseEvent, StatusChanged } from './domain/event-contract.js';

export interface Origin {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** Original key as UTF-8, or null. */
  readonly key: string | null;
  readonly payloadHash: string;
  /** The redacted original value (only carried where a later DLQ record may need it). */
  readonly payload?: unknown;
  /** Set when the record is a `dlq replay` of an earlier failure (see REPLAY_HEADERS). */
  readonly lineage?: ReplayLineage;
}

export type RoutedMessage =
  | { readonly kind: 'event'; readonly event: CaseEvent; readonly urpCaseId: string; readonly origin: Origin }
  | { readonly kind: 'index'; readonly ucmCaseId: string; readonly urpCaseId: string }
  | { readonly kind: 'resolve'; readonly event: StatusChanged; readonly origin: Origin };

/** A pending (unresolved) event in the correlation store. */
export interface PendingEvent {
  readonly event: StatusChanged;
  readonly origin: Origin;
  /** Wall-clock time it started waiting. */
  readonly sinceMs: number;
}
