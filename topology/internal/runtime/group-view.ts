/**
 * What every instance knows about the group: the owner map (active and standby tasks per instance, with API URLs),
 * from the compacted directory topic `<applicationId>-directory`. Each instance publishes there, under its instance
 * id, its URL and the lead partitions it owns (with the time its assignment last changed), after each of its
 * rebalances and every `heartbeatMs`; every instance follows the topic with an assigned reader.
 * - A member is alive while its heartbeats are younger than `livenessMs` (the session timeout plus two
 *   heartbeats): a crashed instance leaves the map once the group has expired it too.
 * - A lead partition claimed by two live members (the new owner published, the old one has not yet) belongs to the
 *   one whose assignment changed last.
 * (The group's own view, `describeGroups`, is an admin coordinator request: librdkafka 2.15 aborted the process when
 * one was in flight across a broker restart, so the long-running instance does not use it; see ADR 0004.)
 */
import { describeError } from '../../../common/errors.js';
import { PartitionReader, Publisher, type KafkaClient } from '../../../kafka/index.js';
import type { Logger } from '../../processor.js';
import type { HostEntry, Placement } from './placement.js';

export interface GroupViewOptions {
  readonly kafka: KafkaClient;
  readonly directoryTopic: string;
  readonly instanceId: string;
  readonly url: string;
  readonly placement: Placement;
  readonly numStandbys: number;
  readonly logger: Logger;
  /** After each update: the owner map, and when it `changed`, this instance's entry (if it is a member). */
  readonly onChange: (hosts: readonly HostEntry[], mine: HostEntry | undefined, changed: boolean) => void;
  readonly heartbeatMs?: number;
  /** How long a member without a heartbeat still counts (default: 10 s + two heartbeats). */
  readonly livenessMs?: number;
  readonly clock?: () => number;
}

/** One instance's directory record. */
export interface DirectoryEntry {
  readonly instanceId: string;
  readonly url: string;
  /** Lead partitions this instance owns. */
  readonly lead: readonly number[];
  /** When its assignment last changed (epoch ms). */
  readonly assignedAt: number;
  /** When it published this record (its heartbeat, epoch ms). */
  readonly at: number;
}

/** The owner map from directory entries (pure: every instance computes the same from the same entries). */
export function ownerMapFromDirectory(
  entries: Iterable<DirectoryEntry>,
  placement: Placement,
  numStandbys: number,
  now: number,
  livenessMs: number,
): { hosts: HostEntry[]; complete: boolean } {
  const live = [...entries].filter((e) => now - e.at <= livenessMs);
  const owner = new Map<number, DirectoryEntry>();
  for (const e of live) {
    for (const p of e.lead) {
      const current = owner.get(p);
      if (
        !current ||
        e.assignedAt > current.assignedAt ||
        (e.assignedAt === current.assignedAt && e.instanceId > current.instanceId)
      )
        owner.set(p, e);
    }
  }
  const members = live.map((e) => ({
    memberId: e.instanceId,
    instanceId: e.instanceId,
    assignment: {
      [placement.leadTopic]: e.lead.filter((p) => owner.get(p)?.instanceId === e.instanceId),
    },
  }));
  const urls = new Map(live.map((e) => [e.instanceId, e.url] as const));
  const hosts = placement.ownerMap(members, urls, numStandbys);
  return { hosts, complete: owner.size === placement.leadPartitions };
}

export class GroupView {
  private readonly entries = new Map<string, DirectoryEntry>();
  private reader: PartitionReader | undefined;
  private publisher: Publisher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastKey = '';
  private completeValue = false;
  private lead: number[] = [];
  private assignedAt = 0;
  private publishing: Promise<void> = Promise.resolve();
  private readonly clock: () => number;

  constructor(private readonly options: GroupViewOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** Publishes this instance's entry and follows the directory. */
  async start(): Promise<void> {
    const { kafka, directoryTopic, instanceId, logger } = this.options;
    this.publisher = await Publisher.open(kafka);
    this.assignedAt = this.clock();
    await this.publish();
    this.reader = await PartitionReader.start(
      kafka,
      {
        groupPrefix: `directory-${instanceId}`,
        partitions: [{ topic: directoryTopic, partition: 0, offset: '0' }],
        maxBytesPerPartition: 1_048_576,
        onError: (err) => logger.warn({ err: describeError(err) }, 'directory reader failed'),
        onBatch: async (batch) => {
          for (const r of batch.records) {
            if (!r.key) continue;
            const id = r.key.toString('utf8');
            // This instance's own entry is local truth (set when published): an older record of it read back
            // later must not replace a newer assignment.
            if (id === instanceId) continue;
            try {
              const e = JSON.parse(r.value?.toString('utf8') ?? 'null') as Partial<DirectoryEntry> | null;
              if (e && typeof e.url === 'string' && Array.isArray(e.lead) && typeof e.at === 'number') {
                this.entries.set(id, {
                  instanceId: id,
                  url: e.url,
                  lead: e.lead.filter((p): p is number => Number.isInteger(p)),
                  assignedAt: typeof e.assignedAt === 'number' ? e.assignedAt : e.at,
                  at: e.at,
                });
              } else this.entries.delete(id);
            } catch {
              this.entries.delete(id); // not ours
            }
          }
          if (batch.records.length > 0) this.update();
        },
      },
      logger,
    );
    this.timer = setInterval(() => {
      void this.publish();
      this.update();
    }, this.options.heartbeatMs ?? 2_000);
    this.timer.unref();
  }

  /** This instance's lead partitions changed (after a rebalance callback): publish at once. */
  setLead(lead: readonly number[]): void {
    this.lead = [...lead].sort((a, b) => a - b);
    this.assignedAt = Math.max(this.clock(), this.assignedAt + 1);
    void this.publish();
  }

  private publish(): Promise<void> {
    const { directoryTopic, instanceId, url, logger } = this.options;
    const entry: DirectoryEntry = {
      instanceId,
      url,
      lead: this.lead,
      assignedAt: this.assignedAt,
      at: this.clock(),
    };
    // Own entry at once (the map must agree with this instance's assignment without a round trip).
    this.entries.set(instanceId, entry);
    this.publishing = this.publishing
      .then(async () => {
        if (this.stopped || !this.publisher) return;
        await this.publisher.publish(directoryTopic, [{ key: instanceId, value: JSON.stringify(entry) }]);
      })
      .catch((err: unknown) =>
        logger.debug({ err: describeError(err) }, 'directory heartbeat not published; retried'),
      );
    this.update();
    return this.publishing;
  }

  private update(): void {
    if (this.stopped) return;
    const heartbeat = this.options.heartbeatMs ?? 2_000;
    const { hosts, complete } = ownerMapFromDirectory(
      this.entries.values(),
      this.options.placement,
      this.options.numStandbys,
      this.clock(),
      this.options.livenessMs ?? 10_000 + 2 * heartbeat,
    );
    this.completeValue = complete;
    const key = JSON.stringify(hosts);
    const changed = key !== this.lastKey;
    this.lastKey = key;
    this.options.onChange(
      hosts,
      changed ? hosts.find((h) => h.instanceId === this.options.instanceId) : undefined,
      changed,
    );
  }

  /** Every lead partition has a live owner (as of the last update). */
  get complete(): boolean {
    return this.completeValue;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    // Not waiting for a heartbeat in flight (a broker that does not answer would hold the shutdown), and a short
    // flush: a native call in flight delays the exit of a process whose shutdown ran out of time.
    await this.reader?.stop();
    await this.publisher?.close(500).catch(() => {});
  }
}
