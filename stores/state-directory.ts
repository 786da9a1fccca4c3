/**
 * The state directory of one application on one machine: `<stateDir>/<applicationId>/<taskId>/<store>/`. An
 * instance holds an exclusive lock file on it for its lifetime, so two instances never share (and corrupt) local
 * state: the second fails fast with USC_ERR_STATE_DIR_LOCKED naming the directory and the holder.
 *
 * The lock file records the holder's pid, its start time and the boot it ran in, so a lock left behind by a killed
 * process is recognised even when the pid has been reused (a container's PID 1 restarted after SIGKILL or OOM
 * finds its own pid in the lock): see {@link judgeLock}. A stale lock is taken over (logged with the reason).
 */
import { readFileSync } from 'node:fs';
import { link, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { UscError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';

const LOCK_FILE = '.lock';

/** Lock files taken by this process and not yet released (resolved paths): a second lock of one is refused. */
const heldByThisProcess = new Set<string>();

/** What a lock file says about its holder. Fields other than `pid` are absent in locks of older versions. */
export interface LockHolder {
  readonly pid: number;
  /** Start time of the holder process (Linux: field 22 of /proc/<pid>/stat, clock ticks since boot). */
  readonly startTime?: string;
  /** The boot the holder ran in (Linux: /proc/sys/kernel/random/boot_id). */
  readonly bootId?: string;
  readonly instanceId?: string;
  readonly since?: string;
}

/**
 * How this machine tells processes apart. {@link systemProcesses} reads the real system; tests inject their own.
 * Where start times or boot ids are unknown (not Linux) the lock falls back to pid liveness.
 */
export interface ProcessIdentity {
  /** This process's pid. */
  readonly pid: number;
  /** True if a process with this pid exists (one of another user counts). */
  isAlive(pid: number): boolean;
  /** Start time of the live process `pid` as recorded in {@link LockHolder.startTime}; undefined if unknown. */
  startTime(pid: number): string | undefined;
  /** Id of the current boot; undefined if unknown. */
  bootId(): string | undefined;
}

/** Why a lock is stale (its holder cannot be running), or that it is not. */
export type LockVerdict =
  | { readonly stale: false }
  | {
      readonly stale: true;
      /**
       * `unreadable`: no pid in the file; `other-boot`: written before the machine rebooted; `own-pid`: names
       * this process, which has not taken it (a previous incarnation with the same pid); `process-gone`: no such
       * process; `pid-reused`: a process with that pid runs but started at another time.
       */
      readonly reason: 'unreadable' | 'other-boot' | 'own-pid' | 'process-gone' | 'pid-reused';
    };

function readProcStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) is parenthesised and may contain spaces or ')'; the fields after it start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = fields[22 - 3];
    return start !== undefined && /^\d+$/.test(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The real system: `kill(pid, 0)` for liveness; /proc for start times and the boot id on Linux. */
export const systemProcesses: ProcessIdentity = {
  get pid() {
    return process.pid;
  },
  isAlive(pid) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  },
  startTime: (pid) => (process.platform === 'linux' ? readProcStartTime(pid) : undefined),
  bootId: () => (process.platform === 'linux' ? readBootId() : undefined),
};

/**
 * Decides whether the holder named in a lock file can still be running. Stale when: the file names no pid; it
 * was written in another boot; it names this process's pid (this process has not taken it, so a previous
 * incarnation did: the caller must refuse locks this process holds before asking); no process has the pid; or the
 * live process with the pid started at another time than the one recorded. Otherwise the holder is live.
 */
export function judgeLock(holder: Partial<LockHolder> | undefined, processes: ProcessIdentity): LockVerdict {
  const pid = holder?.pid;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0)
    return { stale: true, reason: 'unreadable' };
  const bootId = processes.bootId();
  if (holder?.bootId !== undefined && bootId !== undefined && holder.bootId !== bootId)
    return { stale: true, reason: 'other-boot' };
  if (pid === processes.pid) return { stale: true, reason: 'own-pid' };
  if (!processes.isAlive(pid)) return { stale: true, reason: 'process-gone' };
  if (holder?.startTime !== undefined) {
    const live = processes.startTime(pid);
    if (live !== undefined && live !== holder.startTime) return { stale: true, reason: 'pid-reused' };
  }
  return { stale: false };
}

/** The lock file's holder (undefined when the file is unparseable), or `gone` when the file no longer exists. */
async function readHolder(lockPath: string): Promise<Partial<LockHolder> | undefined | 'gone'> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' ? (parsed as Partial<LockHolder>) : undefined;
  } catch {
    return undefined;
  }
}

/** Creates `lockPath` with `content` atomically (never visible empty); false if it exists already. */
async function createLockFile(lockPath: string, content: string): Promise<boolean> {
  const temp = `${lockPath}.${randomUUID()}.tmp`;
  await writeFile(temp, content);
  try {
    await link(temp, lockPath);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(temp, { force: true });
  }
}

/** A task directory's name: `<sub-topology>_<partition>`. */
const TASK_DIR = /^(\d+)_(\d+)$/;

/** Names of the directories in `dir` (none if it does not exist). */
async function directories(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

export class StateDirectory {
  private released = false;

  private constructor(
    /** `<stateDir>/<applicationId>`. */
    readonly root: string,
    private readonly lockPath: string,
  ) {}

  /**
   * Creates the directory and takes its lock. Throws USC_ERR_STATE_DIR_LOCKED if a live process holds it (give
   * each instance its own STATE_DIR), including this process itself (release the first lock before locking
   * again). A stale lock ({@link judgeLock}) is taken over and logged at warn.
   */
  static async lock(
    stateDir: string,
    applicationId: string,
    opts: { instanceId: string; logger: Logger; processes?: ProcessIdentity },
  ): Promise<StateDirectory> {
    const processes = opts.processes ?? systemProcesses;
    const root = path.join(stateDir, applicationId);
    const lockPath = path.join(root, LOCK_FILE);
    const key = path.resolve(lockPath);
    if (heldByThisProcess.has(key)) {
      throw new UscError(
        'USC_ERR_STATE_DIR_LOCKED',
        `state directory ${root} is already locked by this process (pid ${processes.pid}); release it first`,
        { details: { root, pid: processes.pid } },
      );
    }
    // Reserved before the first await, so a concurrent lock() in this process is refused above.
    heldByThisProcess.add(key);
    try {
      await mkdir(root, { recursive: true });
      const record: LockHolder = {
        pid: processes.pid,
        startTime: processes.startTime(processes.pid),
        bootId: processes.bootId(),
        instanceId: opts.instanceId,
        since: new Date().toISOString(),
      };
      for (let attempt = 0; attempt < 3; attempt++) {
        if (await createLockFile(lockPath, JSON.stringify(record))) return new StateDirectory(root, lockPath);
        const holder = await readHolder(lockPath);
        if (holder === 'gone') continue; // released between our attempt and the read: try again
        const verdict = judgeLock(holder, processes);
        if (!verdict.stale) {
          throw new UscError(
            'USC_ERR_STATE_DIR_LOCKED',
            `state directory ${root} is locked by instance ${holder?.instanceId ?? '?'} (pid ${holder?.pid}); give each instance its own STATE_DIR`,
            { details: { root, pid: holder?.pid, startTime: holder?.startTime } },
          );
        }
        opts.logger.warn(
          { root, holder, reason: verdict.reason },
          'taking over a stale state directory lock (its holder is no longer running); local state is kept',
        );
        await rm(lockPath, { force: true });
      }
      throw new UscError('USC_ERR_STATE_DIR_LOCKED', `could not lock state directory ${root}`, {
        details: { root },
      });
    } catch (err) {
      heldByThisProcess.delete(key);
      throw err;
    }
  }

  /**
   * Deletes local state no task of this topology can use again: the directories of tasks whose sub-topology it
   * does not have (an upgrade that changed the topology), and, in the others, the directories of stores their
   * sub-topology no longer has. `stores` maps each sub-topology id to its store names. Anything else (other files,
   * names that are not task ids) is left alone. Returns what was deleted, relative to the root (each logged).
   */
  async removeObsolete(stores: ReadonlyMap<number, ReadonlySet<string>>, logger: Logger): Promise<string[]> {
    const removed: string[] = [];
    const remove = async (relative: string, why: string): Promise<void> => {
      await rm(path.join(this.root, relative), { recursive: true, force: true });
      removed.push(relative);
      logger.info(
        { directory: path.join(this.root, relative) },
        `removed obsolete local state ${relative}: ${why}`,
      );
    };
    for (const task of await directories(this.root)) {
      const m = TASK_DIR.exec(task);
      if (!m) continue;
      const expected = stores.get(Number(m[1]));
      if (!expected) {
        await remove(task, `this topology has no sub-topology ${m[1]}`);
        continue;
      }
      for (const store of await directories(path.join(this.root, task))) {
        if (!expected.has(store))
          await remove(path.join(task, store), `sub-topology ${m[1]} has no store ${store}`);
      }
    }
    return removed;
  }

  /** Releases the lock. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      await rm(this.lockPath, { force: true });
    } finally {
      heldByThisProcess.delete(path.resolve(this.lockPath));
    }
  }
}
