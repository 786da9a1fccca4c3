/**
 * How a stored case state is read: the value serde of the `cases` store. States are written in the current layout
 * (reduce-case.ts `CaseState`: ids as array elements, in id order); a state an earlier version stored keeps its
 * linked UCM cases and its dedupe memory as objects keyed by id, and is read into the current layout here, so
 * every reader (the apply processor, the query API, a restore) sees one layout. Such a state is written back in
 * the current layout the next time its case changes. An earlier version cannot read the current layout: going
 * back to one takes `reset` (docs/operations.md, "Instances").
 */
import { UscError } from '../../common/errors.js';
import { msgpackSerde, type Serde } from '../../topology/serde.js';
import type { CaseState, SeenEvent, UcmCaseState } from './reduce-case.js';

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function ordered<T>(items: readonly T[], idOf: (item: T) => string): readonly T[] {
  for (let i = 1; i < items.length; i++) {
    if (byId(idOf(items[i - 1]!), idOf(items[i]!)) >= 0) {
      return [...items].sort((a, b) => byId(idOf(a), idOf(b)));
    }
  }
  return items;
}

/**
 * A stored state in the current layout: linked UCM cases and remembered events as arrays in id order (sorted if a
 * writer left them out of order), or converted from the objects keyed by id of an earlier version.
 */
export function readCaseState(raw: CaseState): CaseState {
  const stored = raw as unknown as { ucmCases: unknown; seen: unknown };
  const current = Array.isArray(stored.ucmCases) && Array.isArray(stored.seen);
  const ucmCases = ordered(
    Array.isArray(stored.ucmCases)
      ? (stored.ucmCases as UcmCaseState[])
      : Object.values(stored.ucmCases as Record<string, UcmCaseState>),
    (u) => u.ucmCaseId,
  );
  const seen = ordered(
    Array.isArray(stored.seen)
      ? (stored.seen as SeenEvent[])
      : Object.entries(stored.seen as Record<string, number>),
    (e) => e[0],
  );
  if (current && ucmCases === raw.ucmCases && seen === raw.seen) return raw;
  return { ...raw, ucmCases, seen };
}

/**
 * The value serde of the `cases` store: msgpack, read through {@link readCaseState}. A state larger than
 * `maxBytes` is refused (`USC_ERR_STATE_TOO_LARGE`, a failure of the record being applied, not of the task): its
 * changelog record would be refused by the broker at the commit, and the instance would stop on every restart. The
 * record that made it grow is rolled back and dead-lettered instead (PROCESSING_ERROR), and its case keeps its
 * state. A case grows with its linked UCM cases (each keeping its allowlisted attributes and its trail) and its
 * remembered eventIds (DEDUPE_MAX_IDS).
 */
export function caseStateSerde(maxBytes: number): Serde<CaseState | null> {
  const inner = msgpackSerde<CaseState>();
  return {
    serialize: (state) => {
      const bytes = inner.serialize(state);
      if (bytes !== null && bytes.length > maxBytes) {
        throw new UscError(
          'USC_ERR_STATE_TOO_LARGE',
          // Short words: a dead letter's message keeps no token longer than 19 characters (common/sanitize.ts).
          `the stored state of this case would be ${bytes.length} bytes, above its limit of ${maxBytes} ` +
            '(MAX_CASE_STATE_BYTES); the event is not applied',
        );
      }
      return bytes;
    },
    deserialize: (bytes) => {
      const raw = inner.deserialize(bytes);
      return raw === null ? null : readCaseState(raw);
    },
  };
}
