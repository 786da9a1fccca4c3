/**
 * The case-sync topology's record-error policy (topology/record-error.ts, ADR 0003): a record on which a
 * processor or serde threw (a bug, not bad input: bad input is dead-lettered by the validate stage) has already
 * been rolled back by the runtime; this handler turns it into one PROCESSING_ERROR dead letter with full context
 * and lets processing continue, so a poison record costs one dead letter, never an instance.
 *
 * What the dead letter carries is built, never copied (project.ts): for a record of the input topic, the ids and
 * the projected event from a bounded, never-throwing parse; for a record of a repartition topic (a RoutedMessage in
 * msgpack, or JSON from an older version, decoded strictly within the internal-topic bounds), its origin, its event
 * (as an envelope, re-projected) and its urpCaseId; for a record that cannot be decoded, its coordinates only. The
 * message names the node, the stage and the error's name, plus its message with every quoted part and long token
 * removed. A failed punctuation has no record: it is logged, nothing is dead-lettered.
 *
 * The handler never throws: if even the dead letter cannot be built, it returns a minimal one (coordinates only).
 */
import { capLength, describeError, errorName, MAX_ERROR_MESSAGE_LENGTH } from '../common/sanitize.js';
import type { Logger } from '../topology/processor.js';
import type {
  DeadLetter,
  RecordErrorHandler,
  RecordErrorResponse,
  RecordFailure,
} from '../topology/record-error.js';
import { decodeCompat } from '../topology/serde.js';
import type { IncomingRecord } from '../topology/task-engine.js';
import type { CaseSyncMetrics } from './case-sync-metrics.js';
import type { CaseSyncSettings } from './domain/case-sync-settings.js';
import { buildDlqRecord, deadLetterKey, payloadHash, replayLineage } from './domain/dlq-record.js';
import type { DlqRecord } from './domain/event-contract.js';
import { isValidId } from './domain/field-rules.js';
import { findOverlongString } from './domain/input-bounds.js';
import {
  idsOf,
  minimiseKey,
  projectEventLike,
  projectIdentifiers,
  projectKnownFields,
  toEnvelope,
  type EventIds,
} from './domain/project.js';
import { parseCaseEvent, readBoundedJson } from './domain/validate-event.js';
import { decodeOrigin, internalTopicLimits, type Origin } from './routed-event.js';

const CATEGORY = 'PROCESSING_ERROR';
/** Largest epoch ms a Date can render. */
const MAX_DATE_MS = 8.64e15;

export interface RecordErrorHandlerDeps {
  readonly settings: CaseSyncSettings;
  readonly metrics: CaseSyncMetrics;
  /** The consumer (application id) named in dead letters. */
  readonly consumer: string;
  readonly logger: Logger;
}

/** `processing failed in <node> (<stage>): <ErrorName>[: sanitized message]`, at most 200 characters. */
export function processingErrorMessage(node: string | undefined, stage: string, error: unknown): string {
  return capLength(
    `processing failed in ${node ?? 'an unknown node'} (${stage}): ${describeError(error)}`,
    MAX_ERROR_MESSAGE_LENGTH,
  );
}

/** What a dead letter could be built from: where the event came from, its ids and its projection. */
interface Salvage {
  readonly origin: Origin;
  readonly ids: EventIds;
  readonly payload: Record<string, unknown> | undefined;
}

const safeTime = (ms: number): number => (Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS ? ms : 0);

/** The coordinates of `record` itself as an origin (key minimised against `ids`). */
function coordinatesOf(record: IncomingRecord, ids: EventIds): Origin {
  const lineage = replayLineage(record.headers);
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    ...minimiseKey(record.key, ids),
    payloadHash: payloadHash(record.value),
    payloadSize: record.value?.length ?? 0,
    ...(lineage.retryCount > 0 ? { lineage } : {}),
  };
}

/** A record of the input topic: ids and projection from a bounded parse that never throws. */
function salvageInput(record: IncomingRecord, settings: CaseSyncSettings): Salvage {
  let ids: EventIds = {};
  let payload: Record<string, unknown> | undefined;
  try {
    const read = readBoundedJson(record.value, settings);
    if (read.ok) {
      ids = idsOf(read.parsed);
      payload = projectKnownFields(read.parsed, settings.attributeAllowlist);
      const parsed = parseCaseEvent(record.value, settings);
      if (parsed.ok) {
        const e = parsed.event;
        ids = { eventId: e.eventId, ucmCaseId: e.ucmCaseId, urpCaseId: e.urpCaseId };
        payload = toEnvelope(e);
      }
    } else if (read.parsed !== undefined) {
      // Over a string bound: identifiers only (they are bounded by their pattern).
      ids = idsOf(read.parsed);
      payload = projectIdentifiers(read.parsed);
    }
  } catch {
    // A bug in the parser itself: keep what was found before it threw.
  }
  return { origin: coordinatesOf(record, ids), ids, payload };
}

/**
 * The value of a repartition record as a plain object, or undefined: decoded like its serde does (msgpack checked
 * strictly: no extension types, BigInt, Dates, cycles; depth and size within the internal-topic bounds; JSON when
 * it starts with `{`), and refused whole if any string or key is longer than MAX_STRING_LENGTH (as input is: a
 * message we wrote never has one). Never throws.
 */
function readRepartitionValue(
  value: Buffer | null,
  settings: CaseSyncSettings,
): Record<string, unknown> | undefined {
  if (value === null) return undefined;
  try {
    const decoded = decodeCompat(value, internalTopicLimits(settings));
    if (findOverlongString(decoded, settings.maxStringLength, settings.attributeAllowlist)) return undefined;
    return decoded;
  } catch {
    return undefined;
  }
}

/** A record of a repartition topic: a RoutedMessage, decoded defensively; else its coordinates. */
function salvageRepartition(record: IncomingRecord, settings: CaseSyncSettings): Salvage {
  try {
    const m = readRepartitionValue(record.value, settings);
    if (m !== undefined) {
      const urpCaseId = isValidId(m.urpCaseId) ? m.urpCaseId : undefined;
      if (m.kind === 'event' || m.kind === 'resolve') {
        const payload = projectEventLike(m.event, settings.attributeAllowlist, urpCaseId);
        const ids = idsOf(payload);
        const origin = decodeOrigin(m.origin, ids);
        return { origin: origin ?? coordinatesOf(record, ids), ids, payload };
      }
      if (m.kind === 'index') {
        const ids = { ...(isValidId(m.ucmCaseId) ? { ucmCaseId: m.ucmCaseId } : {}), urpCaseId };
        return { origin: coordinatesOf(record, ids), ids, payload: undefined };
      }
    }
  } catch {
    // Undecodable: coordinates only.
  }
  return { origin: coordinatesOf(record, {}), ids: {}, payload: undefined };
}

function deadLetterOf(
  failure: RecordFailure,
  record: IncomingRecord,
  deps: RecordErrorHandlerDeps,
): { dead: DeadLetter; dlq: DlqRecord; ids: EventIds } {
  const { settings } = deps;
  const now = safeTime(failure.nowMs);
  const salvage =
    record.topic === settings.inputTopic
      ? salvageInput(record, settings)
      : salvageRepartition(record, settings);
  const { origin, ids, payload } = salvage;
  const dlq = buildDlqRecord({
    origin,
    payloadHash: origin.payloadHash,
    payloadSize: origin.payloadSize,
    eventId: ids.eventId ?? null,
    consumer: deps.consumer,
    category: CATEGORY,
    message: processingErrorMessage(failure.node, failure.stage, failure.error),
    payload,
    includePayload: settings.dlqIncludePayload,
    firstFailureMs: safeTime(origin.lineage?.firstFailureMs ?? now),
    lastFailureMs: now,
    retryCount: origin.lineage?.retryCount ?? 0,
  });
  const key = deadLetterKey(ids, origin.payloadHash);
  return {
    dead: { key: Buffer.from(key, 'utf8'), value: Buffer.from(JSON.stringify(dlq), 'utf8') },
    dlq,
    ids,
  };
}

/** Coordinates only, from primitives: the dead letter of last resort. */
function minimalDeadLetter(failure: RecordFailure, record: IncomingRecord, consumer: string): DeadLetter {
  let hash: string;
  try {
    hash = payloadHash(record.value);
  } catch {
    hash = payloadHash(null);
  }
  const at = new Date(safeTime(failure.nowMs)).toISOString();
  const dlq: DlqRecord = {
    originalTopic: String(record.topic),
    originalPartition: Number(record.partition),
    originalOffset: String(record.offset),
    originalKey: null,
    eventId: null,
    consumer,
    errorCategory: CATEGORY,
    errorMessage: capLength(
      `processing failed in ${String(failure.node ?? 'an unknown node')} (${String(failure.stage)}); the dead letter could not be built`,
      MAX_ERROR_MESSAGE_LENGTH,
    ),
    retryCount: 0,
    firstFailureAt: at,
    lastFailureAt: at,
    payloadHash: hash,
    replayEligible: true,
  };
  return { key: Buffer.from(hash, 'utf8'), value: Buffer.from(JSON.stringify(dlq), 'utf8') };
}

/**
 * The record-error handler of the case-sync topology (register it with `TopologyBuilder.onRecordError`). Every
 * dead letter it returns is counted in `ucm_case_events_failed_total{reason="PROCESSING_ERROR"}` and
 * `ucm_case_events_dlq_total{category="PROCESSING_ERROR"}` and logged once (ids, node, stage, error name: no
 * values, no error messages). Always returns `continue`; never throws.
 */
export function caseSyncRecordErrorHandler(deps: RecordErrorHandlerDeps): RecordErrorHandler {
  const log = (level: 'warn' | 'error', fields: object, message: string) => {
    try {
      deps.logger[level](fields, message);
    } catch {
      // A logger that throws must not turn a handled record into a failed task.
    }
  };
  const count = () => {
    try {
      deps.metrics.failed.inc({ reason: CATEGORY });
      deps.metrics.dlqWrites.inc({ category: CATEGORY });
    } catch {
      // Metrics are best effort here.
    }
  };
  return (failure) => {
    try {
      return handle(failure);
    } catch {
      return { action: 'continue', deadLetters: [] };
    }
  };

  function handle(failure: RecordFailure): RecordErrorResponse {
    const record = failure.record;
    const where = { node: failure.node, stage: failure.stage, error: errorName(failure.error) };
    if (failure.stage === 'punctuate' || record === undefined) {
      log('error', where, 'a punctuation failed (a bug); its effects were rolled back, processing continues');
      return { action: 'continue', deadLetters: [] };
    }
    const coordinates = { topic: record.topic, partition: record.partition, offset: record.offset };
    let dead: DeadLetter;
    let ids: EventIds = {};
    try {
      const built = deadLetterOf(failure, record, deps);
      dead = built.dead;
      ids = built.ids;
    } catch {
      try {
        dead = minimalDeadLetter(failure, record, deps.consumer);
      } catch {
        log(
          'error',
          { ...where, ...coordinates },
          'a record failed and no dead letter could be built; skipped',
        );
        return { action: 'continue', deadLetters: [] };
      }
    }
    count();
    log(
      'warn',
      {
        eventId: ids.eventId,
        urpCaseId: ids.urpCaseId,
        ucmCaseId: ids.ucmCaseId,
        category: CATEGORY,
        ...where,
        ...coordinates,
      },
      'a record failed in processing (a bug); rolled back and sent to the dead-letter topic, processing continues',
    );
    return { action: 'continue', deadLetters: [dead] };
  }
}
