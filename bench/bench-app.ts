/**
 * One application of the service under benchmark (BenchApp): its topics and consumer group, and its instances,
 * real `urp-case-sync start` processes (the compiled CLI, or a baseline build's: see bench/baseline.ts) spawned
 * against the benchmark broker with the settings and BENCH_* environment of the run; waits on their readiness and
 * on the application having caught up, reads their /metrics. Also `publishAll` (input records in batches) and
 * `until` (a polled condition with a timeout), which the benchmarks that use an app share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, createWriteStream, mkdirSync, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { INSTANCE_ENV, INSTANCE_NODE_OPTIONS } from '../cli/instance-runtime.js';
import { silentLogger } from '../common/logger.js';
import { freePort } from '../kafka/embedded/free-port.js';
import { createKafka, listTopics, openAdmin, Publisher, type KafkaClient } from '../kafka/index.js';
import type { ProcessingGuarantee } from '../topology/streams-config.js';
import { waitCaughtUp } from './streams-throughput.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const POLL_MS = 100; // poll period of the condition waits below

export const until = async (what: string, check: () => Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
};

export interface Instance {
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
  readonly stateDir: string;
}

/** One application (topics + consumer group) and its instances. */
export class BenchApp {
  readonly id = `bench-${randomUUID().slice(0, 8)}`;
  readonly input = `${this.id}-in`;
  readonly output = `${this.id}-out`;
  readonly dlq = `${this.id}-dlq`;
  readonly kafka: KafkaClient;
  readonly instances = new Map<string, Instance>();

  constructor(
    readonly brokers: readonly string[],
    readonly settings: {
      readonly guarantee: ProcessingGuarantee;
      readonly partitions: number;
      readonly standbys: number;
      /** The compiled CLI to spawn (default this checkout's dist/cli/main.js; a baseline's, see baseline.ts). */
      readonly cli?: string;
    },
  ) {
    this.kafka = createKafka({ brokers, clientId: this.id }, silentLogger);
  }

  /**
   * Starts an instance; `restart`: the same instance again (same id, port and state directory). `onLog`: the
   * instance logs JSON lines at info (or BENCH_LOG_LEVEL when that is debug or trace) and each line is handed to
   * it (and still written to BENCH_LOG_DIR when set).
   */
  async start(name: string, restart?: Instance, onLog?: (line: string) => void): Promise<Instance> {
    const port = restart ? Number(new URL(restart.url).port) : await freePort('127.0.0.1');
    const stateDir = restart?.stateDir ?? (await mkdtemp(join(tmpdir(), `usc-bench-${name}-`)));
    const url = `http://127.0.0.1:${port}`;
    // BENCH_CPU_PROF_DIR: every instance writes a V8 CPU profile there when it stops (see bench/profile-top.ts).
    const profDir = process.env.BENCH_CPU_PROF_DIR;
    // Launched as the image launches it (cli/instance-runtime.ts: young-generation size, glibc mmap threshold).
    const nodeArgs = [
      ...INSTANCE_NODE_OPTIONS,
      ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []),
      // BENCH_NODE_ARGS: more Node/V8 options for every instance (space-separated), e.g. to try a V8 flag.
      ...(process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter((a) => a !== ''),
    ];
    // BENCH_LOG_DIR: every instance's log lines (at BENCH_LOG_LEVEL, default info) go to <dir>/<app>-<name>.log.
    const logDir = process.env.BENCH_LOG_DIR;
    if (logDir) mkdirSync(logDir, { recursive: true });
    const logPath = logDir ? join(logDir, `${this.id}-${name}.log`) : undefined;
    const logFile = logPath !== undefined && onLog === undefined ? openSync(logPath, 'a') : undefined;
    const benchLevel = process.env.BENCH_LOG_LEVEL;
    const level =
      onLog !== undefined
        ? benchLevel === 'debug' || benchLevel === 'trace'
          ? benchLevel
          : 'info'
        : logFile === undefined
          ? 'error'
          : (benchLevel ?? 'info');
    const child = spawn(process.execPath, [...nodeArgs, this.settings.cli ?? CLI, 'start'], {
      env: {
        PATH: process.env.PATH,
        ...INSTANCE_ENV,
        KAFKA_BROKERS: this.brokers.join(','),
        APPLICATION_ID: this.id,
        INSTANCE_ID: name,
        INPUT_TOPIC: this.input,
        OUTPUT_TOPIC: this.output,
        DLQ_TOPIC: this.dlq,
        PARTITIONS: String(this.settings.partitions),
        STATE_DIR: stateDir,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: String(port),
        ADVERTISED_URL: url,
        PROCESSING_GUARANTEE: this.settings.guarantee,
        NUM_STANDBY_REPLICAS: String(this.settings.standbys),
        SESSION_TIMEOUT_MS: '6000',
        REPLICATION_FACTOR: '1',
        LOG_LEVEL: level,
        // BENCH_ENV_<NAME>=v sets <NAME>=v in every instance (e.g. BENCH_ENV_STORE_MEMORY_MB=16).
        ...Object.fromEntries(
          Object.entries(process.env)
            .filter(([k]) => k.startsWith('BENCH_ENV_'))
            .map(([k, v]) => [k.slice('BENCH_ENV_'.length), v]),
        ),
        ...(onLog === undefined ? {} : { LOG_FORMAT: 'json' }),
      },
      stdio:
        onLog === undefined
          ? ['ignore', logFile ?? 'ignore', logFile ?? 'inherit']
          : ['ignore', 'pipe', 'pipe'],
    });
    if (logFile !== undefined) closeSync(logFile);
    if (onLog !== undefined) {
      const copy = logPath === undefined ? undefined : createWriteStream(logPath, { flags: 'a' });
      for (const stream of [child.stdout!, child.stderr!]) {
        createInterface({ input: stream }).on('line', (line) => {
          copy?.write(`${line}\n`);
          onLog(line);
        });
      }
      child.once('close', () => copy?.end());
    }
    const instance = { name, url, child, stateDir };
    this.instances.set(name, instance);
    return instance;
  }

  /** Waits until every running instance answers /readyz with 200. */
  async ready(timeoutMs = 180_000): Promise<void> {
    for (const i of this.running()) {
      await until(
        `${i.name} ready`,
        async () => (await fetch(`${i.url}/readyz`).catch(() => undefined))?.status === 200,
        timeoutMs,
      );
    }
  }

  running(): Instance[] {
    return [...this.instances.values()].filter(
      (i) => i.child.exitCode === null && i.child.signalCode === null,
    );
  }

  /** Internal repartition topics of the application (sources of its later subtopologies). */
  repartitionTopics(): Promise<string[]> {
    return this.internalTopics('-repartition');
  }

  /** Internal topics of the application whose names end with `suffix`. */
  async internalTopics(suffix: string): Promise<string[]> {
    const admin = await openAdmin(this.kafka);
    try {
      return (await listTopics(admin)).filter((t) => t.startsWith(`${this.id}-`) && t.endsWith(suffix));
    } finally {
      await admin.disconnect();
    }
  }

  /** Every stage of the application processed and committed everything produced so far. */
  caughtUp(timeoutMs = 900_000): Promise<void> {
    return waitCaughtUp(this.kafka, this.id, this.input, timeoutMs);
  }

  async metric(instance: Instance, name: string): Promise<number> {
    const text = await (await fetch(`${instance.url}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
      .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
  }

  /** Stops one instance (SIGTERM: a clean close); its state directory stays. */
  async stopInstance(instance: Instance): Promise<void> {
    if (instance.child.exitCode !== null || instance.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      instance.child.once('exit', () => resolve());
      instance.child.kill('SIGTERM');
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.running().map((i) => this.stopInstance(i)));
    await Promise.all(
      [...this.instances.values()].map((i) => rm(i.stateDir, { recursive: true, force: true })),
    );
  }
}

/** Publishes `records` to `topic` in batches of 2,000 (one idempotent producer). */
export async function publishAll(
  kafka: KafkaClient,
  topic: string,
  records: readonly { key: string; value: string }[],
) {
  const publisher = await Publisher.open(kafka);
  try {
    await publisher.publish(topic, records, 2_000);
  } finally {
    await publisher.close();
  }
}
