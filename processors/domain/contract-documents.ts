/** The JSON Schema documents published in docs/contracts/ (file name -> schema). */
import {
  caseRecordSchema,
  dlqRecordSchema,
  historyEntrySchema,
  ucmCaseEventSchema,
} from './event-contract.js';

export const CONTRACT_DOCUMENTS: Readonly<Record<string, object>> = {
  'ucm-case-event.schema.json': ucmCaseEventSchema,
  'urp-case-record.schema.json': caseRecordSchema,
  'history-entry.schema.json': historyEntrySchema,
  'dlq-record.schema.json': dlqRecordSchema,
};

export function renderContractDocument(schema: object): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}
