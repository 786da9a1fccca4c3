/**
 * The error codes kafka/errors.ts classifies by are the ones the Kafka client defines: every named code checked
 * against the loaded client's `CODES.ERRORS` (librdkafka's own table), and the KafkaJS-compatible API's real error
 * classes classified like the plain objects of test/unit/kafka/errors.test.ts. Here, not in the unit tests: loading
 * the native client needs the Node version it was built for.
 */
import { describe, expect, it } from 'vitest';
import {
  KAFKA_ERROR_CODES,
  classifyKafkaError,
  isDefinitelyFatal,
  isKafkaUnreachable,
} from '../../kafka/errors.js';
import { rdkafka } from '../../kafka/native.js';

describe('Kafka error codes', () => {
  it("names every code as the client's librdkafka numbers it", () => {
    const codes = rdkafka().CODES.ERRORS as Record<string, number>;
    for (const [name, code] of Object.entries(KAFKA_ERROR_CODES)) expect(codes[name], name).toBe(code);
  });

  it("classifies the KafkaJS-compatible API's own error classes", () => {
    // Their declarations omit the constructor's properties argument and some classes.
    type ErrorClass = new (message: string, properties: { code: number }) => Error;
    const KafkaJS = rdkafka().KafkaJS as unknown as Record<string, ErrorClass>;
    const E = KAFKA_ERROR_CODES;
    const error = (code: number) => new KafkaJS.KafkaJSError!('x', { code });
    expect(classifyKafkaError(error(E.ERR_PRODUCER_FENCED))).toBe('fenced');
    expect(classifyKafkaError(error(E.ERR_REBALANCE_IN_PROGRESS))).toBe('rebalance');
    expect(classifyKafkaError(error(E.ERR_NOT_COORDINATOR))).toBe('retriable');
    const sasl = new KafkaJS.KafkaJSSASLAuthenticationError!('denied', { code: E.ERR__AUTHENTICATION });
    expect(classifyKafkaError(sasl)).toBe('fatal');
    expect(isDefinitelyFatal(sasl)).toBe(true);
    const noBroker = new KafkaJS.KafkaJSNoBrokerAvailableError!('down', { code: E.ERR__ALL_BROKERS_DOWN });
    expect(classifyKafkaError(noBroker)).toBe('retriable');
    expect(isKafkaUnreachable(noBroker)).toBe(true);
  });
});
