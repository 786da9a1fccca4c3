/**
 * The Kafka Streams reference of the benchmark (bench/reference-streams, Java, kafka-streams 4.3.1): builds its jar
 * with Maven (offline first, online when something is missing from ~/.m2), runs it as a child process
 * (`java -jar ... --bootstrap ... --application-id ... --input ... --output ... --dlq ... --state-dir ...`), reads
 * its CPU time from /proc/<pid>/stat and its RSS from /proc/<pid>/status, and stops it (SIGTERM, clean close).
 * The /proc readers serve the project's instances and the broker too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { guardAgainstOrphan } from '../kafka/embedded/orphan-guard.js';
import { runCommand } from '../kafka/embedded/prerequisites.js';

/** The kafka-streams version of bench/reference-streams/pom.xml (4.4.0 is not on Maven Central here). */
export const REFERENCE_STREAMS_VERSION = '4.3.1';

/** JVM options of the reference: REFERENCE_JAVA_OPTS (space-separated) or a 256 MB heap. */
export function referenceJavaOpts(): string[] {
  return process.env.REFERENCE_JAVA_OPTS?.split(' ').filter(Boolean) ?? ['-Xms64m', '-Xmx256m'];
}

/** bench/reference-streams, found from this module (bench/ under tsx, dist/bench/ once compiled). */
export function referenceProjectDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'bench', 'reference-streams');
    if (existsSync(path.join(candidate, 'pom.xml'))) return candidate;
    const here = path.join(dir, 'reference-streams');
    if (existsSync(path.join(here, 'pom.xml'))) return here;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('bench: bench/reference-streams/pom.xml not found');
    dir = parent;
  }
}

function newestMtimeMs(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(p).reduce((max, name) => Math.max(max, newestMtimeMs(path.join(p, name))), st.mtimeMs);
}

/**
 * Builds target/reference-streams.jar (+ target/lib/) unless it is newer than the pom and every source:
 * `mvn -B -q -o package`, then `mvn -B -q package` if the offline build lacked something. Returns the jar path.
 */
export async function buildReferenceJar(
  opts: { mvn?: string; log?: (msg: string) => void } = {},
): Promise<{ jar: string; built: boolean; seconds: number }> {
  const started = performance.now();
  const dir = referenceProjectDir();
  const jar = path.join(dir, 'target', 'reference-streams.jar');
  const sources = Math.max(newestMtimeMs(path.join(dir, 'pom.xml')), newestMtimeMs(path.join(dir, 'src')));
  if (existsSync(jar) && existsSync(path.join(dir, 'target', 'lib')) && statSync(jar).mtimeMs >= sources) {
    return { jar, built: false, seconds: (performance.now() - started) / 1000 };
  }
  const mvn = opts.mvn ?? 'mvn';
  opts.log?.(`  building the Kafka Streams reference (${dir}, mvn -o package)`);
  let result = await runCommand(mvn, ['-B', '-q', '-o', 'package'], { cwd: dir, timeoutMs: 15 * 60_000 });
  if (result.kind === 'missing') throw new Error(`bench: cannot run ${mvn}: install Maven 3.6+`);
  if (result.code !== 0) {
    opts.log?.('  offline build incomplete (plugins or jars missing from ~/.m2); building online');
    result = await runCommand(mvn, ['-B', '-q', 'package'], { cwd: dir, timeoutMs: 15 * 60_000 });
  }
  if (result.kind !== 'exited' || result.code !== 0 || !existsSync(jar)) {
    const output = result.kind === 'exited' ? result.output : '';
    throw new Error(
      `bench: building the Kafka Streams reference failed:\n${output.split('\n').slice(-30).join('\n')}`,
    );
  }
  return { jar, built: true, seconds: (performance.now() - started) / 1000 };
}

let clockTicks: number | undefined;

/** Clock ticks per second of /proc times (getconf CLK_TCK; 100 on every usual Linux). */
async function ticksPerSecond(): Promise<number> {
  if (clockTicks === undefined) {
    const r = await runCommand('getconf', ['CLK_TCK'], { timeoutMs: 5_000 });
    const n = r.kind === 'exited' && r.code === 0 ? Number(r.output.trim()) : NaN;
    clockTicks = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return clockTicks;
}

/** CPU seconds (user + system, all threads) a live process used so far, from /proc/<pid>/stat. */
export async function processCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces and parentheses): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / (await ticksPerSecond());
}

/** Current and peak resident set size (VmRSS, VmHWM) of a live process, in MB, from /proc/<pid>/status. */
export async function processMemoryMb(pid: number): Promise<{ rssMb: number; peakRssMb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

/** What the reference prints when it stops: events applied, duplicates dropped, dead letters by category. */
export interface ReferenceStats {
  readonly applied: number;
  readonly duplicates: number;
  readonly rejected: Readonly<Record<string, number>>;
}

/** One run of the reference: its application id, topics, state directory and JVM. */
export class ReferenceApp {
  readonly id = `ref-${randomUUID().slice(0, 8)}`;
  readonly input = `${this.id}-in`;
  readonly output = `${this.id}-out`;
  readonly dlq = `${this.id}-dlq`;
  private child: ChildProcess | undefined;
  private stateDir: string | undefined;
  private state = 'CREATED';
  private stats: ReferenceStats | undefined;
  private exited = false;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly jar: string,
    readonly brokers: readonly string[],
  ) {}

  get pid(): number {
    if (this.child?.pid === undefined) throw new Error('bench: the reference is not running');
    return this.child.pid;
  }

  /** Spawns the JVM; resolves with its pid (not ready yet: see {@link ready}). */
  async start(): Promise<number> {
    this.stateDir = await mkdtemp(path.join(tmpdir(), 'usc-bench-reference-'));
    const javaOpts = referenceJavaOpts();
    const child = spawn(
      'java',
      [
        ...javaOpts,
        '-jar',
        this.jar,
        '--bootstrap',
        this.brokers.join(','),
        '--application-id',
        this.id,
        '--input',
        this.input,
        '--output',
        this.output,
        '--dlq',
        this.dlq,
        '--state-dir',
        this.stateDir,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    if (child.pid === undefined) throw new Error('bench: could not spawn java for the reference');
    this.child = child;
    guardAgainstOrphan({ parentPid: process.pid, childPid: child.pid, graceMs: 10_000 });
    child.once('exit', () => {
      this.exited = true;
      this.notify();
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('state ')) this.state = line.slice('state '.length).trim();
      else if (line.startsWith('stats '))
        this.stats = JSON.parse(line.slice('stats '.length)) as ReferenceStats;
      this.notify();
    });
    return child.pid;
  }

  private notify(): void {
    for (const w of this.waiters) w();
  }

  /** True while the JVM runs. */
  isRunning(): boolean {
    return this.child !== undefined && !this.exited;
  }

  /** Resolves once Kafka Streams reports RUNNING (tasks assigned, stores open). */
  ready(timeoutMs = 180_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error('bench: the reference did not reach RUNNING')),
        timeoutMs,
      );
      const finish = (err?: Error) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        if (this.state === 'RUNNING') finish();
        else if (this.exited || this.state === 'ERROR')
          finish(new Error(`bench: the reference stopped (${this.state})`));
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Stops the JVM (SIGTERM: Kafka Streams closes cleanly; SIGKILL after 60 s), removes its state directory. */
  async stop(): Promise<ReferenceStats | undefined> {
    const child = this.child;
    if (child && !this.exited) {
      // 'close' (not 'exit'): stdout is read to its end, so the stats line is in.
      const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(timer);
    }
    if (this.stateDir) await rm(this.stateDir, { recursive: true, force: true });
    return this.stats;
  }
}
