/**
 * What the query API needs from the rest of the service, as narrow interfaces (the runtime's KafkaStreams and the
 * case-sync application satisfy them; tests pass fakes of pure logic only). The API never imports kafkajs.
 */

// The runtime's own types (one definition): an instance of the group as the owner map sees it, where a key
// lives, and what this instance holds of a task's store.
export type {
  HostEntry as InstanceInfo,
  KeyQueryMetadata as KeyLocation,
  LocalStoreResult as LocalStoreAnswer,
} from '../topology/kafka-streams.js';
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
  /** key urpCaseId -> history. */
  readonly historyStore: string;
  /** key ucmCaseId -> index entry naming the urpCaseId. */
  readonly indexStore: string;
  /** The public case record (same JSON as the `urp-case-sync` value) of a stored case state. */
  toRecord(state: unknown): unknown;
  /** The history entries, oldest first, of a stored history value. */
  toHistory(value: unknown): readonly unknown[];
  /** The urpCaseId an index entry points to. */
  indexTarget(value: unknown): string | undefined;
}

/** Topology description for GET /topology. */
export interface TopologyView {
  describe(): string;
  describeMermaid(): string;
}
