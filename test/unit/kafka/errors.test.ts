/**
 * Classification of the Kafka client's errors into the recovery they trigger (fenced, rebalance, retriable,
 * fatal), on plain objects shaped like the client's two error types: `LibrdKafkaError` (numeric librdkafka `code`,
 * `isRetriable`, `isFatal`, `isTxnRequiresAbort`) and the KafkaJS-compatible `KafkaJSError` (`code`, `type`,
 * `retriable`, `fatal`, `abortable`). Pure: the native client is not loaded (these tests also run on a Node version
 * where it cannot load); test/integration/kafka-error-codes.test.ts checks the code numbers against the client.
 */
import { describe, expect, it } from 'vitest';
import { TaskMigratedError, UscError } from '../../../common/errors.js';
import { ConnectionProblems, connectOrExplain } from '../../../kafka/connection-problems.js';
import {
  KAFKA_ERROR_CODES as C,
  classifyKafkaError,
  isDefinitelyFatal,
  isKafkaUnreachable,
} from '../../../kafka/errors.js';

/** A LibrdKafkaError as the lower-level API rejects with it. */
function librdkafkaError(code: number, message: string, flags: Record<string, boolean> = {}): Error {
  return Object.assign(new Error(message), {
    name: 'LibrdKafkaError',
    code,
    errno: code,
    origin: code < 0 ? 'local' : 'kafka',
    ...flags,
  });
}

/** A KafkaJSError as the KafkaJS-compatible API rejects with it (`type` names the code). */
function kafkaJsError(
  name: string,
  code: number,
  type: string,
  fields: { retriable?: boolean; fatal?: boolean; abortable?: boolean; cause?: unknown } = {},
): Error {
  return Object.assign(new Error(`${type} happened`), {
    name,
    code,
    type,
    retriable: false,
    fatal: false,
    abortable: false,
    ...fields,
  });
}

const wrapped = (cause: unknown, message = 'wrapper') => new Error(message, { cause });

describe('classifyKafkaError', () => {
  it.each([
    ['PRODUCER_FENCED', librdkafkaError(90, 'Broker: Producer fenced', { isFatal: true })],
    [
      'INVALID_PRODUCER_EPOCH',
      librdkafkaError(47, 'Broker: Producer attempted an operation with an old epoch'),
    ],
    ['ERR__FENCED', librdkafkaError(-144, 'Local: This instance has been fenced', { isFatal: true })],
    ['a KafkaJS-compatible fenced error', kafkaJsError('KafkaJSProtocolError', 90, 'ERR_PRODUCER_FENCED')],
    [
      'a fenced error inside a UscError',
      new UscError('USC_ERR_STREAMS_FATAL', 'commit failed', { cause: librdkafkaError(90, 'fenced') }),
    ],
    ['our own TaskMigratedError', new TaskMigratedError('task 0_1 migrated')],
  ])('%s -> fenced', (_what, err) => {
    expect(classifyKafkaError(err)).toBe('fenced');
  });

  it('a fence of a transaction the broker aborted for its age -> retriable (the producer is renewed, no stop)', () => {
    const expired = new UscError('USC_ERR_TASK_TRANSACTION_EXPIRED', 'open 12000 ms', {
      retriable: true,
      cause: librdkafkaError(-144, 'Local: This instance has been fenced', { isFatal: true }),
    });
    expect(classifyKafkaError(expired)).toBe('retriable');
    expect(classifyKafkaError(wrapped(expired))).toBe('retriable');
  });

  it.each([
    ['ILLEGAL_GENERATION', C.ERR_ILLEGAL_GENERATION],
    ['UNKNOWN_MEMBER_ID', C.ERR_UNKNOWN_MEMBER_ID],
    ['REBALANCE_IN_PROGRESS', C.ERR_REBALANCE_IN_PROGRESS],
    ['FENCED_INSTANCE_ID', C.ERR_FENCED_INSTANCE_ID],
    ['ERR__ASSIGNMENT_LOST', C.ERR__ASSIGNMENT_LOST],
  ])('%s -> rebalance', (_what, code) => {
    expect(classifyKafkaError(librdkafkaError(code, 'group changed'))).toBe('rebalance');
    expect(classifyKafkaError(wrapped(librdkafkaError(code, 'group changed')))).toBe('rebalance');
  });

  it.each([
    ['TOPIC_AUTHORIZATION_FAILED', 29],
    ['GROUP_AUTHORIZATION_FAILED', 30],
    ['CLUSTER_AUTHORIZATION_FAILED', 31],
    ['TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 53],
    ['SASL_AUTHENTICATION_FAILED', 58],
    ['ERR__AUTHENTICATION', -169],
    ['INVALID_CONFIG', 40],
    ['MSG_SIZE_TOO_LARGE', 10],
    ['RECORD_LIST_TOO_LARGE', 18],
    ['INVALID_RECORD', 87],
    ['ERR__INVALID_ARG', -186],
  ])('%s (%i) -> fatal, and definitely so', (_what, code) => {
    const err = librdkafkaError(code, 'refused');
    expect(classifyKafkaError(err)).toBe('fatal');
    expect(isDefinitelyFatal(err)).toBe(true);
    // Wrapped, and even inside an error the client itself marks retriable, it stays fatal.
    const outer = Object.assign(wrapped(err), { isRetriable: true });
    expect(classifyKafkaError(outer)).toBe('fatal');
    expect(isDefinitelyFatal(outer)).toBe(true);
  });

  it('classifies the KafkaJS-compatible SASL error as definitely fatal', () => {
    const err = kafkaJsError('KafkaJSSASLAuthenticationError', -169, 'ERR__AUTHENTICATION');
    expect(classifyKafkaError(err)).toBe('fatal');
    expect(isDefinitelyFatal(err)).toBe(true);
  });

  it.each([
    ['broker transport failure', C.ERR__TRANSPORT],
    ['timed out', C.ERR__TIMED_OUT],
    ['all brokers down', C.ERR__ALL_BROKERS_DOWN],
    ['message timed out', C.ERR__MSG_TIMED_OUT],
    ['address not resolved', C.ERR__RESOLVE],
    ['coordinator loading', C.ERR_COORDINATOR_LOAD_IN_PROGRESS],
    ['coordinator not available', C.ERR_COORDINATOR_NOT_AVAILABLE],
    ['not coordinator', C.ERR_NOT_COORDINATOR],
    ['concurrent transactions', C.ERR_CONCURRENT_TRANSACTIONS],
    ['unstable offset commit', C.ERR_UNSTABLE_OFFSET_COMMIT],
    ['not leader', C.ERR_NOT_LEADER_FOR_PARTITION],
    ['leader not available', C.ERR_LEADER_NOT_AVAILABLE],
    ['request timed out', C.ERR_REQUEST_TIMED_OUT],
    ['a topic-partition the broker does not host yet', C.ERR_UNKNOWN_TOPIC_OR_PART],
  ])('%s -> retriable', (_what, code) => {
    // The client does not flag all of these retriable itself (isRetriable is often absent): the code decides.
    const err = librdkafkaError(code, 'transient');
    expect(classifyKafkaError(err)).toBe('retriable');
    expect(classifyKafkaError(wrapped(err))).toBe('retriable');
    expect(isDefinitelyFatal(err)).toBe(false);
  });

  it('trusts the retriable flags of both error shapes and of our own UscError', () => {
    expect(classifyKafkaError(librdkafkaError(-1, 'something', { isRetriable: true }))).toBe('retriable');
    expect(classifyKafkaError(librdkafkaError(-1, 'txn', { isTxnRequiresAbort: true }))).toBe('retriable');
    expect(classifyKafkaError(kafkaJsError('KafkaJSError', -1, 'ERR_UNKNOWN', { retriable: true }))).toBe(
      'retriable',
    );
    expect(
      classifyKafkaError(new UscError('USC_ERR_KAFKA_TOPIC_MISMATCH', 'not yet', { retriable: true })),
    ).toBe('retriable');
    expect(classifyKafkaError(new UscError('USC_ERR_STATE_DIR_LOCKED', 'locked'))).toBe('fatal');
  });

  it('calls what the client marks fatal, and anything unknown, fatal (but not definitely fatal)', () => {
    const producerFatal = librdkafkaError(C.ERR__FATAL, 'Local: Fatal error', { isFatal: true });
    expect(classifyKafkaError(producerFatal)).toBe('fatal');
    expect(isDefinitelyFatal(producerFatal)).toBe(false);
    const unknown = new TypeError('x is undefined');
    expect(classifyKafkaError(unknown)).toBe('fatal');
    expect(isDefinitelyFatal(unknown)).toBe(false);
    expect(classifyKafkaError(librdkafkaError(C.ERR__STATE, 'Local: Erroneous state'))).toBe('fatal');
    expect(classifyKafkaError(undefined)).toBe('fatal');
    expect(classifyKafkaError('a string')).toBe('fatal');
  });

  it('prefers fenced over rebalance over fatal anywhere in the cause chain', () => {
    const fencedDeep = wrapped(librdkafkaError(C.ERR_TOPIC_AUTHORIZATION_FAILED, 'denied', {}));
    (fencedDeep.cause as Error).cause = librdkafkaError(C.ERR_PRODUCER_FENCED, 'fenced');
    expect(classifyKafkaError(fencedDeep)).toBe('fenced');
    const rebalanceOverFatal = Object.assign(librdkafkaError(C.ERR_INVALID_CONFIG, 'bad'), {
      cause: librdkafkaError(C.ERR_ILLEGAL_GENERATION, 'generation'),
    });
    expect(classifyKafkaError(rebalanceOverFatal)).toBe('rebalance');
  });

  it('walks aggregate errors and survives cyclic causes', () => {
    const aggregate = new AggregateError(
      [librdkafkaError(C.ERR_NOT_COORDINATOR, 'not coordinator')],
      'Topic creation errors',
    );
    expect(classifyKafkaError(aggregate)).toBe('retriable');
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(classifyKafkaError(a)).toBe('fatal');
    expect(isDefinitelyFatal(a)).toBe(false);
    expect(isKafkaUnreachable(a)).toBe(false);
  });

  it("recognises librdkafka's error events, which carry no code and a lowercased description", () => {
    // LibrdKafkaError.create(eventData) of an `event.error`: code -1, message "broker transport failure".
    expect(classifyKafkaError(librdkafkaError(-1, 'all broker connections are down'))).toBe('retriable');
    expect(isDefinitelyFatal(librdkafkaError(-1, 'authentication failure'))).toBe(true);
  });
});

describe('isKafkaUnreachable', () => {
  it('is true when no broker could be reached', () => {
    expect(isKafkaUnreachable(librdkafkaError(C.ERR__TRANSPORT, 'Local: Broker transport failure'))).toBe(
      true,
    );
    expect(isKafkaUnreachable(librdkafkaError(C.ERR__ALL_BROKERS_DOWN, 'Local: All brokers down'))).toBe(
      true,
    );
    expect(isKafkaUnreachable(librdkafkaError(C.ERR__RESOLVE, 'Local: Host resolution failure'))).toBe(true);
    expect(isKafkaUnreachable(wrapped(librdkafkaError(-1, 'broker transport failure')))).toBe(true);
    expect(
      isKafkaUnreachable(kafkaJsError('KafkaJSConnectionError', C.ERR__TRANSPORT, 'ERR__TRANSPORT')),
    ).toBe(true);
  });

  it('is false for a broker that answered, even when the answer wraps a transport error', () => {
    expect(isKafkaUnreachable(librdkafkaError(C.ERR_REQUEST_TIMED_OUT, 'Broker: Request timed out'))).toBe(
      false,
    );
    expect(isKafkaUnreachable(librdkafkaError(C.ERR_TOPIC_AUTHORIZATION_FAILED, 'denied'))).toBe(false);
    const authOverTransport = Object.assign(librdkafkaError(C.ERR__AUTHENTICATION, 'SASL failed'), {
      cause: librdkafkaError(C.ERR__TRANSPORT, 'transport'),
    });
    expect(isKafkaUnreachable(authOverTransport)).toBe(false);
    expect(isKafkaUnreachable(new Error('ENOENT: no such file'))).toBe(false);
  });
});

describe('ConnectionProblems', () => {
  const timedOut = () => librdkafkaError(C.ERR__TIMED_OUT, 'Local: Timed out');

  it('reports a first request that failed for want of a broker as a transport failure with its reason', () => {
    const problems = new ConnectionProblems();
    problems.noteLog({
      severity: 3,
      fac: 'FAIL',
      message: '127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: Connection refused (after 0ms)',
    });
    problems.noteError(librdkafkaError(-1, 'all broker connections are down'));
    const err = problems.explain(timedOut()) as Error & { code: number; cause: unknown };
    expect(err.code).toBe(C.ERR__TRANSPORT);
    expect(err.message).toBe(
      'Local: Broker transport failure: 127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: Connection refused (after 0ms)',
    );
    expect(classifyKafkaError(err)).toBe('retriable');
    expect(isKafkaUnreachable(err)).toBe(true);
    expect((err.cause as Error).message).toBe('Local: Timed out');
  });

  it('reports a refused login as an authentication failure: fatal, and not "unreachable"', () => {
    const problems = new ConnectionProblems();
    problems.noteLog({
      severity: 3,
      fac: 'FAIL',
      message:
        'sasl_plaintext://127.0.0.1:9/bootstrap: SASL authentication error: Authentication failed: Invalid username or password',
    });
    const err = problems.explain(librdkafkaError(C.ERR__TRANSPORT, 'Local: Broker transport failure'));
    expect(String(err)).toMatch(/Authentication failure: .*Invalid username or password/);
    expect((err as { code: number }).code).toBe(C.ERR__AUTHENTICATION);
    expect(classifyKafkaError(err)).toBe('fatal');
    expect(isDefinitelyFatal(err)).toBe(true);
    expect(isKafkaUnreachable(err)).toBe(false);
  });

  it('reports a failed TLS handshake as an SSL error', () => {
    const problems = new ConnectionProblems();
    problems.noteLog({
      severity: 3,
      fac: 'FAIL',
      message: 'ssl://127.0.0.1:9/bootstrap: SSL handshake failed: certificate verify failed',
    });
    const err = problems.explain(timedOut()) as { code: number; message: string };
    expect(err.code).toBe(C.ERR__SSL);
    expect(err.message).toContain('certificate verify failed');
  });

  it('returns other errors unchanged, and ignores informational log lines', () => {
    const problems = new ConnectionProblems();
    problems.noteLog({
      severity: 6,
      fac: 'FAIL',
      message: 'Connect to ipv4#127.0.0.1:1 failed: Connection refused',
    });
    const timeout = timedOut();
    expect(problems.explain(timeout)).toBe(timeout); // nothing seen: a plain timeout stays one
    const denied = librdkafkaError(C.ERR_TOPIC_AUTHORIZATION_FAILED, 'denied');
    problems.noteLog({
      severity: 3,
      fac: 'FAIL',
      message: 'Connect to ipv4#127.0.0.1:1 failed: Connection refused',
    });
    expect(problems.explain(denied)).toBe(denied); // a broker answered: its answer is the error
  });
});

describe('connectOrExplain', () => {
  const refusedLine = {
    severity: 3,
    fac: 'FAIL',
    message: 'sasl_ssl://kafka:9093/bootstrap: SASL authentication error: Authentication failed',
  };

  it('resolves once the connect succeeded, and leaves the client open', async () => {
    const problems = new ConnectionProblems();
    let closed = false;
    await connectOrExplain(problems, Promise.resolve({}), async () => (closed = true));
    expect(closed).toBe(false);
  });

  it('rejects with the explained failure of the connect', async () => {
    const problems = new ConnectionProblems();
    problems.noteLog({
      severity: 3,
      fac: 'FAIL',
      message: 'Connect to ipv4#10.0.0.9:9092 failed: Connection refused',
    });
    const err = await connectOrExplain(
      problems,
      Promise.reject(librdkafkaError(C.ERR__TRANSPORT, 'Local: Broker transport failure')),
      async () => undefined,
    ).catch((e: unknown) => e);
    expect(isKafkaUnreachable(err)).toBe(true);
    expect(String((err as Error).message)).toContain('10.0.0.9:9092 failed: Connection refused');
  });

  it('gives up at once on a refused login and closes the client when its pending connect still succeeds', async () => {
    const problems = new ConnectionProblems();
    let finishConnect!: () => void;
    const connect = new Promise<void>((resolve) => (finishConnect = resolve));
    let closed!: () => void;
    const closedOnce = new Promise<void>((resolve) => (closed = resolve));
    const result = connectOrExplain(problems, connect, async () => closed());
    problems.noteLog(refusedLine);
    const err = await result.catch((e: unknown) => e);
    expect((err as { code: number }).code).toBe(C.ERR__AUTHENTICATION);
    expect(isDefinitelyFatal(err)).toBe(true);
    finishConnect();
    await closedOnce; // the client is closed once the request that was under way has ended
  });

  it('does not close a client whose pending connect failed (it closed itself)', async () => {
    const problems = new ConnectionProblems();
    let failConnect!: (err: unknown) => void;
    const connect = new Promise<void>((_, reject) => (failConnect = reject));
    let closes = 0;
    const result = connectOrExplain(problems, connect, async () => closes++);
    problems.noteError(librdkafkaError(-1, 'authentication failure'));
    await expect(result).rejects.toMatchObject({ code: C.ERR__AUTHENTICATION });
    failConnect(librdkafkaError(C.ERR__TIMED_OUT, 'Local: Timed out'));
    await connect.catch(() => undefined);
    await Promise.resolve();
    expect(closes).toBe(0);
  });
});
