/**
 * Hostile UCM input for fuzz and integration tests (ADR 0003): a seeded, deterministic generator of malformed
 * records (key, value, headers) of many kinds, each carrying a unique personal-data marker
 * (`PII-<kind>-<n>-7f3a`) somewhere it does not belong, and each with the dead-letter category the ADR expects.
 * Also: a valid CASE_CREATED builder (`canary`), a leak scanner (markers, their hex form, fragments of the bulk
 * filler strings), an iterative text extractor for logged objects and store values, and the checks every dead
 * letter of a hostile record must pass (documented shape, category, key and payload minimisation).
 *
 * Only defects whose category the ADR fixes are generated: where two readings are possible (a BOM before valid
 * JSON, an empty eventType, an empty urpCaseId on a status change) the record gets a second defect that settles
 * it, or the case is left out.
 */
import { createHash } from 'node:crypto';
import { ID_PATTERN } from '../../api/params.js';

export type HostileCategory =
  | 'INVALID_JSON'
  | 'LIMIT_EXCEEDED'
  | 'SCHEMA_INVALID'
  | 'UNKNOWN_EVENT_TYPE'
  | 'UNKNOWN_STATUS'
  | 'FUTURE_TIME'
  | 'UNRESOLVED_CORRELATION'
  | 'PROCESSING_ERROR';

/** ADR 0003's table: which categories are replay-eligible. */
export const ADR_REPLAY_ELIGIBLE: Readonly<Record<HostileCategory, boolean>> = {
  INVALID_JSON: false,
  LIMIT_EXCEEDED: false,
  SCHEMA_INVALID: false,
  UNKNOWN_EVENT_TYPE: false,
  UNKNOWN_STATUS: true,
  FUTURE_TIME: false,
  UNRESOLVED_CORRELATION: true,
  PROCESSING_ERROR: true,
};

/** ADR 0003's default bounds (the generator builds around them). */
export const ADR_BOUNDS = {
  maxRecordBytes: 262_144,
  maxNestingDepth: 16,
  maxStringLength: 8_192,
  maxFutureSkewMs: 3_600_000,
} as const;

export interface HostileRecord {
  /** Position in the generated list; part of the marker. */
  readonly index: number;
  readonly kind: string;
  /** Which variant of the kind (no input values in it: safe to print). */
  readonly variant: string;
  /** `PII-<kind>-<index>-7f3a`: in the value or the key (and sometimes a header) of this record only. */
  readonly marker: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly expectedCategory: HostileCategory;
  /** The ids of the value that are valid (the only strings a dead letter may carry as `originalKey`). */
  readonly validIds: readonly string[];
  /** Input strings the dead letter's errorMessage must not quote. */
  readonly notInMessage: readonly string[];
  /** When set: the dead letter's errorField (or errorMessage) names this field path. */
  readonly field?: string;
  /** Dead-lettered only once the correlation grace period has passed (UNRESOLVED_CORRELATION). */
  readonly awaitsGrace: boolean;
}

export interface HostileOptions {
  readonly seed: number;
  /** Number of records (at least one of every kind, so at least {@link HOSTILE_KINDS}.length). */
  readonly count: number;
  /** Prefix of the ids in the records (default `H`). */
  readonly idPrefix?: string;
  /** Relative weight of the heavy kinds (1 MB, > 256 KiB, 100,000-deep values) against 1 for the others. */
  readonly heavyWeight?: number;
}

export const MARKER_TAG = '7f3a';
export const markerOf = (kind: string, index: number): string => `PII-${kind}-${index}-${MARKER_TAG}`;
const MARKER_RE = /PII-([A-Za-z0-9-]+?)-(\d+)-7f3a/g;

/** The kind and index a full marker names, or undefined. */
export function parseMarker(marker: string): { kind: string; index: number } | undefined {
  const m = /^PII-([A-Za-z0-9-]+?)-(\d+)-7f3a$/.exec(marker);
  return m ? { kind: m[1]!, index: Number(m[2]) } : undefined;
}

/** The first full marker in `text`, or undefined. */
export function firstMarker(text: string): string | undefined {
  MARKER_RE.lastIndex = 0;
  const m = MARKER_RE.exec(text);
  MARKER_RE.lastIndex = 0;
  return m?.[0];
}

export type Rng = () => number;

/** mulberry32 */
export function seededRandom(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const FILLER_PERIOD = (() => {
  const r = seededRandom(0x5eedf111);
  let s = '';
  for (let i = 0; i < 1009; i++) s += ALNUM[Math.floor(r() * ALNUM.length)];
  return s;
})();

/** `length` characters of the bulk filler (a fixed pseudo-random period): what the long strings are made of. */
export function filler(length: number): string {
  if (length <= 0) return '';
  return FILLER_PERIOD.repeat(Math.ceil(length / FILLER_PERIOD.length)).slice(0, length);
}

/** 24-character windows of the filler every 50 characters: any 74 characters of it contain one. */
export const FILLER_FRAGMENTS: readonly string[] = Array.from({ length: 21 }, (_, i) =>
  (FILLER_PERIOD + FILLER_PERIOD).slice(i * 50, i * 50 + 24),
);

/** A marker followed by filler, `length` characters in all. */
const bulk = (marker: string, length: number): string => marker + filler(length - marker.length);

/**
 * What in `text` should never have left the input: full markers (listed), any other `PII-` (a partial marker),
 * the hex form of `PII-`, fragments of the bulk filler.
 */
export function findLeaks(text: string): string[] {
  const found = new Set<string>();
  if (/pii-/i.test(text)) {
    for (const m of text.matchAll(MARKER_RE)) found.add(m[0]);
    if (found.size === 0) found.add('PII- (part of a marker)');
  }
  if (/5049492d/i.test(text)) found.add('hex of PII-');
  if (FILLER_FRAGMENTS.some((f) => text.includes(f))) found.add('a fragment of a bulk filler string');
  return [...found];
}

/**
 * Every string, number and key inside `value` (Buffers as latin1 and hex, Errors with message, stack and cause,
 * Maps and Sets), joined by newlines. Iterative: any depth, cycles visited once.
 */
export function textOf(value: unknown): string {
  const parts: string[] = [];
  const seen = new WeakSet<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || v === undefined) continue;
    if (typeof v === 'string') {
      parts.push(v);
    } else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') {
      parts.push(String(v));
    } else if (typeof v === 'symbol' || typeof v === 'function') {
      parts.push(String(v));
    } else if (v instanceof Uint8Array) {
      const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      parts.push(b.toString('latin1'), b.toString('hex'));
    } else if (typeof v === 'object') {
      if (seen.has(v)) continue;
      seen.add(v);
      if (v instanceof Error) {
        parts.push(String(v.name), String(v.message), String(v.stack ?? ''));
        stack.push((v as { cause?: unknown }).cause);
      }
      if (v instanceof Map) {
        for (const [k, x] of v) stack.push(k, x);
        continue;
      }
      if (v instanceof Set) {
        for (const x of v) stack.push(x);
        continue;
      }
      for (const k of Object.getOwnPropertyNames(v)) {
        parts.push(k);
        try {
          stack.push((v as Record<string, unknown>)[k]);
        } catch {
          // a throwing getter has nothing to leak
        }
      }
    }
  }
  return parts.join('\n');
}

export const sha256Hex = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

// ---------------------------------------------------------------------------------------------------------------
// Building blocks

type Json = Record<string, unknown>;

interface Ctx {
  readonly n: number;
  readonly m: string;
  readonly r: Rng;
  readonly eventId: string;
  readonly ucm: string;
  readonly urp: string;
  /** A UCM case that never gets a CASE_CREATED. */
  readonly orphan: string;
  /** A valid business/event time (well in the past). */
  readonly time: string;
}

interface Built {
  readonly variant: string;
  readonly value: Buffer | string | null;
  /** Default: the event's ucmCaseId (as UCMv2 keys its topic). */
  readonly key?: Buffer | string | null;
  /** Default: the kind's category. */
  readonly category?: HostileCategory;
  readonly notInMessage?: readonly string[];
  readonly field?: string;
  readonly awaitsGrace?: boolean;
}

type Variant = (c: Ctx) => Built;

interface KindSpec {
  readonly kind: string;
  /** null: each variant says (a defect drawn from a pool). */
  readonly category: HostileCategory | null;
  readonly heavy?: boolean;
  readonly variants: readonly Variant[];
}

/** Valid business times: 2024-01-15T10:00:00Z plus one second per record. */
const BASE_MS = Date.UTC(2024, 0, 15, 10, 0, 0);
const FAR_FUTURE = '2099-03-01T00:00:00Z';

const j = (v: unknown): string => JSON.stringify(v);
const pick = <T>(r: Rng, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
const payloadOf = (e: Json): Json => e.payload as Json;

function created(c: Ctx): Json {
  return {
    eventId: c.eventId,
    eventType: 'CASE_CREATED',
    eventTime: c.time,
    source: 'UCMv2',
    payload: {
      ucmCaseId: c.ucm,
      urpCaseId: c.urp,
      initialStatus: 'OPEN',
      createdAt: c.time,
      extraAttributes: { priority: 'high', caseType: 'fraud' },
    },
  };
}

function changed(c: Ctx): Json {
  return {
    eventId: c.eventId,
    eventType: 'CASE_STATUS_CHANGED',
    eventTime: c.time,
    source: 'UCMv2',
    payload: {
      ucmCaseId: c.ucm,
      urpCaseId: c.urp,
      oldStatus: 'OPEN',
      newStatus: 'IN_PROGRESS',
      statusChangedAt: c.time,
      reason: 'customer called back',
    },
  };
}

const base = (c: Ctx, which: 'created' | 'changed'): Json => (which === 'created' ? created(c) : changed(c));

/** JSON text of `e` with the string `token` replaced by raw text (a literal JSON.stringify cannot write). */
const splice = (e: Json, token: string, raw: string): string => j(e).replace(j(token), raw);

/** `text` (a JSON object) padded with whitespace before its last `}` to exactly `size` bytes. */
function padTo(text: string, size: number): string {
  const pad = size - Buffer.byteLength(text, 'utf8');
  if (pad < 0) throw new Error(`padTo: text already has ${Buffer.byteLength(text)} bytes`);
  return `${text.slice(0, -1)}${' '.repeat(pad)}}`;
}

function nestObjects(depth: number, leaf: unknown, key = 'level'): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = { [key]: v };
  return v;
}

function nestArrays(depth: number, leaf: unknown): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/**
 * A schema defect applied to a base event: `mutate` breaks it; the marker goes into `source` (never carried by a
 * non-replay-eligible dead letter) unless the mutation itself uses it or `markerIn: 'unknown'`.
 */
function schemaDefect(
  name: string,
  which: 'created' | 'changed',
  mutate: (e: Json, p: Json, c: Ctx) => void,
  opts: {
    markerIn?: 'source' | 'unknown' | 'none';
    field?: string;
    notInMessage?: (c: Ctx) => string[];
  } = {},
): Variant {
  return (c) => {
    const e = base(c, which);
    const where = opts.markerIn ?? 'source';
    if (where === 'source') e.source = c.m;
    const withMarker: Json = where === 'unknown' ? { customerName: c.m, ...e } : e;
    mutate(withMarker, payloadOf(withMarker), c);
    return {
      variant: `${which}: ${name}`,
      value: j(withMarker),
      ...(opts.field ? { field: opts.field } : {}),
      ...(opts.notInMessage ? { notInMessage: opts.notInMessage(c) } : {}),
    };
  };
}

/**
 * Light defects of a known category for the key kinds (null key, long key, marker key, binary key). With `mark`,
 * the marker goes into an unknown top-level field (where no category may carry it).
 */
const DEFECTS: readonly ((c: Ctx, mark: boolean) => Built & { category: HostileCategory })[] = [
  (c, mark) => {
    const e = created(c);
    delete payloadOf(e).urpCaseId;
    return {
      variant: 'missing payload.urpCaseId',
      value: j(mark ? { customerName: c.m, ...e } : e),
      category: 'SCHEMA_INVALID',
    };
  },
  (c, mark) => {
    const t = j(mark ? { customerName: c.m, ...created(c) } : created(c));
    return { variant: 'truncated JSON', value: t.slice(0, t.length - 9), category: 'INVALID_JSON' };
  },
  (c, mark) => {
    const e = { ...created(c), eventType: 'CASE_ARCHIVED' };
    return {
      variant: 'unknown eventType',
      value: j(mark ? { customerName: c.m, ...e } : e),
      category: 'UNKNOWN_EVENT_TYPE',
    };
  },
  (c, mark) => {
    const e = created(c);
    payloadOf(e).createdAt = '2024-01-15T10:00:00';
    return {
      variant: 'createdAt without zone',
      value: j(mark ? { customerName: c.m, ...e } : e),
      category: 'SCHEMA_INVALID',
    };
  },
  (c, mark) => {
    const e = created(c);
    const status = `Zombie State ${c.n}`;
    payloadOf(e).initialStatus = status;
    return {
      variant: 'unknown initialStatus',
      value: j(mark ? { customerName: c.m, ...e } : e),
      category: 'UNKNOWN_STATUS',
      notInMessage: [status],
    };
  },
  (c, mark) => {
    const e = created(c);
    payloadOf(e).createdAt = FAR_FUTURE;
    return {
      variant: 'createdAt in 2099',
      value: j(mark ? { customerName: c.m, ...e } : e),
      category: 'FUTURE_TIME',
    };
  },
  (c, mark) => ({
    variant: '9,000-character string in an unknown field',
    value: j({ customerNotes: mark ? bulk(c.m, 9_000) : filler(9_000), ...created(c) }),
    category: 'LIMIT_EXCEEDED',
  }),
  (c, mark) => ({
    variant: 'array instead of an object',
    value: j([mark ? { customerName: c.m } : { customerName: 'x' }]),
    category: 'SCHEMA_INVALID',
  }),
];

const defectVariant =
  (name: string, key: (c: Ctx) => Buffer | string | null, mark: boolean): Variant =>
  (c) => {
    const d = pick(c.r, DEFECTS)(c, mark);
    return { ...d, variant: `${name} + ${d.variant}`, key: key(c) };
  };

const BAD_UTF8: readonly (readonly [string, readonly number[]])[] = [
  ['lone continuation byte', [0x80]],
  ['C3 28', [0xc3, 0x28]],
  ['overlong C0 AF', [0xc0, 0xaf]],
  ['UTF-8 encoded surrogate ED A0 80', [0xed, 0xa0, 0x80]],
  ['truncated sequence E2 82', [0xe2, 0x82]],
  ['FE FF', [0xfe, 0xff]],
  ['beyond U+10FFFF F4 90 80 80', [0xf4, 0x90, 0x80, 0x80]],
];

const GARBAGE_CHARS =
  'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?-_+*/=<>()|&%$#@~^`\n\t';

// ---------------------------------------------------------------------------------------------------------------
// The kinds

const KINDS: readonly KindSpec[] = [
  {
    kind: 'truncated-json',
    category: 'INVALID_JSON',
    variants: [
      (c) => {
        const e = created(c);
        e.source = c.m;
        const t = j(e);
        const after = t.indexOf(c.m) + c.m.length + 1;
        return {
          variant: 'created cut after the marker',
          value: t.slice(0, after + Math.floor(c.r() * (t.length - after - 1))),
        };
      },
      (c) => {
        const e = { customerEmail: `${c.m}@example.org`, ...changed(c) };
        const t = j(e);
        return { variant: 'status change cut short', value: t.slice(0, Math.max(t.indexOf('payload'), 1)) };
      },
    ],
  },
  {
    kind: 'garbage-text',
    category: 'INVALID_JSON',
    variants: [
      (c) => {
        let s = '~';
        const len = 20 + Math.floor(c.r() * 300);
        for (let i = 0; i < len; i++) s += pick(c.r, GARBAGE_CHARS.split(''));
        const at = 1 + Math.floor(c.r() * (s.length - 1));
        return { variant: 'random printable text', value: `${s.slice(0, at)}${c.m}${s.slice(at)}` };
      },
      (c) => ({ variant: 'XML', value: `<event><id>${c.eventId}</id><ssn>${c.m}</ssn></event>` }),
      (c) => ({ variant: 'CSV', value: `eventId,eventType,ssn\n${c.eventId},CASE_CREATED,${c.m}\n` }),
      (c) => ({ variant: 'YAML', value: `eventId: ${c.eventId}\neventType: CASE_CREATED\nssn: ${c.m}\n` }),
      (c) => ({ variant: 'form encoded', value: `eventId=${c.eventId}&ssn=${encodeURIComponent(c.m)}` }),
    ],
  },
  {
    kind: 'binary',
    category: 'INVALID_JSON',
    variants: [
      (c) => {
        const len = 16 + Math.floor(c.r() * 500);
        const bytes: number[] = [0xff];
        while (bytes.length < len) {
          const b = Math.floor(c.r() * 256);
          if (b !== 0x7b && b !== 0x5b && b !== 0x22) bytes.push(b);
        }
        const at = Math.floor(c.r() * bytes.length);
        return {
          variant: 'random bytes with 0xFF',
          value: Buffer.concat([
            Buffer.from(bytes.slice(0, at)),
            Buffer.from(c.m, 'latin1'),
            Buffer.from(bytes.slice(at)),
          ]),
        };
      },
      (c) => ({
        variant: 'gzip magic',
        value: Buffer.concat([
          Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe]),
          Buffer.from(c.m),
          Buffer.from([0x00, 0x80]),
        ]),
      }),
      (c) => ({
        variant: 'msgpack map',
        value: Buffer.concat([
          Buffer.from([0x81, 0xa3]),
          Buffer.from('ssn'),
          Buffer.from([0xd9, c.m.length]),
          Buffer.from(c.m),
        ]),
      }),
      (c) => ({
        // UTF-16 interleaves NULs into the marker: the key carries it too.
        variant: 'UTF-16LE with BOM (key carries the marker)',
        value: Buffer.concat([
          Buffer.from([0xff, 0xfe]),
          Buffer.from(j({ ...created(c), source: c.m }), 'utf16le'),
        ]),
        key: `${c.m}`,
      }),
    ],
  },
  {
    kind: 'invalid-utf8',
    category: 'INVALID_JSON',
    variants: BAD_UTF8.map(([name, bytes]): Variant => (c) => {
      const e = created(c);
      e.source = `${c.m}@@BAD@@`;
      const [before, after] = j(e).split('@@BAD@@') as [string, string];
      return {
        variant: name,
        value: Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]),
      };
    }),
  },
  {
    kind: 'tombstone',
    category: 'INVALID_JSON',
    variants: [
      (c) => ({ variant: 'null value, marker key', value: null, key: c.m }),
      (c) => ({ variant: 'null value, e-mail key', value: null, key: `${c.m}@example.org` }),
    ],
  },
  {
    kind: 'empty-value',
    category: 'INVALID_JSON',
    variants: [(c) => ({ variant: 'zero bytes, marker key', value: Buffer.alloc(0), key: c.m })],
  },
  {
    kind: 'whitespace-only',
    category: 'INVALID_JSON',
    variants: [
      (c) => ({
        variant: 'spaces and newlines, marker key',
        value: pick(c.r, [' ', '\n', ' \t\r\n ', '    ']),
        key: c.m,
      }),
    ],
  },
  {
    kind: 'bom-prefix',
    category: 'INVALID_JSON',
    variants: [
      (c) => {
        const t = j({ ...created(c), source: c.m });
        return {
          variant: 'BOM + truncated event',
          value: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(t.slice(0, -4))]),
        };
      },
      (c) => ({
        variant: 'BOM + single-quoted object',
        value: Buffer.concat([
          Buffer.from([0xef, 0xbb, 0xbf]),
          Buffer.from(j({ ...created(c), source: c.m }).replace(/"/g, "'")),
        ]),
      }),
      (c) => ({
        variant: 'two BOMs + event',
        value: Buffer.concat([
          Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]),
          Buffer.from(j({ ...created(c), source: c.m })),
        ]),
      }),
    ],
  },
  {
    kind: 'nan-infinity',
    category: 'INVALID_JSON',
    variants: ['NaN', 'Infinity', '-Infinity', 'undefined', '0x1F', '01', '.5', '+1', 'True'].map(
      (literal): Variant =>
        (c) => {
          const e = created(c);
          e.source = c.m;
          payloadOf(e).score = '@@NUM@@';
          return { variant: `literal ${literal}`, value: splice(e, '@@NUM@@', literal) };
        },
    ),
  },
  {
    kind: 'malformed-json',
    category: 'INVALID_JSON',
    variants: [
      (c) => ({ variant: 'trailing text', value: `${j({ ...created(c), source: c.m })} trailing` }),
      (c) => ({ variant: 'two objects', value: `${j({ ...created(c), source: c.m })}${j(changed(c))}` }),
      (c) => {
        const t = j({ ...created(c), source: c.m });
        return { variant: 'trailing comma', value: `${t.slice(0, -1)},}` };
      },
      (c) => ({ variant: 'comment', value: `{/* ${c.m} */${j(created(c)).slice(1)}` }),
      (c) => ({
        variant: 'unquoted key',
        value: j({ ...created(c), source: c.m }).replace('"eventId":', 'eventId:'),
      }),
      (c) => ({ variant: 'unterminated string', value: `{"eventId":"${c.eventId}","source":"${c.m}` }),
    ],
  },
  {
    kind: 'string-1mb',
    category: 'LIMIT_EXCEEDED',
    heavy: true,
    variants: [
      (c) => {
        const e = changed(c);
        payloadOf(e).reason = bulk(c.m, 1_000_000);
        return { variant: '1 MB payload.reason', value: j(e) };
      },
      (c) => ({ variant: '1 MB unknown field', value: j({ notes: bulk(c.m, 1_000_000), ...created(c) }) }),
      (c) => {
        const e = created(c);
        payloadOf(e).extraAttributes = { priority: bulk(c.m, 1_000_000) };
        return { variant: '1 MB allowlisted attribute', value: j(e) };
      },
    ],
  },
  {
    kind: 'string-9000',
    category: 'LIMIT_EXCEEDED',
    variants: [
      (c) => ({
        variant: 'unknown top-level field',
        value: j({ customerNotes: bulk(c.m, 9_000), ...created(c) }),
      }),
      (c) => {
        const e = changed(c);
        payloadOf(e).reason = bulk(c.m, 9_000);
        return { variant: 'payload.reason', value: j(e), field: 'payload.reason' };
      },
      (c) => {
        const e = created(c);
        payloadOf(e).extraAttributes = { priority: 'high', caseType: bulk(c.m, 9_000) };
        return { variant: 'allowlisted attribute', value: j(e), field: 'payload.extraAttributes.caseType' };
      },
      (c) => {
        const e = created(c);
        payloadOf(e).extraAttributes = { priority: 'high', notes: bulk(c.m, 9_000) };
        return { variant: 'non-allowlisted attribute', value: j(e) };
      },
      (c) => ({
        variant: 'array element of an unknown field',
        value: j({ ...created(c), history: ['a', 'b', bulk(c.m, 9_000)] }),
      }),
      (c) => ({
        variant: 'object key of 9,000 characters',
        value: j({ ...created(c), [bulk(c.m, 9_000)]: 'x' }),
      }),
    ],
  },
  {
    kind: 'nesting-100k-payload',
    category: 'LIMIT_EXCEEDED',
    heavy: true,
    variants: [
      (c) => {
        const e = created(c);
        payloadOf(e).deep = '@@DEEP@@';
        return {
          variant: '100,000 nested arrays in payload',
          value: splice(e, '@@DEEP@@', `${'['.repeat(100_000)}${j(c.m)}${']'.repeat(100_000)}`),
        };
      },
      (c) => {
        const e = created(c);
        payloadOf(e).deep = '@@DEEP@@';
        return {
          variant: '40,000 nested objects in payload',
          value: splice(e, '@@DEEP@@', `${'{"a":'.repeat(40_000)}${j(c.m)}${'}'.repeat(40_000)}`),
        };
      },
    ],
  },
  {
    kind: 'nesting-100k-top',
    category: 'LIMIT_EXCEEDED',
    heavy: true,
    variants: [
      (c) => ({
        variant: '100,000 nested arrays',
        value: `${'['.repeat(100_000)}${j(c.m)}${']'.repeat(100_000)}`,
      }),
      (c) => ({ variant: '100,000 unclosed arrays', value: `${'['.repeat(100_000)}${j(c.m)}` }),
    ],
  },
  {
    kind: 'value-over-256k',
    category: 'LIMIT_EXCEEDED',
    heavy: true,
    variants: [
      (c) => {
        const items = [c.m];
        for (let i = 0; items.length < 8_000; i++) items.push(filler(40).slice(0, 30) + String(i));
        return { variant: 'array of short strings', value: j({ ...created(c), attachments: items }) };
      },
      (c) => ({
        variant: 'exactly 262,145 bytes (whitespace)',
        value: padTo(j({ ...created(c), note: c.m }), ADR_BOUNDS.maxRecordBytes + 1),
      }),
      (c) => {
        const many: Json = { ssn: c.m };
        for (let i = 0; i < 25_000; i++) many[`k${i}`] = i;
        return { variant: '25,000 keys', value: j({ ...created(c), many }) };
      },
    ],
  },
  {
    kind: 'value-at-bound',
    category: 'SCHEMA_INVALID',
    heavy: true,
    variants: [
      (c) => {
        const e = created(c);
        delete payloadOf(e).urpCaseId;
        return {
          variant: 'exactly 262,144 bytes, missing urpCaseId',
          value: padTo(j({ ...e, note: c.m }), ADR_BOUNDS.maxRecordBytes),
          field: 'payload.urpCaseId',
        };
      },
    ],
  },
  {
    kind: 'attribute-too-deep',
    category: 'LIMIT_EXCEEDED',
    variants: [
      (c) => {
        const e = created(c);
        payloadOf(e).extraAttributes = { priority: nestObjects(30, c.m), caseType: 'fraud' };
        return { variant: 'priority 30 objects deep', value: j(e) };
      },
      (c) => {
        const e = created(c);
        payloadOf(e).extraAttributes = { caseType: nestArrays(20, c.m) };
        return { variant: 'caseType 20 arrays deep', value: j(e) };
      },
    ],
  },
  {
    kind: 'nesting-below-bound',
    category: 'SCHEMA_INVALID',
    variants: [
      schemaDefect(
        'unknown field 8 objects deep, missing urpCaseId',
        'created',
        (e, p, c) => {
          e.meta = nestObjects(8, c.m);
          delete p.urpCaseId;
        },
        { markerIn: 'none', field: 'payload.urpCaseId' },
      ),
    ],
  },
  {
    kind: 'brackets-in-string',
    category: 'SCHEMA_INVALID',
    variants: [
      schemaDefect(
        'brackets and escaped quotes inside a string, createdAt without zone',
        'created',
        (e, p, c) => {
          e.customerNotes = `${c.m} ${'['.repeat(60)}${'{'.repeat(60)} "quoted [[[[" \\ [[[[ \\"`;
          p.createdAt = '2024-01-15T10:00:00';
        },
        { markerIn: 'none', field: 'payload.createdAt' },
      ),
      schemaDefect(
        'brackets inside a key, missing urpCaseId',
        'created',
        (e, p, c) => {
          e['[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{'] = c.m;
          delete p.urpCaseId;
        },
        { markerIn: 'none', field: 'payload.urpCaseId' },
      ),
    ],
  },
  {
    kind: 'string-at-bound',
    category: 'SCHEMA_INVALID',
    variants: [
      schemaDefect(
        '8,192-character unknown field, missing eventTime',
        'created',
        (e, _p, c) => {
          e.memo = bulk(c.m, ADR_BOUNDS.maxStringLength);
          delete e.eventTime;
        },
        { markerIn: 'none', field: 'eventTime' },
      ),
    ],
  },
  {
    kind: 'non-object-json',
    category: 'SCHEMA_INVALID',
    variants: [
      (c) => ({ variant: 'array of an event', value: j([{ ...created(c), source: c.m }]) }),
      (c) => ({ variant: 'array of strings', value: j([c.m, 'x']) }),
      (c) => ({ variant: 'number', value: '42', key: c.m }),
      (c) => ({ variant: 'negative float', value: '-1.5e3', key: c.m }),
      (c) => ({ variant: 'string', value: j(c.m) }),
      (c) => ({ variant: 'null', value: 'null', key: c.m }),
      (c) => ({ variant: 'true', value: 'true', key: c.m }),
      (c) => ({ variant: 'false', value: 'false', key: `user:${c.m}` }),
    ],
  },
  {
    kind: 'empty-object',
    category: 'SCHEMA_INVALID',
    variants: [
      (c) => ({ variant: '{}', value: '{}', key: c.m }),
      (c) => ({ variant: '{ } with spaces', value: '{ }', key: c.m }),
      (c) => ({ variant: 'empty payload only', value: '{"payload":{}}', key: c.m }),
      (c) => ({ variant: 'only an unknown field', value: j({ ssn: c.m }) }),
    ],
  },
  {
    kind: 'wrong-types',
    category: 'SCHEMA_INVALID',
    variants: [
      schemaDefect('eventId number', 'created', (e) => void (e.eventId = 12345), { field: 'eventId' }),
      schemaDefect('eventId array', 'created', (e, _p, c) => void (e.eventId = [c.m]), {
        markerIn: 'none',
        field: 'eventId',
      }),
      schemaDefect('eventType number', 'created', (e) => void (e.eventType = 1), { field: 'eventType' }),
      schemaDefect('eventTime number', 'changed', (e) => void (e.eventTime = 1705312800000), {
        field: 'eventTime',
      }),
      schemaDefect('source number', 'created', (e) => void (e.source = 7), {
        markerIn: 'unknown',
        field: 'source',
      }),
      schemaDefect('payload array', 'created', (e, _p, c) => void (e.payload = [c.m]), {
        markerIn: 'none',
        field: 'payload',
      }),
      schemaDefect('payload string', 'changed', (e, _p, c) => void (e.payload = c.m), {
        markerIn: 'none',
        field: 'payload',
      }),
      schemaDefect('ucmCaseId number', 'created', (_e, p) => void (p.ucmCaseId = 987654), {
        field: 'payload.ucmCaseId',
      }),
      schemaDefect('urpCaseId object', 'created', (_e, p, c) => void (p.urpCaseId = { id: c.m }), {
        markerIn: 'none',
        field: 'payload.urpCaseId',
      }),
      schemaDefect('initialStatus number', 'created', (_e, p) => void (p.initialStatus = 1), {
        field: 'payload.initialStatus',
      }),
      schemaDefect('newStatus object', 'changed', (_e, p, c) => void (p.newStatus = { value: c.m }), {
        markerIn: 'none',
        field: 'payload.newStatus',
      }),
      schemaDefect('oldStatus boolean', 'changed', (_e, p) => void (p.oldStatus = true), {
        field: 'payload.oldStatus',
      }),
      schemaDefect('extraAttributes string', 'created', (_e, p, c) => void (p.extraAttributes = c.m), {
        markerIn: 'none',
        field: 'payload.extraAttributes',
      }),
      schemaDefect('extraAttributes array', 'created', (_e, p, c) => void (p.extraAttributes = [c.m]), {
        markerIn: 'none',
        field: 'payload.extraAttributes',
      }),
      schemaDefect('reason number', 'changed', (_e, p) => void (p.reason = 5), { field: 'payload.reason' }),
      schemaDefect('createdAt boolean', 'created', (_e, p) => void (p.createdAt = false), {
        field: 'payload.createdAt',
      }),
    ],
  },
  {
    kind: 'null-fields',
    category: 'SCHEMA_INVALID',
    variants: [
      ...(['eventId', 'eventType', 'eventTime', 'payload'] as const).map((f) =>
        schemaDefect(`${f} null`, 'created', (e) => void (e[f] = null), { field: f }),
      ),
      schemaDefect('source null', 'changed', (e) => void (e.source = null), {
        markerIn: 'unknown',
        field: 'source',
      }),
      ...(['ucmCaseId', 'urpCaseId', 'initialStatus', 'createdAt'] as const).map((f) =>
        schemaDefect(`payload.${f} null`, 'created', (_e, p) => void (p[f] = null), {
          field: `payload.${f}`,
        }),
      ),
      ...(['ucmCaseId', 'newStatus', 'statusChangedAt'] as const).map((f) =>
        schemaDefect(`payload.${f} null`, 'changed', (_e, p) => void (p[f] = null), {
          field: `payload.${f}`,
        }),
      ),
    ],
  },
  {
    kind: 'empty-strings',
    category: 'SCHEMA_INVALID',
    variants: [
      ...(['eventId', 'eventTime', 'source'] as const).map((f) =>
        schemaDefect(`${f} empty`, 'created', (e) => void (e[f] = ''), { markerIn: 'unknown', field: f }),
      ),
      ...(['ucmCaseId', 'urpCaseId', 'createdAt'] as const).map((f) =>
        schemaDefect(`payload.${f} empty`, 'created', (_e, p) => void (p[f] = ''), {
          markerIn: 'unknown',
          field: `payload.${f}`,
        }),
      ),
      ...(['ucmCaseId', 'statusChangedAt'] as const).map((f) =>
        schemaDefect(`payload.${f} empty`, 'changed', (_e, p) => void (p[f] = ''), {
          markerIn: 'unknown',
          field: `payload.${f}`,
        }),
      ),
    ],
  },
  {
    kind: 'bad-timestamp',
    category: 'SCHEMA_INVALID',
    variants: (
      [
        ['month 13', '2024-13-45T99:99:99Z'],
        ['words', 'yesterday afternoon'],
        ['no zone', '2024-01-15T10:00:00'],
        ['European format', '15/01/2024 10:00'],
        ['date only', '2024-01-15'],
        ['space separator', '2024-01-15 10:00:00Z'],
        ['RFC 1123', 'Mon, 15 Jan 2024 10:00:00 GMT'],
        ['zero date', '0000-00-00T00:00:00Z'],
      ] as const
    )
      .flatMap(([name, bad]) => [
        schemaDefect(`createdAt ${name}`, 'created', (_e, p) => void (p.createdAt = bad), {
          field: 'payload.createdAt',
          notInMessage: () => [bad],
        }),
        schemaDefect(`statusChangedAt ${name}`, 'changed', (_e, p) => void (p.statusChangedAt = bad), {
          field: 'payload.statusChangedAt',
          notInMessage: () => [bad],
        }),
        schemaDefect(`eventTime ${name}`, 'created', (e) => void (e.eventTime = bad), {
          field: 'eventTime',
          notInMessage: () => [bad],
        }),
      ])
      .concat([
        schemaDefect(
          'createdAt is the marker',
          'created',
          (_e, p, c) => void (p.createdAt = `${c.m}T10:00:00Z`),
          {
            markerIn: 'none',
            field: 'payload.createdAt',
          },
        ),
      ]),
  },
  {
    kind: 'numeric-timestamp',
    category: 'SCHEMA_INVALID',
    variants: [
      schemaDefect('createdAt epoch ms', 'created', (_e, p) => void (p.createdAt = 1705312800000), {
        field: 'payload.createdAt',
      }),
      schemaDefect(
        'statusChangedAt epoch seconds',
        'changed',
        (_e, p) => void (p.statusChangedAt = 1705312800),
        { field: 'payload.statusChangedAt' },
      ),
      schemaDefect('eventTime epoch ms as text', 'created', (e) => void (e.eventTime = '1705312800000'), {
        field: 'eventTime',
      }),
      schemaDefect('createdAt float', 'created', (_e, p) => void (p.createdAt = 1705312800.5), {
        field: 'payload.createdAt',
      }),
    ],
  },
  {
    kind: 'future-time',
    category: 'FUTURE_TIME',
    variants: [
      (c) => {
        const e = created(c);
        payloadOf(e).createdAt = FAR_FUTURE;
        payloadOf(e).extraAttributes = { priority: 'high', ssn: c.m };
        return { variant: 'createdAt 2099, marker in a non-allowlisted attribute', value: j(e) };
      },
      (c) => ({
        variant: 'eventTime 2099 (created)',
        value: j({ ...created(c), eventTime: FAR_FUTURE, customerName: c.m }),
      }),
      (c) => {
        const e = changed(c);
        payloadOf(e).statusChangedAt = FAR_FUTURE;
        payloadOf(e).reason = `call ${c.m}`;
        return { variant: 'statusChangedAt 2099, marker in reason', value: j(e) };
      },
      (c) => ({
        variant: 'eventTime 9999-12-31 (status change)',
        value: j({ ...changed(c), eventTime: '9999-12-31T23:59:59Z', customerName: c.m }),
      }),
      (c) => {
        const e = changed(c);
        delete payloadOf(e).urpCaseId;
        payloadOf(e).ucmCaseId = c.orphan;
        payloadOf(e).statusChangedAt = '2099-01-01T00:00:00+14:00';
        return {
          variant: 'statusChangedAt 2099 without urpCaseId',
          value: j({ ...e, customerName: c.m }),
          key: c.orphan,
        };
      },
    ],
  },
  {
    kind: 'unknown-event-type',
    category: 'UNKNOWN_EVENT_TYPE',
    variants: [
      (c) => ({
        variant: 'CASE_DELETED_<marker>',
        value: j({ ...created(c), eventType: `CASE_DELETED_${c.m}` }),
        notInMessage: ['CASE_DELETED'],
      }),
      (c) => ({ variant: 'the marker', value: j({ ...created(c), eventType: c.m }) }),
      (c) => ({
        variant: 'lower case + marker',
        value: j({ ...created(c), eventType: `case_created ${c.m}` }),
      }),
      (c) => ({
        variant: 'CASE_ARCHIVED, marker in an unknown field',
        value: j({ ...created(c), eventType: 'CASE_ARCHIVED', customerName: c.m }),
        notInMessage: ['CASE_ARCHIVED'],
      }),
    ],
  },
  {
    kind: 'unknown-status',
    category: 'UNKNOWN_STATUS',
    variants: [
      (c) => {
        const e = created(c);
        const status = `Zombie State ${c.n}`;
        payloadOf(e).initialStatus = status;
        payloadOf(e).extraAttributes = {
          priority: 'high',
          ssn: c.m,
          email: `${c.m}@example.org`,
          Priority: c.m,
        };
        return {
          variant: 'initialStatus, marker in non-allowlisted attributes',
          value: j(e),
          notInMessage: [status],
          field: 'payload.initialStatus',
        };
      },
      (c) => {
        const e = created(c);
        const status = `Limbo-${c.n}`;
        payloadOf(e).initialStatus = status;
        payloadOf(e).dateOfBirth = c.m;
        return {
          variant: 'initialStatus, marker in unknown fields',
          value: j({ customerName: c.m, ...e }),
          notInMessage: [status],
          field: 'payload.initialStatus',
        };
      },
      (c) => {
        const e = changed(c);
        const status = `Awaiting Paperwork ${c.n}`;
        payloadOf(e).newStatus = status;
        return {
          variant: 'newStatus, marker in an unknown field',
          value: j({ ...e, customerEmail: `${c.m}@example.org` }),
          notInMessage: [status],
          field: 'payload.newStatus',
        };
      },
      (c) => {
        const e = changed(c);
        const status = `Frozen ${c.n}`;
        payloadOf(e).oldStatus = status;
        payloadOf(e).ssn = c.m;
        return {
          variant: 'oldStatus, marker in an unknown payload field',
          value: j(e),
          notInMessage: [status],
          field: 'payload.oldStatus',
        };
      },
    ],
  },
  {
    kind: 'missing-fields',
    category: 'SCHEMA_INVALID',
    variants: [
      ...(['eventId', 'eventType', 'eventTime', 'payload'] as const).map((f) =>
        schemaDefect(`no ${f}`, 'created', (e) => void delete e[f], { field: f }),
      ),
      schemaDefect('no source', 'created', (e) => void delete e.source, {
        markerIn: 'unknown',
        field: 'source',
      }),
      ...(['ucmCaseId', 'urpCaseId', 'initialStatus', 'createdAt'] as const).map((f) =>
        schemaDefect(`no payload.${f}`, 'created', (_e, p) => void delete p[f], { field: `payload.${f}` }),
      ),
      ...(['ucmCaseId', 'oldStatus', 'newStatus', 'statusChangedAt'] as const).map((f) =>
        schemaDefect(`no payload.${f}`, 'changed', (_e, p) => void delete p[f], { field: `payload.${f}` }),
      ),
    ],
  },
  {
    kind: 'unknown-fields-invalid',
    category: 'SCHEMA_INVALID',
    variants: [
      schemaDefect(
        'missing urpCaseId',
        'created',
        (e, p, c) => {
          e.customer = { name: c.m, email: `${c.m}@example.org`, phone: '+41 79 000 00 00' };
          p.ssn = c.m;
          (p.extraAttributes as Json).ssn = c.m;
          delete p.urpCaseId;
        },
        { markerIn: 'none', field: 'payload.urpCaseId' },
      ),
      schemaDefect(
        'createdAt without zone',
        'created',
        (e, p, c) => {
          e.customer = { name: c.m };
          p.notes = [c.m, { deeper: c.m }];
          p.createdAt = '2024-01-15T10:00:00';
        },
        { markerIn: 'none', field: 'payload.createdAt' },
      ),
      schemaDefect(
        'missing newStatus',
        'changed',
        (e, p, c) => {
          e.operator = c.m;
          p.customerEmail = `${c.m}@example.org`;
          delete p.newStatus;
        },
        { markerIn: 'none', field: 'payload.newStatus' },
      ),
    ],
  },
  {
    kind: 'non-allowlisted-attributes',
    category: 'SCHEMA_INVALID',
    variants: [
      schemaDefect(
        'createdAt without zone',
        'created',
        (_e, p, c) => {
          p.extraAttributes = {
            priority: 'high',
            ssn: c.m,
            email: `${c.m}@example.org`,
            Priority: c.m,
            'priority ': c.m,
            nested: { ssn: c.m },
          };
          p.createdAt = '2024-01-15T10:00:00';
        },
        { markerIn: 'none', field: 'payload.createdAt' },
      ),
      schemaDefect(
        'missing urpCaseId',
        'created',
        (_e, p, c) => {
          p.extraAttributes = { caseType: 'fraud', iban: c.m, phone: c.m };
          delete p.urpCaseId;
        },
        { markerIn: 'none', field: 'payload.urpCaseId' },
      ),
    ],
  },
  {
    kind: 'id-wrong-form',
    category: 'SCHEMA_INVALID',
    variants: (
      [
        ['spaces', (m: string) => `${m} with spaces`],
        ['200 characters', (m: string) => `${m}${'x'.repeat(200 - m.length)}`],
        ['pipe', (m: string) => `${m}|x`],
        ['slash', (m: string) => `${m}/x`],
        ['non-ASCII', (m: string) => `${m}ü`],
        ['newline', (m: string) => `${m}\n`],
        ['markup', (m: string) => `<b>${m}</b>`],
      ] as const
    ).flatMap(([name, make]) => [
      (c: Ctx): Built => ({
        variant: `eventId ${name}`,
        value: j({ ...created(c), eventId: make(c.m) }),
        field: 'eventId',
      }),
      (c: Ctx): Built => {
        const e = created(c);
        const bad = make(c.m);
        payloadOf(e).ucmCaseId = bad;
        return {
          variant: `ucmCaseId ${name} (and the key)`,
          value: j(e),
          key: bad,
          field: 'payload.ucmCaseId',
        };
      },
      (c: Ctx): Built => {
        const e = created(c);
        payloadOf(e).urpCaseId = make(c.m);
        return { variant: `urpCaseId ${name}`, value: j(e), field: 'payload.urpCaseId' };
      },
    ]),
  },
  {
    kind: 'null-key-invalid',
    category: null,
    variants: [defectVariant('null key', () => null, true)],
  },
  {
    kind: 'long-key-invalid',
    category: null,
    variants: [
      defectVariant(
        '10 KB key',
        (c) => `${'k'.repeat(5_000)}${c.m}${'k'.repeat(10_240 - 5_000 - c.m.length)}`,
        false,
      ),
    ],
  },
  {
    kind: 'marker-key-invalid',
    category: null,
    variants: [
      defectVariant('marker key', (c) => c.m, false),
      defectVariant('e-mail key', (c) => `${c.m}@example.org`, false),
      defectVariant('customer key', (c) => `customer:${c.m}`, false),
    ],
  },
  {
    kind: 'binary-key-invalid',
    category: null,
    variants: [
      defectVariant(
        'binary key',
        (c) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(c.m), Buffer.from([0x00, 0xc3])]),
        false,
      ),
    ],
  },
  {
    kind: 'duplicate-json-keys',
    category: 'SCHEMA_INVALID',
    variants: [
      (c) => ({
        variant: 'urpCaseId twice, the last invalid',
        value: j(created(c)).replace(
          `"urpCaseId":${j(c.urp)}`,
          `"urpCaseId":${j(c.urp)},"urpCaseId":${j(`${c.m} x`)}`,
        ),
        field: 'payload.urpCaseId',
      }),
      (c) => {
        const e = created(c);
        payloadOf(e).createdAt = '2024-01-15T10:00:00';
        return {
          variant: 'source twice (marker first), createdAt without zone',
          value: `{"source":${j(c.m)},${j(e).slice(1)}`,
          field: 'payload.createdAt',
        };
      },
      (c) => {
        const e = { ...created(c), eventId: 'not an id' };
        return {
          variant: 'extraAttributes twice (marker first), eventId of the wrong form',
          value: j(e).replace(
            '"extraAttributes":',
            `"extraAttributes":${j({ ssn: c.m })},"extraAttributes":`,
          ),
          field: 'eventId',
        };
      },
      (c) => {
        const e = created(c);
        const full = { ...payloadOf(e), ssn: c.m };
        delete payloadOf(e).createdAt;
        return {
          variant: 'payload twice, the last without createdAt',
          value: j(e).replace('"payload":', `"payload":${j(full)},"payload":`),
          field: 'payload.createdAt',
        };
      },
    ],
  },
  {
    kind: 'proto-pollution',
    category: 'SCHEMA_INVALID',
    variants: [
      (c) => {
        const e = created(c);
        delete e.eventType;
        return {
          variant: '__proto__ carries eventType',
          value: `{"__proto__":${j({ eventType: 'CASE_CREATED', polluted: c.m })},"constructor":${j({ prototype: { polluted: c.m } })},${j(e).slice(1)}`,
          field: 'eventType',
        };
      },
      (c) => {
        const e = created(c);
        delete payloadOf(e).urpCaseId;
        return {
          variant: 'payload.__proto__ carries urpCaseId',
          value: j(e).replace(
            '"payload":{',
            `"payload":{"__proto__":${j({ urpCaseId: c.urp, polluted: c.m })},`,
          ),
          field: 'payload.urpCaseId',
        };
      },
      (c) => {
        const e = created(c);
        payloadOf(e).createdAt = '2024-01-15T10:00:00';
        return {
          variant: 'extraAttributes.__proto__, createdAt without zone',
          value: j(e).replace(
            '"extraAttributes":{',
            `"extraAttributes":{"__proto__":${j({ priority: c.m, polluted: c.m })},`,
          ),
          field: 'payload.createdAt',
        };
      },
    ],
  },
  {
    kind: 'reason-too-long',
    category: 'SCHEMA_INVALID',
    variants: [
      (c) => {
        const e = changed(c);
        payloadOf(e).reason = bulk(c.m, 2_000);
        return { variant: '2,000-character reason', value: j(e), field: 'payload.reason' };
      },
    ],
  },
  {
    kind: 'control-chars',
    category: 'SCHEMA_INVALID',
    variants: [
      schemaDefect(
        'control characters in source, missing statusChangedAt',
        'changed',
        (e, p, c) => {
          e.source = `${c.m}\u0000\u001b[31m\r\n{"level":50,"msg":"FAKE LOG LINE"}\u2028`;
          delete p.statusChangedAt;
        },
        { markerIn: 'none', field: 'payload.statusChangedAt' },
      ),
    ],
  },
  {
    kind: 'lone-surrogate',
    category: 'SCHEMA_INVALID',
    variants: [
      schemaDefect(
        'lone surrogates in source, createdAt without zone',
        'created',
        (e, p, c) => {
          e.source = `\ud800${c.m}\udfff`;
          p.createdAt = '2024-01-15T10:00:00';
        },
        { markerIn: 'none', field: 'payload.createdAt' },
      ),
      (c) => ({
        variant: 'emoji + marker as eventId',
        value: j({ ...created(c), eventId: `\ud83d\ude00${c.m}` }),
        field: 'eventId',
      }),
    ],
  },
  {
    kind: 'huge-number',
    category: 'SCHEMA_INVALID',
    variants: [
      (c) => ({
        variant: 'eventId 1e400',
        value: splice({ ...created(c), source: c.m, eventId: '@@N@@' }, '@@N@@', '1e400'),
        field: 'eventId',
      }),
      (c) => {
        const e = created(c);
        e.source = c.m;
        payloadOf(e).ucmCaseId = '@@N@@';
        return {
          variant: 'ucmCaseId of 30 digits',
          value: splice(e, '@@N@@', '123456789012345678901234567890'),
          field: 'payload.ucmCaseId',
        };
      },
    ],
  },
  {
    kind: 'unresolved-correlation',
    category: 'UNRESOLVED_CORRELATION',
    variants: [
      (c) => {
        const e = changed(c);
        delete payloadOf(e).urpCaseId;
        payloadOf(e).ucmCaseId = c.orphan;
        payloadOf(e).contactEmail = `${c.m}@example.org`;
        payloadOf(e).extraAttributes = { ssn: c.m };
        return {
          variant: 'no urpCaseId, no CASE_CREATED ever, marker in unknown fields',
          value: j({ customerName: c.m, ...e }),
          key: c.orphan,
          awaitsGrace: true,
        };
      },
    ],
  },
];

export const HOSTILE_KINDS: readonly string[] = KINDS.map((k) => k.kind);

const ID = new RegExp(ID_PATTERN);

/**
 * The valid ids (eventId, payload.ucmCaseId, payload.urpCaseId) of a value that parses as a JSON object. Values
 * over 64 KiB are not parsed (slow for the 100,000-deep ones): the candidates that appear in them as JSON strings.
 */
function validIdsOf(
  value: Buffer | null,
  category: HostileCategory,
  candidates: readonly string[],
): string[] {
  if (value === null || category === 'INVALID_JSON' || value.length > ADR_BOUNDS.maxRecordBytes) return [];
  if (value.length > 65_536) {
    const text = value.toString('utf8');
    return candidates.filter((id) => text.includes(j(id)));
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return [];
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return [];
  const e = parsed as Json;
  const p =
    typeof e.payload === 'object' && e.payload !== null && !Array.isArray(e.payload)
      ? (e.payload as Json)
      : {};
  return [e.eventId, p.ucmCaseId, p.urpCaseId].filter(
    (v): v is string => typeof v === 'string' && ID.test(v),
  );
}

const toBuffer = (v: Buffer | string | null): Buffer | null =>
  v === null ? null : Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8');

/** `count` hostile records: every kind at least once, the rest drawn by weight, shuffled; same seed, same records. */
export function generateHostileRecords(opts: HostileOptions): HostileRecord[] {
  if (opts.count < KINDS.length) throw new Error(`count must be at least ${KINDS.length} (one per kind)`);
  const r = seededRandom(opts.seed);
  const prefix = opts.idPrefix ?? 'H';
  const heavy = opts.heavyWeight ?? 0.05;
  const weights = KINDS.map((k) => (k.heavy ? heavy : 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const plan: KindSpec[] = [...KINDS];
  while (plan.length < opts.count) {
    let x = r() * total;
    let i = 0;
    while (i < KINDS.length - 1 && x >= weights[i]!) x -= weights[i++]!;
    plan.push(KINDS[i]!);
  }
  for (let i = plan.length - 1; i > 0; i--) {
    const k = Math.floor(r() * (i + 1));
    [plan[i], plan[k]] = [plan[k]!, plan[i]!];
  }
  return plan.map((spec, n) => {
    const marker = markerOf(spec.kind, n);
    const c: Ctx = {
      n,
      m: marker,
      r,
      eventId: `${prefix}-E-${n}`,
      ucm: `${prefix}-U-${n}`,
      urp: `${prefix}-R-${n}`,
      orphan: `${prefix}-O-${n}`,
      time: new Date(BASE_MS + n * 1_000).toISOString(),
    };
    const built = pick(r, spec.variants)(c);
    const category = built.category ?? spec.category;
    if (category === null) throw new Error(`kind ${spec.kind}: a variant did not name its category`);
    const key = toBuffer(built.key === undefined ? c.ucm : built.key);
    const value = toBuffer(built.value);
    const headers: Record<string, string> = {};
    if (r() < 0.3) headers['x-customer-email'] = `${marker}@example.org`;
    if (r() < 0.1) headers['x-usc-first-failure-at'] = marker;
    const inRecord = `${key?.toString('latin1') ?? ''}${value?.toString('latin1') ?? ''}`;
    if (!inRecord.includes(marker))
      throw new Error(`kind ${spec.kind} (${built.variant}): the marker is in neither key nor value`);
    return {
      index: n,
      kind: spec.kind,
      variant: built.variant,
      marker,
      key,
      value,
      headers,
      expectedCategory: category,
      validIds: validIdsOf(value, category, [c.eventId, c.ucm, c.urp, c.orphan]),
      notInMessage: built.notInMessage ?? [],
      ...(built.field !== undefined ? { field: built.field } : {}),
      awaitsGrace: built.awaitsGrace ?? false,
    };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Valid events

export interface CanaryRecord {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly urpCaseId: string;
  readonly ucmCaseId: string;
  readonly eventId: string;
  readonly createdAt: string;
}

/**
 * A valid CASE_CREATED (status OPEN, allowlisted attributes priority=high and caseType=canary), keyed by its
 * ucmCaseId. With `secret`, it also carries that string where a valid event may carry anything but nothing may
 * keep it: a non-allowlisted attribute, an unknown top-level and an unknown payload field.
 */
export function canary(
  urpCaseId: string,
  ucmCaseId: string,
  opts: { readonly secret?: string; readonly createdAt?: string; readonly eventId?: string } = {},
): CanaryRecord {
  const createdAt = opts.createdAt ?? new Date(BASE_MS).toISOString();
  const eventId = opts.eventId ?? `${ucmCaseId}-created`;
  const event: Json = {
    eventId,
    eventType: 'CASE_CREATED',
    eventTime: createdAt,
    source: 'UCMv2',
    payload: {
      ucmCaseId,
      urpCaseId,
      initialStatus: 'OPEN',
      createdAt,
      extraAttributes: {
        priority: 'high',
        caseType: 'canary',
        ...(opts.secret !== undefined ? { ssn: opts.secret } : {}),
      },
      ...(opts.secret !== undefined ? { customerEmail: `${opts.secret}@example.org` } : {}),
    },
    ...(opts.secret !== undefined ? { customerName: opts.secret } : {}),
  };
  return {
    key: Buffer.from(ucmCaseId, 'utf8'),
    value: Buffer.from(j(event), 'utf8'),
    headers: {},
    urpCaseId,
    ucmCaseId,
    eventId,
    createdAt,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Dead-letter checks

/** The subset of JSON Schema the contract documents use. */
export interface SchemaLike {
  readonly type?: string;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly pattern?: string;
  readonly format?: string;
  readonly minimum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly required?: readonly string[];
  readonly properties?: Readonly<Record<string, SchemaLike>>;
  readonly oneOf?: readonly SchemaLike[];
  readonly items?: SchemaLike;
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

function typeMatches(type: string, v: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'null':
      return v === null;
    case 'array':
      return Array.isArray(v);
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    default:
      return true;
  }
}

/** Where `value` breaks `schema` (paths and rules, never values). */
export function schemaProblems(schema: SchemaLike, value: unknown, path = '$'): string[] {
  const out: string[] = [];
  if (schema.type !== undefined && !typeMatches(schema.type, value))
    return [`${path}: not of type ${schema.type}`];
  if (schema.enum && !schema.enum.includes(value)) out.push(`${path}: not one of the enum`);
  if ('const' in schema && schema.const !== undefined && value !== schema.const)
    out.push(`${path}: not the const`);
  if (typeof value === 'string') {
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value))
      out.push(`${path}: does not match ${schema.pattern}`);
    if (schema.minLength !== undefined && value.length < schema.minLength)
      out.push(`${path}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength)
      out.push(`${path}: longer than ${schema.maxLength}`);
    if (schema.format === 'date-time' && !(ISO_DATE_TIME.test(value) && Number.isFinite(Date.parse(value))))
      out.push(`${path}: not a date-time`);
  }
  if (typeof value === 'number' && schema.minimum !== undefined && value < schema.minimum)
    out.push(`${path}: below ${schema.minimum}`);
  if (schema.oneOf) {
    const passing = schema.oneOf.filter((s) => schemaProblems(s, value, path).length === 0).length;
    if (passing !== 1) out.push(`${path}: matches ${passing} of oneOf (1 required)`);
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const o = value as Json;
    for (const r of schema.required ?? [])
      if (!(r in o) || o[r] === undefined) out.push(`${path}.${r}: required, missing`);
    for (const [k, s] of Object.entries(schema.properties ?? {})) {
      if (o[k] !== undefined) out.push(...schemaProblems(s, o[k], `${path}.${k}`));
    }
  }
  if (Array.isArray(value) && schema.items)
    value.forEach((x, i) => out.push(...schemaProblems(schema.items!, x, `${path}[${i}]`)));
  return out;
}

/** Paths of the leaves of a JSON value (array indexes as `[]`). Iterative. */
export function leafPaths(value: unknown): string[] {
  const out: string[] = [];
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (Array.isArray(v)) {
      if (v.length === 0) out.push(path);
      for (const x of v) stack.push([x, `${path}[]`]);
    } else if (typeof v === 'object' && v !== null) {
      const entries = Object.entries(v as Json);
      if (entries.length === 0) out.push(path);
      for (const [k, x] of entries) stack.push([x, path === '' ? k : `${path}.${k}`]);
    } else {
      out.push(path);
    }
  }
  return out;
}

const IDENTIFIER_PATHS = new Set([
  'eventId',
  'eventType',
  'eventTime',
  'payload.ucmCaseId',
  'payload.urpCaseId',
]);
const CONTRACT_PATHS = new Set([
  ...IDENTIFIER_PATHS,
  'source',
  'payload.initialStatus',
  'payload.createdAt',
  'payload.oldStatus',
  'payload.newStatus',
  'payload.statusChangedAt',
  'payload.reason',
  'payload.extraAttributes',
]);

export interface DeadLetterContext {
  readonly inputTopic: string;
  readonly consumer: string;
  readonly dlqSchema: SchemaLike;
  readonly attributeAllowlist: ReadonlySet<string>;
}

/**
 * What is wrong with `dl`, the dead letter of hostile record `rec` (problem texts name rules, not values, so that
 * equal problems group): its documented shape, category, replay eligibility, origin, the key and payload
 * minimisation rules of ADR 0003, and an errorMessage that does not quote the input.
 */
export function deadLetterProblems(rec: HostileRecord, dl: Json, ctx: DeadLetterContext): string[] {
  const p: string[] = [];
  for (const s of schemaProblems(ctx.dlqSchema, dl)) p.push(`not the documented shape: ${s}`);
  if (dl.errorCategory !== rec.expectedCategory)
    p.push(`category ${String(dl.errorCategory)}, expected ${rec.expectedCategory}`);
  if (dl.replayEligible !== ADR_REPLAY_ELIGIBLE[rec.expectedCategory])
    p.push(`replayEligible ${String(dl.replayEligible)} for ${rec.expectedCategory}`);
  if (dl.originalTopic !== ctx.inputTopic) p.push('originalTopic is not the input topic');
  if (dl.consumer !== ctx.consumer) p.push('consumer is not the application id');
  if (dl.payloadHash !== sha256Hex(rec.value ?? Buffer.alloc(0)))
    p.push('payloadHash is not sha256 of the value bytes');
  if (dl.payloadSize !== undefined && dl.payloadSize !== (rec.value?.length ?? 0))
    p.push('payloadSize is not the value size');
  if (rec.key === null) {
    if (dl.originalKey !== null) p.push('originalKey set for a null key');
    if (dl.originalKeyHash !== undefined && dl.originalKeyHash !== null)
      p.push('originalKeyHash set for a null key');
  } else if (dl.originalKey !== null) {
    if (dl.originalKey !== rec.key.toString('utf8') || !rec.validIds.includes(dl.originalKey as string))
      p.push('originalKey carried although it is not one of the validated ids');
  } else if (dl.originalKeyHash !== sha256Hex(rec.key)) {
    p.push('originalKeyHash is not sha256 of the key bytes');
  }
  if (dl.eventId !== null && dl.eventId !== undefined && !rec.validIds.includes(dl.eventId as string))
    p.push('eventId carried although it is not a valid id of the value');
  const payload = dl.payload;
  if (rec.expectedCategory === 'INVALID_JSON' && payload !== undefined)
    p.push('INVALID_JSON dead letter carries a payload');
  if (payload !== undefined && payload !== null) {
    const paths = leafPaths(payload).filter((x) => x !== '');
    const allowed = (x: string) =>
      ADR_REPLAY_ELIGIBLE[rec.expectedCategory]
        ? CONTRACT_PATHS.has(x) ||
          (x.startsWith('payload.extraAttributes.') &&
            ctx.attributeAllowlist.has(x.split('.')[2]!.replace(/\[\]$/, '')))
        : IDENTIFIER_PATHS.has(x);
    const extra = paths.filter((x) => !allowed(x));
    if (extra.length > 0)
      p.push(
        `payload carries more than ${ADR_REPLAY_ELIGIBLE[rec.expectedCategory] ? 'the contract fields' : 'identifiers'}: ${[...new Set(extra)].sort().join(', ')}`,
      );
  }
  const message = typeof dl.errorMessage === 'string' ? dl.errorMessage : '';
  if (rec.notInMessage.some((s) => message.includes(s))) p.push('errorMessage quotes the input');
  if (rec.field !== undefined && dl.errorField !== rec.field && !message.includes(rec.field))
    p.push(`neither errorField nor errorMessage names ${rec.field}`);
  return p;
}

/** Problems grouped: each with how often it occurred and its first example (for readable test failures). */
export class Tally {
  private readonly seen = new Map<string, { count: number; example: string }>();
  add(problem: string, example: string): void {
    const entry = this.seen.get(problem);
    if (entry) entry.count++;
    else this.seen.set(problem, { count: 1, example });
  }
  summary(): Record<string, string> {
    return Object.fromEntries([...this.seen].map(([p, e]) => [p, `${e.count}x, e.g. ${e.example}`]));
  }
}
