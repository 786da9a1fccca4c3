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
    ...s.extra,
  };
}

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
