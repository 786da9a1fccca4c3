/**
 * The process lifecycle of `urp-case-sync start` on a real broker, with real processes (cli/main.ts through tsx):
 * a SIGTERM during a rebalance ends the process within SHUTDOWN_TIMEOUT_MS (+ 5 s of slack); a stop that hangs
 * (broker frozen) ends with code 1 once SHUTDOWN_TIMEOUT_MS is up, or at once with code 143 on a second SIGTERM;
 * an instance that cannot start (its state directory locked by a live instance) exits 1 at once instead of
 * retrying or lingering.
 * Stale locks left by a previous process with the same pid are covered by the unit tests (a child's future pid
 * cannot be forced).
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { EmbeddedKafka } from '../../kafka/embedded/index.js';
import { generateUcmEvents } from '../../processors/simulation/ucm-event-generator.js';
import { CliInstance, instanceEnv } from '../support/cli-instance.js';
import { TEST_TOKEN } from '../support/cluster.js';
import { brokers, produce, testKafka, uniqueName } from '../support/kafka-test-utils.js';

const started: CliInstance[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  await Promise.all(started.map((i) => i.kill()));
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await Promise.all(started.map((i) => rm(i.env.STATE_DIR!, { recursive: true, force: true })));
});

async function launch(
  app: string,
  name: string,
  extra: Record<string, string> = {},
  bootstrap: readonly string[] = brokers(),
): Promise<CliInstance> {
  const instance = CliInstance.start(name, await instanceEnv(app, name, bootstrap, extra));
  started.push(instance);
  return instance;
}

/** Some input, so that tasks have state to commit and changelogs to restore. */
async function feed(app: string, seed: number, bootstrap: readonly string[] = brokers()): Promise<void> {
  const records = generateUcmEvents({ seed, cases: 150, prefix: `L${seed}` });
  const kafka = testKafka('lifecycle', bootstrap);
  for (let i = 0; i < records.length; i += 500) {
    await produce(
      kafka,
      `${app}-in`,
      records.slice(i, i + 500).map((r) => ({ key: r.key, value: r.value })),
    );
  }
}

/** Resolves once the instance processed input records (under a long commit interval: not yet committed). */
async function processedSome(instance: CliInstance): Promise<void> {
  await expect
    .poll(
      async () => {
        const res = await fetch(`${instance.url}/metrics`, {
          headers: { authorization: `Bearer ${TEST_TOKEN}` },
        });
        const text = await res.text();
        return text
          .split('\n')
          .filter((l) => l.startsWith('usc_streams_records_processed_total{'))
          .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
      },
      { timeout: 60_000, interval: 100 },
    )
    .toBeGreaterThan(100);
}

/** Starts `second` and resolves once `first` logs that its group is rebalancing because of it. */
async function rebalanceBy(first: CliInstance, second: CliInstance): Promise<void> {
  const from = first.lines.length;
  await second.waitForLog('streams state changed', { state: 'rebalancing' });
  await first.waitForLog('streams state changed', { state: 'rebalancing' }, { from });
}

describe('urp-case-sync start: process lifecycle', () => {
  it('exits within SHUTDOWN_TIMEOUT_MS when SIGTERM arrives while the group rebalances', async () => {
    const app = uniqueName('life');
    const timeoutMs = 8_000;
    const a = await launch(app, 'a', { SHUTDOWN_TIMEOUT_MS: String(timeoutMs) });
    await a.running();
    await feed(app, 1);
    await a.ready();
    const b = await launch(app, 'b');
    await rebalanceBy(a, b);
    const sentAt = a.signal('SIGTERM');
    const exit = await a.exited;
    const tookMs = exit.at - sentAt;
    const timedOut = a.lines.some((l) => String(l.log?.msg ?? '').includes('shutdown timed out'));
    console.log(
      `SIGTERM during a rebalance: exit code ${exit.code} after ${tookMs} ms (timed out: ${timedOut})`,
    );
    expect(tookMs, a.tail()).toBeLessThan(timeoutMs + 5_000);
    expect(exit.code, a.tail()).toBe(timedOut ? 1 : 0);
    expect(a.lines.some((l) => l.stream === 'stdout' && l.text === 'SIGTERM: shutting down')).toBe(true);
    // The remaining instance takes every task over.
    await b.running();
    await b.ready();
    await b.kill();
  });

  it('a stop that hangs (its broker frozen) ends after SHUTDOWN_TIMEOUT_MS with 1, or at a second SIGTERM with 143', async () => {
    // A broker of its own, frozen with SIGSTOP while the instances hold processed but uncommitted work (a long
    // commit interval): their final commit gets no answer, so a graceful stop cannot finish and only the bound or
    // a second signal can end the process. (With nothing to commit a static member stops without the broker.)
    const broker = await EmbeddedKafka.start({ cacheDir: path.resolve('.kafka'), logger: silentLogger });
    cleanups.push(async () => {
      process.kill(broker.pid!, 'SIGCONT');
      await broker.kill();
      await broker.stop(); // removes its ephemeral data directory
    });
    const bootstrap = [broker.bootstrap];
    const shortMs = 5_000;
    const longMs = 300_000;
    const [appA, appB] = [uniqueName('life'), uniqueName('life')];
    // A native Kafka request in flight when the bound is reached delays the exit until it times out (the process
    // waits for the client's worker threads); TRANSACTION_TIMEOUT_MS bounds the transactional ones.
    // b's transactional requests wait a minute: its final commit is still stuck when the second SIGTERM comes.
    const uncommitted = { COMMIT_INTERVAL_MS: '600000', COMMIT_MIN_INTERVAL_MS: '600000' };
    const a = await launch(
      appA,
      'a',
      { ...uncommitted, TRANSACTION_TIMEOUT_MS: '3000', SHUTDOWN_TIMEOUT_MS: String(shortMs) },
      bootstrap,
    );
    const b = await launch(
      appB,
      'b',
      { ...uncommitted, TRANSACTION_TIMEOUT_MS: '60000', SHUTDOWN_TIMEOUT_MS: String(longMs) },
      bootstrap,
    );
    await Promise.all([a.running(), b.running()]);
    await Promise.all([a.ready(), b.ready()]);
    await Promise.all([feed(appA, 3, bootstrap), feed(appB, 4, bootstrap)]);
    await Promise.all([processedSome(a), processedSome(b)]);
    process.kill(broker.pid!, 'SIGSTOP');

    const [fromA, fromB] = [a.lines.length, b.lines.length];
    const sentA = a.signal('SIGTERM');
    const sentB = b.signal('SIGTERM');
    await a.waitForLog('shutting down gracefully', { reason: 'SIGTERM' }, { from: fromA });
    await b.waitForLog('shutting down gracefully', { reason: 'SIGTERM' }, { from: fromB });

    // a: the bound. Exit code 1 after SHUTDOWN_TIMEOUT_MS, saying what it abandoned.
    const exitA = await a.exited;
    console.log(`SIGTERM with a frozen broker: exit code ${exitA.code} after ${exitA.at - sentA} ms`);
    expect(exitA.code, a.tail()).toBe(1);
    expect(exitA.at - sentA).toBeGreaterThanOrEqual(shortMs);
    expect(exitA.at - sentA).toBeLessThan(shortMs + 5_000);
    const line = a.lines.find((l) => String(l.log?.msg ?? '').startsWith('shutdown timed out'));
    expect(line?.log, a.tail()).toMatchObject({
      level: 50,
      timeoutMs: shortMs,
      abandoned: expect.any(String),
    });
    expect(line?.log?.msg).toContain('uncommitted work is discarded, committed state is safe');

    // b: still stuck in its graceful stop (its bound is minutes away) until the second SIGTERM ends it at once.
    expect(b.exit, b.tail()).toBeUndefined();
    const secondB = b.signal('SIGTERM');
    const exitB = await b.exited;
    console.log(
      `second SIGTERM: exit code ${exitB.code} ${exitB.at - secondB} ms after it (${exitB.at - sentB} ms after the first)`,
    );
    expect(exitB.code, b.tail()).toBe(143);
    expect(exitB.at - sentB).toBeLessThan(longMs);
    expect(
      b.lines.some(
        (l) => l.log?.level === 40 && String(l.log.msg).startsWith('second SIGTERM: exiting at once'),
      ),
      b.tail(),
    ).toBe(true);
  }, 240_000);

  it('exits 1 at once, without retrying, when its state directory is locked by a live instance', async () => {
    const app = uniqueName('life');
    const a = await launch(app, 'a');
    await a.running();
    const clash = await launch(app, 'a-clash', { STATE_DIR: a.env.STATE_DIR! });
    const exit = await clash.exited;
    expect(exit.code, clash.tail()).toBe(1);
    const stderr = clash.lines.filter((l) => l.stream === 'stderr').map((l) => l.text);
    expect(stderr.join('\n')).toContain(`is locked by instance a (pid ${a.child.pid})`);
    expect(clash.lines.some((l) => String(l.log?.msg ?? '').includes('retrying'))).toBe(false);
    await a.kill();
  });
});
