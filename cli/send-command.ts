/**
 * `urp-case-sync send`: publishes one UCMv2 event to the input topic, keyed by its `payload.ucmCaseId` (the key
 * the topology expects), so a first event needs nothing but the CLI. `--example` sends a CASE_CREATED built here
 * (a fresh eventId, urpCaseId `URP-EXAMPLE-1` unless `--urp-case-id` says otherwise); `--file` sends the JSON
 * object in a file as is (the topology validates it; an invalid one goes to the dead-letter topic).
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { UscError } from '../common/errors.js';
import { createKafka, publishRecords } from '../kafka/index.js';
import type { Logger } from '../topology/processor.js';
import type { ServiceConfig } from './config.js';

/** A valid CASE_CREATED for `urpCaseId` (the UCM case id is derived from it). */
export function exampleCaseCreated(urpCaseId: string, now = new Date()): Record<string, unknown> {
  const time = now.toISOString();
  return {
    eventId: randomUUID(),
    eventType: 'CASE_CREATED',
    eventTime: time,
    source: 'UCMv2',
    payload: {
      ucmCaseId: `UCM-${urpCaseId}`,
      urpCaseId,
      initialStatus: 'OPEN',
      createdAt: time,
    },
  };
}

export interface SendOptions {
  readonly file?: string;
  readonly example: boolean;
  readonly urpCaseId?: string;
  readonly logger: Logger;
  readonly out: (line: string) => void;
}

/** Reads (or builds) the event and publishes it. Throws USC_ERR_CLI_USAGE for a file that is not a JSON event. */
export async function runSend(
  config: ServiceConfig,
  brokers: readonly string[],
  options: SendOptions,
): Promise<void> {
  let event: Record<string, unknown>;
  if (options.file) {
    const text = await readFile(options.file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new UscError(
        'USC_ERR_CLI_USAGE',
        `send --file ${options.file}: cannot read it (${err.code ?? err.message})`,
      );
    });
    try {
      event = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new UscError('USC_ERR_CLI_USAGE', `send --file ${options.file}: not a JSON object`);
    }
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      throw new UscError('USC_ERR_CLI_USAGE', `send --file ${options.file}: not a JSON object`);
    }
  } else {
    event = exampleCaseCreated(options.urpCaseId ?? 'URP-EXAMPLE-1');
  }
  const payload = event.payload as { ucmCaseId?: unknown; urpCaseId?: unknown } | undefined;
  const key = typeof payload?.ucmCaseId === 'string' ? payload.ucmCaseId : null;
  const topic = config.caseSync.inputTopic;
  await publishRecords(createKafka({ ...config.kafka, brokers }, options.logger), topic, [
    { key, value: JSON.stringify(event) },
  ]);
  options.out(
    `sent ${String(event.eventType)} ${String(event.eventId)} to ${topic} (key ${key ?? '(none)'})` +
      (typeof payload?.urpCaseId === 'string' ? `; urpCaseId ${payload.urpCaseId}` : ''),
  );
}
