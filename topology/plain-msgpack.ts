/**
 * A strict check of msgpack bytes before anything decodes them: the bytes must hold exactly one value of the JSON
 * value domain (nil, booleans, integers, finite floats, strings, arrays, maps with string keys), nested at most
 * `maxDepth` containers deep (a map or array counts one level, as `{`/`[` do in JSON), and every container must
 * declare no more entries than bytes remain. Anything else is refused, in particular every extension type:
 * msgpackr decodes those (whatever the packer options) into undefined, BigInt, Date, Set, RegExp, Error objects,
 * typed arrays or structured-clone references (cycles), none of which a JSON reader ever sees.
 *
 * One pass over the headers (string contents are skipped by length), an explicit stack (no recursion), no
 * allocation but two arrays of `maxDepth` entries: any input is checked in time linear in its size. A value that
 * passes decodes with msgpackr into plain objects, arrays and primitives, to a depth of at most `maxDepth`.
 */

/** Why bytes are not plain msgpack: the rule and the byte offset; never any of the bytes' content. */
export class PlainMsgpackRejected extends Error {
  constructor(
    readonly rule: string,
    readonly offset: number,
  ) {
    super(`${rule} (at byte ${offset})`);
    this.name = 'PlainMsgpackRejected';
  }
}

/** True when byte `b` starts a msgpack map (fixmap, map 16, map 32). */
export const isMsgpackMapHeader = (b: number | undefined): boolean =>
  b !== undefined && ((b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf);

/** True when byte `b` starts a msgpack string (fixstr, str 8/16/32). */
const isStringHeader = (b: number): boolean => (b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb);

/**
 * Throws {@link PlainMsgpackRejected} unless `bytes` hold exactly one plain msgpack value (see the module
 * comment) nested at most `maxDepth` deep. Never throws anything else.
 */
export function checkPlainMsgpack(bytes: Uint8Array, maxDepth: number): void {
  const end = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Per open container: the items still to read (a map has two per entry, key first) and whether it is a map.
  const left: number[] = [];
  const isMap: boolean[] = [];
  let depth = 0;
  let pos = 0;
  let rootRead = false;
  const need = (n: number, what: string) => {
    if (n > end - pos) throw new PlainMsgpackRejected(`truncated ${what}`, pos);
  };
  const open = (map: boolean, entries: number, at: number) => {
    if (depth >= maxDepth) throw new PlainMsgpackRejected(`containers nest deeper than ${maxDepth}`, at);
    const items = map ? entries * 2 : entries;
    // Every item takes at least one byte: a count beyond the remaining bytes is a lie (and a huge allocation).
    if (items > end - pos) throw new PlainMsgpackRejected('a container declares more entries than bytes', at);
    left[depth] = items;
    isMap[depth] = map;
    depth++;
  };
  const skipString = (length: number) => {
    need(length, 'string');
    pos += length;
  };
  for (;;) {
    while (depth > 0 && left[depth - 1] === 0) depth--;
    let key = false;
    if (depth > 0) {
      const d = depth - 1;
      key = isMap[d]! && left[d]! % 2 === 0;
      left[d] = left[d]! - 1;
    } else if (rootRead) {
      break;
    } else {
      rootRead = true;
    }
    if (pos >= end) throw new PlainMsgpackRejected('truncated value', pos);
    const at = pos;
    const t = bytes[pos++]!;
    if (key && !isStringHeader(t)) throw new PlainMsgpackRejected('a map key is not a string', at);
    if (t <= 0x7f || t >= 0xe0) continue; // positive / negative fixint
    if (t <= 0x8f) {
      open(true, t & 0x0f, at);
      continue;
    }
    if (t <= 0x9f) {
      open(false, t & 0x0f, at);
      continue;
    }
    if (t <= 0xbf) {
      skipString(t & 0x1f);
      continue;
    }
    switch (t) {
      case 0xc0: // nil
      case 0xc2: // false
      case 0xc3: // true
        break;
      case 0xca: // float 32
        need(4, 'float');
        if (!Number.isFinite(view.getFloat32(pos)))
          throw new PlainMsgpackRejected('a float is not finite', at);
        pos += 4;
        break;
      case 0xcb: // float 64
        need(8, 'float');
        if (!Number.isFinite(view.getFloat64(pos)))
          throw new PlainMsgpackRejected('a float is not finite', at);
        pos += 8;
        break;
      case 0xcc: // uint 8
      case 0xd0: // int 8
        need(1, 'integer');
        pos += 1;
        break;
      case 0xcd:
      case 0xd1:
        need(2, 'integer');
        pos += 2;
        break;
      case 0xce:
      case 0xd2:
        need(4, 'integer');
        pos += 4;
        break;
      case 0xcf: // uint 64 and int 64: decoded as (possibly rounded) numbers, as JSON.parse does
      case 0xd3:
        need(8, 'integer');
        pos += 8;
        break;
      case 0xd9:
        need(1, 'string header');
        skipString(bytes[pos++]!);
        break;
      case 0xda:
        need(2, 'string header');
        pos += 2;
        skipString(view.getUint16(pos - 2));
        break;
      case 0xdb:
        need(4, 'string header');
        pos += 4;
        skipString(view.getUint32(pos - 4));
        break;
      case 0xdc:
        need(2, 'array header');
        pos += 2;
        open(false, view.getUint16(pos - 2), at);
        break;
      case 0xdd:
        need(4, 'array header');
        pos += 4;
        open(false, view.getUint32(pos - 4), at);
        break;
      case 0xde:
        need(2, 'map header');
        pos += 2;
        open(true, view.getUint16(pos - 2), at);
        break;
      case 0xdf:
        need(4, 'map header');
        pos += 4;
        open(true, view.getUint32(pos - 4), at);
        break;
      case 0xc1:
        throw new PlainMsgpackRejected('the never-used byte 0xc1', at);
      case 0xc4:
      case 0xc5:
      case 0xc6:
        throw new PlainMsgpackRejected('binary data is not a plain value', at);
      default: // 0xc7-0xc9, 0xd4-0xd8: extension types
        throw new PlainMsgpackRejected('an extension type is not a plain value', at);
    }
  }
  if (pos !== end) throw new PlainMsgpackRejected('bytes after the value', pos);
}
