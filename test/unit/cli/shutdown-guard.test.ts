/**
 * The bounded shutdown of `urp-case-sync start` (no broker, fake timers, a fake process): the first signal starts
 * a graceful stop, a stop that outlives SHUTDOWN_TIMEOUT_MS exits with code 1 naming what it abandoned, a second
 * signal exits at once with 130 (SIGINT) or 143 (SIGTERM).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ShutdownGuard, signalExitCode, type ProcessControl } from '../../../cli/start-command.js';
import type { Logger } from '../../../topology/processor.js';

interface FakeProcess extends ProcessControl {
  readonly exits: number[];
  send(signal: NodeJS.Signals): void;
}

function fakeProcess(): FakeProcess {
  const listeners: ((signal: NodeJS.Signals) => void)[] = [];
  const exits: number[] = [];
  return {
    exits,
    onSignal: (listener) => void listeners.push(listener),
    exit: async (code) => void exits.push(code),
    send: (signal) => listeners.forEach((l) => l(signal)),
  };
}

function recordingLogger(): Logger & {
  lines: { level: string; obj: Record<string, unknown>; msg: string }[];
} {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) =>
    void lines.push({ level, obj: obj as Record<string, unknown>, msg: msg ?? '' });
  const logger = { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { ...logger, child: () => logger as unknown as Logger };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ShutdownGuard', () => {
  it('exits with code 1 once SHUTDOWN_TIMEOUT_MS has passed, naming the step it abandoned', async () => {
    const proc = fakeProcess();
    const logger = recordingLogger();
    const guard = new ShutdownGuard({
      timeoutMs: 10_000,
      logger,
      control: proc,
      describe: () => ({ streamsState: 'rebalancing', activeTasks: { restoring: 3 } }),
    });
    proc.send('SIGTERM');
    expect(await guard.requested).toEqual({ kind: 'signal', signal: 'SIGTERM' });
    expect(guard.signal.aborted).toBe(true);
    guard.step('closing the streams instance (committing tasks, leaving the group)');
    await vi.advanceTimersByTimeAsync(9_999);
    expect(proc.exits).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(proc.exits).toEqual([1]);
    const line = logger.lines.find((l) => l.level === 'error')!;
    expect(line.msg).toContain('shutdown timed out after 10000 ms while closing the streams instance');
    expect(line.msg).toContain('uncommitted work is discarded, committed state is safe');
    expect(line.obj).toMatchObject({
      abandoned: 'closing the streams instance (committing tasks, leaving the group)',
      streamsState: 'rebalancing',
      activeTasks: { restoring: 3 },
    });
  });

  it('does not exit when the stop finishes in time', async () => {
    const proc = fakeProcess();
    const guard = new ShutdownGuard({ timeoutMs: 10_000, logger: recordingLogger(), control: proc });
    proc.send('SIGINT');
    guard.dispose();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(proc.exits).toEqual([]);
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('exits at once on a second signal (%s -> %i), logged', async (signal, code) => {
    const proc = fakeProcess();
    const logger = recordingLogger();
    new ShutdownGuard({ timeoutMs: 600_000, logger, control: proc }).step('closing the API');
    proc.send('SIGTERM');
    expect(proc.exits).toEqual([]);
    proc.send(signal);
    expect(proc.exits).toEqual([code]);
    expect(logger.lines.at(-1)).toMatchObject({
      level: 'warn',
      obj: { signal, code, abandoned: 'closing the API' },
      msg: expect.stringContaining(`second ${signal}: exiting at once with code ${code}`),
    });
  });

  it('a failure starts the bounded stop; the first signal during it is logged, the second exits', async () => {
    const proc = fakeProcess();
    const logger = recordingLogger();
    const guard = new ShutdownGuard({ timeoutMs: 10_000, logger, control: proc });
    guard.begin({ kind: 'failed' });
    guard.begin({ kind: 'signal', signal: 'SIGTERM' }); // only the first reason counts
    expect(await guard.requested).toEqual({ kind: 'failed' });
    proc.send('SIGTERM');
    expect(proc.exits).toEqual([]);
    expect(logger.lines.at(-1)!.msg).toContain('already shutting down');
    proc.send('SIGTERM');
    expect(proc.exits).toEqual([143]);
  });

  it('maps signals to 128 + their number', () => {
    expect(signalExitCode('SIGINT')).toBe(130);
    expect(signalExitCode('SIGTERM')).toBe(143);
  });
});
