/**
 * THE ordering rule of case events, in one place: an event's order key is its business time (`createdAt` of
 * CASE_CREATED, `statusChangedAt` of CASE_STATUS_CHANGED), then its `eventTime`, then its `eventId` (string
 * order). The accepted event with the greatest key defines a case's current state; a late event with a smaller key
 * only joins the history.
 */
export interface OrderKey {
  /** Business time, epoch ms. */
  readonly businessMs: number;
  /** Envelope eventTime, epoch ms. */
  readonly eventMs: number;
  readonly eventId: string;
}

/** Negative when a < b, positive when a > b, 0 only for the same event. */
export function compareOrderKeys(a: OrderKey, b: OrderKey): number {
  if (a.businessMs !== b.businessMs) return a.businessMs - b.businessMs;
  if (a.eventMs !== b.eventMs) return a.eventMs - b.eventMs;
  return a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0;
}
