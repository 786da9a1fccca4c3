/**
 * compatSerde (topology/serde.ts) and its strict msgpack check (topology/plain-msgpack.ts): objects written as
 * plain msgpack read back as JSON would have given them; JSON written by the previous version (first byte `{`)
 * still reads; anything else, hostile or broken, is a UscError USC_ERR_SERDE_FAILED that names the rule and never
 * the content, in time linear in its size, and never a value outside the JSON value domain (no BigInt, Date,
 * RegExp, Error, Set, undefined, typed array, cycle).
 */
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { UscError } from '../../../common/errors.js';
import {
  checkPlainMsgpack,
  isMsgpackMapHeader,
  PlainMsgpackRejected,
} from '../../../topology/plain-msgpack.js';
import { compatSerde, COMPAT_DEFAULTS, decodeCompat, msgpackSerde } from '../../../topology/serde.js';

const MARKER = 'PII-MARKER-42';
const serde = compatSerde<Record<string, unknown>>();
/** msgpackr with every default on: it writes what a hostile producer could (extensions, records, BigInt). */
const anything = new Packr({ moreTypes: true, structuredClone: true, useRecords: false });

const message = {
  kind: 'event',
  urpCaseId: 'URP-1',
  event: {
    eventId: 'e-1',
    eventType: 'CASE_CREATED',
    eventTime: '2026-01-10T09:01:00.000Z',
    eventMs: 1_768_035_660_000,
    businessMs: -1.5,
    source: 'UCMv2',
    ucmCaseId: 'UCM-1',
    urpCaseId: 'URP-1',
    status: 'OPEN',
    reason: null,
    attributes: { priority: 'high', caseType: 'fraud – “ünïcödé” 😀', nested: [1, [2, [3, {}]], []] },
  },
  origin: {
    topic: 'ucm-case-events',
    partition: 5,
    offset: '18446744073709551615',
    key: null,
    keyHash: 'a'.repeat(64),
    payloadHash: 'b'.repeat(64),
    payloadSize: 321,
    lineage: { retryCount: 2, firstFailureMs: 2 ** 53 - 1 },
  },
  flags: [true, false, null, 0, -1, 255, 65_536, -(2 ** 31), 2 ** 32, 2 ** 40, -(2 ** 40), 0.1, 1e300],
  long: 'x'.repeat(70_000),
  wide: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i])),
};
const viaJson = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

/** The error decodeCompat throws on `bytes` (fails the test if it returns). */
function rejection(bytes: Uint8Array, limits = {}): UscError {
  try {
    decodeCompat(bytes, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(UscError);
    return err as UscError;
  }
  throw new Error('expected decodeCompat to throw');
}

/** True when `v` is in the JSON value domain, acyclic and nested at most `maxDepth` deep. */
function isJsonDomain(v: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[v, 0]];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const [x, depth] = stack.pop()!;
    if (x === null || typeof x === 'string' || typeof x === 'boolean') continue;
    if (typeof x === 'number') {
      if (!Number.isFinite(x)) return false;
      continue;
    }
    if (typeof x !== 'object' || seen.has(x) || depth >= maxDepth) return false;
    seen.add(x);
    const proto = Object.getPrototypeOf(x) as unknown;
    if (Array.isArray(x)) {
      if (proto !== Array.prototype) return false;
      for (let i = 0; i < x.length; i++) stack.push([x[i], depth + 1]);
    } else {
      if (proto !== Object.prototype) return false;
      for (const child of Object.values(x)) stack.push([child, depth + 1]);
    }
  }
  return true;
}

const ext = (type: number, data: number[]) => Buffer.from([0xc7, data.length, type, ...data]);
const map1 = (key: string, value: Buffer) => Buffer.concat([Buffer.from([0x81]), anything.pack(key), value]);

describe('compatSerde', () => {
  it('round-trips objects to what JSON would have given, as a msgpack map smaller than the JSON', () => {
    const bytes = serde.serialize(message)!;
    expect(isMsgpackMapHeader(bytes[0])).toBe(true);
    expect(bytes[0]).not.toBe(0x7b);
    expect(serde.deserialize(bytes)).toEqual(viaJson(message));
    expect(serde.deserialize(bytes)).toStrictEqual(viaJson(message));
    expect(bytes.length).toBeLessThan(Buffer.byteLength(JSON.stringify(message)));
    expect(serde.serialize(null)).toBeNull();
    expect(serde.deserialize(null)).toBeNull();
    for (const v of [{}, { a: {} }, { a: [] }, { 'ключ 😀': '' }])
      expect(serde.deserialize(serde.serialize(v))).toEqual(v);
  });

  it('leaves undefined properties out and writes undefined array items as null, as JSON.stringify does', () => {
    const value = { a: undefined, b: 1, c: [undefined, 2], d: { e: undefined } };
    const bytes = serde.serialize(value)!;
    const back = serde.deserialize(bytes)!;
    expect(back).toStrictEqual(viaJson(value));
    expect(Object.keys(back)).toEqual(['b', 'c', 'd']);
    expect(() => checkPlainMsgpack(bytes, 8)).not.toThrow();
  });

  it('turns a lone UTF-16 surrogate into U+FFFD (as the stores do; JSON kept it) and reads invalid UTF-8 leniently', () => {
    const back = serde.deserialize(serde.serialize({ s: `a\ud800b` }))!;
    expect(back.s).toMatch(/^a\ufffd+b$/);
    expect(msgpackSerde<{ s: string }>().deserialize(msgpackSerde().serialize({ s: `a\ud800b` }))!.s).toBe(
      back.s,
    );
    const invalid = Buffer.from([0x81, 0xa1, 0x73, 0xa3, 0xff, 0xfe, 0x61]);
    expect(decodeCompat(invalid)).toEqual({ s: expect.any(String) as string });
  });

  it('writes objects only: a msgpack value starting with 0x7b (the integer 123) would read as JSON', () => {
    expect(new Packr({ useRecords: false }).pack(123)).toEqual(Buffer.from([0x7b]));
    for (const v of [123, 'text', [1, 2], true]) {
      expect(() => serde.serialize(v as never)).toThrow(
        expect.objectContaining({ code: 'USC_ERR_SERDE_FAILED', message: 'compatSerde writes objects only' }),
      );
    }
    expect(rejection(Buffer.from([0x7b])).message).toBe('value is not valid JSON');
  });

  it('reads the JSON of the previous version: a value starting with { is JSON', () => {
    const old = Buffer.from(JSON.stringify(message), 'utf8');
    expect(old[0]).toBe(0x7b);
    expect(serde.deserialize(old)).toEqual(viaJson(message));
    expect(serde.deserialize(Buffer.from('{ "kind" : "index", "ucmCaseId":"U1" }\n'))).toEqual({
      kind: 'index',
      ucmCaseId: 'U1',
    });
    // Old and new bytes of one message read equal.
    expect(serde.deserialize(old)).toEqual(serde.deserialize(serde.serialize(message)));
  });

  it('refuses broken JSON, non-UTF-8 and JSON nested too deep, naming no content', () => {
    const cases: [Buffer, string][] = [
      [Buffer.from(`{"kind":"event","note":"${MARKER}"`), 'value is not valid JSON'],
      [Buffer.from(`{"a":"${MARKER}"}trailing`), 'value is not valid JSON'],
      [
        Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
        'value is not valid UTF-8 (JSON)',
      ],
      [
        Buffer.from(`{"a":${'['.repeat(100)}${']'.repeat(100)}}`),
        'value nests objects or arrays deeper than 64 (JSON)',
      ],
    ];
    for (const [bytes, msg] of cases) {
      const err = rejection(bytes);
      expect(err.code).toBe('USC_ERR_SERDE_FAILED');
      expect(err.message).toBe(msg);
      expect(err.details).toMatchObject({ format: 'json' });
      expect(JSON.stringify({ m: err.message, d: err.details, c: String(err.cause) })).not.toContain(MARKER);
    }
    // Brackets inside strings do not count.
    expect(decodeCompat(Buffer.from(JSON.stringify({ a: '['.repeat(100) })))).toEqual({ a: '['.repeat(100) });
  });

  it('refuses hostile msgpack with USC_ERR_SERDE_FAILED: extension types, BigInt, cycles, wrong shapes', () => {
    const m = anything.pack(MARKER);
    const hostile: [string, Buffer, RegExp][] = [
      ['empty', Buffer.alloc(0), /^value is empty$/],
      ['a top-level string', anything.pack(MARKER), /neither a msgpack map nor a JSON object/],
      ['a top-level array', anything.pack([MARKER]), /neither a msgpack map nor a JSON object/],
      ['a top-level number', Buffer.from([0xcb, 0, 0, 0, 0, 0, 0, 0, 0]), /neither a msgpack map/],
      ['undefined (fixext 0)', map1('a', Buffer.from([0xd4, 0x00, 0x00])), /extension type/],
      ['BigInt extension', map1('a', anything.pack(2n ** 70n)), /extension type/],
      ['Date', map1('a', anything.pack(new Date(0))), /extension type/],
      ['RegExp', map1('a', anything.pack(/(a+)+$/)), /extension type/],
      ['Error', map1('a', anything.pack(new TypeError(MARKER))), /extension type/],
      ['Set', map1('a', anything.pack(new Set([MARKER]))), /extension type/],
      ['Map (moreTypes)', map1('a', anything.pack(new Map([[1, MARKER]]))), /map key is not a string/],
      ['typed array', map1('a', anything.pack(new Float64Array([1, 2]))), /extension type|binary data/],
      ['Buffer (bin)', map1('a', anything.pack(Buffer.from(MARKER))), /binary data/],
      ['ext 8 of any type', map1('a', ext(0x2a, [...Buffer.from(MARKER)])), /extension type/],
      ['a record definition (0x72)', map1('a', Buffer.from([0xd4, 0x72, 0x40])), /extension type/],
      ['0xc1', map1('a', Buffer.from([0xc1])), /never-used byte/],
      ['a numeric map key', Buffer.from([0x81, 0x01, 0xc0]), /map key is not a string/],
      ['a map key that is a map', Buffer.from([0x81, 0x80, 0xc0]), /map key is not a string/],
      ['NaN', map1('a', Buffer.from([0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0])), /not finite/],
      ['Infinity (float 32)', map1('a', Buffer.from([0xca, 0x7f, 0x80, 0, 0])), /not finite/],
      ['bytes after the value', Buffer.concat([anything.pack({ a: 1 }), m]), /bytes after the value/],
      [
        'a truncated string',
        Buffer.from([0x81, 0xa1, 0x61, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]),
        /truncated string/,
      ],
      [
        'an array of 2^32-1 items',
        Buffer.from([0x81, 0xa1, 0x61, 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0]),
        /more entries than bytes/,
      ],
      [
        'a map of 2^32-1 entries',
        Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x61, 0xc0]),
        /more entries than bytes/,
      ],
      ['a map missing its last value', Buffer.from([0x82, 0xa1, 0x61, 0xc0, 0xa1, 0x62]), /truncated value/],
    ];
    // A structured-clone cycle: id 1 = [pointer to id 1].
    hostile.push([
      'a structured-clone cycle',
      map1('a', Buffer.from([0xd6, 0x69, 0, 0, 0, 1, 0x91, 0xd6, 0x70, 0, 0, 0, 1])),
      /extension type/,
    ]);
    for (const [name, bytes, rule] of hostile) {
      const err = rejection(bytes);
      expect(err.code, name).toBe('USC_ERR_SERDE_FAILED');
      expect(err.message, name).toMatch(rule);
      expect(err.cause, name).toBeUndefined();
      expect(JSON.stringify({ m: err.message, d: err.details }), name).not.toContain(MARKER);
      expect(() => serde.deserialize(bytes), name).toThrow(UscError);
    }
  });

  it('refuses nesting beyond maxDepth without recursing, and values over maxBytes, in linear time', () => {
    const deep = (n: number) =>
      Buffer.concat([Buffer.from([0x81, 0xa1, 0x61]), Buffer.alloc(n - 1, 0x91), Buffer.from([0x90])]);
    expect(decodeCompat(deep(10), { maxDepth: 11 })).toEqual({ a: [[[[[[[[[[]]]]]]]]]] });
    expect(rejection(deep(11), { maxDepth: 11 }).message).toMatch(
      /containers nest deeper than 11 \(at byte 13\)/,
    );
    const started = performance.now();
    // A million levels: msgpackr alone overflows the stack here; the check stops at the bound.
    expect(rejection(deep(1_000_000)).message).toMatch(/nest deeper than 64/);
    expect(rejection(map1('a', Buffer.alloc(4_000_000, 0xdc))).message).toMatch(/nest deeper than 64/);
    expect(
      rejection(Buffer.concat([Buffer.from([0x81, 0xa1, 0x61]), Buffer.alloc(4_000_000, 0xcc)])).message,
    ).toMatch(/bytes after the value/);
    expect(performance.now() - started).toBeLessThan(5_000);
    const big = serde.serialize({ s: 'x'.repeat(1_000) })!;
    expect(rejection(big, { maxBytes: 999 }).message).toBe(`value is ${big.length} bytes, more than 999`);
    expect(decodeCompat(big, { maxBytes: big.length })).toEqual({ s: 'x'.repeat(1_000) });
    expect(COMPAT_DEFAULTS).toEqual({ maxBytes: 16 * 1_048_576, maxDepth: 64 });
  });

  it('reads 64-bit integers as numbers (as JSON.parse does), never as BigInt', () => {
    const u64 = map1('a', Buffer.from([0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    const i64 = map1('a', Buffer.from([0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]));
    expect(decodeCompat(u64)).toEqual({ a: 2 ** 64 });
    expect(decodeCompat(i64)).toEqual({ a: -(2 ** 63) });
    expect(typeof decodeCompat(u64).a).toBe('number');
    // The store serde (msgpackSerde) would give a BigInt here, which JSON.stringify refuses.
    expect(typeof msgpackSerde<{ a: unknown }>().deserialize(u64)!.a).toBe('bigint');
  });

  it('never throws anything but USC_ERR_SERDE_FAILED and never yields a non-JSON value on mutated bytes', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const base = serde.serialize({ ...message, long: 'x'.repeat(300), wide: undefined })!;
    let decoded = 0;
    for (let i = 0; i < 5_000; i++) {
      const bytes = Buffer.from(base);
      const edits = 1 + Math.floor(random() * 4);
      for (let e = 0; e < edits; e++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      const cut = random() < 0.2 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : bytes;
      try {
        const v = decodeCompat(cut, { maxDepth: 8 });
        expect(isJsonDomain(v, 8)).toBe(true);
        decoded++;
      } catch (err) {
        expect(err).toBeInstanceOf(UscError);
        expect((err as UscError).code).toBe('USC_ERR_SERDE_FAILED');
      }
    }
    // Some mutations still decode (string contents, numbers): the check is not refusing everything.
    expect(decoded).toBeGreaterThan(100);
    // Every strict prefix of a valid value is refused.
    for (let n = 0; n < base.length; n++) expect(() => decodeCompat(base.subarray(0, n))).toThrow(UscError);
  });

  it('checkPlainMsgpack reports the rule and the offset', () => {
    expect(() => checkPlainMsgpack(Buffer.from([0x81, 0xa1, 0x61, 0xd4, 0x00, 0x00]), 4)).toThrow(
      new PlainMsgpackRejected('an extension type is not a plain value', 3),
    );
    expect(() => checkPlainMsgpack(Buffer.from([0xc0]), 1)).not.toThrow();
    expect(() => checkPlainMsgpack(Buffer.from([0x80]), 0)).toThrow(/nest deeper than 0/);
  });
});
