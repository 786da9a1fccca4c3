/**
 * The commit protocol, in one place, used by the Kafka runtime and the TopologyTestDriver alike:
 *  1. prepare: every participating task flushes its stores' caches (`prepareCommit()` stages the writes and
 *     returns the changelog records) and hands over its sink outputs and next input offsets;
 *  2. send: all of it in one unit: under exactly_once one Kafka transaction for all tasks of the instance
 *     (outputs + changelog records + offsets sent with the consumer's group metadata); in the test driver, the
 *     in-memory topics;
 *  3. complete: each store writes its staged batch together with its changelog checkpoint (the offset after the
 *     last changelog record the send wrote), atomically; the stores' writes run concurrently (each is its own
 *     unit), and the step fails with the first failure once all have settled;
 *  4. or abort, when anything before 3 failed: every store drops its staged writes and the error is rethrown; the
 *     caller re-initialises the tasks from their last commit.
 * A crash between 2 and 3 leaves a store at its previous checkpoint: the restore replays the committed tail.
 */
import type { ChangelogRecord, TaskStore } from '../../../stores/contracts.js';
import type { OutgoingRecord } from '../../task-engine.js';

export interface CommitOffset {
  readonly topic: string;
  readonly partition: number;
  /** Next offset to consume. */
  readonly offset: string;
}

/** Key `topic:partition` -> offset after the last record the send wrote there. */
export type WrittenOffsets = ReadonlyMap<string, string>;

export interface PreparedCommit {
  readonly records: readonly OutgoingRecord[];
  readonly offsets: readonly CommitOffset[];
}

/** One task's side of a commit. */
export interface CommitParticipant {
  prepareCommit(now: number): Promise<PreparedCommit>;
  completeCommit(written: WrittenOffsets): Promise<void>;
  abortCommit(): void;
}

/** Writes one commit's records and offsets as one unit; reports the written offsets. */
export type CommitSend = (
  records: readonly OutgoingRecord[],
  offsets: readonly CommitOffset[],
) => Promise<WrittenOffsets>;

const key = (topic: string, partition: number): string => `${topic}:${partition}`;

/** Step 1 for a task's stores: stage their writes, return their changelog records (timestamp `now`). */
export async function prepareStores(stores: Iterable<TaskStore>, now: number): Promise<OutgoingRecord[]> {
  const records: OutgoingRecord[] = [];
  for (const store of stores) toChangelog(store, await store.prepareCommit(), now, records);
  return records;
}

/**
 * Before step 1, while the tasks process on: the changelog records of the writes of uncached stores so far, to be
 * sent ahead in the commit's transaction (timestamp `now`); step 1 then returns the rest.
 */
export function takeStoresAhead(stores: Iterable<TaskStore>, now: number): OutgoingRecord[] {
  const records: OutgoingRecord[] = [];
  for (const store of stores) toChangelog(store, store.takeChangelogAhead(), now, records);
  return records;
}

function toChangelog(
  store: TaskStore,
  changes: readonly ChangelogRecord[],
  now: number,
  into: OutgoingRecord[],
): void {
  const cl = store.changelog;
  if (!cl) return;
  for (const c of changes) {
    into.push({
      topic: cl.topic,
      partition: cl.partition,
      key: c.key,
      value: c.value,
      timestamp: now,
      headers: {},
    });
  }
}

/** Step 3 for a task's stores: write the staged batches with their changelog checkpoints (concurrently). */
export async function completeStores(stores: Iterable<TaskStore>, written: WrittenOffsets): Promise<void> {
  await settleAll(
    [...stores].map((store) => {
      const cl = store.changelog;
      return store.completeCommit(cl ? written.get(key(cl.topic, cl.partition)) : undefined);
    }),
  );
}

/**
 * Waits for every promise (each store's batch is independent: one that fails does not stop the others from
 * reaching disk), then rejects with the first failure, if any.
 */
async function settleAll(promises: readonly Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Step 4 for a task's stores. */
export function abortStores(stores: Iterable<TaskStore>): void {
  for (const store of stores) store.abortCommit();
}

/**
 * Runs one commit of `participants` through `send`: prepare all, send once, complete all; abort all (and rethrow)
 * if preparing or sending fails. Returns the number of records sent.
 */
export async function commitAll(
  participants: readonly CommitParticipant[],
  send: CommitSend,
  now: number,
): Promise<number> {
  const records: OutgoingRecord[] = [];
  const offsets: CommitOffset[] = [];
  let written: WrittenOffsets;
  try {
    for (const p of participants) {
      const prepared = await p.prepareCommit(now);
      for (const r of prepared.records) records.push(r);
      for (const o of prepared.offsets) offsets.push(o);
    }
    written = await send(records, offsets);
  } catch (err) {
    for (const p of participants) p.abortCommit();
    throw err;
  }
  await settleAll(participants.map((p) => p.completeCommit(written)));
  return records.length;
}
