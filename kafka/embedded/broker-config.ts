/**
 * server.properties and logging config of the single-node KRaft broker (combined broker + controller), tuned for
 * local work: replication 1 everywhere, no initial rebalance delay, small internal topics, topics created by
 * the application (auto-create off, as in production).
 */

export interface BrokerSettings {
  readonly host: string;
  readonly port: number;
  readonly controllerPort: number;
  readonly logDir: string;
  /** Extra or overriding broker properties. */
  readonly extra?: Readonly<Record<string, string>>;
}

/** The broker properties as a map (tests and docs read it; {@link renderProperties} writes it). */
export function brokerProperties(s: BrokerSettings): Record<string, string> {
  return {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@${s.host}:${s.controllerPort}`,
    listeners: `PLAINTEXT://${s.host}:${s.port},CONTROLLER://${s.host}:${s.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${s.host}:${s.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': s.logDir,
    'num.partitions': '1',
    'auto.create.topics.enable': 'false',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '10',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'transaction.state.log.num.partitions': '10',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    'min.insync.replicas': '1',
    'default.replication.factor': '1',
    'group.initial.rebalance.delay.ms': '0',
    // Compaction visible within seconds in tests and demos (production clusters keep their own defaults).
    'log.cleaner.backoff.ms': '1000',
    // After a crash the controller still holds the previous incarnation's registration, so the restarted broker
    // cannot register until that session expires. Meanwhile its coordinators may load on the stale leadership, then
    // every partition goes leaderless when the old incarnation is fenced, and a transaction ended in that window
    // loses its markers (ADR 0011). A 4 s session (Kafka's default is 9 s) ends the window ~4-6 s after the
    // restart, well before the coordinator's first abort of timed-out transactions (10 s after it loads).
    'broker.session.timeout.ms': '4000',
    'broker.heartbeat.interval.ms': '1000',
    ...s.extra,
  };
}

/**
 * Feature levels the storage is formatted with (first start of a data directory; `features` of the launcher
 * overrides them). Eligible leader replicas (KIP-966, on by default since Kafka 4.1) are off: they keep a replica
 * that may have lost unflushed writes out of leadership while a better one might exist, but a single broker is the
 * only copy. With them on, a broker restarted after a crash leaves every partition leaderless until an unclean
 * recovery, which widens the window in which transactions lose their markers (ADR 0011).
 */
export const DEFAULT_FEATURES: Readonly<Record<string, number>> = {
  'eligible.leader.replicas.version': 0,
};

export function renderProperties(props: Readonly<Record<string, string>>): string {
  return (
    Object.entries(props)
      .map(([k, v]) => `${k}=${v.replace(/\\/g, '\\\\')}`)
      .join('\n') + '\n'
  );
}

/** log4j2 (properties format): broker logs to its stdout, which the launcher redirects to a file. */
export const LOG4J2_PROPERTIES = [
  'status = warn',
  'appender.console.type = Console',
  'appender.console.name = STDOUT',
  'appender.console.layout.type = PatternLayout',
  'appender.console.layout.pattern = [%d] %p %m (%c)%n',
  'rootLogger.level = INFO',
  'rootLogger.appenderRef.stdout.ref = STDOUT',
  'logger.kafka.name = kafka',
  'logger.kafka.level = INFO',
  'logger.state.name = state.change.logger',
  'logger.state.level = WARN',
  '',
].join('\n');
