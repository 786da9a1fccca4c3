#!/usr/bin/env node
/**
 * The `urp-case-sync` binary. Commands: `start` (the service), `kafka` (the local broker), `describe`,
 * `reset`, `backfill`, `send`, `dlq list`, `dlq show`, `dlq replay`. Exit codes: 0 ok, 1 runtime failure (or rejected
 * input, or a shutdown that exceeded SHUTDOWN_TIMEOUT_MS), 2 invalid config or usage, 130 / 143 a second SIGINT /
 * SIGTERM during shutdown.
 */
import { UscError } from '../common/errors.js';
import { createLogger, type Logger } from '../common/logger.js';
import { isKafkaUnreachable } from '../kafka/errors.js';
import {
  launchEnvironment,
  loadServiceConfig,
  parseFlags,
  rawSettings,
  SETTING_NAMES,
  type ServiceConfig,
} from './config.js';
import type { ProcessControl } from './start-command.js';
// Each command's module (and with it Kafka, fastify, LevelDB...) is imported only when that command runs, so usage
// and configuration errors answer at once.

const USAGE = `usage: urp-case-sync <command> [options] [--setting-name value ...]

commands:
  start [--demo]          run the service (starts an embedded Kafka broker when KAFKA_BROKERS is unset);
                          --demo also feeds generated UCM events so cases appear
  kafka                   run the embedded Apache Kafka broker in the foreground
  describe [--format text|mermaid]
                          print the processor topology (subtopologies, stores, topics)
  reset [--dry-run]       application reset: input offsets to earliest, internal topics deleted, this
                          machine's local state wiped; refused while instances are alive
  backfill --file <export.jsonl> [--rejects-file <out.jsonl>] [--dry-run]
                          publish deterministic UCM events for a JSON Lines export of historical cases
  send (--example [--urp-case-id <id>] | --file <event.json>)
                          publish one UCMv2 event (JSON) to the input topic, keyed by its payload.ucmCaseId;
                          --example sends a valid CASE_CREATED (urpCaseId URP-EXAMPLE-1 by default)
  dlq list [--category <CAT,...>] [--since <ISO>] [--until <ISO>] [--event-id <id>]
           [--urp-case-id <id>] [--ucm-case-id <id>] [--limit <n>] [--cursor <ref>] [--format text|json]
                          list dead letters, newest first: ref, lastFailureAt, category, retryCount,
                          replayEligible, eventId, errorField, message
  dlq show <partition:offset>
                          print one dead letter in full (pretty JSON)
  dlq replay (--all | --event-id <id,...> | --category <CAT,...> | --ref <partition:offset,...>)
             [--force] [--dry-run]
                          re-publish chosen dead-letter records to the input topic after a fix;
                          --dry-run lists what it would re-publish (ref, eventId, key) and what it skips

Every setting (see README) can be given as an env var (HTTP_PORT) or a flag (--http-port).
reset, backfill, send and dlq use KAFKA_BROKERS, or the embedded broker's address when it is unset.
Exit codes: 0 ok, 1 failure or rejected input (start: also a shutdown longer than SHUTDOWN_TIMEOUT_MS),
2 invalid configuration or usage, 130 / 143 a second SIGINT / SIGTERM while start shuts down.`;

/** The flags each command takes besides settings; anything else is a usage error. */
const COMMAND_FLAGS: Readonly<Record<string, readonly string[]>> = {
  start: ['DEMO'],
  kafka: [],
  describe: ['FORMAT'],
  reset: ['DRY_RUN'],
  backfill: ['FILE', 'REJECTS_FILE', 'DRY_RUN'],
  send: ['EXAMPLE', 'FILE', 'URP_CASE_ID'],
  'dlq list': [
    'CATEGORY',
    'SINCE',
    'UNTIL',
    'EVENT_ID',
    'URP_CASE_ID',
    'UCM_CASE_ID',
    'LIMIT',
    'CURSOR',
    'FORMAT',
  ],
  'dlq show': ['REF'],
  'dlq replay': ['ALL', 'EVENT_ID', 'CATEGORY', 'REF', 'FORCE', 'DRY_RUN'],
};

const usage = (message: string) => new UscError('USC_ERR_CLI_USAGE', `${message}\n\n${USAGE}`);
const list = (raw: string | undefined) =>
  raw === undefined
    ? undefined
    : raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
const kebab = (name: string) => `--${name.toLowerCase().replace(/_/g, '-')}`;

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => resolve(signal);
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
}

/**
 * The real process for `start`: SIGINT/SIGTERM listeners (replacing Node's default of dying at once), and an exit
 * that flushes the logger first (pino writes asynchronously) and then ends the process even if a handle lingers.
 */
function processControl(logger: Logger): ProcessControl {
  return {
    onSignal(listener) {
      process.on('SIGINT', listener);
      process.on('SIGTERM', listener);
    },
    async exit(code) {
      const flush = (logger as { flush?: (cb: (err?: Error) => void) => void }).flush;
      if (typeof flush === 'function') {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 2_000); // a blocked stderr must not keep the process alive
          flush.call(logger, () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      process.exit(code);
    },
  };
}

/** The brokers the command talks to (set once known), for the message of an unreachable broker. */
let contactedBrokers: readonly string[] | undefined;
/** How long the command tried before giving up on them (start: its startup retry budget). */
let giveUpAfter = '';
/** LOG_LEVEL once the configuration is loaded: debug (or trace) adds the stack of an unexpected error. */
let logLevel: string | undefined;

/** Connection timeout and retries of the one-shot tools: an unreachable broker is reported in seconds. */
const TOOL_CONNECTION_TIMEOUT_MS = 2_000;
const TOOL_RETRIES = 2;
const TOOL_GIVE_UP_SECONDS = Math.ceil(((TOOL_RETRIES + 1) * TOOL_CONNECTION_TIMEOUT_MS + 1_000) / 1_000);

/** True if `err` (or what it wraps) says no broker could be connected to (refused, timed out, not resolved). */
function isBrokerUnreachable(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 10 && current instanceof Error; depth++) {
    if (current instanceof UscError) return current.code === 'USC_ERR_KAFKA_UNREACHABLE';
    // The Kafka client's errors (librdkafka codes: transport failure, all brokers down, unresolvable address).
    if (isKafkaUnreachable(current)) return true;
    if (
      /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH/i.test(`${current.name} ${current.message}`)
    ) {
      return true;
    }
    current = current.cause;
  }
  return false;
}

/** Every failure as a {@link UscError}: the project's own unchanged, an unreachable broker and anything else coded. */
function asUscError(err: unknown): UscError {
  if (err instanceof UscError) return err;
  if (contactedBrokers && isBrokerUnreachable(err)) {
    return new UscError(
      'USC_ERR_KAFKA_UNREACHABLE',
      `no Kafka broker answered at ${contactedBrokers.join(',')} within ${giveUpAfter}; check KAFKA_BROKERS or start one with npm run kafka`,
      { cause: err },
    );
  }
  return new UscError(
    'USC_ERR_CLI_UNEXPECTED',
    `${err instanceof Error ? err.message : String(err)} (run with LOG_LEVEL=debug for the stack trace)`,
    { cause: err },
  );
}

/**
 * Writes a failure to stderr as one line `urp-case-sync: <code>: <message>` (usage errors: the usage after it; a
 * stack only with LOG_LEVEL=debug) and returns the exit code.
 */
function reportFailure(err: unknown): number {
  const failure = asUscError(err);
  process.stderr.write(`urp-case-sync: ${failure.code}: ${failure.message}\n`);
  const debug = logLevel === 'debug' || logLevel === 'trace';
  const original = failure.cause ?? failure;
  if (debug && original instanceof Error && original.stack) process.stderr.write(`${original.stack}\n`);
  return failure.code === 'USC_ERR_CONFIG_INVALID' || failure.code === 'USC_ERR_CLI_USAGE' ? 2 : 1;
}

/** The brokers of the tools: KAFKA_BROKERS, else the embedded broker `npm start` / `npm run kafka` runs. */
function toolBrokers(config: ServiceConfig, out: (line: string) => void): readonly string[] {
  if (config.kafkaBrokers) return (contactedBrokers = config.kafkaBrokers);
  const address = `127.0.0.1:${config.embedded.port}`;
  out(
    `KAFKA_BROKERS is not set: using the embedded broker at ${address} (started by npm start or npm run kafka)`,
  );
  return (contactedBrokers = [address]);
}

async function main(argv: readonly string[]): Promise<number> {
  const { flags, positionals } = parseFlags(argv);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (positionals.length === 0 || positionals[0] === 'help' || flags.HELP !== undefined) {
    out(USAGE);
    return positionals.length === 0 && flags.HELP === undefined ? 2 : 0;
  }
  const command = positionals[0] === 'dlq' ? `dlq ${positionals[1] ?? ''}`.trim() : positionals[0]!;
  const allowed = COMMAND_FLAGS[command];
  if (!allowed) throw usage(`unknown command ${JSON.stringify(positionals.join(' '))}`);
  // `dlq show <ref>` takes its ref as an argument (or --ref).
  const argumentCount = command === 'dlq show' && flags.REF === undefined ? 1 : 0;
  const extra = positionals.slice(command.split(' ').length + argumentCount);
  if (extra.length > 0) throw usage(`unexpected argument(s) to ${command}: ${extra.join(' ')}`);
  const settingNames: readonly string[] = SETTING_NAMES;
  const unknown = Object.keys(flags).filter((f) => !allowed.includes(f) && !settingNames.includes(f));
  if (unknown.length > 0) throw usage(`unknown option(s) for ${command}: ${unknown.map(kebab).join(', ')}`);

  const loaded = loadServiceConfig(rawSettings(flags));
  logLevel = loaded.logLevel;
  // The one-shot tools give up on an unreachable broker after a few seconds (start retries, see cli/service.ts).
  const config: ServiceConfig =
    command === 'start' || command === 'kafka' || command === 'describe'
      ? loaded
      : {
          ...loaded,
          kafka: { ...loaded.kafka, connectionTimeoutMs: TOOL_CONNECTION_TIMEOUT_MS, retries: TOOL_RETRIES },
        };
  if (command === 'start') {
    contactedBrokers = config.kafkaBrokers;
    giveUpAfter = 'the startup retry budget of 120 s';
  } else giveUpAfter = `${TOOL_GIVE_UP_SECONDS} s`;
  const logger: Logger = createLogger(config.logLevel, { command }, { format: config.logFormat });
  const dryRun = flags.DRY_RUN === 'true';
  // Last resort: a bug that escapes every handler is logged as one structured line and ends the process with exit
  // code 1 (Node would otherwise print a bare stack). Committed state is intact: the next start resumes from it.
  const fatal = (kind: string) => (err: unknown) => {
    logger.error({ err, kind }, 'unexpected error outside every handler; exiting');
    process.exit(1);
  };
  process.on('uncaughtException', fatal('uncaughtException'));
  process.on('unhandledRejection', fatal('unhandledRejection'));
  switch (command) {
    case 'start': {
      // Ended explicitly once stopped: a lingering handle must not keep a stopped (or failed) instance alive.
      const control = processControl(logger);
      const { missingInstanceSettings } = await import('./instance-runtime.js');
      const missing = missingInstanceSettings(process.execArgv, launchEnvironment());
      if (missing.length > 0) {
        logger.info(
          { missing },
          'launched without the recommended memory settings (docs/operations.md, "Memory"): RSS will be higher',
        );
      }
      const code = await (
        await import('./start-command.js')
      )
        .runStartCommand(config, logger, out, control, { demo: flags.DEMO === 'true' })
        .catch(reportFailure);
      await control.exit(code);
      return code;
    }
    case 'kafka':
      return (await import('./kafka-command.js')).runKafkaCommand(config.embedded, logger, out, untilSignal);
    case 'describe': {
      const format = flags.FORMAT ?? 'text';
      if (format !== 'text' && format !== 'mermaid') throw usage('--format must be text or mermaid');
      const { Registry } = await import('prom-client');
      const { createCaseSyncMetrics } = await import('../processors/case-sync-metrics.js');
      const { caseSyncTopology } = await import('../processors/case-sync-topology.js');
      const topology = caseSyncTopology(config.caseSync, {
        metrics: createCaseSyncMetrics(new Registry()),
        applicationId: config.streams.applicationId,
        logger,
      });
      out(format === 'mermaid' ? topology.describeMermaid() : topology.describe());
      return 0;
    }
    case 'reset': {
      const { resetApplication } = await import('./reset-command.js');
      const plan = await resetApplication(config, toolBrokers(config, out), { dryRun, logger });
      out(`${dryRun ? 'reset plan (dry run, nothing changed)' : 'reset done'} for ${plan.applicationId}:`);
      out(
        `  consumer group offsets to earliest on: ${plan.inputTopics.join(', ') || '(no input topics exist)'}`,
      );
      out(`  internal topics deleted: ${plan.internalTopics.join(', ') || '(none)'}`);
      out(`  local state wiped: ${plan.stateDir}`);
      return 0;
    }
    case 'backfill': {
      if (!flags.FILE || flags.FILE === 'true') throw usage('backfill needs --file <export.jsonl>');
      const { runBackfill } = await import('./backfill-command.js');
      const report = await runBackfill(config, dryRun ? undefined : toolBrokers(config, out), {
        file: flags.FILE,
        rejectsFile: flags.REJECTS_FILE,
        dryRun,
        logger,
        out,
      });
      return report.rejected.length > 0 ? 1 : 0;
    }
    case 'send': {
      const file = flags.FILE === 'true' ? undefined : flags.FILE;
      const example = flags.EXAMPLE === 'true';
      if (Boolean(file) === example)
        throw usage('send needs exactly one of --example or --file <event.json>');
      const { runSend } = await import('./send-command.js');
      await runSend(config, toolBrokers(config, out), {
        file,
        example,
        urpCaseId: flags.URP_CASE_ID,
        logger,
        out,
      });
      return 0;
    }
    case 'dlq list': {
      const raw = {
        category: flags.CATEGORY,
        since: flags.SINCE,
        until: flags.UNTIL,
        eventId: flags.EVENT_ID,
        urpCaseId: flags.URP_CASE_ID,
        ucmCaseId: flags.UCM_CASE_ID,
        limit: flags.LIMIT,
        cursor: flags.CURSOR,
      };
      const err = (line: string) => process.stderr.write(`${line}\n`);
      return (await import('./dlq-command.js')).runDlqList(
        { config, brokers: () => toolBrokers(config, err), logger, out, err },
        raw,
        flags.FORMAT,
      );
    }
    case 'dlq show': {
      const err = (line: string) => process.stderr.write(`${line}\n`);
      const ctx = { config, brokers: () => toolBrokers(config, err), logger, out, err };
      return (await import('./dlq-command.js')).runDlqShow(ctx, flags.REF ?? positionals[2]);
    }
    case 'dlq replay': {
      const filter = {
        all: flags.ALL === 'true',
        eventIds: list(flags.EVENT_ID),
        categories: list(flags.CATEGORY),
        refs: list(flags.REF),
        force: flags.FORCE === 'true',
      };
      if (!filter.all && !filter.eventIds && !filter.categories && !filter.refs) {
        throw usage('dlq replay needs a selection: --all, --event-id, --category or --ref');
      }
      const { replayDlq } = await import('./dlq-replay.js');
      const report = await replayDlq(config, toolBrokers(config, out), filter, { dryRun, logger });
      out(
        `dlq replay${dryRun ? ' (dry run, nothing published)' : ''}: scanned ${report.scanned}, matched ${report.matched}, replayed ${report.replayed}, skipped ${report.skipped.length}`,
      );
      for (const s of report.selected) {
        out(
          `  ${dryRun ? 'would replay' : 'replayed'} ${s.ref}: eventId ${s.eventId ?? '-'}, key ${s.key ?? '(none)'}`,
        );
      }
      for (const s of report.skipped) out(`  skipped ${s.ref}: ${s.reason}`);
      return 0;
    }
    default:
      throw usage(`unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = reportFailure(err);
  },
);
