/** The per-application state directory: exclusive lock, stale-lock takeover, checkpoint sums per task. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
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
});
