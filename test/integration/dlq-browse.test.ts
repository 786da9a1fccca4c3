/**
 * Browsing and replaying dead letters on the real broker, without writing a consumer: `dlq list` with filters,
 * `dlq show <ref>`, `dlq replay --dry-run` naming what it would publish, and the API's `GET /dlq` (paged with a
 * cursor, filtered), `GET /dlq/:ref` and `POST /dlq/replay` (an UNKNOWN_STATUS record applied after the
 * STATUS_MAPPING fix, a non-eligible one skipped).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../processors/domain/dlq-query.js';
import { Cluster, TEST_TOKEN, type ClusterMember } from '../support/cluster.js';
import { runCli } from '../support/run-cli.js';

const cluster = new Cluster({ NUM_STANDBY_REPLICAS: '0' });
const urp = `${cluster.app}-D1`;
const urp2 = `${cluster.app}-D2`;
let a: ClusterMember;

/** The settings an operator's shell would have: the instance's, minus the API ones the tools do not use. */
function toolEnv(member: ClusterMember): Record<string, string> {
  const { HTTP_PORT: _p, HTTP_HOST: _h, ADVERTISED_URL: _u, INSTANCE_ID: _i, ...env } = member.env;
  return env;
}

const event = (eventId: string, eventType: string, payload: Record<string, unknown>) =>
  JSON.stringify({ eventId, eventType, eventTime: '2026-01-02T00:00:00Z', source: 'UCMv2', payload });

beforeAll(async () => {
  a = await cluster.start('a');
  await cluster.allReady();
  await cluster.produce([
    {
      key: 'U1',
      value: event('c1', 'CASE_CREATED', {
        ucmCaseId: 'U1',
        urpCaseId: urp,
        initialStatus: 'OPEN',
        createdAt: '2026-01-01T00:00:00Z',
      }),
    },
    {
      key: 'U1',
      value: event('s1', 'CASE_STATUS_CHANGED', {
        ucmCaseId: 'U1',
        urpCaseId: urp,
        oldStatus: 'OPEN',
        newStatus: 'ARCHIVED',
        statusChangedAt: '2026-01-02T00:00:00Z',
      }),
    },
    { key: 'U1', value: '{"eventId": "torn' },
    {
      key: 'U2',
      value: event('s2', 'CASE_STATUS_CHANGED', {
        ucmCaseId: 'U2',
        urpCaseId: urp2,
        oldStatus: 'OPEN',
        newStatus: 'CLOSED',
      }),
    },
  ]);
  const topics = await cluster.topics();
  await topics.waitUntil(
    (rs) => rs.filter((r) => r.topic === cluster.dlq).length === 3,
    60_000,
    'three dead letters',
  );
});
afterAll(() => cluster.stop());

/** Every dead letter through the API, following nextCursor one item at a time. */
async function pageThrough(query: string): Promise<DeadLetter[]> {
  const items: DeadLetter[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10; page++) {
    const res = await cluster.get(a, `/dlq?limit=1${query}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = res.body as unknown as { items: DeadLetter[]; nextCursor: string | null };
    expect(body.items.length).toBeLessThanOrEqual(1);
    items.push(...body.items);
    cursor = body.nextCursor;
    if (!cursor) return items;
  }
  throw new Error('more pages than dead letters');
}

function byCategory(letters: readonly DeadLetter[], category: string): DeadLetter {
  const found = letters.find((l) => l.record.errorCategory === category);
  if (!found) throw new Error(`no ${category} dead letter in ${JSON.stringify(letters)}`);
  return found;
}

describe('browsing dead letters', () => {
  let letters: DeadLetter[] = [];

  it('lists them with the CLI, filtered, and shows one in full', async () => {
    const all = await runCli(['dlq', 'list'], toolEnv(a));
    expect(all.code, all.stderr).toBe(0);
    const lines = all.stdout.trim().split('\n');
    expect(lines).toHaveLength(4); // three dead letters and the summary
    expect(lines[3]).toBe(`# 3 dead letter(s) shown of 3 in ${cluster.dlq}`);
    expect(all.stdout).toMatch(
      /^\d+:\d+ {2}\S+Z {2}UNKNOWN_STATUS {2}retry=0 {2}replayEligible=true {2}eventId=s1 {2}field=payload\.newStatus {2}\S.*$/m,
    );
    expect(all.stdout).toMatch(/ {2}INVALID_JSON {2}retry=0 {2}replayEligible=false {2}eventId=- /);
    expect(all.stdout).toMatch(/ {2}SCHEMA_INVALID .* eventId=s2 {2}field=payload\.statusChangedAt {2}\S/);

    const filtered = await runCli(
      ['dlq', 'list', '--category', 'UNKNOWN_STATUS,SCHEMA_INVALID', '--urp-case-id', urp],
      toolEnv(a),
    );
    expect(filtered.code, filtered.stderr).toBe(0);
    expect(filtered.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/ UNKNOWN_STATUS .*eventId=s1 /),
      `# 1 dead letter(s) shown of 3 in ${cluster.dlq}`,
    ]);
    const byUcm = await runCli(
      ['dlq', 'list', '--ucm-case-id', 'U2', '--since', '2020-01-01T00:00:00Z', '--format', 'json'],
      toolEnv(a),
    );
    const page = JSON.parse(byUcm.stdout) as { items: DeadLetter[]; nextCursor: string | null };
    expect(page.nextCursor).toBeNull();
    expect(page.items.map((l) => [l.record.errorCategory, l.record.eventId])).toEqual([
      ['SCHEMA_INVALID', 's2'],
    ]);
    const none = await runCli(['dlq', 'list', '--until', '2020-01-01T00:00:00Z'], toolEnv(a));
    expect(none.stdout.trim()).toBe(`# 0 dead letter(s) shown of 3 in ${cluster.dlq}`);
    const bad = await runCli(['dlq', 'list', '--category', 'NOPE'], toolEnv(a));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--category must be a comma-separated list of INVALID_JSON');

    const json = await runCli(['dlq', 'list', '--format', 'json'], toolEnv(a));
    letters = (JSON.parse(json.stdout) as { items: DeadLetter[] }).items;
    expect(letters).toHaveLength(3);
    const unknown = byCategory(letters, 'UNKNOWN_STATUS');
    const shown = await runCli(['dlq', 'show', unknown.ref], toolEnv(a));
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('\n  "record": {\n'); // pretty
    expect(JSON.parse(shown.stdout)).toEqual(unknown);
    expect(unknown.record).toMatchObject({
      eventId: 's1',
      errorField: 'payload.newStatus',
      replayEligible: true,
      payload: { payload: { ucmCaseId: 'U1', urpCaseId: urp, newStatus: 'ARCHIVED' } },
    });
    const missing = await runCli(['dlq', 'show', '--ref', `${unknown.partition}:999999`], toolEnv(a));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no dead letter at ${unknown.partition}:999999`);

    const dry = await runCli(['dlq', 'replay', '--all', '--dry-run'], toolEnv(a));
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('scanned 3, matched 3, replayed 0, skipped 2');
    expect(dry.stdout).toContain(`  would replay ${unknown.ref}: eventId s1, key U1`);
    expect(dry.stdout.match(/would replay/g)).toHaveLength(1);
    expect(dry.stdout).toContain(
      `  skipped ${byCategory(letters, 'SCHEMA_INVALID').ref}: not replay-eligible`,
    );
  });

  it('pages through them over HTTP with a cursor, filters, and answers one by ref', async () => {
    const paged = await pageThrough('');
    expect(paged).toEqual(letters); // the same records, the same order (newest first) as the CLI
    expect(new Set(paged.map((l) => l.ref)).size).toBe(3);
    expect(await pageThrough('&category=INVALID_JSON,SCHEMA_INVALID')).toEqual(
      letters.filter((l) => l.record.errorCategory !== 'UNKNOWN_STATUS'),
    );
    const byEvent = await cluster.get(a, '/dlq?eventId=s2');
    expect((byEvent.body.items as DeadLetter[]).map((l) => l.record.errorCategory)).toEqual([
      'SCHEMA_INVALID',
    ]);
    const byCase = await cluster.get(a, `/dlq?urpCaseId=${urp}&ucmCaseId=U1`);
    expect((byCase.body.items as DeadLetter[]).map((l) => l.record.eventId)).toEqual(['s1']);

    const unknown = byCategory(letters, 'UNKNOWN_STATUS');
    const one = await cluster.get(a, `/dlq/${unknown.ref}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(unknown);
    const absent = await cluster.get(a, `/dlq/${unknown.partition}:999999`);
    expect(absent.status).toBe(404);
    expect(absent.body.error?.code).toBe('USC_ERR_API_NOT_FOUND');
    for (const path of ['/dlq?limit=501', '/dlq?since=yesterday', '/dlq?category=NOPE', '/dlq/x']) {
      const res = await cluster.get(a, path);
      expect(res.status, path).toBe(400);
      expect(res.body.error?.code, path).toBe('USC_ERR_API_BAD_REQUEST');
    }
    expect((await cluster.get(a, '/dlq', null)).status).toBe(401);
  });

  it('replays an UNKNOWN_STATUS record over HTTP after the fix and skips a non-eligible one', async () => {
    await cluster.close('a');
    a = await cluster.start('a', { STATUS_MAPPING: '{"ARCHIVED": "CLOSED"}' });
    const unknown = byCategory(letters, 'UNKNOWN_STATUS');
    const schema = byCategory(letters, 'SCHEMA_INVALID');
    const res = await fetch(`${a.url}/dlq/replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ refs: [unknown.ref, schema.ref] }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      replayed: [{ ref: unknown.ref, eventId: 's1', key: 'U1' }],
      skipped: [{ ref: schema.ref, reason: 'not replay-eligible (SCHEMA_INVALID); use --force' }],
    });
    const topics = await cluster.topics();
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
    // Applied: no new dead letter for it.
    expect((await cluster.dlqRecords()).length).toBe(3);
  });
});
