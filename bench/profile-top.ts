/**
 * Summarises V8 CPU profiles (`.cpuprofile`, e.g. written with BENCH_CPU_PROF_DIR during `npm run bench`): the
 * share of samples by self time per function and per package/area, to say what limits a figure before optimising.
 * Usage: node dist/bench/profile-top.js <file-or-dir> [--top N]
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

/** Where a frame's code lives: a package, a folder of this project, or a V8/Node category. */
export function areaOf(url: string, functionName: string): string {
  if (!url) return `(${functionName || 'native'})`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return url;
  const own = /\/dist\/([^/]+)\//.exec(url);
  return own ? own[1]! : url;
}

async function files(target: string): Promise<string[]> {
  if (!(await stat(target)).isDirectory()) return [target];
  return (await readdir(target)).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(target, f));
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '15' } },
  });
  if (positionals.length !== 1) throw new Error('usage: profile-top <file-or-dir> [--top N]');
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  for (const file of await files(positionals[0]!)) {
    const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    for (const id of profile.samples) {
      const frame = nodes.get(id)!.callFrame;
      if (frame.functionName === '(idle)' || frame.functionName === '(program)') continue;
      total++;
      const where = `${frame.functionName || '(anonymous)'} ${path.basename(frame.url)}:${frame.lineNumber + 1}`;
      byFunction.set(where, (byFunction.get(where) ?? 0) + 1);
      const area = areaOf(frame.url, frame.functionName);
      byArea.set(area, (byArea.get(area) ?? 0) + 1);
    }
  }
  const top = Number(values.top);
  const print = (title: string, m: Map<string, number>) => {
    console.log(`${title} (share of ${total} busy samples)`);
    for (const [k, n] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
      console.log(`  ${((100 * n) / total).toFixed(1).padStart(5)}%  ${k}`);
  };
  print('by area', byArea);
  print('by function (self time)', byFunction);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
