/**
 * The query API on three real instances in one group: every key answers from every instance (forwarded to the
 * owner where needed), batch and by-UCM lookups, auth and parameter validation, readiness during restore, and
 * the documented 503 / stale answers while a partition moves after a crash.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateUcmEvents } from '../../processors/simulation/ucm-event-generator.js';
import { diffCase, expectedOutcome } from '../support/case-model.js';
import { Cluster, type ClusterMember } from '../support/cluster.js';

const cluster = new Cluster();
const records = generateUcmEvents({
  seed: 7,
  cases: 60,
  prefix: 'API',
  duplicateRate: 0.1,
  missingUrpRate: 0.2,
  shuffleWindow: 4,
});
const model = expectedOutcome(records);
const ids = [...model.table.keys()];
let a: ClusterMember;
let b: ClusterMember;
let c: ClusterMember;
/** urpCaseId -> instance that served it before the crash. */
const owners = new Map<string, string>();

beforeAll(async () => {
  a = await cluster.start('a');
  b = await cluster.start('b');
  c = await cluster.start('c');
  await cluster.allReady();
  await cluster.produce(records);
  await cluster.waitForTable(model.table);
});
afterAll(() => cluster.stop());

describe('query API on three instances', () => {
  it('answers every key from every instance, forwarding to the owner', async () => {
    for (const urp of ids) {
      const served = new Set<string>();
      for (const m of [a, b, c]) {
        const res = await cluster.get(m, `/cases/${urp}`);
        expect(res.status, `${urp} via ${m.name}`).toBe(200);
        expect(diffCase(urp, res.body, model.table.get(urp))).toEqual([]);
        served.add(res.headers.get('x-served-by')!);
      }
      expect(served.size, urp).toBe(1); // the owner answered, whoever was asked
      owners.set(urp, [...served][0]!);
    }
    expect(new Set(owners.values())).toEqual(new Set(['a', 'b', 'c']));
  });

  it('looks up by UCM case id and in batches across owners', async () => {
    const urp = ids[3]!;
    const ucm = model.table.get(urp)!.ucmCaseId;
    const byUcm = await cluster.get(b, `/cases/by-ucm/${ucm}`);
    expect(byUcm.status).toBe(200);
    expect(byUcm.body.urpCaseId).toBe(urp);
    const res = await fetch(`${a.url}/cases/lookup`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${cluster.members.get('a')!.env.API_TOKEN}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ ids: [...ids, 'API-none'] }),
    });
    const body = (await res.json()) as {
      cases: Record<string, unknown>;
      missing: string[];
      unavailable: string[];
    };
    expect(res.status).toBe(200);
    expect(Object.keys(body.cases).sort()).toEqual([...ids].sort());
    expect(body.missing).toEqual(['API-none']);
    expect(body.unavailable).toEqual([]);
    const history = await cluster.get(c, `/cases/${urp}/history?limit=500`);
    expect(history.body.total).toBe(model.table.get(urp)!.eventCount);
  });

  it('enforces the token everywhere but the probes, and rejects bad parameters with a code', async () => {
    expect((await cluster.get(a, `/cases/${ids[0]}`, null)).status).toBe(401);
    expect((await cluster.get(a, '/metrics', 'wrong-token-wrong-token')).status).toBe(401);
    expect((await cluster.get(a, '/healthz', null)).status).toBe(200);
    expect((await cluster.get(a, '/readyz', null)).status).toBe(200);
    for (const path of [
      '/cases/%3Cscript%3E',
      `/cases/${'x'.repeat(200)}`,
      `/cases/${ids[0]}/history?limit=0`,
      `/cases/${ids[0]}?allowStale=yes`,
    ]) {
      const res = await cluster.get(b, path);
      expect(res.status, path).toBe(400);
      expect(res.body.error?.code, path).toBe('USC_ERR_API_BAD_REQUEST');
    }
    const instances = await cluster.get(a, '/instances');
    const members = instances.body.members as { instanceId: string; reachable: boolean; active: string[] }[];
    expect(members.map((m) => m.instanceId).sort()).toEqual(['a', 'b', 'c']);
    expect(members.every((m) => m.reachable)).toBe(true);
    const metrics = await cluster.get(a, '/metrics');
    expect(String(metrics.body)).toContain('usc_api_request_duration_seconds_bucket');
    expect(String(metrics.body)).toContain('ucm_case_events_consumed_total');
  });

  it('answers 503 with Retry-After or a stale standby copy while a crashed owner’s partitions move, then recovers', async () => {
    const cOwned = ids.filter((id) => owners.get(id) === 'c');
    expect(cOwned.length).toBeGreaterThan(0);
    await c.handle.kill();
    // Right after the crash the group has not noticed yet (session timeout 6 s): the owner does not answer.
    const direct = await cluster.get(a, `/cases/${cOwned[0]}`);
    expect(direct.status).toBe(503);
    expect(direct.headers.get('retry-after')).toBe('1');
    expect(['USC_ERR_API_FORWARD_FAILED', 'USC_ERR_API_UNAVAILABLE']).toContain(direct.body.error?.code);
    // With allowStale, the instance holding the standby copy answers it (stale) instead.
    const stale = await Promise.all([a, b].map((m) => cluster.get(m, `/cases/${cOwned[0]}?allowStale=true`)));
    const staleOk = stale.filter((r) => r.status === 200);
    expect(staleOk.length).toBeGreaterThan(0);
    expect(staleOk[0]!.headers.get('x-stale')).toBe('true');
    expect(diffCase(cOwned[0]!, staleOk[0]!.body, model.table.get(cOwned[0]!))).toEqual([]);
    // Every answer during the move is 200 or a documented 503; afterwards every key answers 200 again.
    const deadline = Date.now() + 90_000;
    for (;;) {
      const answers = await Promise.all(cOwned.map((id) => cluster.get(a, `/cases/${id}`)));
      for (const r of answers) {
        expect([200, 503]).toContain(r.status);
        if (r.status === 503) expect(r.headers.get('retry-after')).toBe('1');
      }
      if (answers.every((r) => r.status === 200)) {
        answers.forEach((r, i) =>
          expect(diffCase(cOwned[i]!, r.body, model.table.get(cOwned[i]!))).toEqual([]),
        );
        break;
      }
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 250)); // poll period of a condition wait
    }
  });

  it('reports not-ready on /readyz while an instance joins and restores, then ready', async () => {
    const seen: number[] = [];
    const d = await cluster.start('d', {}, { wait: false });
    const deadline = Date.now() + 120_000;
    while (seen[seen.length - 1] !== 200) {
      const status = await fetch(`${d.url}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
      if (status !== 0 && status !== seen[seen.length - 1]) seen.push(status);
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 20)); // poll period of a condition wait
    }
    expect(seen).toEqual([503, 200]);
  });
});
