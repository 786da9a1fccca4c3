/**
 * The dead letters of the correlate processor (correlate-processor.ts) and how they are counted.
 * - UNRESOLVED_CORRELATION: an event whose grace period passed before a CASE_CREATED of its UCM case was processed.
 *   It carries its envelope rebuilt from the normalised event (project.ts `toEnvelope`).
 * - PROCESSING_ERROR: a pending entry that cannot be read back (routed-event.ts `readPendingEvent`) or whose dead
 *   letter cannot be built. It carries what is known: the ids (from the entry, else from its key), the event
 *   re-projected, and its origin, or (unreadable) the pending store's changelog and the task's partition.
 * The dead letters of one record or punctuation are tallied and counted (metrics) once all of them are on their way,
 * so a failed punctuation, which is rolled back, counts none.
 */
import { errorName } from '../common/sanitize.js';
import type { ProcessorContext } from '../topology/processor.js';
import type { CaseSyncMetrics, CorrelationClock } from './case-sync-metrics.js';
import type { CorrelationStreamTime } from './correlation-stream-time.js';
import type { CaseSyncSettings } from './domain/case-sync-settings.js';
import { buildDlqRecord, deadLetterKey, payloadHash } from './domain/dlq-record.js';
import type { DlqCategory, DlqRecord } from './domain/event-contract.js';
import { isValidId } from './domain/field-rules.js';
import { idsOf, projectEventLike, toEnvelope } from './domain/project.js';
import { processingErrorMessage } from './record-error-handler.js';
import { decodeOrigin, type PendingEvent, type RoutedMessage } from './routed-event.js';

/** Dead letters written by one record or punctuation, counted once all of them are on their way. */
export interface Tally {
  /** One UNRESOLVED_CORRELATION each, by the clock that decided. */
  readonly unresolved: CorrelationClock[];
  /** PROCESSING_ERROR dead letters of unreadable entries. */
  broken: number;
}

/** A tally with nothing in it yet. */
export const emptyTally = (): Tally => ({ unresolved: [], broken: 0 });

/** Counts a tally's dead letters: failed and DLQ writes by category, expired correlations by clock. */
export function countDeadLetters(metrics: CaseSyncMetrics, tally: Tally): void {
  const categories: DlqCategory[] = [
    ...tally.unresolved.map((): DlqCategory => 'UNRESOLVED_CORRELATION'),
    ...Array.from({ length: tally.broken }, (): DlqCategory => 'PROCESSING_ERROR'),
  ];
  for (const category of categories) {
    metrics.failed.inc({ reason: category });
    metrics.dlqWrites.inc({ category });
  }
  for (const clock of tally.unresolved) metrics.correlationsExpired.inc({ clock });
}

/** The ids a pending-store key names (each only if valid). */
export function idsOfPendingKey(key: string): { eventId?: string; ucmCaseId?: string } {
  const bar = key.indexOf('|');
  const ucmCaseId = bar < 0 ? undefined : key.slice(0, bar);
  const eventId = bar < 0 ? undefined : key.slice(bar + 1);
  return {
    ...(isValidId(eventId) ? { eventId } : {}),
    ...(isValidId(ucmCaseId) ? { ucmCaseId } : {}),
  };
}

/** What the dead letters of a correlate task need; given by the processor at init. */
export interface CorrelationDeadLetterDeps {
  readonly ctx: ProcessorContext<string, RoutedMessage | DlqRecord>;
  readonly settings: CaseSyncSettings;
  /** The consumer (application id) named in dead letters. */
  readonly consumer: string;
  /** The processor's node, named in PROCESSING_ERROR messages and logs. */
  readonly node: string;
  /** The child the dead letters are forwarded to. */
  readonly dlqChild: string;
  /** The pending store (its changelog is the origin of an entry whose own origin is unreadable). */
  readonly pendingStore: string;
  /** The task's stream time, logged with each UNRESOLVED_CORRELATION. */
  readonly streamTime: CorrelationStreamTime;
}

/**
 * Writes (forwards to the dead-letter child) and logs the dead letters of one correlate task. Neither method counts
 * what it wrote (see {@link Tally}). Both throw what forwarding or building the dead letter throws: the caller
 * rethrows instance-level errors and treats any other as a failure of the entry (pending-entries.ts `settle`).
 */
export class CorrelationDeadLetters {
  constructor(private readonly deps: CorrelationDeadLetterDeps) {}

  /** UNRESOLVED_CORRELATION for `p`, due at `dueMs` and expired at wall clock `now` by `clock`. */
  async unresolved(p: PendingEvent, dueMs: number, now: number, clock: CorrelationClock): Promise<void> {
    const { ctx, settings } = this.deps;
    const dlq = buildDlqRecord({
      origin: p.origin,
      payloadHash: p.origin.payloadHash,
      payloadSize: p.origin.payloadSize,
      eventId: p.event.eventId,
      consumer: this.deps.consumer,
      category: 'UNRESOLVED_CORRELATION',
      message:
        'payload.urpCaseId is missing and no CASE_CREATED of payload.ucmCaseId arrived within ' +
        `CORRELATION_GRACE_MS (${settings.correlationGraceMs} ms)`,
      field: 'payload.urpCaseId',
      payload: toEnvelope(p.event),
      includePayload: settings.dlqIncludePayload,
      firstFailureMs: p.origin.lineage?.firstFailureMs ?? p.sinceMs,
      lastFailureMs: now,
      retryCount: p.origin.lineage?.retryCount ?? 0,
    });
    await ctx.forward(
      { key: deadLetterKey(p.event, p.origin.payloadHash), value: dlq, timestamp: now, headers: {} },
      this.deps.dlqChild,
    );
    ctx.logger.warn(
      {
        eventId: p.event.eventId,
        ucmCaseId: p.event.ucmCaseId,
        category: 'UNRESOLVED_CORRELATION',
        clock,
        dueMs,
        streamTimeMs: this.deps.streamTime.ms,
        waitedMs: now - p.sinceMs,
        topic: p.origin.topic,
        partition: p.origin.partition,
        offset: p.origin.offset,
      },
      'no CASE_CREATED for this UCM case within the grace period; sent to the dead-letter topic',
    );
  }

  /**
   * PROCESSING_ERROR with what is known, for the pending entry `raw` stored under `key` that cannot be read or
   * dead-lettered normally (`err`, in `stage`).
   */
  async broken(
    key: string,
    raw: unknown,
    err: unknown,
    now: number,
    stage: 'process' | 'punctuate',
  ): Promise<void> {
    const { ctx, settings, node } = this.deps;
    const fromKey = idsOfPendingKey(key);
    const entry = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
    const payload = projectEventLike(entry.event, settings.attributeAllowlist);
    const found = idsOf(payload);
    const ids = {
      eventId: found.eventId ?? fromKey.eventId,
      ucmCaseId: found.ucmCaseId ?? fromKey.ucmCaseId,
    };
    const origin = decodeOrigin(entry.origin, ids) ?? {
      // The origin is unreadable: name the store's changelog and this task's partition instead.
      topic: `${ctx.applicationId}-${this.deps.pendingStore}-changelog`,
      partition: ctx.taskId.partition,
      offset: '0',
      key: null,
      payloadHash: payloadHash(null),
    };
    const dlq = buildDlqRecord({
      origin,
      payloadHash: origin.payloadHash,
      payloadSize: origin.payloadSize,
      eventId: ids.eventId ?? null,
      consumer: this.deps.consumer,
      category: 'PROCESSING_ERROR',
      message: processingErrorMessage(node, stage, err),
      payload: payload ?? (ids.eventId || ids.ucmCaseId ? idsPayload(ids) : undefined),
      includePayload: settings.dlqIncludePayload,
      firstFailureMs: origin.lineage?.firstFailureMs ?? now,
      lastFailureMs: now,
      retryCount: origin.lineage?.retryCount ?? 0,
    });
    await ctx.forward(
      { key: deadLetterKey(ids, origin.payloadHash), value: dlq, timestamp: now, headers: {} },
      this.deps.dlqChild,
    );
    ctx.logger.warn(
      { ...ids, category: 'PROCESSING_ERROR', node, error: errorName(err) },
      'a pending event could not be read or dead-lettered (a bug); sent to the dead-letter topic, the others go on',
    );
  }
}

/** Identifiers as an envelope fragment (for a dead letter of a pending entry whose event is unreadable). */
function idsPayload(ids: { eventId?: string; ucmCaseId?: string }): Record<string, unknown> {
  return {
    ...(ids.eventId !== undefined ? { eventId: ids.eventId } : {}),
    ...(ids.ucmCaseId !== undefined ? { payload: { ucmCaseId: ids.ucmCaseId } } : {}),
  };
}
