#!/usr/bin/env node
/**
 * The `urp-case-sync` binary. Commands: `start` (the service), `kafka` (the local broker), `describe`,
 * `reset`, `backfill`, `dlq replay`. Exit codes: 0 ok, 1 runtime failure, 2 invalid config or usage.
 */
import { UscError } from '../common/errors.js';
import { createLogger } from '../common/logger.js';
import { loadServiceConfig, parseFlags, rawSettings } from './config.js';
import { runKafkaCommand } from './kafka-command.js';
import { runStartCommand } from './start-command.js';

const USAGE = `usage: urp-case-sync <command> [--setting-name value ...]

commands:
  start [--demo]   run the service (starts an embedded Kafka broker when KAFKA_BROKERS is unset);
                   --demo also feeds generated UCM events so cases appear
  kafka            run the embedded Apache Kafka broker in the foreground

Every setting (see README) can be given as an env var (HTTP_PORT) or a flag (--http-port).`;

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => resolve(signal);
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const { flags, positionals } = parseFlags(argv);
  const command = positionals[0];
  if (command === undefined || command === 'help' || flags.HELP !== undefined) {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  const config = loadServiceConfig(rawSettings(flags));
  const logger = createLogger(config.logLevel, { command });
  const out = (line: string) => process.stdout.write(`${line}\n`);
  switch (command) {
    case 'start':
      return runStartCommand(config, logger, out, untilSignal, { demo: flags.DEMO === 'true' });
    case 'kafka':
      return runKafkaCommand(config.embedded, logger, out, untilSignal);
    default:
      throw new UscError('USC_ERR_CLI_USAGE', `unknown command ${JSON.stringify(command)}\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const code = err instanceof UscError ? err.code : undefined;
    process.stderr.write(`urp-case-sync: ${err instanceof Error ? err.message : String(err)}\n`);
    if (code === undefined && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = code === 'USC_ERR_CONFIG_INVALID' || code === 'USC_ERR_CLI_USAGE' ? 2 : 1;
  },
);
