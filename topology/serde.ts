import { Packr } from 'msgpackr';
import { UscError } from '../common/errors.js';

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
