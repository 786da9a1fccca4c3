import { Packr, type Options as PackrOptions } from 'msgpackr';
import { UscError } from '../common/errors.js';
import { checkPlainMsgpack, isMsgpackMapHeader, PlainMsgpackRejected } from './plain-msgpack.js';

/**
 * Serializer + deserializer of one type. `null` bytes mean "no value" (a tombstone for values). Implementations
 * throw {@link UscError} `USC_ERR_SERDE_FAILED` on bytes they cannot read; the caller decides whether that is a
 * dead letter or a fatal error.
 */
export interface Serde<T> {
  serialize(value: T): Buffer | null;
  deserialize(bytes: Buffer | null): T;
}

/** Raw bytes, untouched. */
export const bytesSerde: Serde<Buffer | null> = {
  serialize: (v) => v,
  deserialize: (b) => b,
};

/** UTF-8 strings; null stays null. */
export const stringSerde: Serde<string | null> = {
  serialize: (v) => (v === null ? null : Buffer.from(v, 'utf8')),
  deserialize: (b) => (b === null ? null : b.toString('utf8')),
};

/** JSON text in UTF-8; null stays null. */
export function jsonSerde<T>(): Serde<T | null> {
  return {
    serialize: (v) => (v === null ? null : Buffer.from(JSON.stringify(v), 'utf8')),
    deserialize: (b) => {
      if (b === null) return null;
      try {
        return JSON.parse(b.toString('utf8')) as T;
      } catch (cause) {
        throw new UscError('USC_ERR_SERDE_FAILED', 'value is not valid JSON', { cause });
      }
    },
  };
}

// One shared packer: `useRecords: false` keeps the encoding self-describing plain msgpack (no shared structure
// table that a restore on another process would not know), so changelog bytes are readable by any instance.
const packr = new Packr({ useRecords: false, moreTypes: false });

/** msgpack (msgpackr, `useRecords: false`): the default value serde of state stores. */
export function msgpackSerde<T>(): Serde<T | null> {
  return {
    serialize: (v) => (v === null ? null : packr.pack(v)),
    deserialize: (b) => {
      if (b === null) return null;
      try {
        return packr.unpack(b) as T;
      } catch (cause) {
        throw new UscError('USC_ERR_SERDE_FAILED', 'value is not valid msgpack', { cause });
      }
    },
  };
}

/** Bounds of what {@link compatSerde} reads: any producer with write access to a topic can put anything there. */
export interface CompatLimits {
  /** Largest value, in bytes (default {@link COMPAT_DEFAULTS}.maxBytes). */
  readonly maxBytes?: number;
  /** Deepest nesting of maps and arrays (JSON: objects and arrays), the top-level map included. */
  readonly maxDepth?: number;
}

export const COMPAT_DEFAULTS = { maxBytes: 16 * 1_048_576, maxDepth: 64 } as const;

// The writer of compatSerde: plain msgpack (no records, no extensions) with JSON.stringify's treatment of
// undefined (an undefined property is left out, an undefined array item is nil), so that what it writes decodes
// to what JSON would have given. `skipValues` is a msgpackr option its type declarations do not list yet.
const compatPackr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  structuredClone: false,
  encodeUndefinedAsNil: true,
  int64AsType: 'number',
  skipValues: [undefined],
} as PackrOptions);

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });
const JSON_OPEN_BRACE = 0x7b;

/** True when `[`/`{` outside strings in `text` nest deeper than `max` (one pass, no recursion). */
function jsonNestsDeeper(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
  }
  return false;
}

const serdeFailed = (message: string, format: 'msgpack' | 'json', details: object = {}) =>
  new UscError('USC_ERR_SERDE_FAILED', message, { details: { format, ...details } });

/**
 * Decodes one value written by {@link compatSerde} (msgpack) or by the JSON serde it replaced: a value whose first
 * byte is `{` (0x7b) is JSON, since a compatSerde value is always a msgpack map (its first byte is 0x80-0x8f, 0xde
 * or 0xdf; 0x7b would be the msgpack integer 123). The result is a plain object of the JSON value domain (objects,
 * arrays, strings, finite numbers, booleans, null), nested at most `maxDepth` deep. Throws {@link UscError}
 * `USC_ERR_SERDE_FAILED` (its message names the rule and a byte offset, never content) on anything else; never
 * throws anything else, and takes time linear in the size of the bytes.
 */
export function decodeCompat(bytes: Uint8Array, limits: CompatLimits = {}): Record<string, unknown> {
  const maxBytes = limits.maxBytes ?? COMPAT_DEFAULTS.maxBytes;
  const maxDepth = limits.maxDepth ?? COMPAT_DEFAULTS.maxDepth;
  if (bytes.length === 0) throw serdeFailed('value is empty', 'msgpack');
  if (bytes.length > maxBytes)
    throw serdeFailed(`value is ${bytes.length} bytes, more than ${maxBytes}`, 'msgpack', {
      size: bytes.length,
    });
  if (bytes[0] === JSON_OPEN_BRACE) return decodeJsonObject(bytes, maxDepth);
  if (!isMsgpackMapHeader(bytes[0]))
    throw serdeFailed('value is neither a msgpack map nor a JSON object', 'msgpack', { offset: 0 });
  try {
    checkPlainMsgpack(bytes, maxDepth);
  } catch (err) {
    if (err instanceof PlainMsgpackRejected)
      throw serdeFailed(`value is not plain msgpack: ${err.message}`, 'msgpack', { offset: err.offset });
    throw serdeFailed('value is not plain msgpack', 'msgpack');
  }
  try {
    return compatPackr.unpack(bytes) as Record<string, unknown>;
  } catch {
    // Not expected after the check; msgpackr's messages may quote the data, so none is kept.
    throw serdeFailed('value is not valid msgpack', 'msgpack');
  }
}

function decodeJsonObject(bytes: Uint8Array, maxDepth: number): Record<string, unknown> {
  let text: string;
  try {
    text = fatalUtf8.decode(bytes);
  } catch {
    throw serdeFailed('value is not valid UTF-8 (JSON)', 'json');
  }
  if (jsonNestsDeeper(text, maxDepth))
    throw serdeFailed(`value nests objects or arrays deeper than ${maxDepth} (JSON)`, 'json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // V8's message quotes the input: not kept.
    throw serdeFailed('value is not valid JSON', 'json');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw serdeFailed('value is not a JSON object', 'json');
  return parsed as Record<string, unknown>;
}

/**
 * Objects as compact plain msgpack, reading JSON too: the serde of the application's internal (repartition)
 * topics, whose records written by the previous version (JSON) must still be read during an upgrade (ADR 0006).
 * Writes only objects (a map, so never a first byte 0x7b; anything else throws `USC_ERR_SERDE_FAILED`); reads
 * with {@link decodeCompat}: msgpack checked strictly first (no extension types, bounded depth and size), or
 * JSON when the first byte is `{`. What it writes reads back equal to what JSON would have given (undefined
 * properties left out); `null` stays null (a tombstone).
 */
export function compatSerde<T extends object>(limits: CompatLimits = {}): Serde<T | null> {
  return {
    serialize: (v) => {
      if (v === null) return null;
      if (typeof v !== 'object' || Array.isArray(v))
        throw new UscError('USC_ERR_SERDE_FAILED', 'compatSerde writes objects only');
      try {
        return compatPackr.pack(v);
      } catch (cause) {
        throw new UscError('USC_ERR_SERDE_FAILED', 'value cannot be written as msgpack', { cause });
      }
    },
    deserialize: (b) => (b === null ? null : (decodeCompat(b, limits) as T)),
  };
}
