/**
 * Parent side of child-process tests: spawns an instance (`node --import tsx <entry>`) with IPC, waits for its
 * events (no sleeps: every wait is on a message or a condition), sends it commands, kills it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ChildMessage {
  event: string;
  state?: string;
  id?: number;
  data?: unknown;
  error?: string;
}

export class InstanceHandle {
  private readonly listeners = new Set<(msg: ChildMessage) => void>();
  private nextId = 1;
  readonly states: string[] = [];
  fatal: string | undefined;
  exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.on('message', (msg: ChildMessage) => {
      if (msg.event === 'state' && msg.state) this.states.push(msg.state);
      if (msg.event === 'fatal') this.fatal = msg.error;
      for (const l of [...this.listeners]) l(msg);
    });
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** Resolves with the first message matching `predicate`; rejects after `timeoutMs` or if the child dies. */
  waitFor(
    predicate: (msg: ChildMessage) => boolean,
    timeoutMs = 120_000,
    what = 'message',
  ): Promise<ChildMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`${this.name}: timed out waiting for ${what}; fatal=${this.fatal ?? 'none'}`));
      }, timeoutMs);
      const listener = (msg: ChildMessage): void => {
        if (msg.event === 'fatal') {
          clearTimeout(timer);
          this.listeners.delete(listener);
          reject(new Error(`${this.name} failed: ${msg.error}`));
        } else if (predicate(msg)) {
          clearTimeout(timer);
          this.listeners.delete(listener);
          resolve(msg);
        }
      };
      this.listeners.add(listener);
    });
  }

  async request<T>(cmd: string, timeoutMs = 30_000): Promise<T> {
    const id = this.nextId++;
    const reply = this.waitFor((m) => m.event === 'reply' && m.id === id, timeoutMs, `reply to ${cmd}`);
    this.child.send({ cmd, id });
    return (await reply).data as T;
  }

  /** Polls `probe` (a command) until `accept` holds; each poll awaits a reply, no fixed sleeps. */
  async until<T>(cmd: string, accept: (data: T) => boolean, timeoutMs = 120_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const data = await this.request<T>(cmd);
      if (accept(data)) return data;
      if (Date.now() > deadline)
        throw new Error(`${this.name}: condition on ${cmd} not met: ${JSON.stringify(data)}`);
      await new Promise((r) => setTimeout(r, 100)); // poll interval of a condition wait, not a fixed sleep
    }
  }

  kill(): Promise<number | null> {
    this.child.kill('SIGKILL');
    return this.exited;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    await this.request('close', 60_000).catch(() => undefined);
    await this.exited;
  }
}

/** Starts a child instance running `entry` (path relative to this folder) with extra env. */
export function spawnInstance(name: string, entry: string, env: Record<string, string>): InstanceHandle {
  const file = fileURLToPath(new URL(entry, import.meta.url));
  const child = fork(file, [], {
    env: { ...process.env, ...env },
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new InstanceHandle(name, child);
}
