/**
 * Classifies kafkajs errors into the recovery they trigger:
 *  - `fenced`: another producer with our transactional id took over (the task migrated) -> close dirty, rejoin;
 *  - `rebalance`: the group generation changed under us -> drop the batch, the rebalance will reassign;
 *  - `retriable`: transient (network, leader moves, coordinator loading, timeouts) -> back off and retry;
 *  - `fatal`: anything else (authorization, invalid config, corrupt message) -> stop the instance.
 */
export type KafkaErrorClass = 'fenced' | 'rebalance' | 'retriable' | 'fatal';

const FENCED_TYPES = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'TRANSACTIONAL_ID_NOT_FOUND']);
const REBALANCE_TYPES = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);
const FATAL_TYPES = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'INVALID_CONFIG',
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
]);

interface KafkaLikeError {
  name?: string;
  type?: string;
  code?: number;
  message?: string;
  retriable?: boolean;
  cause?: unknown;
  originalError?: unknown;
}

export function classifyKafkaError(err: unknown): KafkaErrorClass {
  const seen = new Set<unknown>();
  let current: unknown = err;
  let retriable = false;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const e = current as KafkaLikeError;
    if (e.type && FENCED_TYPES.has(e.type)) return 'fenced';
    if (e.code === 90 || /fenced|producer epoch/i.test(e.message ?? '')) return 'fenced';
    if (e.type && REBALANCE_TYPES.has(e.type)) return 'rebalance';
    if (e.type && FATAL_TYPES.has(e.type)) return 'fatal';
    if (
      e.retriable === true ||
      e.name === 'KafkaJSConnectionError' ||
      e.name === 'KafkaJSRequestTimeoutError'
    ) {
      retriable = true;
    }
    current = e.cause ?? e.originalError;
  }
  if (retriable) return 'retriable';
  const name = (err as KafkaLikeError | undefined)?.name ?? '';
  if (name === 'KafkaJSNumberOfRetriesExceeded' || name === 'KafkaJSConnectionClosedError')
    return 'retriable';
  return 'fatal';
}

/**
 * True when the error (or one it wraps) is of a kind that no retry can fix: authorization, invalid config, a
 * record the broker will never accept. Unlike {@link classifyKafkaError}'s catch-all `fatal`, this never
 * includes unknown errors, so callers can stop on it without mistaking a transient failure for a fatal one.
 */
export function isDefinitelyFatal(err: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const e = current as KafkaLikeError;
    if (e.type && FATAL_TYPES.has(e.type)) return true;
    if (e.name === 'KafkaJSSASLAuthenticationError') return true;
    current = e.cause ?? e.originalError;
  }
  return false;
}
