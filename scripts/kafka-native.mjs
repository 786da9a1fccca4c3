// Root postinstall: makes @confluentinc/kafka-javascript's native binding usable.
// Its own install script is denied in package.json#allowScripts (it would build librdkafka with
// CKJS_LINKING=static, which downloads OpenSSL/zlib/zstd/curl sources and fails offline). This builds the binding
// from the package's sources with CKJS_LINKING=dynamic (against the system's OpenSSL and zlib), after a one-line
// fix of its describeGroups conversion: the published 1.10.1 dereferences a NULL partition assignor when a group's
// description carries an error (coordinator moving, broker restarting) and the process dies with SIGSEGV
// (confluent-kafka-javascript#531). Until a release fixes it, the prebuilt binary is not used. See ADR 0004.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const PKG = '@confluentinc/kafka-javascript';
const MARK = '/* urp-case-sync: null-safe partition assignor */';
let pkgDir;
try {
  pkgDir = path.dirname(require.resolve(`${PKG}/package.json`));
} catch {
  process.exit(0); // not installed (e.g. omitted)
}
const source = path.join(pkgDir, 'src', 'common.cc');
const patched = () => existsSync(source) && readFileSync(source, 'utf8').includes(MARK);
const loads = () =>
  spawnSync(process.execPath, ['-e', `require(${JSON.stringify(PKG)})`], { stdio: 'ignore' }).status === 0;
const built = path.join(pkgDir, 'build', 'Release', 'confluent-kafka-javascript.node');
if (patched() && existsSync(built) && loads()) process.exit(0);

if (!patched()) {
  const text = readFileSync(source, 'utf8');
  const call = 'rd_kafka_ConsumerGroupDescription_partition_assignor(desc)';
  const count = text.split(call).length - 1;
  if (count === 0) {
    console.error(`${PKG}: ${source} changed; review the describeGroups fix in scripts/kafka-native.mjs`);
    process.exit(1);
  }
  const safe = `(${call} ? ${call} : "")`;
  writeFileSync(source, `${MARK}\n${text.split(call).join(safe)}`);
}

const env = { ...process.env, CKJS_LINKING: process.env.CKJS_LINKING ?? 'dynamic' };
// node-gyp downloads Node's headers unless nodedir points at a local copy: use the running Node's own headers
// (e.g. /usr/include/node from the distribution's package) when present and nothing else is configured.
const localNodeDir = path.resolve(path.dirname(process.execPath), '..');
if (!env.npm_config_nodedir && existsSync(path.join(localNodeDir, 'include', 'node', 'common.gypi'))) {
  env.npm_config_nodedir = localNodeDir;
}
const nodePreGyp = require.resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp', { paths: [pkgDir] });
const t0 = Date.now();
const r = spawnSync(process.execPath, [nodePreGyp, 'rebuild', '--build-from-source'], {
  cwd: pkgDir,
  stdio: 'inherit',
  env,
});
if (r.status !== 0 || !loads()) {
  console.error(
    `${PKG}: native binding could not be built (needs g++, make, python3, libssl-dev, zlib1g-dev)`,
  );
  process.exit(r.status || 1);
}
console.error(`${PKG}: native binding ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
