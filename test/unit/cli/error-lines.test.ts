/**
 * Every failure the CLI prints is one line `urp-case-sync: USC_ERR_<CODE>: <message>` (usage errors: the usage
 * after it), without a stack trace. (An unreachable broker: test/integration/cli-errors.test.ts, since it loads the
 * Kafka client's native binding, built for the Node that installed it.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../support/run-cli.js';

const LINE = /^urp-case-sync: USC_ERR_[A-Z_]+: .+$/;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'usc-cli-errors-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('CLI error lines', () => {
  it('prefixes usage and configuration errors with their code, the usage after a usage error', async () => {
    const usage = await runCli(['frobnicate']);
    expect(usage.code).toBe(2);
    const lines = usage.stderr.split('\n');
    expect(lines[0]).toBe('urp-case-sync: USC_ERR_CLI_USAGE: unknown command "frobnicate"');
    expect(usage.stderr).toContain('usage: urp-case-sync <command>');
    const config = await runCli(['describe'], { HTTP_PORT: 'eighty' });
    expect(config.code).toBe(2);
    // The first line carries the code; the problems follow, one per line.
    expect(config.stderr.split('\n')[0]).toBe(
      'urp-case-sync: USC_ERR_CONFIG_INVALID: invalid configuration:',
    );
    expect(config.stderr).toContain('HTTP_PORT must be an integer');
    const send = await runCli(['send']);
    expect(send.code).toBe(2);
    expect(send.stderr.split('\n')[0]).toBe(
      'urp-case-sync: USC_ERR_CLI_USAGE: send needs exactly one of --example or --file <event.json>',
    );
  });

  it('prints an unexpected error with a generic code, its stack only with LOG_LEVEL=debug', async () => {
    const missing = join(dir, 'no-such-export.jsonl');
    const quiet = await runCli(['backfill', '--file', missing, '--dry-run']);
    expect(quiet.code).not.toBe(0);
    expect(quiet.stderr.trim().split('\n')).toHaveLength(1);
    expect(quiet.stderr.trim()).toMatch(LINE);
    expect(quiet.stderr).toContain('USC_ERR_CLI_UNEXPECTED: ENOENT');
    expect(quiet.stderr).not.toMatch(/\n\s+at /);
    const debug = await runCli(['backfill', '--file', missing, '--dry-run'], { LOG_LEVEL: 'debug' });
    expect(debug.stderr.split('\n')[0]).toMatch(LINE);
    expect(debug.stderr.split('\n')[1]).toContain('Error: ENOENT'); // the stack (fs errors carry no frames)
  });
});
