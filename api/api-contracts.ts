/**
 * What the query API needs from the rest of the service, as narrow interfaces (the runtime's KafkaStreams and the
 * case-sync application satisfy them; tests pass fakes of pure logic only). The API never imports the Kafka client.
 */

// The runtime's own types (one definition): an instance of the group as the owner map sees it, where a key
// lives, and what this instance holds of a task's store.
export type {
  HostEntry as InstanceInfo,
  KeyQueryMetadata as KeyLocation,
  LocalStoreResult as LocalStoreAnswer,
} from '../topology/kafka-streams.js';
import type { ReadOnlyKeyValueStore } from '../stores/contracts.js';
import type {
  HostEntry as InstanceInfo,
  KeyQueryMetadata as KeyLocation,
  LocalStoreResult as LocalStoreAnswer,
} from '../topology/kafka-streams.js';

/** The interactive-query surface of a streams instance. */
export interface QueryableStreams {
  readonly state: string;
  /** Running, with every active task restored. */
  isReady(): boolean;
  metadataForKey(storeName: string, keyBytes: Buffer): KeyLocation | undefined;
  localStore(storeName: string, taskId: string, allowStandby: boolean): LocalStoreAnswer;
  localTasks(): {
    active: { id: string; state: string; lag: number }[];
    standby: { id: string; lag: number }[];
  };
  hosts(): readonly InstanceInfo[];
}

/** How the application's stores are read: names and value views. */
export interface CaseStoresView {
  /** key urpCaseId -> case state. */
  readonly caseStore: string;
  /** The history of a case (read with {@link readHistory}). */
  readonly historyStore: string;
  /** key ucmCaseId -> index entry naming the urpCaseId. */
  readonly indexStore: string;
  /** The public case record (same JSON as the `urp-case-sync` value) of a stored case state. */
  toRecord(state: unknown): unknown;
  /** A case's history entries, oldest first, from one local copy of the history store; undefined: none. */
  readHistory(
    store: ReadOnlyKeyValueStore<unknown, unknown>,
    urpCaseId: string,
  ): Promise<readonly unknown[] | undefined>;
  /** The urpCaseId an index entry points to. */
  indexTarget(value: unknown): string | undefined;
  /**
   * GET /cases: lists one local copy of the case store in key (urpCaseId) order, after `query.after`
   * (exclusive), filtered, at most `query.limit` entries. Optional: without it the API scans with
   * {@link toRecord} and filters on the record's `status` and `updatedAt`.
   */
  listCases?(store: ReadOnlyKeyValueStore<unknown, unknown>, query: CaseListQuery): Promise<CaseListEntry[]>;
  /** The statuses GET /cases?status= accepts (default: any upper-case word). */
  readonly statuses?: readonly string[];
}

/** One local scan of GET /cases. */
export interface CaseListQuery {
  /** Only keys after this urpCaseId (exclusive). */
  readonly after?: string;
  readonly limit: number;
  /** Only cases with one of these statuses. */
  readonly statuses?: ReadonlySet<string>;
  /** Only cases updated at or after this time (epoch ms). */
  readonly updatedSinceMs?: number;
}

/** A listed case: its key and public record. */
export interface CaseListEntry {
  readonly urpCaseId: string;
  readonly record: unknown;
}

/** Topology description for GET /topology. */
export interface TopologyView {
  describe(): string;
  describeMermaid(): string;
}

/** A dead letter as the API answers it: where it is (`ref` = `<partition>:<offset>`) and the DLQ record. */
export type { DeadLetter as DeadLetterView, DlqPage, DlqQuery } from '../processors/domain/dlq-query.js';
import type { DeadLetter, DlqPage, DlqQuery } from '../processors/domain/dlq-query.js';

/** What `POST /dlq/replay` did: the records re-published (ref, eventId, key) and those skipped, with why. */
export interface DlqReplayOutcome {
  readonly replayed: readonly {
    readonly ref: string;
    readonly eventId: string | null;
    readonly key: string | null;
  }[];
  readonly skipped: readonly { readonly ref: string; readonly reason: string }[];
}

/**
 * Access to the dead-letter topic for `/dlq` (implemented by the service over Kafka, cli/dlq-source.ts). Each call
 * reads the topic as it is now. Every method rejects when Kafka cannot be read (the API answers 503); none throws
 * for a client error: an unknown cursor is `{ok: false}`, an absent ref `undefined`, an ineligible one skipped.
 */
export interface DeadLetterSource {
  /** One page of the dead letters matching `query`, newest first. */
  list(
    query: DlqQuery,
  ): Promise<
    { readonly ok: true; readonly value: DlqPage } | { readonly ok: false; readonly message: string }
  >;
  /** The dead letter at `ref` (`<partition>:<offset>`), or undefined. */
  get(ref: { readonly partition: number; readonly offset: string }): Promise<DeadLetter | undefined>;
  /**
   * Re-publishes the replay-eligible dead letters among `refs` to the input topic exactly as
   * `urp-case-sync dlq replay --ref` does (lineage headers, same key); the others are skipped with a reason.
   */
  replay(refs: readonly string[]): Promise<DlqReplayOutcome>;
}
