/**
 * What a KafkaStreams instance answers for interactive queries: where a key lives (from the group's owner map)
 * and this instance's own copy of a task's store.
 */
import type { ReadOnlyKeyValueStore } from '../stores/contracts.js';
import type { HostEntry } from './internal/runtime/placement.js';

/** Where a key lives: its partition, task, active host and standby hosts (from the latest owner map). */
export interface KeyQueryMetadata {
  readonly partition: number;
  readonly taskId: string;
  readonly active: HostEntry | undefined;
  readonly standbys: readonly HostEntry[];
}

/** A local store answer for interactive queries. */
export type LocalStoreResult =
  | {
      readonly ok: true;
      readonly kind: 'active' | 'standby';
      readonly store: ReadOnlyKeyValueStore<unknown, unknown>;
      readonly lag: number;
    }
  | { readonly ok: false; readonly reason: 'not-local' | 'restoring' | 'unknown-store' };
