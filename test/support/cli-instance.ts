/**
 * One `urp-case-sync start` process (cli/main.ts through tsx), the way an operator or a container runs it, for
 * tests of the process lifecycle: signals, exit codes, shutdown timing. Its stdout lines and its JSON log lines
 * (stderr) are kept and can be awaited (no sleeps: every wait is on a line, an exit or a polled condition).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../kafka/embedded/free-port.js';
import { TEST_TOKEN } from './cluster.js';

const MAIN = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));

/** A line the process wrote: stdout text, or a stderr line with its JSON log record when it is one. */
export interface OutputLine {
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
  readonly log: Record<string, unknown> | undefined;
  /** Date.now() when the line was read. */
  readonly at: number;
}

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Date.now() when the process exited. */
  readonly at: number;
}

export class CliInstance {
  readonly lines: OutputLine[] = [];
  readonly exited: Promise<ProcessExit>;
  private readonly waiters = new Set<() => void>();
  private exitValue: ProcessExit | undefined;

  private constructor(
    readonly name: string,
    readonly env: Readonly<Record<string, string>>,
    readonly child: ChildProcess,
  ) {
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: child[stream]! }).on('line', (text) => {
        let log: Record<string, unknown> | undefined;
        try {
          const parsed: unknown = JSON.parse(text);
          if (parsed && typeof parsed === 'object') log = parsed as Record<string, unknown>;
        } catch {
          // plain text
        }
        this.lines.push({ stream, text, log, at: Date.now() });
        if (process.env.TEST_LOG_LEVEL) process.stderr.write(`[${name}] ${text}\n`);
        this.notify();
      });
    }
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        this.exitValue = { code, signal, at: Date.now() };
        resolve(this.exitValue);
        this.notify();
      }),
    );
  }

  /** Spawns `urp-case-sync start` with exactly `env` (plus PATH and HOME). */
  static start(name: string, env: Record<string, string>): CliInstance {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'start'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new CliInstance(name, env, child);
  }

  get url(): string {
    return this.env.ADVERTISED_URL!;
  }

  get exit(): ProcessExit | undefined {
    return this.exitValue;
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /**
   * Resolves with the first line (from index `from` on) matching `predicate`; rejects after `timeoutMs` or when
   * the process exits first, quoting the last lines.
   */
  waitForLine(
    predicate: (line: OutputLine) => boolean,
    what: string,
    opts: { timeoutMs?: number; from?: number } = {},
  ): Promise<OutputLine> {
    let next = opts.from ?? 0;
    return new Promise((resolve, reject) => {
      const finish = (err: Error | undefined, line?: OutputLine) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (err) reject(err);
        else resolve(line!);
      };
      const check = (): void => {
        for (; next < this.lines.length; next++) {
          const line = this.lines[next]!;
          if (predicate(line)) return finish(undefined, line);
        }
        if (this.exitValue)
          finish(
            new Error(
              `${this.name} exited (${JSON.stringify(this.exitValue)}) before ${what}\n${this.tail()}`,
            ),
          );
      };
      const timer = setTimeout(
        () => finish(new Error(`${this.name}: timed out waiting for ${what}\n${this.tail()}`)),
        opts.timeoutMs ?? 120_000,
      );
      this.waiters.add(check);
      check();
    });
  }

  /** Waits for a log record whose `msg` contains `text` and whose fields match `fields`. */
  waitForLog(
    text: string,
    fields: Record<string, unknown> = {},
    opts: { timeoutMs?: number; from?: number } = {},
  ): Promise<OutputLine> {
    return this.waitForLine(
      (l) =>
        l.log !== undefined &&
        String(l.log.msg ?? '').includes(text) &&
        Object.entries(fields).every(([k, v]) => l.log![k] === v),
      `log "${text}" ${JSON.stringify(fields)}`,
      opts,
    );
  }

  /** Resolves once the instance printed that it runs (it joined the group; tasks may still restore). */
  running(timeoutMs = 150_000): Promise<OutputLine> {
    return this.waitForLine((l) => l.stream === 'stdout' && / is running$/.test(l.text), 'is running', {
      timeoutMs,
    });
  }

  /** Polls GET /readyz until it answers 200 (all active tasks restored and running). */
  async ready(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await fetch(`${this.url}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) return;
      if (this.exitValue) throw new Error(`${this.name} exited before it was ready\n${this.tail()}`);
      if (Date.now() > deadline)
        throw new Error(`${this.name}: not ready after ${timeoutMs} ms\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 200)); // poll period of a condition wait
    }
  }

  /** Sends `signal`; returns Date.now() at the moment it was sent. */
  signal(signal: NodeJS.Signals): number {
    const at = Date.now();
    this.child.kill(signal);
    return at;
  }

  /** SIGKILL (cleanup). */
  async kill(): Promise<void> {
    if (this.exitValue) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** The last `n` lines, for failure messages. */
  tail(n = 40): string {
    return this.lines
      .slice(-n)
      .map((l) => `  [${this.name} ${l.stream}] ${l.text}`)
      .join('\n');
  }
}

/** Settings of an instance of application `app` with its own state directory and API port. */
export async function instanceEnv(
  app: string,
  name: string,
  brokers: readonly string[],
  extra: Record<string, string> = {},
): Promise<Record<string, string>> {
  const port = await freePort('127.0.0.1');
  const stateDir = await mkdtemp(join(tmpdir(), `usc-${name}-`));
  return {
    KAFKA_BROKERS: brokers.join(','),
    APPLICATION_ID: app,
    INSTANCE_ID: name,
    INPUT_TOPIC: `${app}-in`,
    OUTPUT_TOPIC: `${app}-out`,
    DLQ_TOPIC: `${app}-dlq`,
    PARTITIONS: '6',
    STATE_DIR: stateDir,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(port),
    ADVERTISED_URL: `http://127.0.0.1:${port}`,
    NUM_STANDBY_REPLICAS: '1',
    COMMIT_INTERVAL_MS: '100',
    SESSION_TIMEOUT_MS: '6000',
    REPLICATION_FACTOR: '1',
    API_TOKEN: TEST_TOKEN,
    LOG_LEVEL: 'info',
    ...extra,
  };
}
