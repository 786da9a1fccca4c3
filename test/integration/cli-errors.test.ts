/**
 * CLI failures and `send` against the real broker: `start` on a taken HTTP port ends with one coded line and exit
 * code 1 (no stack trace); `send --example` and `send --file` publish one event keyed by its ucmCaseId to the
 * input topic, where a running instance turns it into a case the API answers; a broker that does not answer (a
 * closed port) is reported by reset, backfill, send and dlq in seconds as USC_ERR_KAFKA_UNREACHABLE, without the Kafka
 * client's lines.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { instanceEnv } from '../support/cli-instance.js';
import { Cluster } from '../support/cluster.js';
import { brokers, readTopicToEnd, testKafka, uniqueName } from '../support/kafka-test-utils.js';
import { runCli } from '../support/run-cli.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

describe('urp-case-sync CLI against a real broker', () => {
  it('reports an unreachable broker as one coded line within seconds for every tool', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'usc-cli-unreachable-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'export.jsonl');
    await writeFile(file, '');
    const event = join(dir, 'event.json');
    await writeFile(event, '{"eventId":"e1","payload":{"ucmCaseId":"U1"}}');
    const env = { KAFKA_BROKERS: '127.0.0.1:1', STATE_DIR: join(dir, 'state') };
    for (const args of [
      ['reset'],
      ['reset', '--dry-run'],
      ['backfill', '--file', file],
      ['send', '--example'],
      ['send', '--file', event],
      ['dlq', 'list'],
      ['dlq', 'show', '0:0'],
      ['dlq', 'replay', '--all'],
    ]) {
      const started = Date.now();
      const res = await runCli(args, env, 30_000);
      const what = `${args.join(' ')}: ${res.stderr}`;
      expect(res.code, what).toBe(1);
      expect(res.stderr.trim().split('\n'), what).toEqual([
        expect.stringMatching(
          /^urp-case-sync: USC_ERR_KAFKA_UNREACHABLE: no Kafka broker answered at 127\.0\.0\.1:1 within \d+ s; check KAFKA_BROKERS or start one with npm run kafka$/,
        ),
      ]);
      expect(res.stderr).not.toContain('librdkafka');
      expect(Date.now() - started, what).toBeLessThan(15_000);
    }
  }, 120_000); // eight CLI processes (each loads tsx) on a shared 2-core machine

  it('start on a taken HTTP port prints one coded line and exits 1', async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => holder.close(resolve)));
    const port = (holder.address() as { port: number }).port;
    const env = await instanceEnv(uniqueName('usc-port'), 'p', brokers(), {
      HTTP_PORT: String(port),
      LOG_LEVEL: 'warn',
    });
    cleanups.push(() => rm(env.STATE_DIR!, { recursive: true, force: true }));
    const res = await runCli(['start'], env);
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n').at(-1)).toBe(
      `urp-case-sync: USC_ERR_HTTP_PORT_TAKEN: port ${port} on 127.0.0.1 is in use; stop what holds it or set HTTP_PORT`,
    );
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(res.stderr).not.toContain('EADDRINUSE');
  });

  it('send --example and send --file publish one event each; the instance answers the cases', async () => {
    const cluster = new Cluster({ NUM_STANDBY_REPLICAS: '0' });
    cleanups.push(() => cluster.stop());
    const a = await cluster.start('a');
    await cluster.allReady();
    const { HTTP_PORT: _p, HTTP_HOST: _h, ADVERTISED_URL: _u, INSTANCE_ID: _i, ...env } = a.env;

    const example = await runCli(['send', '--example', '--urp-case-id', 'URP-SEND-1'], env);
    expect(example.stderr).toBe('');
    expect(example.code).toBe(0);
    expect(example.stdout).toMatch(
      new RegExp(
        `^sent CASE_CREATED \\S+ to ${cluster.input} \\(key UCM-URP-SEND-1\\); urpCaseId URP-SEND-1\\n$`,
      ),
    );

    const dir = await mkdtemp(join(tmpdir(), 'usc-send-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'event.json');
    const now = new Date().toISOString();
    await writeFile(
      file,
      JSON.stringify({
        eventId: 'send-file-1',
        eventType: 'CASE_CREATED',
        eventTime: now,
        source: 'UCMv2',
        payload: { ucmCaseId: 'UCM-SEND-2', urpCaseId: 'URP-SEND-2', initialStatus: 'OPEN', createdAt: now },
      }),
    );
    const fromFile = await runCli(['send', '--file', file], env);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toContain('sent CASE_CREATED send-file-1');

    const input = await readTopicToEnd(testKafka('send-check', brokers()), cluster.input);
    expect(input.map((r) => r.key).sort()).toEqual(['UCM-SEND-2', 'UCM-URP-SEND-1']);

    for (const urp of ['URP-SEND-1', 'URP-SEND-2']) {
      const deadline = Date.now() + 60_000;
      let res = await cluster.get(a, `/cases/${urp}`);
      while (res.status !== 200 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200)); // poll period of a condition wait
        res = await cluster.get(a, `/cases/${urp}`);
      }
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ urpCaseId: urp, ucmCaseId: expect.stringMatching(/^UCM-/) });
    }
  });
});
