/** The public case record (output topic value and API answer) of a stored case state. */
import type { CaseRecord, HistoryEntry, UcmCaseView } from './event-contract.js';
import { compareOrderKeys } from './order-key.js';
import { ucmCaseOf, type CaseState, type StoredHistoryEntry } from './reduce-case.js';
import { STATUS_LABELS } from './statuses.js';

export function toCaseRecord(state: CaseState): CaseRecord {
  const top = ucmCaseOf(state, state.latest.ucmCaseId)!;
  // Already in ucmCaseId order.
  const ucmCases: UcmCaseView[] = state.ucmCases.map((u) => ({
    ucmCaseId: u.ucmCaseId,
    status: u.status,
    statusLabel: STATUS_LABELS[u.status],
    statusChangedAt: u.statusChangedAt,
    createdAt: u.createdAt,
  }));
  // Attributes of the most recent CASE_CREATED among the linked UCM cases.
  const withCreated = state.ucmCases.filter((u) => u.createdKey !== null);
  const newestCreated = withCreated.sort((a, b) => compareOrderKeys(a.createdKey!, b.createdKey!))[
    withCreated.length - 1
  ];
  return {
    urpCaseId: state.urpCaseId,
    ucmCaseId: top.ucmCaseId,
    status: top.status,
    statusLabel: STATUS_LABELS[top.status],
    statusChangedAt: top.statusChangedAt,
    createdAt: top.createdAt,
    attributes: newestCreated?.attributes ?? {},
    ucmCases,
    lastEventId: state.latest.key.eventId,
    lastEventTime: state.latest.eventTime,
    eventCount: state.eventCount,
    updatedAt: state.updatedAt,
    lastRunId: state.latest.runId ?? null,
  };
}

/**
 * Public history entries (without the internal order key). Entries stored by an older version have no run fields:
 * they were live (runs were not recorded then), so null.
 */
export function toHistoryEntries(stored: readonly StoredHistoryEntry[]): HistoryEntry[] {
  return stored.map(({ key: _key, ...entry }) => ({
    ...entry,
    runId: entry.runId ?? null,
    runKind: entry.runKind ?? null,
  }));
}
