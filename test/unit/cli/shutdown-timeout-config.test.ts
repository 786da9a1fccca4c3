/** SHUTDOWN_TIMEOUT_MS: a validated service-level setting (env or flag), 10 s by default. */
import { describe, expect, it } from 'vitest';
import { loadServiceConfig, parseFlags, rawSettings } from '../../../cli/config.js';
import { hasCode } from '../../../common/errors.js';

const load = (env: Record<string, string>, argv: string[] = []) =>
  loadServiceConfig(rawSettings(parseFlags(argv).flags, env));

describe('SHUTDOWN_TIMEOUT_MS', () => {
  it('defaults to 10 s and is read from the environment or a flag', () => {
    expect(load({}).shutdownTimeoutMs).toBe(10_000);
    expect(load({ SHUTDOWN_TIMEOUT_MS: '25000' }).shutdownTimeoutMs).toBe(25_000);
    expect(load({ SHUTDOWN_TIMEOUT_MS: '25000' }, ['--shutdown-timeout-ms', '3000']).shutdownTimeoutMs).toBe(
      3000,
    );
  });

  it.each(['0', '999', '600001', '10s', '-1'])('rejects %j', (raw) => {
    let error: unknown;
    try {
      load({ SHUTDOWN_TIMEOUT_MS: raw });
    } catch (err) {
      error = err;
    }
    expect(hasCode(error, 'USC_ERR_CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toContain(
      'SHUTDOWN_TIMEOUT_MS must be an integer between 1000 and 600000',
    );
  });
});
