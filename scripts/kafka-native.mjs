// Root postinstall: makes @confluentinc/kafka-javascript's native binding usable.
// Its own install script is denied in package.json#allowScripts (it would build librdkafka with
// CKJS_LINKING=static, which downloads OpenSSL/zlib/zstd/curl sources and fails offline); this runs the
// same step (node-pre-gyp install --fallback-to-build) with CKJS_LINKING=dynamic: the published prebuilt
// binary is downloaded where possible, else the bundled librdkafka is compiled against the system libraries.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const PKG = '@confluentinc/kafka-javascript';
let pkgDir;
try {
  pkgDir = path.dirname(require.resolve(`${PKG}/package.json`));
} catch {
  process.exit(0); // not installed (e.g. omitted)
}
const loads = () => spawnSync(process.execPath, ['-e', `require(${JSON.stringify(PKG)})`], { stdio: 'ignore' }).status === 0;
if (loads()) process.exit(0);

const env = { ...process.env, CKJS_LINKING: process.env.CKJS_LINKING ?? 'dynamic' };
// node-gyp downloads Node's headers unless nodedir points at a local copy: use the running Node's own headers
// (e.g. /usr/include/node from the distribution's package) when present and nothing else is configured.
const localNodeDir = path.resolve(path.dirname(process.execPath), '..');
if (!env.npm_config_nodedir && existsSync(path.join(localNodeDir, 'include', 'node', 'common.gypi'))) {
  env.npm_config_nodedir = localNodeDir;
}
const nodePreGyp = require.resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp', { paths: [pkgDir] });
const t0 = Date.now();
const r = spawnSync(process.execPath, [nodePreGyp, 'install', '--fallback-to-build'], {
  cwd: pkgDir,
  stdio: 'inherit',
  env,
});
if (r.status !== 0 || !loads()) {
  console.error(`${PKG}: native binding could not be installed or built (needs g++, make, python3, libssl-dev, zlib1g-dev)`);
  process.exit(r.status || 1);
}
console.error(`${PKG}: native binding ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
