/**
 * The baseline of the benchmark: another build of this project (an earlier commit, checked out and compiled
 * elsewhere) run beside this checkout on the same broker and input, so a change is measured before and after in
 * the same run. `BENCH_BASELINE_DIR=<dir>` names a checkout whose `dist/cli/main.js` is built (its
 * `node_modules` present or linked); its instances are spawned like this checkout's (see BenchApp), with the same
 * settings and `BENCH_ENV_*`. Without the variable there is no baseline.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { runCommand } from '../kafka/embedded/prerequisites.js';

export interface Baseline {
  /** The checkout (absolute). */
  readonly dir: string;
  /** Its compiled CLI, `<dir>/dist/cli/main.js`. */
  readonly cli: string;
  /** Its short commit (`+ modified` when tracked files differ from it), or the directory name outside git. */
  readonly label: string;
}

/** The baseline named by BENCH_BASELINE_DIR, or undefined; throws when it is set but not built. */
export async function baselineFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<Baseline | undefined> {
  const raw = env.BENCH_BASELINE_DIR?.trim();
  if (!raw) return undefined;
  const dir = path.resolve(raw);
  const cli = path.join(dir, 'dist', 'cli', 'main.js');
  if (!existsSync(cli)) {
    throw new Error(
      `bench: BENCH_BASELINE_DIR=${raw}: ${cli} does not exist (build the baseline first: ` +
        `cd ${dir} && npx tsc -p tsconfig.build.json, with its node_modules installed or linked)`,
    );
  }
  if (!existsSync(path.join(dir, 'node_modules'))) {
    throw new Error(`bench: BENCH_BASELINE_DIR=${raw} has no node_modules (install or link them)`);
  }
  return { dir, cli, label: await describeCommit(dir) };
}

async function describeCommit(dir: string): Promise<string> {
  const head = await runCommand('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { timeoutMs: 10_000 });
  if (head.kind !== 'exited' || head.code !== 0) return path.basename(dir);
  const status = await runCommand('git', ['-C', dir, 'status', '--porcelain', '--untracked-files=no'], {
    timeoutMs: 30_000,
  });
  const modified = status.kind === 'exited' && status.code === 0 && status.output.trim() !== '';
  return `${head.output.trim()}${modified ? ' + modified' : ''}`;
}
