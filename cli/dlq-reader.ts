/**
 * Reads the dead-letter topic once, to its current end (read_committed), and hands back every record decoded:
 * `{ok: true, ref, partition, offset, record}` for a dead letter, `{ok: false, ..., reason}` for a value that is
 * not one (not JSON, not an object). Shared by `dlq list` / `dlq show` / `dlq replay` and the API's
 * DeadLetterSource. Each read uses a private consumer group prefixed `<applicationId>-dlq-replay` (the prefix the
 * operator ACLs grant) that the reader deletes when done.
 */
import { readRangesToEnd, wholeTopicRanges, type KafkaClient } from '../kafka/index.js';
import type { DeadLetter } from '../processors/domain/dlq-query.js';
import type { DlqRecord } from '../processors/domain/event-contract.js';
import type { Logger } from '../topology/processor.js';

/** A decoded DLQ record: a dead letter, or a value that is not one (reported, never thrown). */
export type DlqEntry =
  | ({ readonly ok: true } & DeadLetter)
  | {
      readonly ok: false;
      readonly ref: string;
      readonly partition: number;
      readonly offset: string;
      readonly reason: string;
    };

export interface DlqReadOptions {
  /** The DLQ topic. */
  readonly topic: string;
  /** Prefix of the private consumer group of each read. */
  readonly groupPrefix: string;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}

/** The group prefix of DLQ reads for an application id (see the README's ACL table). */
export const dlqGroupPrefix = (applicationId: string): string => `${applicationId}-dlq-replay`;

/** Decodes one DLQ value. Never throws. */
export function decodeDlqEntry(partition: number, offset: string, value: Buffer | null): DlqEntry {
  const ref = `${partition}:${offset}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value?.toString('utf8') ?? 'null');
  } catch {
    return { ok: false, ref, partition, offset, reason: 'DLQ record is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, ref, partition, offset, reason: 'DLQ record is not a JSON object' };
  }
  return { ok: true, ref, partition, offset, record: parsed as DlqRecord };
}

/** Every record of the DLQ topic up to its current end, in partition then offset order. Rejects if reading fails. */
export async function readDlqEntries(kafka: KafkaClient, options: DlqReadOptions): Promise<DlqEntry[]> {
  const entries: DlqEntry[] = [];
  await readRangesToEnd(
    kafka,
    await wholeTopicRanges(kafka, options.topic),
    async (range, batch) => {
      for (const record of batch.records)
        entries.push(decodeDlqEntry(range.partition, record.offset, record.value));
    },
    { groupPrefix: options.groupPrefix, logger: options.logger, signal: options.signal },
  );
  return entries.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

/** The dead letters of the DLQ topic (values that are not dead letters are left out). */
export async function readDeadLetters(kafka: KafkaClient, options: DlqReadOptions): Promise<DeadLetter[]> {
  return (await readDlqEntries(kafka, options)).flatMap((e) =>
    e.ok ? [{ ref: e.ref, partition: e.partition, offset: e.offset, record: e.record }] : [],
  );
}

/**
 * The entry at one ref, reading only that offset; undefined when the partition does not exist, the offset is
 * outside what the topic holds, or it is a transaction marker / aborted record.
 */
export async function readDlqEntry(
  kafka: KafkaClient,
  ref: { readonly partition: number; readonly offset: string },
  options: DlqReadOptions,
): Promise<DlqEntry | undefined> {
  const range = (await wholeTopicRanges(kafka, options.topic)).find((r) => r.partition === ref.partition);
  const at = BigInt(ref.offset);
  if (!range || at < BigInt(range.from) || at >= BigInt(range.end)) return undefined;
  let found: DlqEntry | undefined;
  await readRangesToEnd(
    kafka,
    [{ ...range, from: ref.offset, end: (at + 1n).toString() }],
    async (r, batch) => {
      for (const record of batch.records) {
        if (record.offset === ref.offset) found = decodeDlqEntry(r.partition, record.offset, record.value);
      }
    },
    { groupPrefix: options.groupPrefix, logger: options.logger, signal: options.signal },
  );
  return found;
}
