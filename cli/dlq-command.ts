/**
 * `urp-case-sync dlq list` and `dlq show`: read the dead-letter topic to its current end and print what failed and
 * why, without writing a Kafka consumer. `list` takes the filters of `GET /dlq` (processors/domain/dlq-query.ts,
 * same rules) and prints one line per dead letter, newest first (or `--format json`: the API's page object);
 * `show` prints one whole record as pretty JSON. Neither changes anything.
 */
import { UscError } from '../common/errors.js';
import { createKafka } from '../kafka/index.js';
import {
  parseDlqQuery,
  parseRef,
  queryDeadLetters,
  type DeadLetter,
  type RawDlqQuery,
} from '../processors/domain/dlq-query.js';
import type { Logger } from '../topology/processor.js';
import type { ServiceConfig } from './config.js';
import { dlqGroupPrefix, readDeadLetters, readDlqEntry } from './dlq-reader.js';

/** Default and largest `--limit` of `dlq list`. */
export const CLI_LIST_DEFAULT = 100;
export const CLI_LIST_MAX = 100_000;

export interface DlqToolContext {
  readonly config: ServiceConfig;
  /** The brokers (called once the arguments are valid: it may print where it connects). */
  readonly brokers: () => readonly string[];
  readonly logger: Logger;
  readonly out: (line: string) => void;
  /** Where `show` says that a ref names no dead letter. */
  readonly err: (line: string) => void;
}

const usage = (message: string) => new UscError('USC_ERR_CLI_USAGE', message);

/**
 * One line of `dlq list`: ref, lastFailureAt, category, retryCount, replayEligible, eventId, errorField and the
 * message (which names the field and the rule, never input).
 */
export function formatDeadLetterLine(letter: DeadLetter): string {
  const r = letter.record;
  return [
    letter.ref,
    r.lastFailureAt,
    r.errorCategory,
    `retry=${r.retryCount}`,
    `replayEligible=${r.replayEligible}`,
    `eventId=${r.eventId ?? '-'}`,
    `field=${r.errorField ?? '-'}`,
    r.errorMessage,
  ].join('  ');
}

/** `dlq list`. Throws a usage error (exit 2) for invalid filters or an unknown cursor. */
export async function runDlqList(
  ctx: DlqToolContext,
  raw: RawDlqQuery,
  format: string | undefined,
): Promise<number> {
  const fmt = format ?? 'text';
  if (fmt !== 'text' && fmt !== 'json') throw usage('--format must be text or json');
  const query = parseDlqQuery(raw, { defaultLimit: CLI_LIST_DEFAULT, maxLimit: CLI_LIST_MAX });
  if (!query.ok) throw usage(`dlq list: ${flagSpelling(query.message)}`);
  const kafka = createKafka({ ...ctx.config.kafka, brokers: ctx.brokers() }, ctx.logger);
  const letters = await readDeadLetters(kafka, {
    topic: ctx.config.caseSync.dlqTopic,
    groupPrefix: dlqGroupPrefix(ctx.config.streams.applicationId),
    logger: ctx.logger,
  });
  const page = queryDeadLetters(letters, query.value);
  if (!page.ok) throw usage(`dlq list: ${flagSpelling(page.message)}`);
  if (fmt === 'json') {
    ctx.out(JSON.stringify({ items: page.value.items, nextCursor: page.value.nextCursor }));
    return 0;
  }
  for (const letter of page.value.items) ctx.out(formatDeadLetterLine(letter));
  ctx.out(
    `# ${page.value.items.length} dead letter(s) shown of ${letters.length} in ${ctx.config.caseSync.dlqTopic}` +
      (page.value.nextCursor ? `; next page: --cursor ${page.value.nextCursor}` : ''),
  );
  return 0;
}

/** `dlq show <ref>`: the whole record as pretty JSON; exit 1 when there is no dead letter at `ref`. */
export async function runDlqShow(ctx: DlqToolContext, rawRef: string | undefined): Promise<number> {
  if (rawRef === undefined || rawRef === 'true')
    throw usage('dlq show needs a ref: dlq show <partition:offset>');
  const ref = parseRef('ref', rawRef);
  if (!ref.ok) throw usage(`dlq show: ${ref.message}`);
  const kafka = createKafka({ ...ctx.config.kafka, brokers: ctx.brokers() }, ctx.logger);
  const entry = await readDlqEntry(kafka, ref.value, {
    topic: ctx.config.caseSync.dlqTopic,
    groupPrefix: dlqGroupPrefix(ctx.config.streams.applicationId),
    logger: ctx.logger,
  });
  if (!entry) {
    ctx.err(
      `urp-case-sync: USC_ERR_API_NOT_FOUND: no dead letter at ${ref.value.ref} in ${ctx.config.caseSync.dlqTopic}`,
    );
    return 1;
  }
  if (!entry.ok) {
    ctx.err(
      `urp-case-sync: USC_ERR_API_NOT_FOUND: the record at ${entry.ref} is not a dead letter: ${entry.reason}`,
    );
    return 1;
  }
  const { ref: at, partition, offset, record } = entry;
  ctx.out(JSON.stringify({ ref: at, partition, offset, record }, null, 2));
  return 0;
}

const FLAG_NAMES: Readonly<Record<string, string>> = {
  category: '--category',
  since: '--since',
  until: '--until',
  eventId: '--event-id',
  urpCaseId: '--urp-case-id',
  ucmCaseId: '--ucm-case-id',
  limit: '--limit',
  cursor: '--cursor',
};

/** A query message with the parameter named as its flag (`eventId must...` -> `--event-id must...`). */
function flagSpelling(message: string): string {
  const m = /^(\w+)( .*)$/s.exec(message);
  return m && FLAG_NAMES[m[1]!] ? `${FLAG_NAMES[m[1]!]}${m[2]}` : message;
}
