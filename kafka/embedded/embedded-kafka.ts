/**
 * A real, single-node Apache Kafka broker (KRaft, combined broker + controller) started from the official jars
 * for development, tests and `npm start`. Lifecycle: check Java -> resolve jars (Maven, cached) -> pick ports ->
 * format storage (first start of a data directory) -> start the JVM with a watchdog -> wait until the broker
 * answers -> `stop()` sends SIGTERM and waits for a clean shutdown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UscError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { openAdmin } from '../admin.js';
import { describeGroup } from '../group-admin.js';
import { createKafka } from '../client.js';
import { InstanceProducer } from '../instance-producer.js';
import { brokerProperties, DEFAULT_FEATURES, LOG4J2_PROPERTIES, renderProperties } from './broker-config.js';
import { resolveBrokerClasspath } from './classpath.js';
import { choosePorts } from './free-port.js';
import { guardAgainstOrphan } from './orphan-guard.js';
import { checkJava, javaExecutable, runCommand } from './prerequisites.js';
import { KAFKA_VERSION } from './versions.js';

export interface EmbeddedKafkaOptions {
  /** Holds the classpath cache and, unless `dataDir` is given, ephemeral data directories. */
  readonly cacheDir: string;
  /** KRaft data directory. Given: kept across runs (formatted once). Omitted: a fresh one, deleted on stop. */
  readonly dataDir?: string;
  readonly host?: string;
  /** Client port; 0 or omitted = a free port. A taken port fails fast with USC_ERR_KAFKA_LAUNCHER_PORT_TAKEN. */
  readonly port?: number;
  readonly controllerPort?: number;
  readonly heapMb?: number;
  readonly javaHome?: string;
  readonly mvn?: string;
  readonly startTimeoutMs?: number;
  /** Extra broker properties (override the defaults of broker-config.ts). */
  readonly brokerConfig?: Readonly<Record<string, string>>;
  /** Feature levels passed to `kafka-storage format --feature`, over {@link DEFAULT_FEATURES}. */
  readonly features?: Readonly<Record<string, number>>;
  readonly logger: Logger;
}

/** Timings of one start, for the closing notes and benchmarks. */
export interface EmbeddedKafkaTimings {
  readonly classpathSeconds: number;
  readonly resolvedJars: boolean;
  readonly formatSeconds: number;
  readonly startSeconds: number;
  readonly totalSeconds: number;
}

const STARTED_LINE = /Kafka Server started/;

export class EmbeddedKafka {
  private stopping: Promise<void> | undefined;
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    /** `host:port` clients connect to. */
    readonly bootstrap: string,
    /** The broker's combined stdout/stderr. */
    readonly logFile: string,
    readonly dataDir: string,
    private readonly ephemeral: boolean,
    readonly timings: EmbeddedKafkaTimings,
    private readonly logger: Logger,
  ) {
    child.once('exit', () => {
      this.exited = true;
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Starts a broker and resolves once it answers admin requests. Throws UscError USC_ERR_KAFKA_LAUNCHER_*. */
  static async start(opts: EmbeddedKafkaOptions): Promise<EmbeddedKafka> {
    const t0 = performance.now();
    const host = opts.host ?? '127.0.0.1';
    const java = javaExecutable(opts.javaHome);
    await checkJava(java);
    const cp = await resolveBrokerClasspath({ cacheDir: opts.cacheDir, mvn: opts.mvn, logger: opts.logger });
    // Both ports are held bound until both are chosen, so two free ports cannot come out equal.
    const [port, controllerPort] = (await choosePorts(host, [
      { port: opts.port, what: 'broker' },
      { port: opts.controllerPort, what: 'controller' },
    ])) as [number, number];

    const ephemeral = opts.dataDir === undefined;
    await mkdir(opts.cacheDir, { recursive: true });
    const dataDir = opts.dataDir ?? (await mkdtemp(path.join(opts.cacheDir, 'run-')));
    const logDir = path.join(dataDir, 'kraft');
    await mkdir(logDir, { recursive: true });
    const propsFile = path.join(dataDir, 'server.properties');
    const log4jFile = path.join(dataDir, 'log4j2.properties');
    const logFile = path.join(dataDir, 'broker.log');
    await writeFile(
      propsFile,
      renderProperties(brokerProperties({ host, port, controllerPort, logDir, extra: opts.brokerConfig })),
    );
    await writeFile(log4jFile, LOG4J2_PROPERTIES);

    const tFormat = performance.now();
    if (!existsSync(path.join(logDir, 'meta.properties'))) {
      await formatStorage(java, cp.classpath, propsFile, { ...DEFAULT_FEATURES, ...opts.features });
    }
    const formatSeconds = (performance.now() - tFormat) / 1000;

    const tStart = performance.now();
    const logStart = existsSync(logFile) ? statSync(logFile).size : 0;
    const out = openSync(logFile, 'a');
    const heap = opts.heapMb ?? 768;
    const child = spawn(
      java,
      [
        `-Xms${Math.min(256, heap)}m`,
        `-Xmx${heap}m`,
        '-XX:+UseG1GC',
        '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${log4jFile}`,
        '-cp',
        cp.classpath,
        'kafka.Kafka',
        propsFile,
      ],
      { stdio: ['ignore', out, out] },
    );
    closeSync(out);
    if (child.pid === undefined) {
      throw new UscError('USC_ERR_KAFKA_LAUNCHER_START_FAILED', `could not spawn ${java}`);
    }
    guardAgainstOrphan({
      parentPid: process.pid,
      childPid: child.pid,
      graceMs: 15_000,
      removeDir: ephemeral ? dataDir : undefined,
    });
    const bootstrap = `${host}:${port}`;
    try {
      await waitUntilReady(
        child,
        bootstrap,
        { logFile, logStart },
        opts.startTimeoutMs ?? 90_000,
        opts.logger,
      );
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    const startSeconds = (performance.now() - tStart) / 1000;
    const timings: EmbeddedKafkaTimings = {
      classpathSeconds: cp.seconds,
      resolvedJars: cp.resolvedNow,
      formatSeconds,
      startSeconds,
      totalSeconds: (performance.now() - t0) / 1000,
    };
    opts.logger.info(
      { bootstrap, kafka: KAFKA_VERSION, pid: child.pid, dataDir, ...timings },
      'embedded Kafka broker started',
    );
    return new EmbeddedKafka(child, bootstrap, logFile, dataDir, ephemeral, timings, opts.logger);
  }

  /** True while the JVM runs. */
  isRunning(): boolean {
    return !this.exited;
  }

  /** Stops the broker (SIGTERM, SIGKILL after `graceMs`); deletes an ephemeral data directory. Idempotent. */
  stop(graceMs = 20_000): Promise<void> {
    this.stopping ??= (async () => {
      if (!this.exited) {
        const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
        this.child.kill('SIGTERM');
        const timer = setTimeout(() => {
          this.logger.warn({ pid: this.child.pid }, 'broker did not stop in time; killing it');
          this.child.kill('SIGKILL');
        }, graceMs);
        await exited;
        clearTimeout(timer);
      }
      if (this.ephemeral) await rm(this.dataDir, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  /** Kills the JVM without a clean shutdown (crash tests); resolves once it exited. The data is kept for a restart. */
  async kill(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await exited;
  }
}

async function formatStorage(
  java: string,
  classpath: string,
  propsFile: string,
  features: Readonly<Record<string, number>>,
): Promise<void> {
  // A base64url id may start with '-', which the tool's argument parser takes for an option ("--cluster-id
  // expected one argument": a 1-in-64 flake). Kafka's own Uuid.randomUuid() rejects such ids too.
  let clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
  const featureArgs = Object.entries(features).flatMap(([name, level]) => ['--feature', `${name}=${level}`]);
  const result = await runCommand(
    java,
    [
      '-cp',
      classpath,
      'kafka.tools.StorageTool',
      'format',
      `--cluster-id=${clusterId}`,
      '-c',
      propsFile,
      ...featureArgs,
    ],
    { timeoutMs: 120_000 },
  );
  if (result.kind === 'missing' || result.code !== 0) {
    throw new UscError(
      'USC_ERR_KAFKA_LAUNCHER_START_FAILED',
      `formatting KRaft storage failed:\n${result.kind === 'exited' ? result.output.slice(-3000) : 'java missing'}`,
    );
  }
}

async function logTail(logFile: string, lines = 40): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return text.split('\n').slice(-lines).join('\n');
}

/** Waits for the "Kafka Server started" log line, then until admin requests and both coordinators answer. */
async function waitUntilReady(
  child: ChildProcess,
  bootstrap: string,
  log: { logFile: string; logStart: number },
  timeoutMs: number,
  logger: Logger,
): Promise<void> {
  const { logFile, logStart } = log;
  const deadline = Date.now() + timeoutMs;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.once('exit', (code, signal) => {
    exit = { code, signal };
  });
  const fail = async (why: string) =>
    new UscError(
      'USC_ERR_KAFKA_LAUNCHER_START_FAILED',
      `the embedded Kafka broker ${why}. Last lines of ${logFile}:\n${await logTail(logFile)}`,
      { details: { bootstrap, logFile } },
    );
  const startedThisRun = async () => {
    const bytes = await readFile(logFile).catch(() => Buffer.alloc(0));
    return STARTED_LINE.test(bytes.subarray(logStart).toString('utf8'));
  };
  while (!(await startedThisRun())) {
    if (exit) throw await fail(`exited during startup (code ${exit.code}, signal ${exit.signal})`);
    if (Date.now() > deadline) throw await fail(`did not start within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const kafka = createKafka({ brokers: [bootstrap], clientId: 'embedded-kafka-probe' }, logger);
  for (;;) {
    try {
      const admin = await openAdmin(kafka);
      try {
        // openAdmin's metadata request was answered. Ready means the group and transaction coordinators answer
        // too: the first group lookup creates __consumer_offsets and the first transactional init creates
        // __transaction_state. Doing both here keeps "coordinator not available" out of the first test or the
        // first commit of `npm start`.
        await describeGroup(admin, '__embedded-kafka-warmup');
        const producer = await InstanceProducer.transactional(kafka, '__embedded-kafka-warmup');
        await producer.disconnect();
        return;
      } finally {
        await admin.disconnect();
      }
    } catch (err) {
      if (exit) throw await fail(`exited during startup (code ${exit.code})`);
      if (Date.now() > deadline) throw await fail(`did not answer admin requests: ${String(err)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
