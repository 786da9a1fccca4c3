/** `dlq replay`'s choices that need no broker: the key a record is re-published with, and why one is skipped. */
import { describe, expect, it } from 'vitest';
import { noPayloadReason, replayKey } from '../../../cli/dlq-replay.js';

describe('dlq replay', () => {
  it('re-publishes with the kept original key, else the payload ucmCaseId (UCMv2 keys by it), else none', () => {
    expect(replayKey({ originalKey: 'U1', payload: { payload: { ucmCaseId: 'U2' } } })).toBe('U1');
    expect(replayKey({ originalKey: null, payload: { payload: { ucmCaseId: 'U2' } } })).toBe('U2');
    expect(replayKey({ originalKey: null, payload: { payload: { ucmCaseId: 'not an id' } } })).toBeNull();
    expect(replayKey({ originalKey: null, payload: { eventId: 'e1' } })).toBeNull();
    expect(replayKey({ payload: 'old text payload' })).toBeNull();
  });

  it('says why a dead letter without a payload cannot be replayed', () => {
    expect(noPayloadReason('INVALID_JSON')).toContain('INVALID_JSON dead letters carry none');
    expect(noPayloadReason('LIMIT_EXCEEDED')).toContain('the producer must send a corrected event');
    expect(noPayloadReason('UNKNOWN_STATUS')).toBe(
      'no payload stored (DLQ_INCLUDE_PAYLOAD=false when it was dead-lettered)',
    );
  });
});
