/**
 * `start --demo`: feeds realistic generated UCMv2 events into the input topic at a steady rate so a newcomer sees
 * cases appear (and a few dead letters, duplicates and late status changes) without writing a producer.
 */
import { Publisher, type KafkaClient } from '../kafka/index.js';
import { generateUcmEvents } from '../processors/simulation/ucm-event-generator.js';
import type { Logger } from '../topology/processor.js';

export interface DemoFeed {
  /** Resolves once every generated event is published (never, if stopped first). */
  readonly done: Promise<{ readonly events: number; readonly cases: number }>;
  stop(): Promise<void>;
}

export async function startDemoFeed(
  kafka: KafkaClient,
  topic: string,
  logger: Logger,
  opts: { eventsPerSecond: number; cases: number },
): Promise<DemoFeed> {
  const publisher = await Publisher.open(kafka);
  const records = generateUcmEvents({
    seed: Date.now() % 100_000,
    cases: opts.cases,
    prefix: `DEMO${Date.now().toString(36).toUpperCase()}`,
    duplicateRate: 0.05,
    missingUrpRate: 0.1,
    invalidRate: 0.03,
    secondUcmRate: 0.05,
    shuffleWindow: 4,
    startMs: Date.now() - 3_600_000,
  });
  let next = 0;
  let stopped = false;
  let finished!: (summary: { events: number; cases: number }) => void;
  const done = new Promise<{ events: number; cases: number }>((resolve) => (finished = resolve));
  const perTick = Math.max(1, Math.round(opts.eventsPerSecond / 10));
  const tick = async () => {
    if (stopped || next >= records.length) return;
    const batch = records.slice(next, next + perTick);
    next += batch.length;
    try {
      await publisher.publish(topic, batch);
      if (next >= records.length) finished({ events: records.length, cases: opts.cases });
    } catch (err) {
      logger.warn({ err }, 'demo feed could not publish; retrying on the next tick');
      next -= batch.length;
    }
  };
  const timer = setInterval(() => void tick(), 100);
  logger.info({ topic, events: records.length, eventsPerSecond: opts.eventsPerSecond }, 'demo feed started');
  return {
    done,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await publisher.close();
    },
  };
}
