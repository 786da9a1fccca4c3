/**
 * Classifies the Kafka client's errors (`@confluentinc/kafka-javascript`) into the recovery they trigger:
 *  - `fenced`: another producer with our transactional id took over (the task migrated) -> close dirty, rejoin;
 *  - `rebalance`: the group generation changed under us -> drop the batch, the rebalance will reassign;
 *  - `retriable`: transient (network, leader moves, coordinator loading, timeouts) -> back off and retry;
 *  - `fatal`: anything else (authorization, invalid config, a record the broker refuses) -> stop the instance.
 *
 * The client throws two shapes, both with a numeric `code` (librdkafka's error codes: negative = local to the
 * client, positive = Kafka protocol errors): `LibrdKafkaError` (`code`, `errno`, `message`, `isFatal`,
 * `isRetriable`, `isTxnRequiresAbort`) from the lower-level API, and `KafkaJSError` (`code`, `type` = the code's
 * name, `retriable`, `fatal`, `abortable`) from its KafkaJS-compatible API. Errors are walked along `cause`, so a
 * {@link UscError} wrapping a client error is classified by what it wraps. This module is pure: it does not load
 * the native client (unit tests import it on a Node version where the binding does not load). Explaining why a
 * client's first request failed (its connection problems) is ./connection-problems.ts.
 */

/**
 * The librdkafka error codes this module (and the rest of kafka/) names, as librdkafka 2.15 numbers them.
 * test/integration/kafka-error-codes.test.ts checks every value against the client's own `CODES.ERRORS`.
 */
export const KAFKA_ERROR_CODES = {
  // Local (client-side) errors.
  ERR__BAD_MSG: -199,
  ERR__TRANSPORT: -195,
  ERR__RESOLVE: -193,
  ERR__MSG_TIMED_OUT: -192,
  ERR__UNKNOWN_PARTITION: -190,
  ERR__ALL_BROKERS_DOWN: -187,
  ERR__INVALID_ARG: -186,
  ERR__TIMED_OUT: -185,
  ERR__QUEUE_FULL: -184,
  ERR__SSL: -181,
  ERR__WAIT_COORD: -180,
  ERR__PREV_IN_PROGRESS: -177,
  ERR__STATE: -172,
  ERR__AUTHENTICATION: -169,
  ERR__TIMED_OUT_QUEUE: -166,
  ERR__RETRY: -153,
  ERR__FATAL: -150,
  ERR__FENCED: -144,
  ERR__ASSIGNMENT_LOST: -142,
  // Kafka protocol errors.
  ERR_UNKNOWN_TOPIC_OR_PART: 3,
  ERR_LEADER_NOT_AVAILABLE: 5,
  ERR_NOT_LEADER_FOR_PARTITION: 6,
  ERR_REQUEST_TIMED_OUT: 7,
  ERR_MSG_SIZE_TOO_LARGE: 10,
  ERR_NETWORK_EXCEPTION: 13,
  ERR_COORDINATOR_LOAD_IN_PROGRESS: 14,
  ERR_COORDINATOR_NOT_AVAILABLE: 15,
  ERR_NOT_COORDINATOR: 16,
  ERR_RECORD_LIST_TOO_LARGE: 18,
  ERR_NOT_ENOUGH_REPLICAS: 19,
  ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
  ERR_ILLEGAL_GENERATION: 22,
  ERR_UNKNOWN_MEMBER_ID: 25,
  ERR_REBALANCE_IN_PROGRESS: 27,
  ERR_TOPIC_AUTHORIZATION_FAILED: 29,
  ERR_GROUP_AUTHORIZATION_FAILED: 30,
  ERR_CLUSTER_AUTHORIZATION_FAILED: 31,
  ERR_UNSUPPORTED_SASL_MECHANISM: 33,
  ERR_ILLEGAL_SASL_STATE: 34,
  ERR_TOPIC_ALREADY_EXISTS: 36,
  ERR_INVALID_CONFIG: 40,
  ERR_INVALID_PRODUCER_EPOCH: 47,
  ERR_CONCURRENT_TRANSACTIONS: 51,
  ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 53,
  ERR_KAFKA_STORAGE_ERROR: 56,
  ERR_SASL_AUTHENTICATION_FAILED: 58,
  ERR_DELEGATION_TOKEN_AUTHORIZATION_FAILED: 65,
  ERR_GROUP_ID_NOT_FOUND: 69,
  ERR_FENCED_LEADER_EPOCH: 74,
  ERR_UNKNOWN_LEADER_EPOCH: 75,
  ERR_OFFSET_NOT_AVAILABLE: 78,
  ERR_PREFERRED_LEADER_NOT_AVAILABLE: 80,
  ERR_FENCED_INSTANCE_ID: 82,
  ERR_INVALID_RECORD: 87,
  ERR_UNSTABLE_OFFSET_COMMIT: 88,
  ERR_THROTTLING_QUOTA_EXCEEDED: 89,
  ERR_PRODUCER_FENCED: 90,
} as const;

export type KafkaErrorCodeName = keyof typeof KAFKA_ERROR_CODES;

export type KafkaErrorClass = 'fenced' | 'rebalance' | 'retriable' | 'fatal';

const C = KAFKA_ERROR_CODES;

const FENCED_CODES: ReadonlySet<number> = new Set([
  C.ERR_PRODUCER_FENCED,
  C.ERR_INVALID_PRODUCER_EPOCH,
  C.ERR__FENCED,
]);

const REBALANCE_CODES: ReadonlySet<number> = new Set([
  C.ERR_ILLEGAL_GENERATION,
  C.ERR_UNKNOWN_MEMBER_ID,
  C.ERR_REBALANCE_IN_PROGRESS,
  C.ERR_FENCED_INSTANCE_ID,
  C.ERR__ASSIGNMENT_LOST,
]);

/** Errors no retry can fix: authorization, authentication, invalid configuration, records the broker refuses. */
const FATAL_CODES: ReadonlySet<number> = new Set([
  C.ERR_TOPIC_AUTHORIZATION_FAILED,
  C.ERR_GROUP_AUTHORIZATION_FAILED,
  C.ERR_CLUSTER_AUTHORIZATION_FAILED,
  C.ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  C.ERR_DELEGATION_TOKEN_AUTHORIZATION_FAILED,
  C.ERR_SASL_AUTHENTICATION_FAILED,
  C.ERR_UNSUPPORTED_SASL_MECHANISM,
  C.ERR_ILLEGAL_SASL_STATE,
  C.ERR__AUTHENTICATION,
  C.ERR_INVALID_CONFIG,
  C.ERR_MSG_SIZE_TOO_LARGE,
  C.ERR_RECORD_LIST_TOO_LARGE,
  C.ERR_INVALID_RECORD,
  C.ERR__INVALID_ARG,
]);

/** Transient: the same request may succeed after a backoff (even when the error object does not say so). */
const RETRIABLE_CODES: ReadonlySet<number> = new Set([
  C.ERR__TRANSPORT,
  C.ERR__RESOLVE,
  C.ERR__MSG_TIMED_OUT,
  C.ERR__ALL_BROKERS_DOWN,
  C.ERR__TIMED_OUT,
  C.ERR__QUEUE_FULL,
  C.ERR__WAIT_COORD,
  C.ERR__PREV_IN_PROGRESS,
  C.ERR__TIMED_OUT_QUEUE,
  C.ERR__RETRY,
  C.ERR_UNKNOWN_TOPIC_OR_PART,
  C.ERR_LEADER_NOT_AVAILABLE,
  C.ERR_NOT_LEADER_FOR_PARTITION,
  C.ERR_REQUEST_TIMED_OUT,
  C.ERR_NETWORK_EXCEPTION,
  C.ERR_COORDINATOR_LOAD_IN_PROGRESS,
  C.ERR_COORDINATOR_NOT_AVAILABLE,
  C.ERR_NOT_COORDINATOR,
  C.ERR_NOT_ENOUGH_REPLICAS,
  C.ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  C.ERR_CONCURRENT_TRANSACTIONS,
  C.ERR_KAFKA_STORAGE_ERROR,
  C.ERR_FENCED_LEADER_EPOCH,
  C.ERR_UNKNOWN_LEADER_EPOCH,
  C.ERR_OFFSET_NOT_AVAILABLE,
  C.ERR_PREFERRED_LEADER_NOT_AVAILABLE,
  C.ERR_UNSTABLE_OFFSET_COMMIT,
  C.ERR_THROTTLING_QUOTA_EXCEEDED,
]);

/** Codes saying that no broker could be reached at all (refused, unresolvable, every connection down). */
export const UNREACHABLE_CODES: ReadonlySet<number> = new Set([
  C.ERR__TRANSPORT,
  C.ERR__RESOLVE,
  C.ERR__ALL_BROKERS_DOWN,
]);

/** The fields of both client error shapes (and of our UscError) that classification reads. */
interface KafkaLikeError {
  name?: unknown;
  code?: unknown;
  type?: unknown;
  message?: unknown;
  /** LibrdKafkaError. */
  isRetriable?: unknown;
  isFatal?: unknown;
  isTxnRequiresAbort?: unknown;
  /** KafkaJSError, UscError. */
  retriable?: unknown;
  fatal?: unknown;
  abortable?: unknown;
  cause?: unknown;
  /** AggregateError (and the KafkaJS-compatible API's aggregate errors). */
  errors?: unknown;
}

/** `err` and every error it wraps (`cause`, an aggregate's `errors`), outermost first; cycles are cut. */
export function errorChain(err: unknown): KafkaLikeError[] {
  const out: KafkaLikeError[] = [];
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0 && out.length < 32) {
    const current = queue.shift();
    if (!current || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    const e = current as KafkaLikeError;
    out.push(e);
    if (e.cause !== undefined) queue.push(e.cause);
    if (Array.isArray(e.errors)) queue.push(...(e.errors as unknown[]));
  }
  return out;
}

/**
 * The librdkafka code of one error: its numeric `code`, else the code its `type` names (KafkaJS-compatible
 * errors name it, e.g. `ERR_PRODUCER_FENCED`). UscError's string codes are not Kafka codes.
 */
export function kafkaCode(e: KafkaLikeError): number | undefined {
  if (typeof e.code === 'number' && e.code !== -1) return e.code;
  if (typeof e.type === 'string' && e.type in KAFKA_ERROR_CODES) {
    return KAFKA_ERROR_CODES[e.type as KafkaErrorCodeName];
  }
  return undefined;
}

/** Our own UscError code of one error, if it is one (duck-typed: this module imports nothing). */
function uscCode(e: KafkaLikeError): string | undefined {
  return typeof e.code === 'string' && e.code.startsWith('USC_ERR_') ? e.code : undefined;
}

/**
 * librdkafka's error events (`event.error`) carry no code (-1) and only the lowercased description; these are
 * recognised by their text. This one: no broker could be reached.
 */
export const UNREACHABLE_TEXT =
  /broker transport failure|all broker connections are down|failed to resolve|connection refused|ECONNREFUSED/i;
/** The text of an authentication failure (a broker refused our credentials), as for {@link UNREACHABLE_TEXT}. */
export const AUTHENTICATION_TEXT = /authentication failure|SASL authentication (error|failed)/i;

function isFatalCode(e: KafkaLikeError): boolean {
  const code = kafkaCode(e);
  if (code !== undefined) return FATAL_CODES.has(code);
  return typeof e.message === 'string' && AUTHENTICATION_TEXT.test(e.message);
}

export function classifyKafkaError(err: unknown): KafkaErrorClass {
  const errors = errorChain(err);
  // A transaction the broker aborted for outliving its timeout (the producer's epoch bumped) reads as "fenced" in
  // its cause, but no other process took over: the producer is renewed and the work redone (instance-producer.ts).
  if (errors.some((e) => uscCode(e) === 'USC_ERR_TASK_TRANSACTION_EXPIRED')) return 'retriable';
  // The most specific recovery wins wherever it sits in the chain: fenced, then rebalance, then fatal.
  for (const e of errors) {
    const code = kafkaCode(e);
    if ((code !== undefined && FENCED_CODES.has(code)) || uscCode(e) === 'USC_ERR_TASK_MIGRATED') {
      return 'fenced';
    }
  }
  for (const e of errors) {
    const code = kafkaCode(e);
    if (code !== undefined && REBALANCE_CODES.has(code)) return 'rebalance';
  }
  for (const e of errors) {
    if (isFatalCode(e) || e.isFatal === true || e.fatal === true) return 'fatal';
  }
  for (const e of errors) {
    const code = kafkaCode(e);
    if (code !== undefined && RETRIABLE_CODES.has(code)) return 'retriable';
    // A transaction that must be aborted is retried (abort, then redo the work); so is what the client or our own
    // UscError marks retriable.
    if (e.isRetriable === true || e.retriable === true || e.isTxnRequiresAbort === true) return 'retriable';
    if (e.abortable === true) return 'retriable';
    if (code === undefined && typeof e.message === 'string' && UNREACHABLE_TEXT.test(e.message)) {
      return 'retriable';
    }
  }
  return 'fatal';
}

/**
 * True when the error (or one it wraps) is of a kind that no retry can fix: authorization, authentication,
 * invalid config, a record the broker will never accept. Unlike {@link classifyKafkaError}'s catch-all `fatal`,
 * this never includes unknown errors, so callers can stop on it without mistaking a transient failure for a fatal
 * one.
 */
export function isDefinitelyFatal(err: unknown): boolean {
  return errorChain(err).some(isFatalCode);
}

/**
 * True when a consumer reports that it cannot go on (librdkafka's fatal consumer error `ERR__FATAL`, e.g. a static
 * member fenced by another member with its `group.instance.id`): the client must be replaced, not retried.
 */
export function isConsumerFatal(err: unknown): boolean {
  return errorChain(err).some((e) => e.isFatal === true || kafkaCode(e) === C.ERR__FATAL);
}

/**
 * True when the error (or one it wraps) says that no broker could be reached: connection refused or timed out,
 * the address did not resolve, every broker connection is down. The CLI reports it as USC_ERR_KAFKA_UNREACHABLE.
 */
export function isKafkaUnreachable(err: unknown): boolean {
  const errors = errorChain(err);
  // A broker that answered and refused us (authentication, authorization) was reachable, whatever it wraps.
  if (errors.some(isFatalCode)) return false;
  return errors.some((e) => {
    const code = kafkaCode(e);
    if (code !== undefined) return UNREACHABLE_CODES.has(code);
    return typeof e.message === 'string' && UNREACHABLE_TEXT.test(e.message);
  });
}
