/**
 * The state directory of one application on one machine: `<stateDir>/<applicationId>/<taskId>/<store>/`. An
 * instance holds an exclusive lock file on it for its lifetime, so two instances never share (and corrupt) local
 * state: the second fails fast with USC_ERR_STATE_DIR_LOCKED naming the directory and the holder. A lock left by
 * a process that no longer exists is taken over (logged).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { UscError } from '../common/errors.js';
import type { Logger } from '../topology/processor.js';
import { CHECKPOINT_FILE } from './internal/leveldb-backend.js';

const LOCK_FILE = '.lock';
const TASK_DIR = /^\d+_\d+$/;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class StateDirectory {
  private released = false;

  private constructor(
    /** `<stateDir>/<applicationId>`. */
    readonly root: string,
    private readonly lockPath: string,
  ) {}

  /** Creates the directory and takes its lock. Throws USC_ERR_STATE_DIR_LOCKED if a live process holds it. */
  static async lock(
    stateDir: string,
    applicationId: string,
    opts: { instanceId: string; logger: Logger },
  ): Promise<StateDirectory> {
    const root = path.join(stateDir, applicationId);
    await mkdir(root, { recursive: true });
    const lockPath = path.join(root, LOCK_FILE);
    const content = JSON.stringify({
      pid: process.pid,
      instanceId: opts.instanceId,
      since: new Date().toISOString(),
    });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(lockPath, 'wx');
        await handle.writeFile(content);
        await handle.close();
        return new StateDirectory(root, lockPath);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = await readFile(lockPath, 'utf8')
        .then((t) => JSON.parse(t) as { pid?: number; instanceId?: string })
        .catch(() => ({}) as { pid?: number; instanceId?: string });
      if (typeof holder.pid === 'number' && processAlive(holder.pid)) {
        throw new UscError(
          'USC_ERR_STATE_DIR_LOCKED',
          `state directory ${root} is locked by instance ${holder.instanceId ?? '?'} (pid ${holder.pid}); give each instance its own STATE_DIR`,
          { details: { root, pid: holder.pid } },
        );
      }
      opts.logger.warn({ root, holder }, 'taking over a stale state directory lock (its process is gone)');
      await rm(lockPath, { force: true });
    }
    throw new UscError('USC_ERR_STATE_DIR_LOCKED', `could not lock state directory ${root}`);
  }

  /** Task ids that have local state. */
  taskIds(): string[] {
    try {
      return readdirSync(this.root, { withFileTypes: true })
        .filter((d) => d.isDirectory() && TASK_DIR.test(d.name))
        .map((d) => d.name);
    } catch {
      return [];
    }
  }

  /**
   * Per task with local state: the sum of its stores' checkpoints (changelog offsets), as a decimal string. Read
   * synchronously (the assignor's subscription callback is synchronous) from the checkpoint mirrors.
   */
  checkpointSums(): Map<string, string> {
    const sums = new Map<string, string>();
    for (const task of this.taskIds()) {
      let sum = 0n;
      let any = false;
      let stores: string[] = [];
      try {
        stores = readdirSync(path.join(this.root, task));
      } catch {
        continue;
      }
      for (const store of stores) {
        try {
          const text = readFileSync(path.join(this.root, task, store, CHECKPOINT_FILE), 'utf8').trim();
          if (/^\d+$/.test(text)) {
            sum += BigInt(text);
            any = true;
          }
        } catch {
          // no checkpoint for this store yet
        }
      }
      if (any) sums.set(task, sum.toString());
    }
    return sums;
  }

  /** Releases the lock. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await rm(this.lockPath, { force: true });
  }
}
