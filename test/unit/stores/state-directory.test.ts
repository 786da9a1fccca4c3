/**
 * The per-application state directory: exclusive lock, stale-lock takeover, removal of the state an earlier topology
 * left that no task can use again.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hasCode } from '../../../common/errors.js';
import { silentLogger } from '../../../common/logger.js';
import { StateDirectory } from '../../../stores/state-directory.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'usc-statedir-'));
  dirs.push(d);
  return d;
}
const opts = { instanceId: 'i1', logger: silentLogger };

describe('StateDirectory', () => {
  it('lets one instance hold the lock; a second fails fast naming the directory and holder', async () => {
    const dir = await tmp();
    const first = await StateDirectory.lock(dir, 'app', opts);
    const err = await StateDirectory.lock(dir, 'app', { ...opts, instanceId: 'i2' }).catch((e: unknown) => e);
    expect(hasCode(err, 'USC_ERR_STATE_DIR_LOCKED')).toBe(true);
    expect((err as Error).message).toContain(path.join(dir, 'app'));
    expect((err as Error).message).toContain(`pid ${process.pid}`);
    await first.release();
    const again = await StateDirectory.lock(dir, 'app', opts);
    await again.release();
  });

  it('takes over a lock whose process is gone', async () => {
    const dir = await tmp();
    await mkdir(path.join(dir, 'app'), { recursive: true });
    // pid 2^22+1 is above Linux's pid_max default range, so no such process exists.
    await writeFile(path.join(dir, 'app', '.lock'), JSON.stringify({ pid: 4_194_305, instanceId: 'dead' }));
    const lock = await StateDirectory.lock(dir, 'app', opts);
    await lock.release();
  });

  it('removes the task and store directories the topology no longer has, and nothing else', async () => {
    const dir = await tmp();
    const lock = await StateDirectory.lock(dir, 'app', opts);
    const root = path.join(dir, 'app');
    const make = async (...parts: string[]) => {
      await mkdir(path.join(root, ...parts, 'db'), { recursive: true });
      await writeFile(path.join(root, ...parts, 'db', 'CURRENT'), 'x');
    };
    await make('0_0', 'ucm-index');
    await make('0_1', 'ucm-index');
    await make('1_0', 'cases');
    await make('1_0', 'ucm-index'); // a store sub-topology 1 no longer has
    await make('2_0', 'cases'); // a sub-topology this topology does not have
    await make('2_5', 'other');
    await make('backup', 'cases'); // not a task directory: kept
    await writeFile(path.join(root, '1_0', 'notes.txt'), 'kept');

    const removed = await lock.removeObsolete(
      new Map([
        [0, new Set(['ucm-index', 'pending-correlation'])],
        [1, new Set(['cases', 'case-history'])],
      ]),
      silentLogger,
    );
    expect(removed.sort()).toEqual(['1_0/ucm-index', '2_0', '2_5'].map((p) => path.normalize(p)).sort());
    expect((await readdir(root)).sort()).toEqual(['.lock', '0_0', '0_1', '1_0', 'backup']);
    expect((await readdir(path.join(root, '1_0'))).sort()).toEqual(['cases', 'notes.txt']);
    expect(await readdir(path.join(root, '0_0'))).toEqual(['ucm-index']);
    // Nothing left to remove the second time.
    expect(
      await lock.removeObsolete(
        new Map([
          [0, new Set(['ucm-index'])],
          [1, new Set(['cases'])],
        ]),
        silentLogger,
      ),
    ).toEqual([]);
    await lock.release();
  });
});
