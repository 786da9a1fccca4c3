/**
 * Every failure the CLI prints is one line `urp-case-sync: USC_ERR_<CODE>: <message>` (usage errors: the usage
 * after it), without a stack trace; a broker that does not answer (a closed port, no broker needed for the test)
 * is reported by reset, backfill, send and dlq in seconds as USC_ERR_KAFKA_UNREACHABLE, without the Kafka client's lines.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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

  it('reports an unreachable broker as one coded line within seconds for every tool', async () => {
    const file = join(dir, 'export.jsonl');
    await writeFile(file, '');
    const event = join(dir, 'event.json');
    await writeFile(event, '{"eventId":"e1","payload":{"ucmCaseId":"U1"}}');
    const env = { KAFKA_BROKERS: '127.0.0.1:1', STATE_DIR: join(dir, 'state') };
    for (const args of [
      ['reset'],
      ['reset', '--dry-run'],
      ['backfill', '--file', file],
      ['send', '--example'],
      ['send', '--file', event],
      ['dlq', 'list'],
      ['dlq', 'show', '0:0'],
      ['dlq', 'replay', '--all'],
    ]) {
      const started = Date.now();
      const res = await runCli(args, env, 30_000);
      const what = `${args.join(' ')}: ${res.stderr}`;
      expect(res.code, what).toBe(1);
      expect(res.stderr.trim().split('\n'), what).toEqual([
        expect.stringMatching(
          /^urp-case-sync: USC_ERR_KAFKA_UNREACHABLE: no Kafka broker answered at 127\.0\.0\.1:1 within \d+ s; check KAFKA_BROKERS or start one with npm run kafka$/,
        ),
      ]);
      expect(res.stderr).not.toContain('kafkajs');
      expect(Date.now() - started, what).toBeLessThan(15_000);
    }
  }, 120_000); // eight CLI processes (each loads tsx) on a shared 2-core machine

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
