/**
 * The input of the reference comparison's catch-up (bench/reference-catch-up.ts): the case-sync workload of the
 * throughput section, classified by how the project and the Kafka Streams reference treat each record (dead
 * letters in both, correlated by the project only, duplicates, applied by both), with the cases both must end in
 * the same state.
 */
import { parseCaseEvent } from '../processors/domain/validate-event.js';
import { caseSyncWorkload } from './case-sync-bench.js';

/** The generated input and what it holds, by how the two implementations treat it. */
export interface ReferenceWorkload {
  readonly records: readonly { key: string; value: string }[];
  readonly counts: {
    readonly events: number;
    /** Invalid records: dead letters in both. */
    readonly invalid: number;
    /** Valid status changes without urpCaseId: correlated by the project, dead letters in the reference. */
    readonly uncorrelated: number;
    /** Re-deliveries of a valid event (dropped by the dedupe of both). */
    readonly duplicates: number;
    /** Distinct valid events with a urpCaseId: what both apply. */
    readonly comparable: number;
  };
  /** URP cases none of whose events is uncorrelated: both must end in the same state. */
  readonly comparableCases: ReadonlySet<string>;
}

/** The case-sync workload of the throughput section (same generator and rates), classified. */
export function referenceWorkload(cases: number, seed: number): ReferenceWorkload {
  const records = caseSyncWorkload(cases, seed);
  const config = { statusMapping: new Map(), attributeAllowlist: new Set(['priority', 'caseType']) };
  const seen = new Set<string>();
  const ucmToUrp = new Map<string, string>();
  const urpCases = new Set<string>();
  const uncorrelatedUcm: string[] = [];
  let invalid = 0;
  let uncorrelated = 0;
  let duplicates = 0;
  let comparable = 0;
  for (const r of records) {
    const parsed = parseCaseEvent(Buffer.from(r.value), config);
    if (!parsed.ok) {
      invalid++;
      continue;
    }
    const e = parsed.event;
    if (seen.has(e.eventId)) {
      duplicates++;
      continue;
    }
    seen.add(e.eventId);
    if (e.eventType === 'CASE_CREATED') ucmToUrp.set(e.ucmCaseId, e.urpCaseId);
    if (e.urpCaseId === undefined) {
      uncorrelated++;
      uncorrelatedUcm.push(e.ucmCaseId);
    } else {
      comparable++;
      urpCases.add(e.urpCaseId);
    }
  }
  for (const ucm of uncorrelatedUcm) {
    const urp = ucmToUrp.get(ucm);
    if (urp !== undefined) urpCases.delete(urp);
  }
  return {
    records,
    counts: { events: records.length, invalid, uncorrelated, duplicates, comparable },
    comparableCases: urpCases,
  };
}
