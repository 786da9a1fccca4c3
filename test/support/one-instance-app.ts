/**
 * One `urp-case-sync start` process on the test broker with its own application id and topics, running and ready,
 * and a collector of its output and dead-letter topics: the set-up of the integration tests that feed a single
 * instance. Each part's cleanup is pushed onto `cleanups` (run them in reverse order).
 */
import { rm } from 'node:fs/promises';
import { caseSyncSettingsOf } from './case-sync-settings.js';
import { CliInstance, instanceEnv } from './cli-instance.js';
import { brokers, testKafka, TopicCollector } from './kafka-test-utils.js';

export async function startOneInstanceApp(
  app: string,
  clientName: string,
  extraEnv: Record<string, string>,
  cleanups: (() => Promise<unknown>)[],
) {
  const kafka = testKafka(clientName, brokers());
  const env = await instanceEnv(app, 'a', brokers(), extraEnv);
  cleanups.push(() => rm(env.STATE_DIR!, { recursive: true, force: true }));
  const settings = caseSyncSettingsOf({
    INPUT_TOPIC: env.INPUT_TOPIC!,
    OUTPUT_TOPIC: env.OUTPUT_TOPIC!,
    DLQ_TOPIC: env.DLQ_TOPIC!,
  });
  const instance = CliInstance.start('a', env);
  cleanups.push(() => instance.kill());
  await instance.running();
  await instance.ready();
  const collector = await new TopicCollector(kafka, [settings.outputTopic, settings.dlqTopic]).start();
  cleanups.push(() => collector.stop());
  return { kafka, env, settings, instance, collector };
}
