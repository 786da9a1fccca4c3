/**
 * The task engine's own error shapes (task-engine-impl.ts): the wrapper that carries a source serde's failure to the
 * record-error policy, and the description of an error that is safe to log (never the message, which may quote
 * record contents).
 */
import { UscError } from '../../../common/errors.js';

/** A source serde failed: carries the serde's error to the record-error policy as stage `deserialize`. */
export class DeserializeFailure extends Error {
  constructor(cause: unknown) {
    super('source deserialization failed', { cause });
  }
}

/** Name and code of an error, never its message (which may quote record contents). */
export function describeErrorSafely(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err };
  return { name: err.name, ...(err instanceof UscError ? { code: err.code } : {}) };
}
