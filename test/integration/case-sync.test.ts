/**
 * The case-sync application on the real broker: generated UCMv2 events keyed by ucmCaseId (duplicates,
 * out-of-order delivery, status changes without urpCaseId, invalid records) in; the compacted `urp-case-sync` table
 * and the dead-letter topic read back read_committed and compared with an independent model; the API agrees.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { generateUcmEvents } from '../../processors/simulation/ucm-event-generator.js';
import { diffCase, diffTable, expectedOutcome } from '../support/case-model.js';
import { Cluster } from '../support/cluster.js';
import { describeTopicConfig } from '../support/topic-config.js';

const cluster = new Cluster();
afterAll(() => cluster.stop());

describe('urp-case-sync on a real broker', () => {
  it('turns a messy UCMv2 stream into the exact case table and dead letters', async () => {
    const records = generateUcmEvents({
      seed: 42,
      cases: 120,
      prefix: 'IT',
      duplicateRate: 0.15,
      missingUrpRate: 0.25,
      invalidRate: 0.1,
      secondUcmRate: 0.1,
      shuffleWindow: 6,
    });
    const model = expectedOutcome(records);
    expect(model.table.size).toBe(120);
    expect([...model.dlq.values()].reduce((x, y) => x + y, 0)).toBeGreaterThan(5);
    const a = await cluster.start('a');
    await cluster.allReady();
    await cluster.produce(records);
    await cluster.waitForTable(model.table);
    const topics = await cluster.topics();
    expect(diffTable(await cluster.table(), model.table)).toEqual([]);

    const dead = await cluster.dlqRecords();
    const byCategory = new Map<string, number>();
    for (const d of dead)
      byCategory.set(d.errorCategory as string, (byCategory.get(d.errorCategory as string) ?? 0) + 1);
    expect(Object.fromEntries(byCategory)).toEqual(Object.fromEntries(model.dlq));
    for (const d of dead) {
      expect(d).toMatchObject({
        originalTopic: cluster.input,
        consumer: cluster.app,
        payloadHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
      expect(JSON.stringify(d)).not.toContain('j.doe'); // a non-allowlisted attribute never leaks
    }
    const output = topics.records.filter((r) => r.topic === cluster.output);
    expect(output.every((r) => r.headers['content-type'] === 'application/json')).toBe(true);
    expect(output.some((r) => r.value!.includes('j.doe'))).toBe(false);

    // The output topic is compacted, with the input's partition count.
    expect(await describeTopicConfig(cluster.output, ['cleanup.policy'])).toEqual({
      'cleanup.policy': 'compact',
    });
    // The API answers the same records.
    for (const urp of [...model.table.keys()].slice(0, 25)) {
      const res = await cluster.get(a, `/cases/${urp}`);
      expect(res.status).toBe(200);
      expect(diffCase(urp, res.body, model.table.get(urp))).toEqual([]);
    }
  });
});
