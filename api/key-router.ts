/**
 * Decides who answers a key lookup (Kafka Streams' interactive queries, one hop):
 *  1. this instance runs the active task of the key's partition -> answer locally;
 *  2. another instance does, and this request was not forwarded already -> forward to it (one hop; the forwarded
 *     request carries a loop-guard header and is never forwarded again);
 *  3. the caller allows staleness -> a local standby (or restoring) copy answers, or a standby elsewhere;
 *  4. otherwise the partition is moving or restoring -> 503 with Retry-After.
 */
import type { LocalStoreAnswer, QueryableStreams } from './api-contracts.js';

export type KeyRoute =
  | {
      readonly kind: 'local';
      readonly store: Extract<LocalStoreAnswer, { ok: true }>['store'];
      readonly stale: boolean;
      readonly lag: number;
    }
  | { readonly kind: 'forward'; readonly url: string; readonly instanceId: string; readonly stale: boolean }
  | { readonly kind: 'unavailable'; readonly message: string };

export interface RouteOptions {
  readonly allowStale: boolean;
  /** The request came from another instance: answer locally or not at all. */
  readonly forwarded: boolean;
  /** This instance's advertised URL (never forward to ourselves). */
  readonly selfUrl: string;
}

export function routeKey(
  streams: QueryableStreams,
  storeName: string,
  key: string,
  opts: RouteOptions,
): KeyRoute {
  const meta = streams.metadataForKey(storeName, Buffer.from(key, 'utf8'));
  if (!meta) return { kind: 'unavailable', message: 'the instance has not joined its group yet' };
  const active = streams.localStore(storeName, meta.taskId, false);
  if (active.ok) return { kind: 'local', store: active.store, stale: false, lag: 0 };

  const owner = meta.active;
  if (owner && owner.url !== opts.selfUrl && !opts.forwarded) {
    return { kind: 'forward', url: owner.url, instanceId: owner.instanceId, stale: false };
  }
  if (opts.allowStale) {
    const copy = streams.localStore(storeName, meta.taskId, true);
    if (copy.ok) return { kind: 'local', store: copy.store, stale: true, lag: copy.lag };
    const standby = meta.standbys.find((s) => s.url !== opts.selfUrl);
    if (standby && !opts.forwarded) {
      return { kind: 'forward', url: standby.url, instanceId: standby.instanceId, stale: true };
    }
  }
  const why =
    active.reason === 'restoring'
      ? `partition ${meta.partition} is restoring on this instance`
      : owner
        ? `partition ${meta.partition} is moving to another instance`
        : `partition ${meta.partition} has no running owner right now`;
  return { kind: 'unavailable', message: why };
}
