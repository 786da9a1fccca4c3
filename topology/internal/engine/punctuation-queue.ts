/**
 * Scheduled punctuations of one task, with Kafka Streams' semantics:
 *  - stream-time: the first punctuation fires on the first record processed; afterwards whenever stream time
 *    reaches the next scheduled time;
 *  - wall-clock: first at schedule time + interval.
 * A punctuation fires at most once per advance: when time jumped past several intervals, the next one is
 * scheduled one interval after the time it fired at (missed ones are skipped, not replayed).
 */
import type { Cancellable, PunctuationType, Punctuator } from '../../processor.js';

interface Scheduled {
  readonly type: PunctuationType;
  readonly intervalMs: number;
  readonly callback: Punctuator;
  /** Owner node: the context the callback runs in. */
  readonly node: string;
  next: number;
  cancelled: boolean;
}

export class PunctuationQueue {
  private readonly entries: Scheduled[] = [];

  schedule(
    node: string,
    intervalMs: number,
    type: PunctuationType,
    callback: Punctuator,
    now: number,
  ): Cancellable {
    if (!Number.isFinite(intervalMs) || intervalMs < 1)
      throw new RangeError('punctuation interval must be >= 1 ms');
    const entry: Scheduled = {
      type,
      intervalMs,
      callback,
      node,
      next: type === 'stream-time' ? Number.NEGATIVE_INFINITY : now + intervalMs,
      cancelled: false,
    };
    this.entries.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
        const i = this.entries.indexOf(entry);
        if (i >= 0) this.entries.splice(i, 1);
      },
    };
  }

  /** Runs the due punctuations of `type` at `time` through `run` (which sets up the node's context). */
  async fire(
    type: PunctuationType,
    time: number,
    run: (node: string, callback: () => void | Promise<void>) => Promise<void>,
  ): Promise<boolean> {
    let fired = false;
    for (const entry of [...this.entries]) {
      if (entry.cancelled || entry.type !== type || time < entry.next) continue;
      entry.next = time + entry.intervalMs;
      fired = true;
      await run(entry.node, () => entry.callback(time));
    }
    return fired;
  }
}
