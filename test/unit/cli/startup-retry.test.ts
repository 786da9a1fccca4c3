/**
 * Startup retries (no broker): transient Kafka errors while an instance starts are retried with exponential
 * backoff (0.5 s doubling to 10 s) within a bounded total, each retry logged at warn; errors no retry can fix fail
 * at once. Time is a fake clock advanced by the fake sleep.
 */
import { describe, expect, it } from 'vitest';
import { UscError } from '../../../common/errors.js';
import { silentLogger } from '../../../common/logger.js';
import { isRetriableStartupError, retryStartup, type StartupRetryOptions } from '../../../cli/service.js';
import type { Logger } from '../../../common/logger.js';

/** An error shaped like the Kafka client's LibrdKafkaError (numeric librdkafka `code`, `isRetriable`, `cause`). */
const kafkaError = (code: number, message: string, fields: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(message), { name: 'LibrdKafkaError', code, errno: code, ...fields });
/** The broker's answer for a topic's metadata right after the topic was created. */
const notHosted = () => kafkaError(3, 'Broker: Unknown topic or partition');
/** An error that wraps the Kafka client's error of the last attempt (not a UscError: that decides by itself). */
const kafkaErrorCause = (cause: Error) => new Error(`gave up: ${cause.message}`, { cause });
const saslFailed = () =>
  kafkaError(-169, 'Local: Authentication failure: SASL authentication error: Authentication failed');

function fakeTime(): StartupRetryOptions & { delays: number[] } {
  let now = 0;
  const delays: number[] = [];
  return {
    delays,
    clock: () => now,
    sleep: async (ms) => {
      delays.push(ms);
      now += ms;
    },
  };
}

function recordingLogger(): Logger & { lines: { level: string; obj: object; msg?: string }[] } {
  const lines: { level: string; obj: object; msg?: string }[] = [];
  const at =
    (level: string) =>
    (obj: object, msg?: string): void =>
      void lines.push({ level, obj, msg });
  const logger: Logger & { lines: typeof lines } = {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger;
}

/** An attempt that throws `errors` in turn, then returns 'started'. */
function failing(errors: unknown[]): { attempt: (n: number) => Promise<string>; calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    attempt: async (n) => {
      calls.push(n);
      if (errors.length > 0) throw errors.shift();
      return 'started';
    },
  };
}

describe('isRetriableStartupError', () => {
  it.each([
    ['a topic-partition the broker does not host yet', notHosted(), true],
    ['the same wrapped by an operation that gave up', kafkaErrorCause(notHosted()), true],
    ['connection refused', kafkaError(-195, 'Local: Broker transport failure: Connection refused'), true],
    ['a request that timed out', kafkaError(-185, 'Local: Timed out'), true],
    [
      'a UscError marked retriable',
      new UscError('USC_ERR_KAFKA_TOPIC_MISMATCH', 'not yet', { retriable: true }),
      true,
    ],
    ['a locked state directory', new UscError('USC_ERR_STATE_DIR_LOCKED', 'locked'), false],
    ['missing source topics', new UscError('USC_ERR_TOPOLOGY_INVALID', 'missing topics'), false],
    ['SASL authentication', saslFailed(), false],
    ['SASL authentication wrapped by an operation that gave up', kafkaErrorCause(saslFailed()), false],
    ['topic authorization', kafkaError(29, 'Broker: Topic authorization failed'), false],
    ['an unknown bug', new TypeError('x is undefined'), false],
  ])('%s -> %s', (_what, err, retriable) => {
    expect(isRetriableStartupError(err)).toBe(retriable);
  });
});

describe('retryStartup', () => {
  it('retries retriable errors with backoff doubling from 0.5 s to 10 s, logging each retry at warn', async () => {
    const time = fakeTime();
    const logger = recordingLogger();
    const { attempt, calls } = failing(Array.from({ length: 7 }, notHosted));
    expect(await retryStartup('starting the streams instance', attempt, logger, time)).toBe('started');
    expect(calls).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(time.delays).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    const warns = logger.lines.filter((l) => l.level === 'warn');
    expect(warns).toHaveLength(7);
    expect(warns[2]!.obj).toMatchObject({ attempt: 3, delayMs: 2000 });
    expect(warns[2]!.obj).toHaveProperty('err', expect.stringContaining('Unknown topic or partition'));
    expect(warns[2]!.msg).toBe(
      'starting the streams instance failed with a retriable error; retrying in 2000 ms',
    );
  });

  it('fails at once, without retrying, on errors no retry can fix', async () => {
    for (const err of [
      new UscError('USC_ERR_STATE_DIR_LOCKED', 'locked by instance a'),
      new UscError('USC_ERR_TOPOLOGY_INVALID', 'source topics missing'),
      saslFailed(),
    ]) {
      const time = fakeTime();
      const { attempt, calls } = failing([err]);
      await expect(retryStartup('start', attempt, silentLogger, time)).rejects.toBe(err);
      expect(calls).toEqual([1]);
      expect(time.delays).toEqual([]);
    }
  });

  it('gives up after the total budget with the last error, logged at error', async () => {
    const time = fakeTime();
    const logger = recordingLogger();
    const errors = Array.from({ length: 100 }, notHosted);
    const last = errors[5];
    const { attempt, calls } = failing(errors);
    await expect(retryStartup('start', attempt, logger, { ...time, maxTotalMs: 20_000 })).rejects.toBe(last);
    // 0.5 + 1 + 2 + 4 + 8 = 15.5 s waited; the next 10 s would pass 20 s.
    expect(time.delays).toEqual([500, 1000, 2000, 4000, 8000]);
    expect(calls).toHaveLength(6);
    expect(logger.lines.at(-1)).toMatchObject({ level: 'error', obj: { attempt: 6, elapsedMs: 15_500 } });
  });

  it('a failure after a retriable one still fails at once', async () => {
    const time = fakeTime();
    const locked = new UscError('USC_ERR_STATE_DIR_LOCKED', 'locked');
    const { attempt, calls } = failing([notHosted(), locked]);
    await expect(retryStartup('start', attempt, silentLogger, time)).rejects.toBe(locked);
    expect(calls).toEqual([1, 2]);
  });

  it('stops retrying as soon as its signal aborts (a shutdown during startup)', async () => {
    const controller = new AbortController();
    const time = fakeTime();
    const errors = Array.from({ length: 10 }, notHosted);
    const second = errors[1];
    const { attempt, calls } = failing(errors);
    const sleep: StartupRetryOptions['sleep'] = async (ms, signal) => {
      await time.sleep!(ms, signal);
      if (time.delays.length === 2) controller.abort();
    };
    await expect(
      retryStartup('start', attempt, silentLogger, { ...time, sleep, signal: controller.signal }),
    ).rejects.toBe(second);
    expect(calls).toEqual([1, 2]);
  });

  it('waits for real with the default sleep and wakes early on abort', async () => {
    const controller = new AbortController();
    const { attempt, calls } = failing([notHosted(), notHosted()]);
    const started = Date.now();
    const run = retryStartup('start', attempt, silentLogger, {
      initialDelayMs: 60_000,
      signal: controller.signal,
    });
    await expect.poll(() => calls.length).toBe(1);
    controller.abort();
    await expect(run).rejects.toThrow('Unknown topic or partition');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
