/**
 * A cluster of real urp-case-sync instances (child processes running the full service) against the test broker,
 * with the topics, collectors and HTTP helpers the integration and failure tests share.
 */
import { rm } from 'node:fs/promises';
import { listTopics, openAdmin, topicOffsets } from '../../kafka/index.js';
import type { GeneratedRecord } from '../../processors/simulation/ucm-event-generator.js';
import { diffTable, type ExpectedCase } from './case-model.js';
import { instanceEnv } from './cli-instance.js';
import { spawnInstance, type InstanceHandle } from './instance-harness.js';
import { brokers, produce, TopicCollector, testKafka, uniqueName } from './kafka-test-utils.js';

/** A parsed API response body (JSON), loosely typed for assertions. */
export type ApiBody = Record<string, unknown> & { error?: { code: string; message: string } };

export const TEST_TOKEN = 'integration-test-token-0123456789';

export interface ClusterMember {
  readonly name: string;
  readonly url: string;
  handle: InstanceHandle;
  readonly env: Record<string, string>;
}

export class Cluster {
  readonly kafka: ReturnType<typeof testKafka>;
  readonly app = uniqueName('usc');
  readonly input = `${this.app}-in`;
  readonly output = `${this.app}-out`;
  readonly dlq = `${this.app}-dlq`;
  readonly members = new Map<string, ClusterMember>();
  private readonly dirs: string[] = [];
  private collector: TopicCollector | undefined;

  constructor(
    private readonly settings: Record<string, string> = {},
    /** Bootstrap servers; default: the test run's broker. */
    private readonly bootstrap: () => readonly string[] = brokers,
  ) {
    this.kafka = testKafka('cluster', this.bootstrap());
  }

  /**
   * Starts (or restarts, keeping its state directory and settings, with `extra` settings on top) an instance;
   * resolves once its API listens.
   */
  async start(
    name: string,
    extra: Record<string, string> = {},
    options: { wait: boolean } = { wait: true },
  ): Promise<ClusterMember> {
    const previous = this.members.get(name);
    let env = previous ? { ...previous.env, ...extra } : undefined;
    if (!env) {
      env = await instanceEnv(this.app, name, this.bootstrap(), {
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
        ...this.settings,
        ...extra,
      });
      this.dirs.push(env.STATE_DIR!);
    }
    const handle = spawnInstance(name, './service-child.ts', env);
    const member = { name, url: env.ADVERTISED_URL!, handle, env };
    this.members.set(name, member);
    if (!options.wait) return member;
    await handle.waitFor((m) => m.event === 'listening', 120_000, `${name} listening`);
    return member;
  }

  /** Waits until every running member reports ready (all its active tasks restored and running). */
  async allReady(timeoutMs = 120_000): Promise<void> {
    for (const m of this.running())
      await m.handle.until<{ ready: boolean }>('tasks', (t) => t.ready, timeoutMs);
  }

  /** Graceful stop (commit, leave the group) of one member. */
  async close(name: string): Promise<void> {
    await this.members.get(name)?.handle.close();
  }

  /**
   * Waits until every running member's owner map names exactly the running members, covers `taskCount` and gives
   * every member active tasks (the rebalance's outcome, not a step of it).
   */
  async ownersAgree(taskCount: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = this.running();
      const maps = await Promise.all(
        running.map((m) =>
          m.handle.request<{ instanceId: string; active: string[]; standby: string[] }[]>('hosts'),
        ),
      );
      const canonical = maps.map((hosts) =>
        JSON.stringify(
          [...hosts]
            .sort((x, y) => x.instanceId.localeCompare(y.instanceId))
            .map((h) => [h.instanceId, [...h.active].sort()]),
        ),
      );
      const first = maps[0] ?? [];
      const names = first.map((h) => h.instanceId).sort();
      const covered = new Set(first.flatMap((h) => h.active)).size;
      // A cooperative rebalance takes two steps: after the first, a newcomer is in the map with nothing yet, and
      // its partitions are still to move. The outcome is reached when every member runs something.
      const everyMemberWorks = taskCount < running.length || first.every((h) => h.active.length > 0);
      if (
        new Set(canonical).size === 1 &&
        JSON.stringify(names) === JSON.stringify(running.map((m) => m.name).sort()) &&
        covered === taskCount &&
        everyMemberWorks
      ) {
        return;
      }
      if (Date.now() > deadline) throw new Error(`owner maps do not agree: ${canonical.join(' | ')}`);
      await new Promise((r) => setTimeout(r, 200)); // poll period of a condition wait
    }
  }

  /** Read_committed end offsets (last stable offsets) of the application's topics, by topic and partition. */
  async committedEnds(): Promise<Record<string, Record<number, string>>> {
    const admin = await openAdmin(this.kafka);
    try {
      const topics = (await listTopics(admin)).filter((t) => t.startsWith(`${this.app}-`));
      const out: Record<string, Record<number, string>> = {};
      for (const t of topics) {
        out[t] = Object.fromEntries([...(await topicOffsets(admin, t))].map(([p, o]) => [p, o.high]));
      }
      return out;
    } finally {
      await admin.disconnect();
    }
  }

  running(): ClusterMember[] {
    return [...this.members.values()].filter(
      (m) => m.handle.child.exitCode === null && m.handle.child.signalCode === null,
    );
  }

  async produce(records: readonly GeneratedRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += 500)
      await produce(
        this.kafka,
        this.input,
        records.slice(i, i + 500).map((r) => ({ key: r.key, value: r.value })),
      );
  }

  /** read_committed collector of the output and dead-letter topics (started once the topics exist). */
  async topics(): Promise<TopicCollector> {
    this.collector ??= await new TopicCollector(this.kafka, [this.output, this.dlq]).start();
    return this.collector;
  }

  /** The output topic as a table (latest value per key), parsed. */
  async table(): Promise<Map<string, unknown>> {
    return tableOf(await this.topics(), this.output);
  }

  /** What the output table read so far lacks or gets wrong compared with the model (empty: they agree). */
  async tableDiff(expected: ReadonlyMap<string, ExpectedCase>): Promise<string[]> {
    return diffTable(await this.table(), expected);
  }

  /** Resolves once the output table (read_committed) matches the model; rejects after `timeoutMs`. */
  async waitForTable(expected: ReadonlyMap<string, ExpectedCase>, timeoutMs = 120_000): Promise<void> {
    const topics = await this.topics();
    await topics.waitUntil(
      () => diffTable(tableOf(topics, this.output), expected).length === 0,
      timeoutMs,
      'the output table to match the model',
    );
  }

  async dlqRecords(): Promise<Record<string, unknown>[]> {
    const c = await this.topics();
    return c.records
      .filter((r) => r.topic === this.dlq)
      .map((r) => JSON.parse(r.value!) as Record<string, unknown>);
  }

  async get(
    member: ClusterMember,
    path: string,
    token: string | null = TEST_TOKEN,
  ): Promise<{ status: number; headers: Headers; body: ApiBody }> {
    const res = await fetch(`${member.url}${path}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON (metrics)
    }
    return { status: res.status, headers: res.headers, body: body as ApiBody };
  }

  async stop(): Promise<void> {
    await Promise.all(this.running().map((m) => m.handle.kill()));
    await this.collector?.stop();
    await Promise.all(this.dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
}

function tableOf(c: TopicCollector, topic: string): Map<string, unknown> {
  return new Map([...c.latest(topic)].map(([k, v]) => [k, v === null ? null : JSON.parse(v)]));
}
