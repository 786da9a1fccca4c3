/**
 * The one error tree of urp-case-sync. Every error thrown on purpose is a {@link UscError} with a stable `code`
 * (`USC_ERR_<AREA>_<WHAT>`), a `retriable` flag that tells the caller whether trying again can help, and an
 * optional `cause`. docs/errors.md lists every code; a unit test checks that the table and {@link ERROR_CODES}
 * agree.
 */

/** Every stable error code, with the one-line meaning that docs/errors.md repeats. */
export const ERROR_CODES = {
  USC_ERR_CONFIG_INVALID:
    'Configuration is invalid; the message lists every problem. Fix the config and restart.',
  USC_ERR_KAFKA_LAUNCHER_JAVA_MISSING:
    'No `java` on PATH (or JAVA_HOME) for the embedded broker. Install Java 17+.',
  USC_ERR_KAFKA_LAUNCHER_JAVA_TOO_OLD: 'The Java found is older than 17. Install Java 17+ or set JAVA_HOME.',
  USC_ERR_KAFKA_LAUNCHER_MAVEN_MISSING: 'No `mvn` on PATH to fetch the Kafka broker jars. Install Maven.',
  USC_ERR_KAFKA_LAUNCHER_RESOLVE_FAILED:
    'Maven could not resolve the Kafka broker jars (offline with an empty cache, or no route to Maven Central).',
  USC_ERR_KAFKA_LAUNCHER_PORT_TAKEN: 'The requested broker or controller port is already in use.',
  USC_ERR_KAFKA_LAUNCHER_START_FAILED:
    'The embedded broker exited or did not answer in time; see the log tail.',
  USC_ERR_KAFKA_TOPIC_MISMATCH:
    'An existing topic has a partition count or config other than the one required.',
  USC_ERR_TOPOLOGY_INVALID: 'The topology is malformed (unknown parent, duplicate name, missing store...).',
  USC_ERR_TOPOLOGY_COPARTITION: 'Co-partitioned source topics have different partition counts.',
  USC_ERR_TASK_ILLEGAL_TRANSITION: 'A task was asked to move between lifecycle states that do not connect.',
  USC_ERR_TASK_MIGRATED: 'The task moved to another instance (producer fenced); close it dirty and rejoin.',
  USC_ERR_TASK_COMMIT_TIMEOUT:
    'A task commit did not finish in time (a stuck client request); the task is re-created from its last commit.',
  USC_ERR_TASK_TRANSACTION_EXPIRED:
    'A commit stayed open past the transaction timeout (a stall) and the broker aborted it; the tasks go back to their last commit with a new producer.',
  USC_ERR_TASK_CORRUPTED:
    'Local state of a task cannot be trusted; wipe the store and restore from the changelog.',
  USC_ERR_STORE_NOT_OPEN: 'A state store was used before init or after close.',
  USC_ERR_STORE_UNKNOWN: 'A processor asked for a store it is not connected to.',
  USC_ERR_STORE_IO:
    'A state store read or write failed in its backend (disk full, I/O error, corruption); the instance stops.',
  USC_ERR_RECORD_FAILED:
    'A record failed and the record-error policy says fail (or there is none); the task stops, nothing of the record is committed.',
  USC_ERR_STATE_DIR_LOCKED: 'Another live instance holds the lock on this state directory.',
  USC_ERR_STREAMS_FATAL:
    'A non-retriable Kafka or processing error stopped the instance; state was not corrupted.',
  USC_ERR_STREAMS_NOT_RUNNING: 'The streams instance is not running (starting, rebalancing or stopped).',
  USC_ERR_SERDE_FAILED: 'A record could not be serialized or deserialized.',
  USC_ERR_STATE_TOO_LARGE:
    'A stored value would be larger than its changelog topic may take; the record that made it grow is dead-lettered, the state is kept.',
  USC_ERR_API_BAD_REQUEST: 'A request parameter is invalid; the message says which and why.',
  USC_ERR_API_UNAUTHORIZED: 'Missing or wrong bearer token.',
  USC_ERR_API_NOT_FOUND: 'No such case (or route).',
  USC_ERR_API_UNAVAILABLE:
    'The partition holding the key is moving or restoring; retry after Retry-After seconds.',
  USC_ERR_API_FORWARD_FAILED: 'The owning instance could not be reached to answer the request.',
  USC_ERR_API_REQUEST_TIMEOUT: 'The request (line, headers or body) was not received in time.',
  USC_ERR_API_PAYLOAD_TOO_LARGE: 'The request body is larger than the API accepts.',
  USC_ERR_API_URI_TOO_LONG: 'A path parameter is longer than the API accepts.',
  USC_ERR_API_UNSUPPORTED_MEDIA_TYPE: 'The request body has a content type other than application/json.',
  USC_ERR_API_HEADERS_TOO_LARGE: 'The request line and headers are larger than the HTTP server accepts.',
  USC_ERR_CLI_USAGE: 'Unknown command or bad flags.',
  USC_ERR_CLI_UNEXPECTED:
    'An unexpected error (not one of the codes above) ended the command; a bug or an environment problem.',
  USC_ERR_HTTP_PORT_TAKEN: 'The HTTP port (HTTP_HOST:HTTP_PORT) is already in use.',
  USC_ERR_KAFKA_UNREACHABLE: 'No Kafka broker answered at KAFKA_BROKERS within the connection timeout.',
  USC_ERR_KAFKA_OFFSETS_NOT_STABLE:
    "The group's committed offsets were not available in time (coordinator unavailable, or a transaction with offsets for them still open); retried.",
  USC_ERR_KAFKA_READ_STALLED:
    'Reading partitions to an end offset (a restore) made no progress for a minute; it is retried.',
  USC_ERR_KAFKA_CLIENT_UNAVAILABLE:
    "The Kafka client's native binding does not load (not built, or built for another Node.js version).",
  USC_ERR_RESET_INSTANCES_ALIVE: 'Reset refused: members of the application are still in the consumer group.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface UscErrorOptions {
  /** True when the same operation may succeed if tried again (after backoff). */
  retriable?: boolean;
  cause?: unknown;
  /** Extra structured context for logs (never secrets). */
  details?: Readonly<Record<string, unknown>>;
}

/** Base of every error this project throws on purpose. */
export class UscError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: UscErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UscError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.details = options.details;
  }
}

/** The task's producer was fenced or its partitions were revoked: close it dirty (no commit) and rejoin. */
export class TaskMigratedError extends UscError {
  constructor(message: string, options: UscErrorOptions = {}) {
    super('USC_ERR_TASK_MIGRATED', message, { ...options, retriable: true });
    this.name = 'TaskMigratedError';
  }
}

/** The task's local state cannot be trusted: wipe its stores and restore them from the changelog. */
export class TaskCorruptedError extends UscError {
  constructor(message: string, options: UscErrorOptions = {}) {
    super('USC_ERR_TASK_CORRUPTED', message, { ...options, retriable: true });
    this.name = 'TaskCorruptedError';
  }
}

/**
 * Codes of failures that are not about one record: the store or the task itself cannot go on. The record-error
 * policy never handles them (see topology/record-error.ts); they stop the task or the instance.
 */
const INSTANCE_LEVEL_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'USC_ERR_STORE_IO',
  'USC_ERR_STORE_NOT_OPEN',
  'USC_ERR_STATE_DIR_LOCKED',
  'USC_ERR_TASK_MIGRATED',
  'USC_ERR_TASK_CORRUPTED',
  'USC_ERR_TASK_COMMIT_TIMEOUT',
  'USC_ERR_TASK_TRANSACTION_EXPIRED',
  'USC_ERR_STREAMS_FATAL',
  'USC_ERR_RECORD_FAILED',
]);

/** True if `err`, or an error it wraps (`cause`), is a failure of the task or instance rather than of a record. */
export function isInstanceLevelError(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 10 && current instanceof Error; depth++) {
    if (current instanceof UscError && INSTANCE_LEVEL_CODES.has(current.code)) return true;
    current = current.cause;
  }
  return false;
}

/** True if `err` is a {@link UscError} with the given code. */
export function hasCode(err: unknown, code: ErrorCode): err is UscError {
  return err instanceof UscError && err.code === code;
}

/** A short, secret-free description of any thrown value, for logs and DLQ records. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
