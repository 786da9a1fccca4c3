/**
 * Explains why a Kafka client's first request failed: {@link ConnectionProblems} remembers what the client reported
 * about its broker connections (error events, log lines), {@link connectOrExplain} runs the first request and turns
 * a bare timeout or transport failure into its real reason. The errors it creates have the shape of the client's
 * own (`LibrdKafkaError`), so ./errors.ts classifies them like any other. Pure, like ./errors.ts: it does not load
 * the native client.
 */
import {
  AUTHENTICATION_TEXT,
  KAFKA_ERROR_CODES,
  UNREACHABLE_CODES,
  UNREACHABLE_TEXT,
  errorChain,
  kafkaCode,
} from './errors.js';

const C = KAFKA_ERROR_CODES;

/** A librdkafka log event (`event.log`). */
export interface LibrdkafkaLogEvent {
  readonly severity?: number;
  readonly fac?: string;
  readonly message?: string;
}

/** The shape of the client's errors that kafka/ creates itself (see {@link ConnectionProblems.explain}). */
export interface KafkaClientError extends Error {
  readonly code: number;
  readonly errno: number;
  readonly origin: 'local';
  readonly isRetriable: boolean;
  readonly isFatal: boolean;
}

function clientError(code: number, message: string, cause: unknown, retriable: boolean): KafkaClientError {
  return Object.assign(new Error(message, { cause }), {
    name: 'LibrdKafkaError',
    code,
    errno: code,
    origin: 'local' as const,
    isRetriable: retriable,
    isFatal: false,
  });
}

/**
 * Remembers why a client's broker connections failed (librdkafka's error events and its `FAIL` / `AUTH` / `SSL`
 * log lines), so that a first request failing with a bare "Local: Timed out" or "Broker transport failure" can be
 * reported with its real reason: an authentication failure (fatal) or an unreachable broker (with the address and
 * the socket error).
 */
export class ConnectionProblems {
  private authFailure: string | undefined;
  private sslFailure: string | undefined;
  private transportFailure: string | undefined;
  private refused: (() => void) | undefined;
  /**
   * Resolves once the broker refused our credentials: librdkafka keeps trying to log in until the request times
   * out, but no retry can succeed, so a connect can give up at once (see {@link connectOrExplain}).
   */
  readonly loginRefused: Promise<void> = new Promise((resolve) => {
    this.refused = resolve;
  });

  private noteAuthFailure(text: string): void {
    this.authFailure ??= text;
    this.refused?.();
  }

  /** Feed every `event.log` event of the client. */
  noteLog(event: LibrdkafkaLogEvent): void {
    const text = event.message ?? '';
    if ((event.severity ?? 7) > 4) return;
    if (/Connect to .* failed|Connection setup timed out|Failed to resolve|Connection refused/i.test(text)) {
      this.transportFailure ??= text;
    } else if (AUTHENTICATION_TEXT.test(text) || /^SASL/i.test(event.fac ?? '')) {
      this.noteAuthFailure(text);
    } else if (/SSL handshake failed|certificate verify failed|SSL (?:error|alert)/i.test(text)) {
      this.sslFailure ??= text;
    }
  }

  /** Feed every `event.error` event of the client. */
  noteError(err: { message?: string }): void {
    const text = err.message ?? '';
    if (AUTHENTICATION_TEXT.test(text)) this.noteAuthFailure(text);
    else if (UNREACHABLE_TEXT.test(text)) this.transportFailure ??= text;
  }

  /**
   * The error to report for `err`, a failed first request: an authentication failure the client saw becomes
   * ERR__AUTHENTICATION (fatal); a request that failed or timed out because no broker answered becomes
   * ERR__TRANSPORT with the connection's own reason; anything else is returned unchanged.
   */
  explain(err: unknown): unknown {
    const code = errorChain(err)
      .map(kafkaCode)
      .find((c) => c !== undefined);
    if (this.authFailure !== undefined) {
      return clientError(
        C.ERR__AUTHENTICATION,
        `Local: Authentication failure: ${this.authFailure}`,
        err,
        false,
      );
    }
    if (code !== undefined && !UNREACHABLE_CODES.has(code) && code !== C.ERR__TIMED_OUT) return err;
    if (this.sslFailure !== undefined) {
      return clientError(C.ERR__SSL, `Local: SSL error: ${this.sslFailure}`, err, false);
    }
    if (this.transportFailure !== undefined || (code !== undefined && UNREACHABLE_CODES.has(code))) {
      const reason = this.transportFailure ?? (err instanceof Error ? err.message : String(err));
      return clientError(C.ERR__TRANSPORT, `Local: Broker transport failure: ${reason}`, err, true);
    }
    return err;
  }
}

/**
 * Runs a client's first request (`connect`, rejecting on failure) and explains its failure with what `problems`
 * saw. A refused login fails at once instead of when the request times out; the pending request is left to end
 * in the background (closing a client under a pending request is not safe), and should it still succeed the client
 * is closed with `disconnect`. A failed connect has closed the client itself.
 */
export async function connectOrExplain(
  problems: ConnectionProblems,
  connect: Promise<unknown>,
  disconnect: () => Promise<unknown>,
): Promise<void> {
  const outcome = await Promise.race([
    connect.then(
      () => ({ ok: true as const }),
      (err: unknown) => ({ ok: false as const, err }),
    ),
    problems.loginRefused.then(() => ({ ok: false as const, refused: true as const })),
  ]);
  if (outcome.ok) return;
  if ('refused' in outcome) {
    // A failed connect closes the client itself; one that still succeeded is closed here.
    void connect.then(disconnect, () => undefined).catch(() => undefined);
    throw problems.explain(
      clientError(KAFKA_ERROR_CODES.ERR__AUTHENTICATION, 'login refused', undefined, false),
    );
  }
  throw problems.explain(outcome.err);
}
