/**
 * The status vocabulary URP shows, and the configurable mapping of richer UCMv2 statuses onto it. Statuses are
 * compared after normalisation (trimmed, upper case, spaces and hyphens as underscores), so "In Progress",
 * "in-progress" and "IN_PROGRESS" are the same status.
 */

export const STATUSES = ['OPEN', 'IN_PROGRESS', 'ON_HOLD', 'CLOSED', 'REJECTED'] as const;
export type Status = (typeof STATUSES)[number];

export const STATUS_LABELS: Readonly<Record<Status, string>> = {
  OPEN: 'Open',
  IN_PROGRESS: 'In progress',
  ON_HOLD: 'On hold',
  CLOSED: 'Closed',
  REJECTED: 'Rejected',
};

/** Normalised UCM status -> vocabulary status. */
export type StatusMapping = ReadonlyMap<string, Status>;

export function normalizeStatusText(raw: string): string {
  return raw
    .trim()
    .toUpperCase()
    .replace(/[\s-]+/g, '_');
}

export function isStatus(value: string): value is Status {
  return (STATUSES as readonly string[]).includes(value);
}

/** The vocabulary status of a UCM status, or undefined when it is neither in the vocabulary nor mapped. */
export function mapStatus(raw: string, mapping: StatusMapping): Status | undefined {
  const normalized = normalizeStatusText(raw);
  if (isStatus(normalized)) return normalized;
  return mapping.get(normalized);
}

export type MappingResult =
  | { readonly ok: true; readonly mapping: StatusMapping }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Parses STATUS_MAPPING: a JSON object from UCM status to a vocabulary status (e.g. {"TRIAGE":"OPEN"}). */
export function parseStatusMapping(json: string | undefined): MappingResult {
  if (json === undefined || json.trim() === '') return { ok: true, mapping: new Map() };
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return { ok: false, problems: ['STATUS_MAPPING is not valid JSON'] };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, problems: ['STATUS_MAPPING must be a JSON object of UCM status -> status'] };
  }
  const problems: string[] = [];
  const mapping = new Map<string, Status>();
  for (const [from, to] of Object.entries(raw as Record<string, unknown>)) {
    const target = typeof to === 'string' ? normalizeStatusText(to) : '';
    if (!isStatus(target)) {
      problems.push(
        `STATUS_MAPPING maps ${JSON.stringify(from)} to ${JSON.stringify(to)}, which is not one of ${STATUSES.join(', ')}`,
      );
      continue;
    }
    const key = normalizeStatusText(from);
    if (key === '' || key.length > 64) {
      problems.push(`STATUS_MAPPING key ${JSON.stringify(from)} must be 1-64 characters`);
      continue;
    }
    mapping.set(key, target);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, mapping };
}
