/** The form of the contract's ids and times, in one place (validation and projection both check with these). */
import { ID_PATTERN } from '../../api/params.js';

/** Ids: 1-128 characters of letters, digits, ".", "_", ":" or "-" (so never "|", the pending-store separator). */
export const ID = new RegExp(ID_PATTERN);
export const ID_RULE = 'must be 1-128 characters of letters, digits, ".", "_", ":" or "-" (not __proto__)';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
export const ISO_TIME_RULE = 'must be an ISO-8601 date-time with a zone (e.g. 2026-01-31T12:00:00Z)';

/** True for a string of the id form. */
export function isValidId(v: unknown): v is string {
  return typeof v === 'string' && ID.test(v);
}

/** Epoch ms of an ISO-8601 date-time with a zone, or NaN. */
export function isoTimeMs(v: unknown): number {
  return typeof v === 'string' && ISO.test(v) ? Date.parse(v) : NaN;
}
