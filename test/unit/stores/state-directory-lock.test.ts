/**
 * The state-directory lock across process restarts: a lock is judged by pid, process start time and boot id, so
 * a restarted container's PID 1 that finds its own pid in the lock takes it over, while a live other holder is
 * still refused. Start times and the boot id are read from the real /proc here (Linux), independently of the code
 * under test; the non-Linux fallback (pid liveness only) runs on an injected process view.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hasCode } from '../../../common/errors.js';
import { silentLogger } from '../../../common/logger.js';
import type { Logger } from '../../../topology/processor.js';
import { StateDirectory, type ProcessIdentity } from '../../../stores/state-directory.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await once(c, 'exit');
    }
  }
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function appDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'usc-lock-'));
  dirs.push(d);
  await mkdir(path.join(d, 'app'));
  return d;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), parsed here independently. */
function procStartTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}
const bootId = (): string => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

async function sleeper(): Promise<number> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(child);
  await once(child, 'spawn');
  return child.pid!;
}

const writeLock = (dir: string, holder: Record<string, unknown>) =>
  writeFile(path.join(dir, 'app', '.lock'), JSON.stringify({ instanceId: 'previous', ...holder }));
const readLock = async (dir: string) =>
  JSON.parse(await readFile(path.join(dir, 'app', '.lock'), 'utf8')) as Record<string, unknown>;

/** A logger that keeps the takeover warnings. */
function recordingLogger(): Logger & { warnings: Record<string, unknown>[] } {
  const warnings: Record<string, unknown>[] = [];
  const logger = { ...silentLogger, warnings, warn: (obj: object) => void warnings.push({ ...obj }) };
  return { ...logger, child: () => logger };
}

async function lockError(dir: string): Promise<unknown> {
  return StateDirectory.lock(dir, 'app', { instanceId: 'me', logger: silentLogger }).then(
    async (lock) => {
      await lock.release();
      return undefined;
    },
    (err: unknown) => err,
  );
}

describe('StateDirectory lock across restarts (Linux /proc)', () => {
  it('records pid, process start time and boot id in the lock file', async () => {
    const dir = await appDir();
    const lock = await StateDirectory.lock(dir, 'app', { instanceId: 'me', logger: silentLogger });
    expect(await readLock(dir)).toMatchObject({
      pid: process.pid,
      startTime: procStartTime(process.pid),
      bootId: bootId(),
      instanceId: 'me',
    });
    expect((await readdir(path.join(dir, 'app'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await lock.release();
  });

  it('takes over a lock naming its own pid (a previous incarnation: PID 1 after SIGKILL or OOM)', async () => {
    const dir = await appDir();
    // Even the same start time: this process has not taken the lock, so an earlier process with our pid did.
    await writeLock(dir, { pid: process.pid, startTime: procStartTime(process.pid), bootId: bootId() });
    const logger = recordingLogger();
    const lock = await StateDirectory.lock(dir, 'app', { instanceId: 'me', logger });
    expect(logger.warnings).toEqual([expect.objectContaining({ reason: 'own-pid' })]);
    expect(await readLock(dir)).toMatchObject({ pid: process.pid, instanceId: 'me' });
    await lock.release();
  });

  it('refuses a lock held by a live other process with the recorded start time', async () => {
    const dir = await appDir();
    const pid = await sleeper();
    await writeLock(dir, { pid, startTime: procStartTime(pid), bootId: bootId(), instanceId: 'other' });
    const err = await lockError(dir);
    expect(hasCode(err, 'USC_ERR_STATE_DIR_LOCKED')).toBe(true);
    expect((err as Error).message).toContain(`instance other (pid ${pid})`);
    expect(await readLock(dir)).toMatchObject({ pid, instanceId: 'other' }); // untouched
  });

  it('takes over a lock whose pid now belongs to a process that started at another time (pid reused)', async () => {
    const dir = await appDir();
    const pid = await sleeper();
    const other = String(BigInt(procStartTime(pid)) + 1n);
    await writeLock(dir, { pid, startTime: other, bootId: bootId() });
    const logger = recordingLogger();
    const lock = await StateDirectory.lock(dir, 'app', { instanceId: 'me', logger });
    expect(logger.warnings).toEqual([expect.objectContaining({ reason: 'pid-reused' })]);
    await lock.release();
  });

  it('takes over a lock written in another boot even if its pid and start time match a live process', async () => {
    const dir = await appDir();
    const pid = await sleeper();
    await writeLock(dir, { pid, startTime: procStartTime(pid), bootId: 'a-boot-before-the-last-reboot' });
    const logger = recordingLogger();
    const lock = await StateDirectory.lock(dir, 'app', { instanceId: 'me', logger });
    expect(logger.warnings).toEqual([expect.objectContaining({ reason: 'other-boot' })]);
    await lock.release();
  });

  it('takes over a lock whose process is gone and one that cannot be parsed', async () => {
    const dir = await appDir();
    const child = spawn('true', [], { stdio: 'ignore' });
    await once(child, 'exit');
    await writeLock(dir, { pid: child.pid, startTime: '1', bootId: bootId() });
    const logger = recordingLogger();
    const first = await StateDirectory.lock(dir, 'app', { instanceId: 'me', logger });
    await first.release();
    await writeFile(path.join(dir, 'app', '.lock'), '');
    const second = await StateDirectory.lock(dir, 'app', { instanceId: 'me', logger });
    await second.release();
    expect(logger.warnings.map((w) => w.reason)).toEqual(['process-gone', 'unreadable']);
  });

  it('refuses a second lock of the same directory by this process, until the first is released', async () => {
    const dir = await appDir();
    const first = await StateDirectory.lock(dir, 'app', { instanceId: 'me', logger: silentLogger });
    const err = await lockError(dir);
    expect(hasCode(err, 'USC_ERR_STATE_DIR_LOCKED')).toBe(true);
    expect((err as Error).message).toContain(`already locked by this process (pid ${process.pid})`);
    // The same directory named another way is the same lock.
    const viaDots = await StateDirectory.lock(path.join(dir, '.', 'x', '..'), 'app', {
      instanceId: 'me',
      logger: silentLogger,
    }).catch((e: unknown) => e);
    expect(hasCode(viaDots, 'USC_ERR_STATE_DIR_LOCKED')).toBe(true);
    await first.release();
    expect(await lockError(dir)).toBeUndefined();
  });

  it('lets exactly one of two concurrent locks in this process win', async () => {
    const dir = await appDir();
    const results = await Promise.allSettled([
      StateDirectory.lock(dir, 'app', { instanceId: 'a', logger: silentLogger }),
      StateDirectory.lock(dir, 'app', { instanceId: 'b', logger: silentLogger }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected');
    expect(hasCode(lost?.reason, 'USC_ERR_STATE_DIR_LOCKED')).toBe(true);
    await won[0]!.value.release();
  });
});

describe('StateDirectory lock without start times or boot ids (not Linux)', () => {
  const alive = new Set([4242]);
  const processes: ProcessIdentity = {
    pid: 1,
    isAlive: (pid) => pid === 1 || alive.has(pid),
    startTime: () => undefined,
    bootId: () => undefined,
  };
  const lock = (dir: string) =>
    StateDirectory.lock(dir, 'app', { instanceId: 'me', logger: silentLogger, processes });

  it('falls back to pid liveness: a live holder is refused, a gone one and its own pid are taken over', async () => {
    const dir = await appDir();
    await writeLock(dir, { pid: 4242, instanceId: 'other' });
    expect(hasCode(await lock(dir).catch((e: unknown) => e), 'USC_ERR_STATE_DIR_LOCKED')).toBe(true);
    await writeLock(dir, { pid: 4343 });
    await (await lock(dir)).release();
    await writeLock(dir, { pid: 1 });
    const own = await lock(dir);
    expect(await readLock(dir)).toEqual(expect.objectContaining({ pid: 1, instanceId: 'me' }));
    expect(await readLock(dir)).not.toHaveProperty('startTime');
    await own.release();
  });
});
