/** How the query API reads the case-sync stores (names and value views). */
import type { CaseStoresView } from '../api/api-contracts.js';
import { CASE_STORE, HISTORY_STORE } from './apply-processor.js';
import { INDEX_STORE, type IndexEntry } from './correlate-processor.js';
import { toCaseRecord, toHistoryEntries } from './domain/case-record.js';
import type { CaseState, StoredHistoryEntry } from './domain/reduce-case.js';

export const caseStoresView: CaseStoresView = {
  caseStore: CASE_STORE,
  historyStore: HISTORY_STORE,
  indexStore: INDEX_STORE,
  toRecord: (state) => toCaseRecord(state as CaseState),
  toHistory: (value) => toHistoryEntries(value as StoredHistoryEntry[]),
  indexTarget: (value) => (value as IndexEntry | undefined)?.urpCaseId,
};
