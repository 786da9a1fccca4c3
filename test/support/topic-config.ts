/**
 * A topic's configuration as the broker reports it (DescribeConfigs), for tests. The Kafka client of the kafka/
 * port has no DescribeConfigs request, so this asks with the broker's own Java classes: the Kafka distribution the
 * embedded broker runs (resolved by kafka/embedded, cached in .kafka) has no `kafka-configs` tool on its classpath
 * since Kafka 4 moved `ConfigCommand` into the separate kafka-tools artifact, but it has the Java Admin client
 * (kafka-clients). A small Java program run with the JDK's single-file source launcher (`java -cp <broker
 * classpath> DescribeTopicConfig.java <bootstrap> <topic>`) prints every config entry of the topic.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../common/logger.js';
import { resolveBrokerClasspath } from '../../kafka/embedded/classpath.js';
import { javaExecutable, runCommand } from '../../kafka/embedded/prerequisites.js';
import { brokers } from './kafka-test-utils.js';

const JAVA_SOURCE = `
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;

/** Prints every config entry of a topic: name TAB source TAB value, one per line. */
public class DescribeTopicConfig {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
    ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, args[1]);
    try (Admin admin = Admin.create(props)) {
      Map<ConfigResource, Config> configs = admin.describeConfigs(List.of(resource)).all().get();
      for (ConfigEntry e : configs.get(resource).entries()) {
        String value = e.value() == null ? "" : e.value();
        System.out.println("CONFIG\\t" + e.name() + "\\t" + e.source() + "\\t" + value);
      }
    }
  }
}
`;

let program: Promise<{ java: string; classpath: string; source: string }> | undefined;

/** The java executable, the broker's classpath and the program's source file (written once per process). */
function prepare(): Promise<{ java: string; classpath: string; source: string }> {
  program ??= (async () => {
    const { classpath } = await resolveBrokerClasspath({
      cacheDir: process.env.KAFKA_EMBEDDED_DIR ?? path.resolve('.kafka'),
      logger: silentLogger,
    });
    const dir = await mkdtemp(path.join(tmpdir(), 'usc-topic-config-'));
    const source = path.join(dir, 'DescribeTopicConfig.java');
    await writeFile(source, JAVA_SOURCE);
    return { java: javaExecutable(process.env.JAVA_HOME || undefined), classpath, source };
  })();
  return program;
}

/** One config entry of a topic. */
export interface TopicConfigEntry {
  readonly value: string;
  /** Where the value comes from: DYNAMIC_TOPIC_CONFIG (set on the topic), DEFAULT_CONFIG, ... */
  readonly source: string;
}

/** Every config entry of `topic` on the test broker (KAFKA_BROKERS), by name. */
export async function describeTopicConfigEntries(
  topic: string,
  bootstrap: string = brokers().join(','),
): Promise<Map<string, TopicConfigEntry>> {
  const { java, classpath, source } = await prepare();
  const result = await runCommand(java, ['-cp', classpath, source, bootstrap, topic], { timeoutMs: 120_000 });
  if (result.kind === 'missing') throw new Error(`cannot run ${java}`);
  const entries = new Map<string, TopicConfigEntry>();
  for (const line of result.output.split('\n')) {
    const [tag, name, configSource, ...value] = line.split('\t');
    if (tag === 'CONFIG' && name && configSource) {
      entries.set(name, { source: configSource, value: value.join('\t') });
    }
  }
  if (result.code !== 0 || entries.size === 0) {
    throw new Error(`describing the config of topic ${topic} failed:\n${result.output.slice(-3000)}`);
  }
  return entries;
}

/** The current values of the named configs of `topic` (like the removed admin helper `describeTopicConfig`). */
export async function describeTopicConfig(
  topic: string,
  names: readonly string[],
): Promise<Record<string, string>> {
  const entries = await describeTopicConfigEntries(topic);
  const out: Record<string, string> = {};
  for (const name of names) {
    const entry = entries.get(name);
    if (entry) out[name] = entry.value;
  }
  return out;
}
