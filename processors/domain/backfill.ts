/**
 * Backfill (the seed's open question on historical cases): one line of a JSON Lines export of cases that existed
 * before UCMv2 published events -> the UCM events that would have described it. Events are deterministic: the
 * eventId is a hash of the event's content, and eventTime is its business time, so publishing the same export
 * twice yields byte-identical events that the topology's dedupe ignores (re-running a backfill changes nothing).
 *
 * Export line (one JSON object per line):
 * ```
 * {"urpCaseId": "URP-1", "ucmCaseId": "UCM-9", "createdAt": "2025-03-01T09:00:00Z", "initialStatus": "OPEN",
 *  "status": "CLOSED", "statusChangedAt": "2025-03-04T17:30:00Z", "attributes": {"priority": "high"},
 *  "transitions": [{"status": "IN_PROGRESS", "at": "2025-03-02T08:00:00Z", "reason": "picked up"}]}
 * ```
 * Only ATTRIBUTE_ALLOWLIST keys of `attributes` are published. `initialStatus` defaults to OPEN. `transitions` (optional) are the known status changes after creation, in any
 * order; when absent and `status` differs from the status reached, one change to `status` at `statusChangedAt`
 * is added. Every produced event is checked with the topology's own validator, so a line the topology would
 * dead-letter is reported (with its line number) instead of published.
 */
import { createHash } from 'node:crypto';
import type { CaseEvent } from './event-contract.js';
import { isoTimeMs, ISO_TIME_RULE } from './field-rules.js';
import { syntaxErrorPosition } from './input-bounds.js';
import { pickAllowed } from './project.js';
import { parseCaseEvent, type ValidationConfig } from './validate-event.js';

/** `source` of every backfilled event. */
export const BACKFILL_SOURCE = 'urp-case-sync-backfill';

export interface BackfillEvent {
  /** Record key: the ucmCaseId, as UCMv2 keys its topic. */
  readonly key: string;
  /** The JSON envelope, serialized. */
  readonly value: string;
  readonly eventId: string;
}

export type BackfillLineResult =
  | { readonly ok: true; readonly events: readonly BackfillEvent[] }
  | { readonly ok: false; readonly problem: string };

interface Transition {
  readonly status: string;
  readonly at: string;
  readonly reason?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function text(line: Record<string, unknown>, field: string, problems: string[], optional = false) {
  const v = line[field];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || v.length === 0) {
    problems.push(`${field} must be a non-empty string`);
    return undefined;
  }
  return v;
}

function time(line: Record<string, unknown>, field: string, problems: string[], optional = false) {
  const v = text(line, field, problems, optional);
  if (v !== undefined && !Number.isFinite(isoTimeMs(v))) problems.push(`${field} ${ISO_TIME_RULE}`);
  return v;
}

/** Stable id: sha256 over the event without its id (key order fixed by construction). */
function contentId(type: string, body: unknown): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([type, body]))
    .digest('hex');
  return `bf-${hash.slice(0, 40)}`;
}

function envelope(type: CaseEvent['eventType'], time: string, payload: Record<string, unknown>) {
  const eventId = contentId(type, payload);
  return {
    eventId,
    value: JSON.stringify({ eventId, eventType: type, eventTime: time, source: BACKFILL_SOURCE, payload }),
  };
}

function transitionsOf(raw: unknown, problems: string[]): Transition[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    problems.push('transitions must be an array of {status, at, reason?}');
    return [];
  }
  const out: Transition[] = [];
  raw.forEach((t: unknown, i) => {
    if (!isObject(t) || typeof t.status !== 'string' || typeof t.at !== 'string') {
      problems.push(`transitions[${i}] must be an object with string status and at`);
    } else if (!Number.isFinite(isoTimeMs(t.at))) {
      problems.push(`transitions[${i}].at ${ISO_TIME_RULE}`);
    } else if (t.reason !== undefined && typeof t.reason !== 'string') {
      problems.push(`transitions[${i}].reason must be a string`);
    } else {
      out.push({ status: t.status, at: t.at, reason: t.reason as string | undefined });
    }
  });
  return out;
}

/**
 * Turns one export line into its events, or says what is wrong with it (naming fields, never quoting values).
 * Never throws. With `nowMs` (the current time) an event the topology would reject as FUTURE_TIME is reported too.
 */
export function backfillEventsForLine(
  lineText: string,
  validation: ValidationConfig,
  nowMs?: number,
): BackfillLineResult {
  let line: unknown;
  try {
    line = JSON.parse(lineText);
  } catch (err) {
    const position = syntaxErrorPosition(err, lineText);
    return {
      ok: false,
      problem:
        position === undefined
          ? 'not JSON (syntax error)'
          : `not JSON (syntax error at position ${position})`,
    };
  }
  if (!isObject(line)) return { ok: false, problem: 'not a JSON object' };
  const problems: string[] = [];
  const urpCaseId = text(line, 'urpCaseId', problems);
  const ucmCaseId = text(line, 'ucmCaseId', problems);
  const createdAt = time(line, 'createdAt', problems);
  const initialStatus = text(line, 'initialStatus', problems, true) ?? 'OPEN';
  const status = text(line, 'status', problems, true);
  const statusChangedAt = time(line, 'statusChangedAt', problems, true);
  if (line.attributes !== undefined && !isObject(line.attributes))
    problems.push('attributes must be an object');
  const transitions = transitionsOf(line.transitions, problems);
  if (problems.length > 0) return { ok: false, problem: problems.join('; ') };

  const created = envelope('CASE_CREATED', createdAt!, {
    ucmCaseId,
    urpCaseId,
    initialStatus,
    createdAt,
    // Only allowlisted attributes leave the export: the rest never reaches Kafka.
    ...(line.attributes === undefined
      ? {}
      : { extraAttributes: pickAllowed(line.attributes, validation.attributeAllowlist) }),
  });
  const drafts = [created];
  const changes = [...transitions].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const last = changes.at(-1)?.status ?? initialStatus;
  if (status !== undefined && status !== last) {
    if (statusChangedAt === undefined)
      return {
        ok: false,
        problem: 'statusChangedAt is required when status differs from the last transition',
      };
    changes.push({ status, at: statusChangedAt });
  }
  let previous = initialStatus;
  for (const change of changes) {
    drafts.push(
      envelope('CASE_STATUS_CHANGED', change.at, {
        ucmCaseId,
        urpCaseId,
        oldStatus: previous,
        newStatus: change.status,
        statusChangedAt: change.at,
        ...(change.reason === undefined ? {} : { reason: change.reason }),
      }),
    );
    previous = change.status;
  }
  const events: BackfillEvent[] = [];
  for (const draft of drafts) {
    const parsed = parseCaseEvent(Buffer.from(draft.value, 'utf8'), validation, nowMs);
    if (!parsed.ok) return { ok: false, problem: `${parsed.category}: ${parsed.message}` };
    events.push({ key: ucmCaseId!, value: draft.value, eventId: draft.eventId });
  }
  return { ok: true, events };
}
