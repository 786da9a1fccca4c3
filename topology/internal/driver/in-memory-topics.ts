/**
 * The TopologyTestDriver's topics: every topic (input, repartition, changelog, output) is an in-memory log per
 * partition. Each appended record gets a driver-wide sequence number, so records of all partitions can be read
 * back in the order they were written.
 */
import { UscError } from '../../../common/errors.js';
import type { Headers } from '../../record.js';

/** A record as stored in an in-memory partition log. */
export interface LoggedRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
  readonly headers: Headers;
  /** Driver-wide write order. */
  readonly seq: number;
}

/** The in-memory partition logs of every topic the driver knows, with their partition counts. */
export class InMemoryTopics {
  private readonly logs = new Map<string, LoggedRecord[][]>();
  private seq = 0;

  /** `counts`: the partition count of every topic (see resolvePartitionCounts). */
  constructor(private readonly counts: ReadonlyMap<string, number>) {}

  /** The partition count of `topic`; throws USC_ERR_TOPOLOGY_INVALID for a topic the topology does not know. */
  partitionsFor = (topic: string): number => {
    const n = this.counts.get(topic);
    if (n === undefined) throw new UscError('USC_ERR_TOPOLOGY_INVALID', `unknown topic ${topic}`);
    return n;
  };

  /** The partition logs of `topic`, created (empty) on first use. */
  log(topic: string): LoggedRecord[][] {
    let log = this.logs.get(topic);
    if (!log) {
      log = Array.from({ length: this.counts.get(topic) ?? 1 }, () => []);
      this.logs.set(topic, log);
    }
    return log;
  }

  /** The partition logs of `topic` if anything created them yet (reading does not create them). */
  existing(topic: string): readonly LoggedRecord[][] | undefined {
    return this.logs.get(topic);
  }

  /**
   * Appends a record to one partition and returns its offset. Throws USC_ERR_TOPOLOGY_INVALID if the topic has
   * no such partition.
   */
  append(topic: string, partition: number, r: Omit<LoggedRecord, 'seq'>): number {
    const log = this.log(topic);
    const part = log[partition];
    if (!part) throw new UscError('USC_ERR_TOPOLOGY_INVALID', `topic ${topic} has no partition ${partition}`);
    part.push({ ...r, seq: this.seq++ });
    return part.length - 1;
  }
}
