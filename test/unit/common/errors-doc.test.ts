/** docs/errors.md lists exactly the codes of common/errors.ts, each once. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../common/errors.js';

describe('docs/errors.md', () => {
  it('has one table row per error code, and no row for a code that does not exist', () => {
    const rows = readFileSync('docs/errors.md', 'utf8')
      .split('\n')
      .map((line) => /^\| `(USC_ERR_[A-Z_]+)` \|/.exec(line)?.[1])
      .filter((code): code is string => code !== undefined);
    expect(rows.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });
});
