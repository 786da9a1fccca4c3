/**
 * An independent model of what urp-case-sync must produce for a generated input: written from the rules,
 * not from processors/ (so a shared bug cannot hide). Expected final table (per URP case: UCM case id, status,
 * statusChangedAt, createdAt, distinct event count, each linked UCM case's status) and dead letters by category.
 */
import type { GeneratedRecord } from '../../processors/simulation/ucm-event-generator.js';

const VOCAB = ['OPEN', 'IN_PROGRESS', 'ON_HOLD', 'CLOSED', 'REJECTED'];

export interface ExpectedCase {
  ucmCaseId: string;
  status: string;
  statusChangedAt: string;
  createdAt: string | null;
  eventCount: number;
  ucmStatuses: Record<string, string>;
}

interface Ev {
  eventId: string;
  type: string;
  ucm: string;
  urp?: string;
  status: string;
  business: string;
  eventTime: string;
}

const later = (a: Ev, b: Ev) =>
  Date.parse(a.business) - Date.parse(b.business) ||
  Date.parse(a.eventTime) - Date.parse(b.eventTime) ||
  (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);

export function expectedOutcome(records: readonly GeneratedRecord[]): {
  table: Map<string, ExpectedCase>;
  dlq: Map<string, number>;
} {
  const dlq = new Map<string, number>();
  const bump = (c: string) => dlq.set(c, (dlq.get(c) ?? 0) + 1);
  const events = new Map<string, Ev>();
  for (const r of records) {
    let e: { eventId: string; eventType: string; eventTime: string; payload: Record<string, string | null> };
    try {
      e = JSON.parse(r.value);
    } catch {
      bump('INVALID_JSON');
      continue;
    }
    if (e.eventType !== 'CASE_CREATED' && e.eventType !== 'CASE_STATUS_CHANGED') {
      bump('UNKNOWN_EVENT_TYPE');
      continue;
    }
    const p = e.payload;
    const status = (e.eventType === 'CASE_CREATED' ? p.initialStatus : p.newStatus) ?? '';
    if (!VOCAB.includes(status) || (p.oldStatus != null && !VOCAB.includes(p.oldStatus))) {
      bump('UNKNOWN_STATUS');
      continue;
    }
    events.set(e.eventId, {
      eventId: e.eventId,
      type: e.eventType,
      ucm: p.ucmCaseId!,
      urp: p.urpCaseId ?? undefined,
      status,
      business: (e.eventType === 'CASE_CREATED' ? p.createdAt : p.statusChangedAt)!,
      eventTime: e.eventTime,
    });
  }
  const urpOfUcm = new Map<string, string>();
  for (const e of events.values()) if (e.type === 'CASE_CREATED') urpOfUcm.set(e.ucm, e.urp!);
  const byCase = new Map<string, Ev[]>();
  for (const e of events.values()) {
    const urp = e.urp ?? urpOfUcm.get(e.ucm);
    if (!urp) {
      bump('UNRESOLVED_CORRELATION');
      continue;
    }
    byCase.set(urp, [...(byCase.get(urp) ?? []), e]);
  }
  const table = new Map<string, ExpectedCase>();
  for (const [urp, list] of byCase) {
    const sorted = [...list].sort(later);
    const top = sorted[sorted.length - 1]!;
    const ucmStatuses: Record<string, string> = {};
    for (const e of sorted) ucmStatuses[e.ucm] = e.status;
    const created = sorted.filter((e) => e.type === 'CASE_CREATED' && e.ucm === top.ucm).pop();
    table.set(urp, {
      ucmCaseId: top.ucm,
      status: top.status,
      statusChangedAt: top.business,
      createdAt: created?.business ?? null,
      eventCount: list.length,
      ucmStatuses,
    });
  }
  return { table, dlq };
}

/** Differences between an observed record (JSON of the output topic / API) and the model, as readable lines. */
export function diffCase(urp: string, observed: unknown, expected: ExpectedCase | undefined): string[] {
  if (!expected) return [`${urp}: not expected at all`];
  if (observed === undefined || observed === null) return [`${urp}: missing`];
  const o = observed as Record<string, unknown> & { ucmCases?: { ucmCaseId: string; status: string }[] };
  const problems: string[] = [];
  for (const k of ['ucmCaseId', 'status', 'statusChangedAt', 'createdAt', 'eventCount'] as const) {
    if (o[k] !== expected[k])
      problems.push(`${urp}.${k}: ${JSON.stringify(o[k])} != ${JSON.stringify(expected[k])}`);
  }
  const ucm: Record<string, string> = {};
  for (const u of o.ucmCases ?? []) ucm[u.ucmCaseId] = u.status;
  if (
    JSON.stringify(ucm) !== JSON.stringify(Object.fromEntries(Object.entries(expected.ucmStatuses).sort()))
  ) {
    problems.push(`${urp}.ucmCases: ${JSON.stringify(ucm)} != ${JSON.stringify(expected.ucmStatuses)}`);
  }
  return problems;
}

/** All differences between a table (urp -> record JSON) and the model. */
export function diffTable(
  observed: ReadonlyMap<string, unknown>,
  expected: ReadonlyMap<string, ExpectedCase>,
): string[] {
  const problems: string[] = [];
  for (const [urp, exp] of expected) problems.push(...diffCase(urp, observed.get(urp), exp));
  for (const urp of observed.keys()) if (!expected.has(urp)) problems.push(`${urp}: unexpected`);
  return problems;
}
