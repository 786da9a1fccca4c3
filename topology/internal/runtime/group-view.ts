/**
 * What every instance knows about the group: the owner map (active and standby tasks per instance, with API
 * URLs), from `describeGroups` (members, their group.instance.id and lead partitions) and the compacted directory
 * topic `<applicationId>-directory` (instance id -> API URL, written by each instance when it starts). Refreshed
 * after every rebalance of this member and every `refreshMs` (a cooperative rebalance among other members does
 * not call this member's callbacks).
 */
import { describeError } from '../../../common/errors.js';
import {
  describeGroup,
  PartitionReader,
  publishRecords,
  type KafkaAdmin,
  type KafkaClient,
} from '../../../kafka/index.js';
import type { Logger } from '../../processor.js';
import type { HostEntry, Placement } from './placement.js';

export interface GroupViewOptions {
  readonly kafka: KafkaClient;
  readonly admin: () => KafkaAdmin;
  readonly groupId: string;
  readonly directoryTopic: string;
  readonly instanceId: string;
  readonly url: string;
  readonly placement: Placement;
  readonly numStandbys: number;
  readonly logger: Logger;
  /**
   * After each refresh: the owner map, and when it `changed`, this instance's entry (if it is a member).
   */
  readonly onChange: (hosts: readonly HostEntry[], mine: HostEntry | undefined, changed: boolean) => void;
  readonly refreshMs?: number;
}

interface DirectoryEntry {
  readonly instanceId: string;
  readonly url: string;
}

export class GroupView {
  private readonly urls = new Map<string, string>();
  private reader: PartitionReader | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private lastKey = '';
  private completeValue = false;
  private quick: NodeJS.Timeout | undefined;

  constructor(private readonly options: GroupViewOptions) {}

  /** Publishes this instance's URL and follows the directory. */
  async start(): Promise<void> {
    const { kafka, directoryTopic, instanceId, url, logger } = this.options;
    this.urls.set(instanceId, url);
    const entry: DirectoryEntry = { instanceId, url };
    await publishRecords(kafka, directoryTopic, [{ key: instanceId, value: JSON.stringify(entry) }]);
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
            try {
              const e = JSON.parse(r.value?.toString('utf8') ?? 'null') as Partial<DirectoryEntry> | null;
              if (e && typeof e.url === 'string') this.urls.set(r.key.toString('utf8'), e.url);
            } catch {
              // not ours: ignored
            }
          }
          if (batch.records.length > 0) this.refreshSoon();
        },
      },
      logger,
    );
    const every = this.options.refreshMs ?? 2_000;
    this.timer = setInterval(() => this.refreshSoon(), every);
    this.timer.unref();
  }

  /** Refreshes now, or right after the refresh in progress. */
  refreshSoon(): void {
    if (this.stopped) return;
    if (this.refreshing) {
      this.again = true;
      return;
    }
    this.refreshing = this.refresh()
      .catch((err: unknown) =>
        this.options.logger.debug({ err: describeError(err) }, 'describe group failed; retried soon'),
      )
      .finally(() => {
        this.refreshing = undefined;
        if (this.again) {
          this.again = false;
          this.refreshSoon();
        }
      });
  }

  private async refresh(): Promise<void> {
    const { placement, groupId, instanceId, numStandbys } = this.options;
    const view = await describeGroup(this.options.admin(), groupId);
    if (this.stopped) return;
    const members = view.members.map((m) => ({
      memberId: m.memberId,
      instanceId: m.instanceId ?? m.memberId,
      assignment: m.assignment,
    }));
    const hosts = placement.ownerMap(members, this.urls, numStandbys);
    const owned = new Set(members.flatMap((m) => m.assignment[placement.leadTopic] ?? []));
    // While partitions are between owners (a cooperative rebalance moves them in two steps) or an owner's URL is
    // not known yet, look again soon: routing and readiness depend on a complete map.
    this.completeValue =
      view.state === 'Stable' &&
      owned.size === placement.leadPartitions &&
      hosts.every((h) => h.url !== '' || h.active.length === 0);
    if (!this.completeValue && !this.quick && !this.stopped) {
      this.quick = setTimeout(() => {
        this.quick = undefined;
        this.refreshSoon();
      }, 250);
    }
    const key = JSON.stringify(hosts);
    if (key === this.lastKey) {
      this.options.onChange(hosts, undefined, false);
      return;
    }
    this.lastKey = key;
    this.options.onChange(
      hosts,
      hosts.find((h) => h.instanceId === instanceId),
      true,
    );
  }

  /** Every lead partition has an owner with a known URL, in a stable group (as of the last refresh). */
  get complete(): boolean {
    return this.completeValue;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.quick);
    await this.refreshing;
    await this.reader?.stop();
  }
}
