/** How the query API reads the case-sync stores (names and value views). */
import type { CaseListEntry, CaseListQuery, CaseStoresView } from '../api/api-contracts.js';
import type { ReadOnlyKeyValueStore } from '../stores/contracts.js';
import { CASE_STORE, HISTORY_STORE } from './apply-processor.js';
import { INDEX_STORE, type IndexEntry } from './correlate-processor.js';
import { toCaseRecord, toHistoryEntries } from './domain/case-record.js';
import { readCaseHistory } from './domain/case-history.js';
import { ucmCaseOf, type CaseState } from './domain/reduce-case.js';
import { STATUSES } from './domain/statuses.js';

/**
 * One local copy of the `cases` store, listed for GET /cases: a range scan in urpCaseId (key byte) order from
 * `query.after` (exclusive), filtered on the stored state (only matches are turned into records), stopping after
 * `query.limit` matches.
 */
export async function listLocalCases(
  store: ReadOnlyKeyValueStore<unknown, unknown>,
  query: CaseListQuery,
): Promise<CaseListEntry[]> {
  const out: CaseListEntry[] = [];
  if (query.limit <= 0) return out;
  for await (const { key, value } of store.range(query.after)) {
    const urpCaseId = key as string;
    if (urpCaseId === query.after) continue;
    const state = value as CaseState | undefined;
    if (!state) continue;
    if (query.statuses && !query.statuses.has(ucmCaseOf(state, state.latest.ucmCaseId)?.status ?? ''))
      continue;
    if (query.updatedSinceMs !== undefined && !(Date.parse(state.updatedAt) >= query.updatedSinceMs))
      continue;
    out.push({ urpCaseId, record: toCaseRecord(state) });
    if (out.length >= query.limit) break;
  }
  return out;
}

/** The view of the case-sync stores; `historyLimit`: the entries a history shows (HISTORY_LIMIT). */
export function caseStoresView(settings: { readonly historyLimit: number }): CaseStoresView {
  return {
    caseStore: CASE_STORE,
    historyStore: HISTORY_STORE,
    indexStore: INDEX_STORE,
    toRecord: (state) => toCaseRecord(state as CaseState),
    readHistory: async (store, urpCaseId) => {
      const entries = await readCaseHistory(store, urpCaseId, settings.historyLimit);
      return entries === undefined ? undefined : toHistoryEntries(entries);
    },
    indexTarget: (value) => (value as IndexEntry | undefined)?.urpCaseId,
    listCases: listLocalCases,
    statuses: STATUSES,
  };
}
