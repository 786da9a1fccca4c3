/** The published contract documents are exactly the schemas the code validates and emits. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONTRACT_DOCUMENTS, renderContractDocument } from '../../../processors/domain/contract-documents.js';

describe('docs/contracts', () => {
  it.each(Object.entries(CONTRACT_DOCUMENTS))(
    '%s matches the code (run `npm run docs:contracts`)',
    (file, schema) => {
      expect(readFileSync(`docs/contracts/${file}`, 'utf8')).toBe(renderContractDocument(schema));
    },
  );
});
