/**
 * Operator-facing logging: the LOG_FORMAT choice (JSON unless a terminal or `pretty`; pino-pretty loaded only for
 * pretty; redaction before either format), the one-line task summaries, and restore progress every 5 s (fake
 * timer and clock: no sleeps).
 */
import { stripVTControlCharacters } from 'node:util';
import { prettyFactory } from 'pino-pretty';
import { describe, expect, it } from 'vitest';
import { createLogger, resolveLogFormat } from '../../../common/logger.js';
import {
  RestoreProgress,
  restoreProgress,
  type ProgressTimer,
} from '../../../topology/internal/runtime/state-restorer.js';
import { describeTaskIds } from '../../../topology/internal/runtime/task-manager.js';
import { captureLogger } from '../processors/capture-logger.js';

function sink() {
  const lines: string[] = [];
  return { lines, write: (line: string) => void lines.push(line) };
}

describe('LOG_FORMAT', () => {
  it('auto is pretty on a terminal and JSON otherwise; json and pretty are what they say', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
  });

  it('writes JSON lines without loading pino-pretty when JSON is chosen', () => {
    const out = sink();
    let loaded = 0;
    const loadPretty = () => {
      loaded++;
      return prettyFactory as never;
    };
    const logger = createLogger(
      'info',
      { command: 'start' },
      { format: 'auto', isTerminal: false, destination: out, loadPretty },
    );
    logger.info({ partitions: 3 }, 'hello');
    createLogger('info', {}, { format: 'json', isTerminal: true, destination: out, loadPretty }).info(
      {},
      'again',
    );
    expect(loaded).toBe(0);
    expect(out.lines).toHaveLength(2);
    expect(JSON.parse(out.lines[0]!)).toMatchObject({
      level: 30,
      msg: 'hello',
      partitions: 3,
      command: 'start',
    });
  });

  it('renders human-readable lines with pino-pretty when pretty is chosen, secrets still redacted', () => {
    const out = sink();
    let loaded = 0;
    const logger = createLogger(
      'info',
      {},
      {
        format: 'auto',
        isTerminal: true,
        destination: out,
        loadPretty: () => {
          loaded++;
          return prettyFactory as never;
        },
      },
    );
    logger.info(
      { password: 'hunter2-secret', auth: { token: 'tok-secret' }, store: 'cases' },
      'service started',
    );
    expect(loaded).toBe(1);
    expect(out.lines).toHaveLength(1);
    const line = stripVTControlCharacters(out.lines[0]!);
    expect(line).toContain('INFO');
    expect(line).toContain('service started');
    expect(line).not.toMatch(/^\{/);
    expect(line).not.toContain('hunter2-secret');
    expect(line).not.toContain('tok-secret');
    expect(line).toContain('[Redacted]');
  });

  it('loads the real pino-pretty lazily for LOG_FORMAT=pretty', () => {
    const out = sink();
    createLogger('info', {}, { format: 'pretty', isTerminal: false, destination: out }).warn(
      { n: 1 },
      'careful',
    );
    expect(out.lines.join('')).toContain('WARN');
    expect(out.lines.join('')).toContain('careful');
  });
});

describe('task summaries', () => {
  it('lists task ids in ranges per subtopology', () => {
    const ids = [...[0, 1, 2].flatMap((s) => Array.from({ length: 12 }, (_, p) => `${s}_${p}`))].reverse();
    expect(describeTaskIds(ids)).toBe('0_0..0_11, 1_0..1_11, 2_0..2_11');
    expect(describeTaskIds(['1_3', '0_2', '1_4', '1_7'])).toBe('0_2, 1_3..1_4, 1_7');
    expect(describeTaskIds([])).toBe('(none)');
  });
});

describe('restore progress', () => {
  function fakeTimer() {
    const timer = {
      fn: undefined as (() => void) | undefined,
      everyMs: 0,
      cleared: false,
      setInterval(fn: () => void, ms: number) {
        timer.fn = fn;
        timer.everyMs = ms;
        return 1;
      },
      clearInterval() {
        timer.cleared = true;
      },
    };
    return timer satisfies ProgressTimer;
  }

  it('sums restored records and remaining offsets per store', () => {
    expect(
      restoreProgress(
        [
          { store: 'cases', position: 100n, end: 400n },
          { store: 'cases', position: 50n, end: 50n },
          { store: 'case-history', position: 0n, end: 1000n },
        ],
        new Map([['cases', 150]]),
      ),
    ).toEqual([
      { store: 'case-history', restored: 0, remaining: 1000 },
      { store: 'cases', restored: 150, remaining: 300 },
    ]);
  });

  it('reports at info every 5 s, per store, until stopped', () => {
    const log = captureLogger();
    const timer = fakeTimer();
    let now = 1_000_000;
    let state = [
      { store: 'cases', restored: 0, remaining: 9000 },
      { store: 'case-history', restored: 0, remaining: 12000 },
    ];
    const progress = new RestoreProgress(() => state, log, { now: () => now, timer }).start();
    expect(timer.everyMs).toBe(5_000);
    expect(log.lines).toHaveLength(0); // nothing before the first interval
    now += 5_000;
    state = [
      { store: 'cases', restored: 4000, remaining: 5000 },
      { store: 'case-history', restored: 3000, remaining: 9000 },
    ];
    timer.fn!();
    now += 5_000;
    state = [
      { store: 'cases', restored: 9000, remaining: 0 },
      { store: 'case-history', restored: 7000, remaining: 5000 },
    ];
    timer.fn!();
    progress.stop();
    expect(timer.cleared).toBe(true);
    const lines = log.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 'info',
      elapsedS: 5,
      restored: 7000,
      remaining: 14000,
      stores: {
        cases: { restored: 4000, remaining: 5000 },
        'case-history': { restored: 3000, remaining: 9000 },
      },
      msg: 'restoring state stores (5 s): cases 4000 restored, 5000 remaining; case-history 3000 restored, 9000 remaining',
    });
    expect(lines[1]).toMatchObject({ elapsedS: 10, restored: 16000, remaining: 5000 });
  });
});
