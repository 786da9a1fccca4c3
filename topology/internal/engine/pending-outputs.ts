/**
 * A task's sink output waiting for its commit. Records of a sink declared `latestPerKey` replace the earlier
 * record of the same topic, partition and key still waiting (like the output of a Kafka Streams KTable with
 * caching: one record per key per commit), so a key that changes many times between two commits is sent once,
 * with its latest value; they wait for the commit. Every other record is kept, in order, and may be taken earlier
 * ({@link PendingOutputs.takeAhead}: sent ahead of the commit, in its transaction, as Kafka Streams' record
 * collector sends them). Order is kept per list: a sink's records are all in one of them.
 */
import type { OutgoingRecord } from '../../record.js';

export class PendingOutputs {
  /** Records of ordinary sinks, in order. */
  private plain: OutgoingRecord[] = [];
  /** Records of `latestPerKey` sinks, in order; collapse key -> index. */
  private collapsing: OutgoingRecord[] = [];
  private latest = new Map<string, number>();
  /** Records taken ahead since the last {@link drain} (they still count as uncommitted output). */
  private takenAhead = 0;

  /** Records waiting for the commit, counting those taken ahead of it. */
  get length(): number {
    return this.plain.length + this.collapsing.length + this.takenAhead;
  }

  add(record: OutgoingRecord, latestPerKey = false): void {
    if (!latestPerKey) {
      this.plain.push(record);
      return;
    }
    if (record.key === null) {
      this.collapsing.push(record);
      return;
    }
    const k = `${record.topic}\u0000${record.partition}\u0000${record.key.toString('latin1')}`;
    const at = this.latest.get(k);
    if (at === undefined) {
      this.latest.set(k, this.collapsing.length);
      this.collapsing.push(record);
    } else {
      this.collapsing[at] = record;
    }
  }

  /** The records of ordinary sinks waiting so far, in order (they may be sent before the commit). */
  takeAhead(): OutgoingRecord[] {
    const out = this.plain;
    this.plain = [];
    this.takenAhead += out.length;
    return out;
  }

  /** Everything still waiting (ordinary sinks' records first); empties the buffer and starts a new commit. */
  drain(): OutgoingRecord[] {
    const out = this.plain.length === 0 ? this.collapsing : [...this.plain, ...this.collapsing];
    this.plain = [];
    this.collapsing = [];
    this.latest = new Map();
    this.takenAhead = 0;
    return out;
  }
}
