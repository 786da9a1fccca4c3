/**
 * The operations commands of the `urp-case-sync` binary, run as processes against the real broker and a running
 * instance: backfill (deterministic, idempotent, bad lines reported), dlq replay (after a fix, lineage kept,
 * eligibility respected, dry run) and reset (refused while an instance is alive, dry run, then the real thing).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Cluster, type ClusterMember } from '../support/cluster.js';
import { listTopics, openAdmin } from '../../kafka/index.js';
import { readTopicToEnd } from '../support/kafka-test-utils.js';
import { runCli } from '../support/run-cli.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function startCluster(settings: Record<string, string> = {}) {
  const cluster = new Cluster({ NUM_STANDBY_REPLICAS: '0', ...settings });
  cleanups.push(() => cluster.stop());
  const a = await cluster.start('a');
  await cluster.allReady();
  return { cluster, a };
}

/** The settings an operator's shell would have: the instance's, minus the API ones the tools do not use. */
function toolEnv(member: ClusterMember): Record<string, string> {
  const { HTTP_PORT: _p, HTTP_HOST: _h, ADVERTISED_URL: _u, INSTANCE_ID: _i, ...env } = member.env;
  return env;
}

async function metric(cluster: Cluster, member: ClusterMember, name: string): Promise<number> {
  const res = await cluster.get(member, '/metrics');
  const lines = String(res.body)
    .split('\n')
    .filter((l) => l.startsWith(name));
  return lines.reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200)); // poll period of a condition wait
  }
}

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'usc-cli-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('operations CLI', () => {
  it('backfills an export: every case appears, bad lines are reported, a second run changes nothing', async () => {
    const { cluster, a } = await startCluster();
    const dir = await scratch();
    const file = join(dir, 'export.jsonl');
    const rejects = join(dir, 'rejects.jsonl');
    const statuses = ['OPEN', 'IN_PROGRESS', 'ON_HOLD', 'CLOSED', 'REJECTED'];
    const lines = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({
        urpCaseId: `${cluster.app}-BF-${i}`,
        ucmCaseId: `UCM-BF-${i}`,
        createdAt: `2025-02-01T10:${String(i).padStart(2, '0')}:00Z`,
        status: statuses[i % statuses.length],
        statusChangedAt: `2025-02-03T10:${String(i).padStart(2, '0')}:00Z`,
        attributes: { priority: i % 2 ? 'high' : 'low', ssn: '123-45-6789' },
        transitions: i % 5 > 1 ? [{ status: 'IN_PROGRESS', at: '2025-02-02T00:00:00Z' }] : undefined,
      }),
    );
    lines.splice(10, 0, '{"urpCaseId": "broken"');
    lines.splice(20, 0, '');
    await writeFile(file, `${lines.join('\n')}\n`);

    const first = await runCli(['backfill', '--file', file, '--rejects-file', rejects], toolEnv(a));
    expect(first.code, first.stderr).toBe(1); // one rejected line
    expect(first.stdout).toMatch(/done: 42 lines, 40 cases, \d+ events, \d+ published, 1 rejected/);
    expect(first.stdout).toContain('line 11: not JSON');
    expect(JSON.parse(await readFile(rejects, 'utf8'))).toMatchObject({ line: 11 });
    // Lineage: the printed run id is on every published record, and the case history shows it.
    const runId = /backfill run (bf-\d{8}T\d{6}Z-[0-9a-f]{8}):/.exec(first.stdout)![1]!;
    const inputRecords = await readTopicToEnd(cluster.kafka, cluster.input);
    expect(inputRecords.length).toBeGreaterThan(0);
    for (const r of inputRecords)
      expect(r.headers).toMatchObject({ 'x-usc-run-id': runId, 'x-usc-run-kind': 'backfill' });

    // The first run is complete when the latest output record of every case counts all its events (a case is
    // published once per commit, not once per event).
    const published = Number(/(\d+) published/.exec(first.stdout)![1]);
    const topics = await cluster.topics();
    const eventsInOutput = () => {
      const latest = new Map<string, number>();
      for (const r of topics.records) {
        if (r.topic !== cluster.output || r.key === null || r.value === null) continue;
        latest.set(String(r.key), (JSON.parse(String(r.value)) as { eventCount: number }).eventCount);
      }
      return [...latest.values()].reduce((a, b) => a + b, 0);
    };
    await topics.waitUntil(
      () => eventsInOutput() === published,
      60_000,
      'every backfilled event in the output',
    );
    const outputAfterFirst = topics.records.filter((r) => r.topic === cluster.output).length;
    const table = await cluster.table();
    expect(table.get(`${cluster.app}-BF-3`)).toMatchObject({
      ucmCaseId: 'UCM-BF-3',
      status: 'CLOSED',
      statusChangedAt: '2025-02-03T10:03:00Z',
      attributes: { priority: 'high' },
      eventCount: 3,
      lastRunId: runId,
    });
    expect(JSON.stringify([...table.values()])).not.toContain('123-45-6789');

    const second = await runCli(['backfill', '--file', file], toolEnv(a));
    expect(second.stdout).toContain(`${published} published`);
    await waitFor('the second run to be processed as duplicates', async () => {
      return (await metric(cluster, a, 'ucm_case_events_duplicate_total')) === published;
    });
    await cluster.close('a'); // commits: everything the second run caused is in the output by now
    // The second run changed nothing: no case was published again.
    expect(await readTopicToEnd(cluster.kafka, cluster.output)).toHaveLength(outputAfterFirst);
    expect(table.size).toBe(40);
  });

  it('replays chosen dead letters after a fix, keeps their lineage and respects eligibility', async () => {
    const { cluster, a } = await startCluster();
    const urp = `${cluster.app}-R1`;
    await cluster.produce([
      {
        key: 'U1',
        value: JSON.stringify({
          eventId: 'c1',
          eventType: 'CASE_CREATED',
          eventTime: '2026-01-01T00:00:00Z',
          source: 'UCMv2',
          payload: {
            ucmCaseId: 'U1',
            urpCaseId: urp,
            initialStatus: 'OPEN',
            createdAt: '2026-01-01T00:00:00Z',
          },
        }),
      },
      {
        key: 'U1',
        value: JSON.stringify({
          eventId: 's1',
          eventType: 'CASE_STATUS_CHANGED',
          eventTime: '2026-01-02T00:00:00Z',
          source: 'UCMv2',
          payload: {
            ucmCaseId: 'U1',
            urpCaseId: urp,
            oldStatus: 'OPEN',
            newStatus: 'ARCHIVED',
            statusChangedAt: '2026-01-02T00:00:00Z',
          },
        }),
      },
      { key: 'U1', value: '{"eventId": "torn' },
      {
        key: 'U1',
        value: JSON.stringify({
          eventId: 's2',
          eventType: 'CASE_STATUS_CHANGED',
          eventTime: '2026-01-03T00:00:00Z',
          source: 'UCMv2',
          payload: { ucmCaseId: 'U1', urpCaseId: urp, oldStatus: 'OPEN', newStatus: 'CLOSED' },
        }),
      },
    ]);
    const topics = await cluster.topics();
    await topics.waitUntil(
      (rs) => rs.filter((r) => r.topic === cluster.dlq).length === 3,
      60_000,
      'three dead letters',
    );

    const dry = await runCli(['dlq', 'replay', '--all', '--dry-run'], toolEnv(a));
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('dlq replay (dry run, nothing published): scanned 3, matched 3, replayed 0');
    expect(dry.stdout).toMatch(/skipped \d+:\d+: no payload: INVALID_JSON dead letters carry none/);
    expect(dry.stdout).toMatch(/skipped \d+:\d+: not replay-eligible \(SCHEMA_INVALID\); use --force/);

    // The fix: ARCHIVED becomes a known status. Then replay just that category.
    await cluster.close('a');
    await cluster.start('a', { STATUS_MAPPING: '{"ARCHIVED": "CLOSED"}' });
    const replay = await runCli(['dlq', 'replay', '--category', 'UNKNOWN_STATUS'], toolEnv(a));
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toContain('scanned 3, matched 1, replayed 1, skipped 0');
    const replayRun = /dlq replay run (rp-\d{8}T\d{6}Z-[0-9a-f]{8}):/.exec(replay.stdout)![1]!;
    const republished = (await readTopicToEnd(cluster.kafka, cluster.input)).filter(
      (r) => r.headers['x-usc-replay-of'] !== undefined,
    );
    expect(republished.map((r) => [r.headers['x-usc-run-id'], r.headers['x-usc-run-kind']])).toEqual([
      [replayRun, 'dlq-replay'],
    ]);
    await topics.waitUntil(
      () => JSON.parse(topics.latest(cluster.output).get(urp) ?? '{}').status === 'CLOSED',
      60_000,
      'the replayed status change to apply',
    );
    expect((await cluster.table()).get(urp)).toMatchObject({
      status: 'CLOSED',
      lastEventId: 's1',
      eventCount: 2,
    });

    // The torn record has nothing to publish even when forced (its bytes were never kept). Forcing the
    // schema-invalid one through (its identifiers only): it fails again, and its new dead letter says it is a retry.
    const forced = await runCli(
      ['dlq', 'replay', '--category', 'INVALID_JSON,SCHEMA_INVALID', '--force'],
      toolEnv(a),
    );
    expect(forced.stdout).toContain('matched 2, replayed 1, skipped 1');
    await topics.waitUntil(
      (rs) => rs.filter((r) => r.topic === cluster.dlq).length === 4,
      60_000,
      'the retried dead letter',
    );
    // Dead letters are keyed by eventId, so they spread over partitions: find them by content, not position.
    const dead = await cluster.dlqRecords();
    const first = dead.find((d) => d.errorCategory === 'SCHEMA_INVALID' && d.retryCount === 0);
    expect(dead.filter((d) => d.retryCount === 1)).toEqual([
      expect.objectContaining({
        errorCategory: 'SCHEMA_INVALID',
        eventId: 's2',
        firstFailureAt: first!.firstFailureAt,
      }),
    ]);
  });

  it('resets the application only when no instance is alive, with a dry run first', async () => {
    const { cluster, a } = await startCluster();
    const refused = await runCli(['reset'], toolEnv(a));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`reset refused: 1 member(s) of group ${cluster.app} are alive`);

    await cluster.close('a');
    const dry = await runCli(['reset', '--dry-run'], toolEnv(a));
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('reset plan (dry run, nothing changed)');
    expect(dry.stdout).toContain(`${cluster.app}-cases-changelog`);
    const admin = await openAdmin(cluster.kafka);
    cleanups.push(() => admin.disconnect());
    const internal = (await listTopics(admin)).filter(
      (t) => t.startsWith(`${cluster.app}-`) && t.endsWith('-changelog'),
    );
    expect(internal.length).toBeGreaterThan(0);

    const done = await runCli(['reset'], toolEnv(a));
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain('reset done');
    expect((await listTopics(admin)).filter((t) => internal.includes(t))).toEqual([]);
  });
});
