// Regenerates docs/contracts/*.schema.json from processors/domain/event-contract.ts (npm run docs:contracts).
import { writeFileSync } from 'node:fs';
import { CONTRACT_DOCUMENTS, renderContractDocument } from '../processors/domain/contract-documents.js';

for (const [file, schema] of Object.entries(CONTRACT_DOCUMENTS)) {
  writeFileSync(new URL(`../docs/contracts/${file}`, import.meta.url), renderContractDocument(schema));
  console.log(`wrote docs/contracts/${file}`);
}
