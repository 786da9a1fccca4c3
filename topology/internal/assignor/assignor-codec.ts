/**
 * What members tell the leader (subscription userData) and what the leader tells every member (assignment
 * userData: the whole owner map), as versioned JSON. Decoding never throws: garbage or an unknown future version
 * degrades to "knows nothing" / the fields we understand.
 */

export const ASSIGNOR_VERSION = 1;

/** A member's subscription userData. */
export interface SubscriptionInfo {
  readonly version: number;
  readonly instanceId: string;
  /** URL of the member's query API. */
  readonly url: string;
  /** Active tasks it ran in the previous generation. */
  readonly previousActive: readonly string[];
  readonly previousStandby: readonly string[];
  /** Task id -> sum of its stores' changelog checkpoints on this instance's disk. */
  readonly taskOffsets: Readonly<Record<string, string>>;
}

/** One member in the owner map. */
export interface HostEntry {
  readonly memberId: string;
  readonly instanceId: string;
  readonly url: string;
  readonly active: readonly string[];
  readonly standby: readonly string[];
}

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

export function encodeSubscription(info: SubscriptionInfo): Buffer {
  return Buffer.from(JSON.stringify({ ...info, version: ASSIGNOR_VERSION }));
}

/** Decodes a subscription; undefined when it is not ours (garbage, empty). */
export function decodeSubscription(bytes: Buffer): SubscriptionInfo | undefined {
  try {
    const raw = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    if (typeof raw !== 'object' || raw === null || typeof raw.instanceId !== 'string') return undefined;
    const offsets: Record<string, string> = {};
    if (raw.taskOffsets && typeof raw.taskOffsets === 'object') {
      for (const [k, v] of Object.entries(raw.taskOffsets as Record<string, unknown>)) {
        if (typeof v === 'string' && /^\d+$/.test(v)) offsets[k] = v;
      }
    }
    return {
      version: typeof raw.version === 'number' ? raw.version : 0,
      instanceId: raw.instanceId,
      url: typeof raw.url === 'string' ? raw.url : '',
      previousActive: strings(raw.previousActive),
      previousStandby: strings(raw.previousStandby),
      taskOffsets: offsets,
    };
  } catch {
    return undefined;
  }
}

export function encodeOwnerMap(hosts: readonly HostEntry[]): Buffer {
  return Buffer.from(JSON.stringify({ version: ASSIGNOR_VERSION, hosts }));
}

export function decodeOwnerMapBytes(bytes: Buffer): HostEntry[] | undefined {
  try {
    const raw = JSON.parse(bytes.toString('utf8')) as { hosts?: unknown };
    if (!Array.isArray(raw.hosts)) return undefined;
    return raw.hosts.flatMap((h: Record<string, unknown>) =>
      typeof h?.memberId === 'string'
        ? [
            {
              memberId: h.memberId,
              instanceId: typeof h.instanceId === 'string' ? h.instanceId : '',
              url: typeof h.url === 'string' ? h.url : '',
              active: strings(h.active),
              standby: strings(h.standby),
            },
          ]
        : [],
    );
  } catch {
    return undefined;
  }
}

/** The owner map from a described group: any member's assignment userData carries the whole map. */
export function decodeOwnerMap(
  members: readonly { memberId: string; assignmentUserData: Buffer }[],
): HostEntry[] {
  for (const m of members) {
    if (m.assignmentUserData.length === 0) continue;
    const hosts = decodeOwnerMapBytes(m.assignmentUserData);
    if (hosts) return hosts;
  }
  return [];
}
