/**
 * Checks the tools the embedded broker needs (Java 17+, Maven) and turns their absence into clear errors.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { UscError } from '../../common/errors.js';

export const MIN_JAVA_MAJOR = 17;

/** Output of a finished command. `missing` when the executable was not found. */
export type CommandResult =
  | { readonly kind: 'missing' }
  | { readonly kind: 'exited'; readonly code: number | null; readonly output: string };

/** Runs a command to completion, capturing stdout+stderr (bounded to the last 64 KiB). */
export function runCommand(
  command: string,
  args: readonly string[],
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(command, [...args], { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const append = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-65_536);
    };
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    const timer = opts.timeoutMs
      ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs).unref()
      : undefined;
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      resolve(
        err.code === 'ENOENT' ? { kind: 'missing' } : { kind: 'exited', code: null, output: err.message },
      );
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ kind: 'exited', code, output });
    });
  });
}

/** Path of the java executable: `<javaHome>/bin/java` when a JAVA_HOME is given, else `java` on PATH. */
export function javaExecutable(javaHome: string | undefined): string {
  return javaHome ? path.join(javaHome, 'bin', 'java') : 'java';
}

/** Parses the major version out of `java -version` output ("1.8.0_392" -> 8, "17.0.9" -> 17). */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(versionOutput);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

/** Verifies Java >= 17. Throws USC_ERR_KAFKA_LAUNCHER_JAVA_MISSING / _JAVA_TOO_OLD. Returns the major version. */
export async function checkJava(java: string): Promise<number> {
  const result = await runCommand(java, ['-version'], { timeoutMs: 30_000 });
  if (result.kind === 'missing' || result.code !== 0) {
    throw new UscError(
      'USC_ERR_KAFKA_LAUNCHER_JAVA_MISSING',
      `cannot run ${java} -version: install Java ${MIN_JAVA_MAJOR}+ (or set JAVA_HOME), or point KAFKA_BROKERS at an existing cluster`,
      { details: { java, output: result.kind === 'exited' ? result.output.slice(-500) : undefined } },
    );
  }
  const major = parseJavaMajor(result.output);
  if (major === undefined || major < MIN_JAVA_MAJOR) {
    throw new UscError(
      'USC_ERR_KAFKA_LAUNCHER_JAVA_TOO_OLD',
      `Java ${MIN_JAVA_MAJOR}+ is required for the Kafka ${'broker'}; ${java} reports ${major ?? 'an unknown version'}`,
      { details: { java, output: result.output.slice(0, 300) } },
    );
  }
  return major;
}

/** Verifies `mvn` runs. Throws USC_ERR_KAFKA_LAUNCHER_MAVEN_MISSING. */
export async function checkMaven(mvn: string): Promise<void> {
  const result = await runCommand(mvn, ['-v'], { timeoutMs: 60_000 });
  if (result.kind === 'missing' || result.code !== 0) {
    throw new UscError(
      'USC_ERR_KAFKA_LAUNCHER_MAVEN_MISSING',
      `cannot run ${mvn} -v: install Maven 3.6+ to fetch the Kafka broker jars, or point KAFKA_BROKERS at an existing cluster`,
      { details: { output: result.kind === 'exited' ? result.output.slice(-500) : undefined } },
    );
  }
}
