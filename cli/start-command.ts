/**
 * `urp-case-sync start`: runs one instance. Without KAFKA_BROKERS it first starts the embedded Apache Kafka
 * broker. Stops gracefully on SIGINT/SIGTERM: the API stops accepting, tasks commit and leave the group, the
 * embedded broker (if any) shuts down. The stop is bounded ({@link ShutdownGuard}): past SHUTDOWN_TIMEOUT_MS the
 * process exits with code 1 whatever is still closing; a second signal exits at once (130 for SIGINT, 143 for
 * SIGTERM). An instance that fails stops the same bounded way and exits with code 1.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { createKafka } from '../kafka/index.js';
import type { EmbeddedKafka } from '../kafka/embedded/index.js';
import type { Logger } from '../topology/processor.js';
import type { ServiceConfig } from './config.js';
import { startDemoFeed, type DemoFeed } from './demo-feed.js';
import { startEmbeddedKafka } from './kafka-command.js';
import { startService, type RunningService, type StartupRetryOptions } from './service.js';

/** The process as the start command sees it: signals in, exit out. main.ts binds it to `process`. */
export interface ProcessControl {
  /** Calls `listener` on every SIGINT and SIGTERM from now on. */
  onSignal(listener: (signal: NodeJS.Signals) => void): void;
  /** Flushes the logs and ends the process with `code`. In production it never resolves. */
  exit(code: number): Promise<void>;
}

/** Why the instance is stopping. */
export type StopReason =
  { readonly kind: 'signal'; readonly signal: NodeJS.Signals } | { readonly kind: 'failed' };

/** Exit code of a process ended by `signal` (128 + signal number): 130 for SIGINT, 143 for SIGTERM. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 1;
}

/**
 * Bounds the shutdown of `start`. The first SIGINT/SIGTERM (or a failed instance, {@link begin}) starts a graceful
 * stop that must end within `timeoutMs`: when the time is up the process exits with code 1, logging the step
 * that was abandoned (uncommitted work is discarded, committed state is safe). Any signal after the first exits
 * at once with 130 (SIGINT) or 143 (SIGTERM). The owner reports its progress with {@link step}.
 */
export class ShutdownGuard {
  private reasonValue: StopReason | undefined;
  private signals = 0;
  private stepValue = 'starting';
  private timer: NodeJS.Timeout | undefined;
  private resolveRequested!: (reason: StopReason) => void;
  private readonly controller = new AbortController();
  /** Resolves with the reason once a stop has begun. */
  readonly requested: Promise<StopReason> = new Promise((resolve) => (this.resolveRequested = resolve));

  constructor(
    private readonly deps: {
      readonly timeoutMs: number;
      readonly logger: Logger;
      readonly control: ProcessControl;
      /** What the instance is doing (streams state, tasks), added to the timeout log line. */
      readonly describe?: () => Record<string, unknown>;
    },
  ) {
    deps.control.onSignal((signal) => this.onSignal(signal));
  }

  /** Aborted once a stop has begun: startup stops retrying. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Why the stop began; undefined while none has. */
  reason(): StopReason | undefined {
    return this.reasonValue;
  }

  /** Records what the shutdown (or startup) is doing now, for the timeout log line. */
  step(name: string): void {
    this.stepValue = name;
  }

  /** Starts the bounded stop (idempotent: only the first reason counts). */
  begin(reason: StopReason): void {
    if (this.reasonValue) return;
    this.reasonValue = reason;
    const { timeoutMs, logger, describe } = this.deps;
    logger.info(
      {
        reason: reason.kind === 'signal' ? reason.signal : 'failed',
        timeoutMs,
        during: this.stepValue,
        ...describe?.(),
      },
      `shutting down gracefully; the process exits within ${timeoutMs} ms (SHUTDOWN_TIMEOUT_MS) whatever is left`,
    );
    // Not unref'd: a close that awaits something that never settles must still end in the timed-out exit (1),
    // not in Node exiting with 0 on an empty event loop.
    this.timer = setTimeout(() => void this.timedOut(), timeoutMs);
    this.controller.abort();
    this.resolveRequested(reason);
  }

  private onSignal(signal: NodeJS.Signals): void {
    this.signals++;
    if (this.signals === 1 && !this.reasonValue) {
      this.begin({ kind: 'signal', signal });
      return;
    }
    if (this.signals === 1) {
      this.deps.logger.warn(
        { signal, abandoned: this.stepValue },
        `${signal} received while already shutting down; the shutdown goes on (a second signal exits at once)`,
      );
      return;
    }
    const code = signalExitCode(signal);
    this.deps.logger.warn(
      { signal, code, abandoned: this.stepValue },
      `second ${signal}: exiting at once with code ${code} while ${this.stepValue}; uncommitted work is discarded, committed state is safe`,
    );
    void this.deps.control.exit(code);
  }

  private async timedOut(): Promise<void> {
    const { timeoutMs, logger, describe } = this.deps;
    logger.error(
      { timeoutMs, abandoned: this.stepValue, ...describe?.() },
      `shutdown timed out after ${timeoutMs} ms while ${this.stepValue}; exiting with code 1: uncommitted work is discarded, committed state is safe (the next start resumes from the last commit)`,
    );
    await this.deps.control.exit(1);
  }

  /** Stops the timer (the stop finished in time). */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

/** The streams state and a count of active tasks by state (restoring, running...), for log lines. */
function describeService(service: RunningService | undefined): Record<string, unknown> {
  if (!service) return { streamsState: 'not started' };
  const tasks = service.streams.localTasks();
  const activeTasks: Record<string, number> = {};
  for (const t of tasks.active) activeTasks[t.state] = (activeTasks[t.state] ?? 0) + 1;
  return { streamsState: service.streams.state, activeTasks, standbyTasks: tasks.standby.length };
}

/**
 * `start --demo`: once the first cases are queryable (GET /cases through the instance's own API, so the whole
 * path is exercised), prints a few case ids with ready-to-open URLs. Polls every 500 ms until the stop begins.
 */
async function announceDemoCases(
  service: RunningService,
  out: (line: string) => void,
  stop: AbortSignal,
  apiToken: string | undefined,
): Promise<void> {
  const headers = apiToken ? { authorization: `Bearer ${apiToken}` } : {};
  while (!stop.aborted) {
    const res = await service.api
      .inject({ method: 'GET', url: '/cases?limit=5', headers })
      .catch(() => undefined);
    const items = res?.statusCode === 200 ? (res.json() as { items: { urpCaseId: string }[] }).items : [];
    if (items.length >= 3 && !stop.aborted) {
      out(
        `  cases:    the first cases are queryable${apiToken ? ' (with Authorization: Bearer <API_TOKEN>)' : ''}:`,
      );
      for (const c of items) out(`              ${service.url}/cases/${encodeURIComponent(c.urpCaseId)}`);
      out(`            list them all: ${service.url}/cases?limit=20`);
      return;
    }
    await delay(500, undefined, { signal: stop }).catch(() => undefined);
  }
}

/**
 * Runs the service until a signal or a failure, then stops it within `config.shutdownTimeoutMs`. Resolves with the
 * exit code (0 after a signal, 1 after a failure); the caller ends the process with it ({@link ProcessControl.exit})
 * so no lingering handle keeps a stopped instance alive. Throws a startup failure (after retries of transient
 * Kafka errors); exits the process itself on a timed-out shutdown or a second signal.
 */
export async function runStartCommand(
  config: ServiceConfig,
  logger: Logger,
  out: (line: string) => void,
  control: ProcessControl,
  opts: { demo: boolean; startupRetry?: StartupRetryOptions },
): Promise<number> {
  const settings = config.caseSync;
  let service: RunningService | undefined;
  const shutdown = new ShutdownGuard({
    timeoutMs: config.shutdownTimeoutMs,
    logger,
    control,
    describe: () => describeService(service),
  });
  let broker: EmbeddedKafka | undefined;
  let demo: DemoFeed | undefined;
  try {
    let brokers = config.kafkaBrokers;
    if (!brokers) {
      out('KAFKA_BROKERS is not set: starting the embedded Apache Kafka broker...');
      shutdown.step('starting the embedded broker');
      broker = await startEmbeddedKafka(config.embedded, logger);
      brokers = [broker.bootstrap];
      out(`Kafka broker ready at ${broker.bootstrap} (data: ${broker.dataDir})`);
    }
    if (!shutdown.reason()) {
      shutdown.step('starting the instance (creating topics, joining the group)');
      try {
        service = await startService(config, brokers, logger, {
          retry: { ...opts.startupRetry, signal: shutdown.signal },
        });
      } catch (err) {
        if (shutdown.reason()?.kind !== 'signal') throw err;
        logger.warn({ err: String(err) }, 'startup interrupted by the shutdown');
      }
    }
    if (service && !shutdown.reason()) {
      shutdown.step('running');
      out(`urp-case-sync ${config.streams.instanceId} is running`);
      out(
        `  API:      ${service.url}/cases/<urpCaseId>   (docs ${service.url}/docs, OpenAPI ${service.url}/openapi.json)`,
      );
      out(`  console:  ${service.url}/console   topology: ${service.url}/topology/view`);
      out(`  health:   ${service.url}/readyz   metrics: ${service.url}/metrics`);
      out(
        `  topics:   in ${settings.inputTopic} -> out ${settings.outputTopic} (dead letters ${settings.dlqTopic}) on ${brokers.join(',')}`,
      );
      if (opts.demo) {
        demo = await startDemoFeed(
          createKafka({ ...config.kafka, brokers }, logger),
          settings.inputTopic,
          logger,
          {
            eventsPerSecond: 20,
            cases: 500,
          },
        );
        out(
          `  demo:     feeding generated UCM events; try ${service.url}/instances and the case ids in ${settings.outputTopic}`,
        );
        void announceDemoCases(service, out, shutdown.signal, config.apiToken);
        void demo.done.then(({ events, cases }) => {
          if (!shutdown.reason()) out(`  demo feed done: ${events} events for ${cases} cases`);
        });
      }
      const failed = () => shutdown.begin({ kind: 'failed' });
      service.streams.onStateChange((state) => {
        if (state === 'error') failed();
      });
      if (service.streams.state === 'error') failed();
    }
    const reason = await shutdown.requested;
    out(reason.kind === 'failed' ? 'the instance failed; shutting down' : `${reason.signal}: shutting down`);
    if (demo) {
      shutdown.step('stopping the demo feed');
      await demo.stop().catch(() => {});
    }
    await service?.close((step) => shutdown.step(step));
    return reason.kind === 'failed' ? 1 : 0;
  } finally {
    if (broker) {
      shutdown.step('stopping the embedded broker');
      await broker.stop();
    }
    shutdown.dispose();
  }
}
