/**
 * A case grown past what its changelog topic may take, on the real broker: one URP case linked to UCM cases whose
 * allowlisted attributes are ~190 KB each (each record valid and under MAX_RECORD_BYTES). The state of the sixth
 * would exceed 1,000,000 bytes, which the broker refuses (message.max.bytes 1 MiB): a refused changelog record is a
 * non-retriable error that would stop the instance at every restart. The event is dead-lettered instead, the
 * instance stays up, and the case and the other cases go on.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Publisher } from '../../kafka/index.js';
import { TEST_TOKEN } from '../support/cluster.js';
import { startOneInstanceApp } from '../support/one-instance-app.js';
import { uniqueName } from '../support/kafka-test-utils.js';
import { at, caseCreated, statusChanged } from '../support/ucm-events.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

describe('a case state larger than its changelog may take', () => {
  it('dead-letters the event that would make it so; the instance never exits and the case goes on', async () => {
    const app = uniqueName('usc-state-limit');
    const { kafka, settings, instance, collector } = await startOneInstanceApp(
      app,
      'state-limit',
      // One partition: the events reach the apply step in the order sent, so which of them no longer fit is known.
      { PARTITIONS: '1', NUM_STANDBY_REPLICAS: '0' },
      cleanups,
    );

    // ~190 KB of allowlisted attribute per UCM case: strings within MAX_STRING_LENGTH, in an array.
    const bulky = (u: number) => Array.from({ length: 24 }, (_, i) => `U${u}-${i}-${'x'.repeat(7_900)}`);
    const events = Array.from({ length: 7 }, (_, u) =>
      caseCreated({
        eventId: `${app}-c${u}`,
        ucmCaseId: `${app}-U${u}`,
        urpCaseId: `${app}-R1`,
        createdAt: at(u + 1),
        extraAttributes: { priority: bulky(u), caseType: 'bulky' },
      }),
    );
    const later = statusChanged({
      eventId: `${app}-s0`,
      ucmCaseId: `${app}-U0`,
      urpCaseId: `${app}-R1`,
      oldStatus: 'OPEN',
      newStatus: 'IN_PROGRESS',
      statusChangedAt: at(30),
    });
    const other = caseCreated({
      eventId: `${app}-other`,
      ucmCaseId: `${app}-U-other`,
      urpCaseId: `${app}-R2`,
      createdAt: at(31),
    });
    const publisher = await Publisher.open(kafka);
    try {
      // One record per request: the broker caps a request's batch at 1 MiB.
      for (const e of [...events, later, other]) {
        const ucm = (e.payload as { ucmCaseId: string }).ucmCaseId;
        await publisher.publish(settings.inputTopic, [{ key: ucm, value: Buffer.from(JSON.stringify(e)) }]);
      }
    } finally {
      await publisher.close();
    }

    const dead = () =>
      collector.records
        .filter((r) => r.topic === settings.dlqTopic && r.value !== null)
        .map((r) => JSON.parse(r.value!) as { eventId: string; errorCategory: string; errorMessage: string });
    const caseOf = (urp: string) => {
      const v = collector.latest(settings.outputTopic).get(urp);
      return v === undefined || v === null
        ? undefined
        : (JSON.parse(v) as { ucmCases: { ucmCaseId: string; status: string }[] });
    };
    await expect
      .poll(
        () => ({
          dead: dead().map((d) => [d.eventId, d.errorCategory]),
          r1: caseOf(`${app}-R1`)?.ucmCases.map((u) => [u.ucmCaseId.slice(app.length + 1), u.status]),
          r2: caseOf(`${app}-R2`) !== undefined,
          exited: instance.exit ?? null,
        }),
        { timeout: 90_000, interval: 500 },
      )
      .toEqual({
        dead: [
          [`${app}-c5`, 'PROCESSING_ERROR'],
          [`${app}-c6`, 'PROCESSING_ERROR'],
        ],
        r1: [
          ['U0', 'IN_PROGRESS'],
          ['U1', 'OPEN'],
          ['U2', 'OPEN'],
          ['U3', 'OPEN'],
          ['U4', 'OPEN'],
        ],
        r2: true,
        exited: null,
      });
    expect(dead()[0]!.errorMessage).toMatch(/above its limit of 1000000/);
    const res = await fetch(`${instance.url}/cases/${encodeURIComponent(`${app}-R1`)}`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { eventCount: number }).eventCount).toBe(6);
    instance.signal('SIGTERM');
    expect((await instance.exited).code, instance.tail()).toBe(0);
  });
});
