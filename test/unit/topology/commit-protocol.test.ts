/**
 * The commit protocol's ordering (topology/internal/runtime/commit-protocol.ts): prepare all, send once, complete
 * all; a failed send aborts every participant; completion runs for every participant even when one fails, and the
 * first failure is reported.
 */
import { describe, expect, it } from 'vitest';
import {
  commitAll,
  type CommitParticipant,
  type PreparedCommit,
} from '../../../topology/internal/runtime/commit-protocol.js';

function participant(name: string, log: string[], fail?: 'complete'): CommitParticipant {
  return {
    prepareCommit: async (): Promise<PreparedCommit> => {
      log.push(`prepare ${name}`);
      return { records: [], offsets: [{ topic: 't', partition: 0, offset: name }] };
    },
    completeCommit: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      log.push(`complete ${name}`);
      if (fail === 'complete') throw new Error(`disk full in ${name}`);
    },
    abortCommit: () => void log.push(`abort ${name}`),
  };
}

describe('commitAll', () => {
  it('prepares every participant, sends once, then completes every one', async () => {
    const log: string[] = [];
    const sent: string[][] = [];
    await commitAll(
      [participant('a', log), participant('b', log)],
      async (_records, offsets) => {
        sent.push(offsets.map((o) => o.offset));
        return new Map();
      },
      0,
    );
    expect(sent).toEqual([['a', 'b']]);
    expect(log.slice(0, 2)).toEqual(['prepare a', 'prepare b']);
    expect(log.slice(2).sort()).toEqual(['complete a', 'complete b']);
  });

  it('aborts every participant when the send fails', async () => {
    const log: string[] = [];
    await expect(
      commitAll([participant('a', log), participant('b', log)], () => Promise.reject(new Error('fenced')), 0),
    ).rejects.toThrow('fenced');
    expect(log).toEqual(['prepare a', 'prepare b', 'abort a', 'abort b']);
  });

  it('completes the other participants when one fails to, and reports that failure', async () => {
    const log: string[] = [];
    await expect(
      commitAll(
        [participant('a', log, 'complete'), participant('b', log), participant('c', log)],
        async () => new Map(),
        0,
      ),
    ).rejects.toThrow('disk full in a');
    expect(log.filter((l) => l.startsWith('complete')).sort()).toEqual([
      'complete a',
      'complete b',
      'complete c',
    ]);
  });
});
