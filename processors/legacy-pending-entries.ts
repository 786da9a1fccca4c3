/**
 * Pending entries of the previous version of the correlate processor (wall-clock grace: `sinceMs` only, no due
 * time and no due-index key). They are found by the one read-only pass over the pending events at init
 * (pending-entries.ts `load`) and indexed by the punctuations, a bounded batch each, due at `sinceMs` + grace; until
 * then a CASE_CREATED still releases them. One that cannot be read is dead-lettered when its batch comes, as the
 * previous version's next expiry would have done.
 */
import type { Logger } from '../topology/processor.js';
import type { Tally } from './correlation-dead-letters.js';
import type { PendingEntries } from './pending-entries.js';
import { storedDueMs } from './pending-correlation.js';

/** Most entries of the previous version one punctuation indexes. */
export const INDEX_BATCH = 1_000;

/** The entries of the previous version a correlate task still has to index by due time. */
export class LegacyPendingEntries {
  private constructor(
    private readonly entries: PendingEntries,
    private readonly logger: Logger,
    /** Keys of entries of the previous version still to be indexed by due time. */
    private unindexed: string[],
  ) {}

  /**
   * At init: the keys of the entries without a due time (`PendingEntries.load`), to be indexed by {@link indexBatch};
   * logs how many there are, if any.
   */
  static found(keys: string[], entries: PendingEntries, logger: Logger): LegacyPendingEntries {
    if (keys.length > 0) {
      logger.info(
        { entries: keys.length },
        'pending events without a due time (previous version, or unreadable): indexing them by due time',
      );
    }
    return new LegacyPendingEntries(entries, logger, keys);
  }

  /**
   * Indexes a bounded batch (INDEX_BATCH) of the previous version's entries by due time; an unreadable one is
   * dead-lettered (added to `tally`). Throws instance-level errors; the batch is then retried with the rolled-back
   * punctuation.
   */
  async indexBatch(now: number, tally: Tally): Promise<void> {
    if (this.unindexed.length === 0) return;
    const batch = this.unindexed.slice(0, INDEX_BATCH);
    let indexed = 0;
    for (const key of batch) {
      const raw = await this.entries.get(key);
      // Released (or settled) meanwhile, or already indexed.
      if (raw === undefined || storedDueMs(raw) !== undefined) continue;
      // An unreadable one is dead-lettered now, as the previous version's next expiry would have done.
      const outcome = await this.entries.settle(key, raw, now, 'punctuate', tally, async (p, dueMs) => {
        await this.entries.put(key, p, dueMs);
        return 'indexed';
      });
      if (outcome === 'indexed') indexed++;
    }
    // Only once the batch went through: a failed punctuation is rolled back and retried.
    this.unindexed = this.unindexed.slice(batch.length);
    this.logger.info(
      { indexed, remaining: this.unindexed.length },
      'indexed pending events of the previous version by due time (due at their start + CORRELATION_GRACE_MS)',
    );
  }
}
