/**
 * Validation of path and query parameters. Ids are 1-128 characters of letters, digits and `._:-` (UCMv2 and URP
 * ids fit; anything else, including path tricks and control characters, is refused with a 400 naming the
 * parameter).
 */
// `__proto__` is excluded: as an object key (dedupe memory, msgpack maps) it would not survive as data.
export const ID_PATTERN = '^(?!__proto__$)[A-Za-z0-9._:-]{1,128}$';
const ID = new RegExp(ID_PATTERN);

export type ParamResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

export function parseId(name: string, raw: unknown): ParamResult<string> {
  if (typeof raw !== 'string' || !ID.test(raw)) {
    return {
      ok: false,
      message: `${name} must be 1-128 characters of letters, digits, ".", "_", ":" or "-" (not __proto__)`,
    };
  }
  return { ok: true, value: raw };
}

export function parseIntParam(
  name: string,
  raw: unknown,
  def: number,
  min: number,
  max: number,
): ParamResult<number> {
  if (raw === undefined || raw === '') return { ok: true, value: def };
  const n = typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    return { ok: false, message: `${name} must be an integer between ${min} and ${max}` };
  }
  return { ok: true, value: n };
}

export function parseBool(name: string, raw: unknown): ParamResult<boolean> {
  if (raw === undefined || raw === '' || raw === 'false') return { ok: true, value: false };
  if (raw === 'true') return { ok: true, value: true };
  return { ok: false, message: `${name} must be true or false` };
}
