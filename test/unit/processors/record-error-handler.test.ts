/**
 * The record-error handler: a record on which a processor or serde threw becomes one PROCESSING_ERROR dead letter
 * with full context and nothing of the input beyond the projection; a failed punctuation is logged only; the
 * handler never throws, and every dead letter is counted.
 */
import { createHash } from 'node:crypto';
import { Packr } from 'msgpackr';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { sanitizeErrorMessage } from '../../../common/sanitize.js';
import { createCaseSyncMetrics } from '../../../processors/case-sync-metrics.js';
import { caseSyncTopology } from '../../../processors/case-sync-topology.js';
import type { DlqRecord } from '../../../processors/domain/event-contract.js';
import { toEnvelope } from '../../../processors/domain/project.js';
import { parseCaseEvent } from '../../../processors/domain/validate-event.js';
import {
  caseSyncRecordErrorHandler,
  processingErrorMessage,
} from '../../../processors/record-error-handler.js';
import {
  internalTopicLimits,
  routedMessageSerde,
  type RoutedMessage,
} from '../../../processors/routed-event.js';
import type { Logger } from '../../../topology/processor.js';
import type { RecordFailure, RecordErrorResponse } from '../../../topology/record-error.js';
import type { IncomingRecord } from '../../../topology/task-engine.js';
import { bytesSerde, jsonSerde, stringSerde } from '../../../topology/serde.js';
import { TopologyTestDriver } from '../../../topology/test-driver.js';
import { caseSyncSettingsOf } from '../../support/case-sync-settings.js';
import { at, caseCreated, statusChanged } from '../../support/ucm-events.js';
import { captureLogger } from './capture-logger.js';

const MARKER = 'PII-MARKER-42';
const NOW = Date.parse(at(30));
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function setup(raw: Record<string, string> = {}, logger = captureLogger()) {
  const registry = new Registry();
  const metrics = createCaseSyncMetrics(registry);
  const settings = caseSyncSettingsOf(raw);
  const handler = caseSyncRecordErrorHandler({ settings, metrics, consumer: 'usc', logger });
  const metric = async (name: string) =>
    (await registry.getSingleMetricAsString(name)).split('\n').filter((l) => !l.startsWith('#'));
  return { handler, settings, logger, metric };
}

/** The normalised status change e3 (U3, OPEN -> CLOSED, no urpCaseId) that the repartition cases carry. */
function statusChangeE3(h: ReturnType<typeof setup>, reason?: string) {
  const raw = statusChanged({
    eventId: 'e3',
    ucmCaseId: 'U3',
    oldStatus: 'OPEN',
    newStatus: 'CLOSED',
    statusChangedAt: at(3),
    ...(reason === undefined ? {} : { reason }),
  });
  const parsed = parseCaseEvent(Buffer.from(JSON.stringify(raw)), h.settings);
  if (!parsed.ok || parsed.event.eventType !== 'CASE_STATUS_CHANGED') throw new Error('setup');
  return parsed.event;
}

const record = (
  topic: string,
  key: string | Buffer | null,
  value: Buffer | null,
  offset = '7',
): IncomingRecord => ({
  topic,
  partition: 2,
  offset,
  key: typeof key === 'string' ? Buffer.from(key) : key,
  value,
  timestamp: NOW,
  headers: {},
});

const failure = (r: IncomingRecord | undefined, error: unknown, node = 'validate'): RecordFailure => ({
  stage: r === undefined ? 'punctuate' : 'process',
  taskId: { subtopology: 0, partition: 2 },
  node,
  error,
  record: r,
  nowMs: NOW,
});

function deadLetters(response: RecordErrorResponse) {
  if (response.action !== 'continue') throw new Error('expected continue');
  return response.deadLetters.map((d) => ({
    key: d.key?.toString('utf8') ?? null,
    value: JSON.parse(d.value.toString('utf8')) as DlqRecord,
    text: d.value.toString('utf8'),
  }));
}

const created = caseCreated({
  eventId: 'e1',
  ucmCaseId: 'U1',
  urpCaseId: 'R1',
  createdAt: at(1),
  extraAttributes: { priority: 'high', ssn: MARKER },
});
const poisonedError = () => new TypeError(`cannot apply "${MARKER}" to 'x' id=${MARKER}-0123456789abcdef`);

describe('record-error handler', () => {
  it('dead-letters a failed input record with its coordinates, ids and the projected event', async () => {
    const h = setup();
    const value = Buffer.from(JSON.stringify({ ...created, [MARKER]: MARKER }));
    const [dead] = deadLetters(h.handler(failure(record('ucm-case-events', MARKER, value), poisonedError())));
    expect(dead!.key).toBe('e1');
    expect(dead!.value).toEqual({
      originalTopic: 'ucm-case-events',
      originalPartition: 2,
      originalOffset: '7',
      originalKey: null,
      originalKeyHash: sha(MARKER),
      eventId: 'e1',
      consumer: 'usc',
      errorCategory: 'PROCESSING_ERROR',
      errorMessage: 'processing failed in validate (process): TypeError: cannot apply …',
      retryCount: 0,
      firstFailureAt: at(30),
      lastFailureAt: at(30),
      payloadHash: sha(value),
      payloadSize: value.length,
      payload: toEnvelope(
        (parseCaseEvent(value, h.settings) as { ok: true; event: Parameters<typeof toEnvelope>[0] }).event,
      ),
      replayEligible: true,
    });
    expect(dead!.text).not.toContain(MARKER);
    expect(await h.metric('ucm_case_events_failed_total')).toEqual([
      'ucm_case_events_failed_total{reason="PROCESSING_ERROR"} 1',
    ]);
    expect(await h.metric('ucm_case_events_dlq_total')).toEqual([
      'ucm_case_events_dlq_total{category="PROCESSING_ERROR"} 1',
    ]);
    expect(h.logger.lines).toHaveLength(1);
    expect(JSON.parse(h.logger.lines[0]!)).toMatchObject({
      level: 'warn',
      eventId: 'e1',
      ucmCaseId: 'U1',
      urpCaseId: 'R1',
      category: 'PROCESSING_ERROR',
      node: 'validate',
      error: 'TypeError',
      topic: 'ucm-case-events',
      partition: 2,
      offset: '7',
    });
    expect(h.logger.lines.join()).not.toContain(MARKER);
  });

  it('keeps a key that is one of the ids, and projects what it can of an invalid input record', () => {
    const h = setup();
    const unknownStatus = statusChanged({
      eventId: 'e2',
      ucmCaseId: 'U1',
      oldStatus: 'OPEN',
      newStatus: 'ESCALATED',
      statusChangedAt: at(2),
    });
    const value = Buffer.from(JSON.stringify({ ...unknownStatus, note: MARKER }));
    const [dead] = deadLetters(h.handler(failure(record('ucm-case-events', 'U1', value), new Error('x'))));
    expect(dead!.value).toMatchObject({ originalKey: 'U1', eventId: 'e2', payload: unknownStatus });
    expect(dead!.value).not.toHaveProperty('originalKeyHash');
    expect(dead!.text).not.toContain(MARKER);

    const notJson = Buffer.from(`{"eventId": "${MARKER}`);
    const [torn] = deadLetters(h.handler(failure(record('ucm-case-events', null, notJson), new Error('x'))));
    expect(torn!.key).toBe(sha(notJson));
    expect(torn!.value).toMatchObject({ originalKey: null, eventId: null, payloadSize: notJson.length });
    expect(torn!.value).not.toHaveProperty('payload');
    expect(torn!.value).not.toHaveProperty('originalKeyHash');
    expect(torn!.text).not.toContain(MARKER);

    const longString = Buffer.from(JSON.stringify({ ...created, note: MARKER.repeat(1000) }));
    const [long] = deadLetters(
      h.handler(failure(record('ucm-case-events', 'U1', longString), new Error('x'))),
    );
    expect(long!.value.payload).toEqual({
      eventId: 'e1',
      eventType: 'CASE_CREATED',
      eventTime: at(1),
      payload: { ucmCaseId: 'U1', urpCaseId: 'R1' },
    });
  });

  it('dead-letters a failed repartition record with the origin, event and urpCaseId it carries', () => {
    const h = setup();
    const event = statusChangeE3(h);
    const origin = {
      topic: 'ucm-case-events',
      partition: 5,
      offset: '1234',
      key: MARKER, // an older version carried any key: it is minimised again
      payloadHash: sha('original'),
      payloadSize: 321,
      lineage: { retryCount: 2, firstFailureMs: Date.parse('2026-01-01T00:00:00Z') },
      payload: { note: MARKER }, // and the value itself
    };
    const msg = {
      kind: 'event',
      event: { ...event, urpCaseId: 'R3', extra: MARKER },
      urpCaseId: 'R3',
      origin,
    } as unknown as RoutedMessage;
    const value = Buffer.from(JSON.stringify(msg));
    const [dead] = deadLetters(
      h.handler(failure(record('usc-resolved-repartition', 'R3', value), new RangeError('boom'), 'apply')),
    );
    expect(dead!.key).toBe('e3');
    expect(dead!.value).toMatchObject({
      originalTopic: 'ucm-case-events',
      originalPartition: 5,
      originalOffset: '1234',
      originalKey: null,
      originalKeyHash: sha(MARKER),
      eventId: 'e3',
      errorMessage: 'processing failed in apply (process): RangeError: boom',
      retryCount: 2,
      firstFailureAt: '2026-01-01T00:00:00.000Z',
      payloadHash: sha('original'),
      payloadSize: 321,
      payload: toEnvelope({ ...event, urpCaseId: 'R3' }),
      replayEligible: true,
    });
    expect(dead!.text).not.toContain(MARKER);

    // A resolve message: the urpCaseId is still unknown.
    const resolve = Buffer.from(JSON.stringify({ kind: 'resolve', event, origin: { ...origin, key: 'U3' } }));
    const [unresolved] = deadLetters(
      h.handler(failure(record('usc-by-ucm-repartition', 'U3', resolve), new Error('x'), 'correlate')),
    );
    expect(unresolved!.value).toMatchObject({ originalKey: 'U3', payload: toEnvelope(event) });

    // An index message has no event: its ids and the repartition record's coordinates.
    const index = Buffer.from(JSON.stringify({ kind: 'index', ucmCaseId: 'U3', urpCaseId: 'R3' }));
    const [indexed] = deadLetters(
      h.handler(failure(record('usc-by-ucm-repartition', 'U3', index, '9'), new Error('x'), 'correlate')),
    );
    expect(indexed!.key).toBe('U3');
    expect(indexed!.value).toMatchObject({
      originalTopic: 'usc-by-ucm-repartition',
      originalPartition: 2,
      originalOffset: '9',
      originalKey: 'U3',
      eventId: null,
      payloadHash: sha(index),
    });
    expect(indexed!.value).not.toHaveProperty('payload');
  });

  it('uses the coordinates of a repartition record it cannot decode', () => {
    const h = setup();
    for (const value of [
      Buffer.from(`{"kind":"event","event":${MARKER}`),
      Buffer.from(`${'['.repeat(50_000)}"${MARKER}"${']'.repeat(50_000)}`),
      Buffer.from(JSON.stringify({ kind: 'event', event: MARKER, origin: MARKER })),
      Buffer.from([0xff, 0xfe]),
      null,
    ]) {
      const r = record('usc-by-urp-repartition', MARKER, value, '11');
      const [dead] = deadLetters(h.handler({ ...failure(r, new Error('x'), 'apply'), stage: 'deserialize' }));
      expect(dead!.key).toBe(sha(value ?? Buffer.alloc(0)));
      expect(dead!.value).toMatchObject({
        originalTopic: 'usc-by-urp-repartition',
        originalPartition: 2,
        originalOffset: '11',
        originalKey: null,
        originalKeyHash: sha(MARKER),
        eventId: null,
        errorMessage: 'processing failed in apply (deserialize): Error: x',
      });
      expect(dead!.value).not.toHaveProperty('payload');
      expect(dead!.text).not.toContain(MARKER);
    }
  });

  it('logs a failed punctuation (node and error name) and dead-letters nothing', async () => {
    const h = setup();
    const response = h.handler(failure(undefined, poisonedError(), 'correlate'));
    expect(response).toEqual({ action: 'continue', deadLetters: [] });
    expect(h.logger.lines).toHaveLength(1);
    expect(JSON.parse(h.logger.lines[0]!)).toMatchObject({
      level: 'error',
      node: 'correlate',
      stage: 'punctuate',
      error: 'TypeError',
    });
    expect(h.logger.lines[0]).not.toContain(MARKER);
    expect(await h.metric('ucm_case_events_failed_total')).toEqual([]);
  });

  it('never throws: a hostile error, a broken logger and a bad clock still give a dead letter', async () => {
    const throwing: Logger = {
      debug: () => {},
      info: () => {},
      warn: () => {
        throw new Error('logger down');
      },
      error: () => {
        throw new Error('logger down');
      },
      child: () => throwing,
    };
    const h = setup({}, throwing as ReturnType<typeof captureLogger>);
    const hostile = new Error('x');
    Object.defineProperty(hostile, 'message', {
      get() {
        throw new Error(MARKER);
      },
    });
    const r = record('ucm-case-events', 'k', Buffer.from(JSON.stringify(created)));
    const responses = [
      h.handler(failure(r, hostile)),
      h.handler({ ...failure(r, Symbol(MARKER)), nowMs: Number.NaN }),
      h.handler(failure(r, null)),
      h.handler(failure(undefined, hostile)),
    ];
    const dead = responses.flatMap(deadLetters);
    expect(dead).toHaveLength(3);
    expect(dead.map((d) => d.value.errorMessage)).toEqual([
      'processing failed in validate (process): unreadable error',
      'processing failed in validate (process): symbol thrown',
      'processing failed in validate (process): null thrown',
    ]);
    expect(dead[1]!.value.lastFailureAt).toBe('1970-01-01T00:00:00.000Z');
    expect(dead.map((d) => d.text).join()).not.toContain(MARKER);
    expect(await h.metric('ucm_case_events_dlq_total')).toEqual([
      'ucm_case_events_dlq_total{category="PROCESSING_ERROR"} 3',
    ]);
  });

  it('carries no payload when DLQ_INCLUDE_PAYLOAD=false', () => {
    const h = setup({ DLQ_INCLUDE_PAYLOAD: 'false' });
    const r = record('ucm-case-events', 'U1', Buffer.from(JSON.stringify(created)));
    const [dead] = deadLetters(h.handler(failure(r, new Error('x'))));
    expect(dead!.value).not.toHaveProperty('payload');
    expect(dead!.value.eventId).toBe('e1');
  });

  it('is the topology record-error policy, writing to the dead-letter topic', () => {
    const topology = caseSyncTopology(caseSyncSettingsOf({ DLQ_TOPIC: 'my-dlq' }), {
      metrics: createCaseSyncMetrics(new Registry()),
      applicationId: 'usc',
    });
    expect(topology.recordErrorPolicy?.deadLetterTopic).toBe('my-dlq');
    expect(typeof topology.recordErrorPolicy?.handler).toBe('function');
  });

  it('dead-letters a record the runtime cannot process, end to end on the TopologyTestDriver, and goes on', async () => {
    const settings = caseSyncSettingsOf();
    const registry = new Registry();
    const driver = new TopologyTestDriver(
      caseSyncTopology(settings, { metrics: createCaseSyncMetrics(registry), applicationId: 'usc' }),
      { applicationId: 'usc', initialWallClockMs: NOW },
    );
    // Bytes that are no RoutedMessage on an internal topic: the apply stage's source serde throws.
    await driver
      .createInputTopic('usc-by-urp-repartition', stringSerde, bytesSerde)
      .pipeInput('R1', Buffer.from(`{"kind":"event","note":"${MARKER}"`));
    await driver
      .createInputTopic(settings.inputTopic, stringSerde, bytesSerde)
      .pipeInput('U1', Buffer.from(JSON.stringify(created)));
    const dead = driver
      .createOutputTopic(settings.dlqTopic, stringSerde, jsonSerde<DlqRecord>())
      .readValuesToList();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({
      errorCategory: 'PROCESSING_ERROR',
      originalTopic: 'usc-by-urp-repartition',
      originalOffset: '0',
      replayEligible: true,
    });
    expect(dead[0]!.errorMessage).toMatch(/^processing failed in [\w-]+ \(deserialize\)/);
    expect(JSON.stringify(dead)).not.toContain(MARKER);
    const output = driver.createOutputTopic(
      settings.outputTopic,
      stringSerde,
      jsonSerde<{ urpCaseId: string }>(),
    );
    expect([...output.readKeyValuesToMap().keys()]).toEqual(['R1']);
  });
});

/** msgpackr with every default on: what a hostile producer with write access could put on an internal topic. */
const anything = new Packr({ moreTypes: true, structuredClone: true, useRecords: false });
/** A fixmap of one string key and already-encoded value bytes. */
const map1 = (key: string, value: Buffer) => Buffer.concat([Buffer.from([0x81]), anything.pack(key), value]);
const routedMsg = (h: ReturnType<typeof setup>) => statusChangeE3(h, 'done');

describe('record-error handler on msgpack repartition records', () => {
  it('salvages a msgpack record exactly as the JSON one of the previous version, without sensitive fields', () => {
    const h = setup();
    const event = routedMsg(h);
    const msg = {
      kind: 'event',
      event: { ...event, urpCaseId: 'R3', extra: MARKER, reason: undefined },
      urpCaseId: 'R3',
      origin: {
        topic: 'ucm-case-events',
        partition: 5,
        offset: '1234',
        key: MARKER,
        payloadHash: sha('original'),
        payloadSize: 321,
        lineage: { retryCount: 2, firstFailureMs: Date.parse('2026-01-01T00:00:00Z') },
        payload: { note: MARKER },
      },
    } as unknown as RoutedMessage;
    const packed = routedMessageSerde(h.settings).serialize(msg)!;
    expect(packed[0]).not.toBe(0x7b);
    expect(packed.toString('latin1')).toContain(MARKER); // the hostile fields are on the wire ...
    const fromMsgpack = deadLetters(
      h.handler(failure(record('usc-resolved-repartition', 'R3', packed), new RangeError('boom'), 'apply')),
    );
    const fromJson = deadLetters(
      h.handler(
        failure(
          record('usc-resolved-repartition', 'R3', Buffer.from(JSON.stringify(msg))),
          new RangeError('boom'),
          'apply',
        ),
      ),
    );
    expect(fromMsgpack).toEqual(fromJson);
    expect(fromMsgpack[0]!.value).toMatchObject({
      originalTopic: 'ucm-case-events',
      originalPartition: 5,
      originalOffset: '1234',
      originalKey: null,
      originalKeyHash: sha(MARKER),
      eventId: 'e3',
      retryCount: 2,
      payloadHash: sha('original'),
      payload: toEnvelope({ ...event, urpCaseId: 'R3', reason: undefined }),
    });
    expect(fromMsgpack[0]!.text).not.toContain(MARKER); // ... and none of them reaches the dead letter

    // An index message: its ids and the repartition record's own coordinates.
    const index = routedMessageSerde(h.settings).serialize({
      kind: 'index',
      ucmCaseId: 'U3',
      urpCaseId: 'R3',
    })!;
    const [indexed] = deadLetters(
      h.handler(failure(record('usc-by-ucm-repartition', 'U3', index, '9'), new Error('x'), 'correlate')),
    );
    expect(indexed!.key).toBe('U3');
    expect(indexed!.value).toMatchObject({ originalOffset: '9', originalKey: 'U3', payloadHash: sha(index) });
  });

  it('reads wrong types and 64-bit integers defensively: numbers, never BigInt, and only well-typed fields', () => {
    const h = setup();
    const event = routedMsg(h);
    const value = anything.pack({
      kind: 'resolve',
      // (through JSON first: the normalised event has undefined fields, which msgpackr would write as extensions)
      event: {
        ...JSON.parse(JSON.stringify(event)),
        eventId: 42,
        source: [MARKER],
        reason: { text: MARKER },
      },
      urpCaseId: 7,
      origin: {
        topic: 'ucm-case-events',
        partition: 2n ** 63n, // uint64 on the wire
        offset: '5',
        payloadHash: sha('original'),
        lineage: { retryCount: 2n }, // int64 on the wire
      },
    });
    expect(value.includes(Buffer.from([0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0]))).toBe(true);
    const [dead] = deadLetters(
      h.handler(failure(record('usc-by-ucm-repartition', MARKER, value, '3'), new Error('x'), 'correlate')),
    );
    // The partition is no safe integer: the origin is refused, the record's own coordinates stand in.
    expect(dead!.value).toMatchObject({
      originalTopic: 'usc-by-ucm-repartition',
      originalOffset: '3',
      originalKey: null,
      originalKeyHash: sha(MARKER),
      eventId: null,
      payloadHash: sha(value),
      payload: {
        eventType: 'CASE_STATUS_CHANGED',
        eventTime: event.eventTime,
        payload: { ucmCaseId: 'U3', oldStatus: 'OPEN', newStatus: 'CLOSED', statusChangedAt: at(3) },
      },
    });
    expect(dead!.value.payload).not.toHaveProperty('eventId');
    expect(dead!.value.payload).not.toHaveProperty('source');
    expect(dead!.text).not.toContain(MARKER);
  });

  it('uses only the coordinates of hostile msgpack (extensions, cycles, depth, size, lies) and never throws', () => {
    const h = setup();
    const limits = internalTopicLimits(h.settings);
    const valid = routedMessageSerde(h.settings).serialize({
      kind: 'resolve',
      event: routedMsg(h),
      origin: { topic: 'ucm-case-events', partition: 1, offset: '1', key: 'U3', payloadHash: sha('x') },
    } as RoutedMessage)!;
    const kindEvent = (value: Buffer) =>
      Buffer.concat([
        Buffer.from([0x82]),
        anything.pack('kind'),
        anything.pack('event'),
        anything.pack('event'),
        value,
      ]);
    const hostile: [string, Buffer][] = [
      ['Error extension', kindEvent(anything.pack(new TypeError(MARKER)))],
      ['Set extension', kindEvent(anything.pack(new Set([MARKER])))],
      ['RegExp extension', kindEvent(anything.pack(new RegExp(MARKER)))],
      ['Date extension', kindEvent(anything.pack(new Date(0)))],
      ['BigInt extension', kindEvent(anything.pack(2n ** 80n))],
      ['undefined extension', kindEvent(Buffer.from([0xd4, 0x00, 0x00]))],
      ['binary', kindEvent(anything.pack(Buffer.from(MARKER)))],
      ['a Map with non-string keys', kindEvent(anything.pack(new Map<unknown, string>([[1, MARKER]])))],
      [
        'a structured-clone cycle',
        kindEvent(Buffer.from([0xd6, 0x69, 0, 0, 0, 1, 0x91, 0xd6, 0x70, 0, 0, 0, 1])),
      ],
      [
        '1,000,000 levels deep',
        kindEvent(Buffer.concat([Buffer.alloc(1_000_000, 0x91), anything.pack(MARKER)])),
      ],
      [
        'an array of 2^32-1 items',
        kindEvent(Buffer.concat([Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]), anything.pack(MARKER)])),
      ],
      [
        'a string longer than it is',
        kindEvent(Buffer.concat([Buffer.from([0xdb, 0x7f, 0xff, 0xff, 0xff]), Buffer.from(MARKER)])),
      ],
      ['NaN', kindEvent(Buffer.from([0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]))],
      ['trailing bytes', Buffer.concat([valid, anything.pack(MARKER)])],
      ['truncated', valid.subarray(0, valid.length - 3)],
      ['a top-level string', anything.pack(MARKER)],
      ['a string over MAX_STRING_LENGTH', kindEvent(anything.pack({ reason: MARKER.repeat(1_000) }))],
      [
        'larger than the internal-topic bound',
        map1('kind', anything.pack(MARKER.repeat(limits.maxBytes! / MARKER.length))),
      ],
      ['0x7b then msgpack', Buffer.concat([Buffer.from([0x7b]), valid])],
    ];
    for (const [name, value] of hostile) {
      const r = record('usc-by-urp-repartition', MARKER, value, '11');
      const response = h.handler({ ...failure(r, new Error('x'), 'apply'), stage: 'deserialize' });
      const [dead] = deadLetters(response);
      expect(dead!.key, name).toBe(sha(value));
      expect(dead!.value, name).toMatchObject({
        originalTopic: 'usc-by-urp-repartition',
        originalOffset: '11',
        originalKey: null,
        originalKeyHash: sha(MARKER),
        eventId: null,
        payloadSize: value.length,
      });
      expect(dead!.value, name).not.toHaveProperty('payload');
      expect(dead!.text, name).not.toContain(MARKER);
    }
    expect(h.logger.lines.join()).not.toContain(MARKER);
  });

  it('dead-letters hostile msgpack on each internal topic on the TopologyTestDriver, and goes on', async () => {
    const settings = caseSyncSettingsOf();
    const driver = new TopologyTestDriver(
      caseSyncTopology(settings, { metrics: createCaseSyncMetrics(new Registry()), applicationId: 'usc' }),
      { applicationId: 'usc', initialWallClockMs: NOW },
    );
    const cycle = Buffer.from([0x81, 0xa1, 0x61, 0xd6, 0x69, 0, 0, 0, 1, 0x91, 0xd6, 0x70, 0, 0, 0, 1]);
    const deep = Buffer.concat([
      Buffer.from([0x81, 0xa1, 0x61]),
      Buffer.alloc(100_000, 0x91),
      anything.pack(MARKER),
    ]);
    const bigint = map1('kind', anything.pack(2n ** 80n));
    for (const topic of ['usc-by-urp-repartition', 'usc-by-ucm-repartition', 'usc-resolved-repartition']) {
      const t = driver.createInputTopic(topic, stringSerde, bytesSerde);
      for (const value of [cycle, deep, bigint]) await t.pipeInput('R1', value);
    }
    await driver
      .createInputTopic(settings.inputTopic, stringSerde, bytesSerde)
      .pipeInput('U1', Buffer.from(JSON.stringify(created)));
    const dead = driver
      .createOutputTopic(settings.dlqTopic, stringSerde, jsonSerde<DlqRecord>())
      .readValuesToList();
    expect(dead).toHaveLength(9);
    for (const d of dead) {
      expect(d).toMatchObject({ errorCategory: 'PROCESSING_ERROR', eventId: null, replayEligible: true });
      expect(d!.errorMessage).toMatch(/^processing failed in [\w-]+ \(deserialize\): UscError: /);
    }
    expect(JSON.stringify(dead)).not.toContain(MARKER);
    const output = driver.createOutputTopic(
      settings.outputTopic,
      stringSerde,
      jsonSerde<{ urpCaseId: string }>(),
    );
    expect([...output.readKeyValuesToMap().keys()]).toEqual(['R1']);
    await driver.close();
  });
});

describe('error messages', () => {
  it('removes quoted parts and long tokens and caps the length', () => {
    expect(sanitizeErrorMessage(`Unexpected token 'x', "{"ssn":"${MARKER}"}" is not valid JSON`)).toBe(
      'Unexpected token is not valid JSON',
    );
    expect(sanitizeErrorMessage('value `secret` and "unterminated ' + MARKER)).toBe('value');
    expect(
      sanitizeErrorMessage(`Unexpected token 'x', "{"name":"O'Brien ${MARKER}"}" is not valid JSON`),
    ).toBe('Unexpected token');
    expect(sanitizeErrorMessage("Cannot read properties of undefined (reading 'x')")).toBe(
      'Cannot read properties of undefined (reading )',
    );
    expect(sanitizeErrorMessage(`id john.doe@example.com-${MARKER} failed`)).toBe('id … failed');
    expect(sanitizeErrorMessage('exactly19characters ok')).toBe('exactly19characters ok');
    expect(sanitizeErrorMessage('w '.repeat(300)).length).toBe(200);
    expect(processingErrorMessage('apply', 'process', new Error('a '.repeat(300))).length).toBe(200);
    expect(processingErrorMessage(undefined, 'process', 'text')).toBe(
      'processing failed in an unknown node (process): string thrown',
    );
  });
});
