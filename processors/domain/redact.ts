/**
 * Sensitive data: only allowlisted `extraAttributes` keys survive. Applied on arrival, before anything is
 * stored, published, logged or dead-lettered, and tolerant of any JSON shape (invalid events are redacted too).
 */

/** The allowlisted subset of an attributes object (non-objects give {}). */
export function pickAllowed(attributes: unknown, allowlist: ReadonlySet<string>): Record<string, unknown> {
  if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes)) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(attributes as Record<string, unknown>))
    if (allowlist.has(k)) out[k] = v;
  return out;
}

/** A copy of a parsed event (any shape) with payload.extraAttributes reduced to the allowlist. */
export function redactParsed(parsed: unknown, allowlist: ReadonlySet<string>): unknown {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return parsed;
  const event = parsed as Record<string, unknown>;
  const payload = event.payload;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return parsed;
  const p = payload as Record<string, unknown>;
  if (!('extraAttributes' in p)) return parsed;
  return { ...event, payload: { ...p, extraAttributes: pickAllowed(p.extraAttributes, allowlist) } };
}
