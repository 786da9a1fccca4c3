#!/usr/bin/env node
// Runs before `npm start`, `npm run kafka` and `npm run bench` so that they work on a fresh clone:
// installs npm dependencies when node_modules is missing or older than package-lock.json, then compiles
// TypeScript to dist/ (incremental, so an unchanged tree costs a second or two).
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(cmd, args) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`prepare-run: \`${cmd} ${args.join(' ')}\` failed`);
    process.exit(result.status ?? 1);
  }
}

const stamp = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');
if (!existsSync(stamp) || statSync(stamp).mtimeMs < statSync(lock).mtimeMs) {
  console.error('prepare-run: installing npm dependencies (npm ci)');
  run(npm, ['ci', '--no-audit', '--no-fund']);
}
run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
