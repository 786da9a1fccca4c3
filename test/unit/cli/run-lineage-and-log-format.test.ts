/**
 * The CLI side of run lineage and LOG_FORMAT: a backfill prints its run id first (in a dry run too) and reports
 * it; LOG_FORMAT is validated like every setting.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBackfill } from '../../../cli/backfill-command.js';
import { loadServiceConfig, parseFlags, rawSettings } from '../../../cli/config.js';
import { silentLogger } from '../../../common/logger.js';

const load = (env: Record<string, string>, argv: string[] = []) =>
  loadServiceConfig(rawSettings(parseFlags(argv).flags, env));

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('LOG_FORMAT setting', () => {
  it('defaults to auto, accepts json and pretty (env or flag) and rejects anything else', () => {
    expect(load({}).logFormat).toBe('auto');
    expect(load({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(load({ LOG_FORMAT: 'json' }, ['--log-format', 'pretty']).logFormat).toBe('pretty');
    expect(() => load({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT must be one of auto, json, pretty/);
  });
});

describe('backfill run id', () => {
  it('is printed before anything else and reported, bf-<UTC time>-<random>', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'usc-run-id-'));
    dirs.push(dir);
    const file = join(dir, 'export.jsonl');
    await writeFile(
      file,
      `${JSON.stringify({
        urpCaseId: 'R-1',
        ucmCaseId: 'U-1',
        createdAt: '2025-02-01T10:00:00Z',
        status: 'OPEN',
        statusChangedAt: '2025-02-01T10:00:00Z',
      })}\n`,
    );
    const out: string[] = [];
    const report = await runBackfill(load({}), undefined, {
      file,
      dryRun: true,
      logger: silentLogger,
      out: (line) => out.push(line),
    });
    expect(report.runId).toMatch(/^bf-\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    expect(out[0]).toBe(
      `backfill run ${report.runId} (dry run: nothing published): published records carry ` +
        `x-usc-run-id=${report.runId}, x-usc-run-kind=backfill`,
    );
    expect(report.cases).toBe(1);

    const fixed = await runBackfill(load({}), undefined, {
      file,
      dryRun: true,
      logger: silentLogger,
      out: () => {},
      runId: 'bf-20260102T030405Z-0a1b2c3d',
    });
    expect(fixed.runId).toBe('bf-20260102T030405Z-0a1b2c3d');
  });
});
