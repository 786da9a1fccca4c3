/**
 * Makes sure the broker JVM never outlives the Node process that started it, even when that process is killed
 * with SIGKILL (no exit handler runs then). A tiny detached Node watchdog polls the parent's pid; when the parent
 * is gone it stops the JVM (SIGTERM, then SIGKILL after a grace period) and removes an ephemeral data directory.
 */
import { spawn } from 'node:child_process';

const WATCHDOG = `
const [parent, child, grace, dir] = process.argv.slice(1);
const alive = (pid) => { try { process.kill(Number(pid), 0); return true; } catch (e) { return e.code === 'EPERM'; } };
const cleanup = () => { if (dir) { try { require('node:fs').rmSync(dir, { recursive: true, force: true }); } catch {} } process.exit(0); };
const timer = setInterval(() => {
  if (!alive(child)) { clearInterval(timer); process.exit(0); }
  if (alive(parent)) return;
  clearInterval(timer);
  try { process.kill(Number(child), 'SIGTERM'); } catch {}
  const deadline = Date.now() + Number(grace);
  const wait = setInterval(() => {
    if (alive(child) && Date.now() < deadline) return;
    clearInterval(wait);
    try { process.kill(Number(child), 'SIGKILL'); } catch {}
    setTimeout(cleanup, 200);
  }, 100);
}, 500);
`;

/**
 * Starts the watchdog for `childPid`. `removeDir` is deleted after the child is gone (ephemeral brokers only).
 * Returns the watchdog pid.
 */
export function guardAgainstOrphan(opts: {
  parentPid: number;
  childPid: number;
  graceMs: number;
  removeDir?: string;
}): number | undefined {
  const watchdog = spawn(
    process.execPath,
    [
      '--input-type=commonjs',
      '-e',
      WATCHDOG,
      String(opts.parentPid),
      String(opts.childPid),
      String(opts.graceMs),
      opts.removeDir ?? '',
    ],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();
  return watchdog.pid;
}
