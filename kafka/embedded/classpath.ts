/**
 * Resolves the broker's Java classpath with Maven, cached by the hash of the pinned pom: the first run downloads
 * the jars into the user's Maven repository (~/.m2), later runs read the cached classpath file and skip Maven
 * entirely (offline, milliseconds) as long as every jar on it still exists.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UscError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { checkMaven, runCommand } from './prerequisites.js';
import { brokerPom } from './versions.js';

export interface ResolvedClasspath {
  readonly classpath: string;
  /** True when Maven ran (first start, or the cache was stale). */
  readonly resolvedNow: boolean;
  readonly seconds: number;
}

/** Directory holding the pom and classpath cache for the pinned versions. */
export function brokerCacheDir(cacheDir: string): string {
  const hash = createHash('sha256').update(brokerPom()).digest('hex').slice(0, 12);
  return path.join(cacheDir, `broker-${hash}`);
}

async function cachedClasspath(file: string): Promise<string | undefined> {
  if (!existsSync(file)) return undefined;
  const classpath = (await readFile(file, 'utf8')).trim();
  const entries = classpath.split(path.delimiter).filter(Boolean);
  if (entries.length === 0 || !entries.every((jar) => existsSync(jar))) return undefined;
  return classpath;
}

/**
 * Returns the broker classpath, running `mvn dependency:build-classpath` when the cache is missing or stale.
 * Throws USC_ERR_KAFKA_LAUNCHER_MAVEN_MISSING or USC_ERR_KAFKA_LAUNCHER_RESOLVE_FAILED (with Maven's output tail).
 */
export async function resolveBrokerClasspath(opts: {
  cacheDir: string;
  mvn?: string;
  logger: Logger;
}): Promise<ResolvedClasspath> {
  const started = performance.now();
  const dir = brokerCacheDir(opts.cacheDir);
  const cpFile = path.join(dir, 'classpath.txt');
  const cached = await cachedClasspath(cpFile);
  if (cached) return { classpath: cached, resolvedNow: false, seconds: (performance.now() - started) / 1000 };

  const mvn = opts.mvn ?? 'mvn';
  await checkMaven(mvn);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'pom.xml'), brokerPom());
  opts.logger.info({ dir }, 'resolving the Apache Kafka broker jars with Maven (first run downloads them)');
  const result = await runCommand(
    mvn,
    ['-B', '-q', '-f', 'pom.xml', 'dependency:build-classpath', '-Dmdep.outputFile=classpath.txt.tmp'],
    { cwd: dir, timeoutMs: 15 * 60_000 },
  );
  if (result.kind === 'missing' || result.code !== 0) {
    const output = result.kind === 'exited' ? result.output : '';
    const offline = /offline|Could not transfer|UnknownHost|Connection refused|Network is unreachable/i.test(
      output,
    );
    throw new UscError(
      'USC_ERR_KAFKA_LAUNCHER_RESOLVE_FAILED',
      `Maven could not resolve the Kafka broker jars${offline ? ' (Maven Central unreachable and nothing cached in ~/.m2)' : ''}:\n` +
        output.split('\n').slice(-25).join('\n'),
      { details: { dir } },
    );
  }
  const fresh = await cachedClasspath(path.join(dir, 'classpath.txt.tmp'));
  if (!fresh) {
    throw new UscError('USC_ERR_KAFKA_LAUNCHER_RESOLVE_FAILED', `Maven wrote no usable classpath in ${dir}`);
  }
  await writeFile(cpFile, fresh);
  return { classpath: fresh, resolvedNow: true, seconds: (performance.now() - started) / 1000 };
}
