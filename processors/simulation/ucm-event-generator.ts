/**
 * Deterministic (seeded) generator of realistic UCMv2 event streams for the demo, the failure suite and the
 * benchmarks: each URP case gets one (sometimes two) UCM cases that go through a lifecycle (OPEN -> IN_PROGRESS ->
 * ON_HOLD? -> CLOSED | REJECTED). Options add what production throws at us: duplicates, out-of-order delivery,
 * status changes without urpCaseId, and invalid records.
 */

export interface GeneratorOptions {
  readonly seed: number;
  readonly cases: number;
  /** Prefix of URP case ids (to keep test runs apart). */
  readonly prefix?: string;
  /** Probability that an event is delivered twice. */
  readonly duplicateRate?: number;
  /** Probability that a status change carries no urpCaseId. */
  readonly missingUrpRate?: number;
  /** Probability of an extra invalid record per case. */
  readonly invalidRate?: number;
  /** Probability that a case has a second UCM case (1:N). */
  readonly secondUcmRate?: number;
  /** Shuffle within windows of this many records (0 = in order). */
  readonly shuffleWindow?: number;
  /** Epoch ms of the first case's creation. */
  readonly startMs?: number;
}

export interface GeneratedRecord {
  /** Record key: the ucmCaseId (as UCMv2 keys its topic). */
  readonly key: string;
  readonly value: string;
}

/** mulberry32: small, fast, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

export function generateUcmEvents(opts: GeneratorOptions): GeneratedRecord[] {
  const random = rng(opts.seed);
  const prefix = opts.prefix ?? 'URP';
  const start = opts.startMs ?? Date.UTC(2026, 0, 1);
  const out: GeneratedRecord[] = [];
  const push = (key: string, event: unknown) => {
    const value = JSON.stringify(event);
    out.push({ key, value });
    if (random() < (opts.duplicateRate ?? 0)) out.push({ key, value });
  };
  for (let c = 0; c < opts.cases; c++) {
    const urpCaseId = `${prefix}-${c}`;
    const ucmCount = random() < (opts.secondUcmRate ?? 0) ? 2 : 1;
    for (let u = 0; u < ucmCount; u++) {
      const ucmCaseId = `UCM-${prefix}-${c}-${u}`;
      let t = start + c * 1_000 + u * 100;
      push(ucmCaseId, {
        eventId: `${ucmCaseId}-created`,
        eventType: 'CASE_CREATED',
        eventTime: iso(t),
        source: 'UCMv2',
        payload: {
          ucmCaseId,
          urpCaseId,
          initialStatus: 'OPEN',
          createdAt: iso(t),
          extraAttributes: {
            priority: random() < 0.3 ? 'high' : 'normal',
            caseType: 'alert',
            analyst: 'j.doe',
          },
        },
      });
      const path = [
        'IN_PROGRESS',
        ...(random() < 0.4 ? ['ON_HOLD', 'IN_PROGRESS'] : []),
        random() < 0.8 ? 'CLOSED' : 'REJECTED',
      ];
      let previous = 'OPEN';
      for (const [i, next] of path.entries()) {
        if (random() < 0.35 && i === path.length - 1) break; // some cases are still being worked
        t += 60_000 + Math.floor(random() * 600_000);
        const withUrp = random() >= (opts.missingUrpRate ?? 0);
        push(ucmCaseId, {
          eventId: `${ucmCaseId}-s${i}`,
          eventType: 'CASE_STATUS_CHANGED',
          eventTime: iso(t + 50),
          source: 'UCMv2',
          payload: {
            ucmCaseId,
            ...(withUrp ? { urpCaseId } : {}),
            oldStatus: previous,
            newStatus: next,
            statusChangedAt: iso(t),
            ...(next === 'REJECTED' ? { reason: 'duplicate alert' } : {}),
          },
        });
        previous = next;
      }
    }
    if (random() < (opts.invalidRate ?? 0)) {
      const kind = Math.floor(random() * 3);
      const key = `UCM-${prefix}-${c}-0`;
      if (kind === 0) out.push({ key, value: '{"eventId": "broken' });
      else if (kind === 1)
        out.push({
          key,
          value: JSON.stringify({
            eventId: `${key}-bad`,
            eventType: 'CASE_ARCHIVED',
            eventTime: iso(start),
            source: 'UCMv2',
            payload: {},
          }),
        });
      else
        out.push({
          key,
          value: JSON.stringify({
            eventId: `${key}-nostatus`,
            eventType: 'CASE_STATUS_CHANGED',
            eventTime: iso(start),
            source: 'UCMv2',
            payload: {
              ucmCaseId: key,
              urpCaseId,
              oldStatus: 'OPEN',
              newStatus: 'ESCALATED',
              statusChangedAt: iso(start),
            },
          }),
        });
    }
  }
  const window = opts.shuffleWindow ?? 0;
  if (window > 1) {
    for (let i = 0; i < out.length; i += window) {
      const end = Math.min(out.length, i + window);
      for (let j = end - 1; j > i; j--) {
        const k = i + Math.floor(random() * (j - i + 1));
        [out[j], out[k]] = [out[k]!, out[j]!];
      }
    }
  }
  return out;
}
