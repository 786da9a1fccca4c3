/** Builders of UCMv2 events for tests, generators and benchmarks. */

export interface CreatedInput {
  eventId: string;
  ucmCaseId: string;
  urpCaseId: string;
  initialStatus?: string;
  createdAt: string;
  eventTime?: string;
  extraAttributes?: Record<string, unknown>;
}

export interface ChangedInput {
  eventId: string;
  ucmCaseId: string;
  urpCaseId?: string;
  oldStatus: string | null;
  newStatus: string;
  statusChangedAt: string;
  eventTime?: string;
  reason?: string;
}

export function caseCreated(e: CreatedInput): Record<string, unknown> {
  return {
    eventId: e.eventId,
    eventType: 'CASE_CREATED',
    eventTime: e.eventTime ?? e.createdAt,
    source: 'UCMv2',
    payload: {
      ucmCaseId: e.ucmCaseId,
      urpCaseId: e.urpCaseId,
      initialStatus: e.initialStatus ?? 'OPEN',
      createdAt: e.createdAt,
      ...(e.extraAttributes ? { extraAttributes: e.extraAttributes } : {}),
    },
  };
}

export function statusChanged(e: ChangedInput): Record<string, unknown> {
  return {
    eventId: e.eventId,
    eventType: 'CASE_STATUS_CHANGED',
    eventTime: e.eventTime ?? e.statusChangedAt,
    source: 'UCMv2',
    payload: {
      ucmCaseId: e.ucmCaseId,
      ...(e.urpCaseId !== undefined ? { urpCaseId: e.urpCaseId } : {}),
      oldStatus: e.oldStatus,
      newStatus: e.newStatus,
      statusChangedAt: e.statusChangedAt,
      ...(e.reason !== undefined ? { reason: e.reason } : {}),
    },
  };
}

/** Minute `m` of a fixed day, ISO with zone. */
export const at = (m: number, s = 0) => new Date(Date.UTC(2026, 0, 10, 9, m, s)).toISOString();
