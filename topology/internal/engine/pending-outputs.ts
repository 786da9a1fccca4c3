/**
 * A task's sink output waiting for its commit. Records of a sink declared `latestPerKey` replace the earlier
 * record of the same topic, partition and key still waiting (like the output of a Kafka Streams KTable with
 * caching: one record per key per commit), so a key that changes many times between two commits is sent once,
 * with its latest value. Every other record is kept, in order.
 */
import type { OutgoingRecord } from '../../record.js';

export class PendingOutputs {
  private records: OutgoingRecord[] = [];
  /** collapse key -> index in `records`. */
  private latest = new Map<string, number>();

  get length(): number {
    return this.records.length;
  }

  add(record: OutgoingRecord, latestPerKey = false): void {
    if (!latestPerKey || record.key === null) {
      this.records.push(record);
      return;
    }
    const k = `${record.topic}\u0000${record.partition}\u0000${record.key.toString('latin1')}`;
    const at = this.latest.get(k);
    if (at === undefined) {
      this.latest.set(k, this.records.length);
      this.records.push(record);
    } else {
      this.records[at] = record;
    }
  }

  /** Everything waiting, in order; empties the buffer. */
  drain(): OutgoingRecord[] {
    const out = this.records;
    this.records = [];
    this.latest = new Map();
    return out;
  }
}
