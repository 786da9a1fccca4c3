/**
 * The CLI as a process (no broker needed): usage errors and invalid configuration exit with code 2 and one clear
 * message listing every problem (never echoing secrets); `describe` prints the topology.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../../support/run-cli.js';

describe('urp-case-sync CLI', () => {
  it('prints usage and exits 2 without a command, 0 for --help', async () => {
    const none = await runCli([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toContain('usage: urp-case-sync <command>');
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('dlq replay');
  });

  it('rejects an unknown command, an unknown option and a missing selection with exit code 2', async () => {
    const cmd = await runCli(['frobnicate']);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain('unknown command "frobnicate"');
    const flag = await runCli(['describe', '--colour', 'red', '--dry-run']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('unknown option(s) for describe: --colour, --dry-run');
    const dlq = await runCli(['dlq', 'replay']);
    expect(dlq.code).toBe(2);
    expect(dlq.stderr).toContain('dlq replay needs a selection');
    const backfill = await runCli(['backfill']);
    expect(backfill.code).toBe(2);
    expect(backfill.stderr).toContain('backfill needs --file');
  });

  it('lists every configuration problem at once, exits 2 and never echoes the token', async () => {
    const res = await runCli(['describe', '--http-port', 'eighty'], {
      PROCESSING_GUARANTEE: 'maybe_once',
      API_TOKEN: 'short-secret',
      STATUS_MAPPING: '{"ARCHIVED": "GONE"}',
      CORRELATION_GRACE_MS: '-5',
      KAFKA_BROKERS: 'not a broker',
    });
    expect(res.code).toBe(2);
    for (const problem of [
      'HTTP_PORT must be an integer',
      'PROCESSING_GUARANTEE must be exactly_once or at_least_once',
      'API_TOKEN must be at least 16 characters',
      'STATUS_MAPPING',
      'CORRELATION_GRACE_MS',
      'KAFKA_BROKERS entry "not a broker" is not host:port',
    ]) {
      expect(res.stderr).toContain(problem);
    }
    expect(res.stderr).not.toContain('short-secret');
    expect(res.stderr).not.toMatch(/\n\s+at /); // a clear message, not a stack trace
  });

  it('describes the topology as text and as a Mermaid diagram', async () => {
    const text = await runCli(['describe'], { INPUT_TOPIC: 'in-events' });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('in-events');
    expect(text.stdout).toMatch(/Sub-topology: 0/i);
    const mermaid = await runCli(['describe', '--format', 'mermaid']);
    expect(mermaid.code).toBe(0);
    expect(mermaid.stdout).toMatch(/^(flowchart|graph) /m);
  });
});
