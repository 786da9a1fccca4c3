/**
 * The pinned coordinates of the embedded broker. The broker is the official Apache Kafka distribution from
 * Maven Central (the `kafka_2.13` server artifact and its transitive dependencies), resolved with Maven into the
 * user's Maven repository, so a second start is offline.
 */
export const KAFKA_VERSION = '4.4.0';
export const SCALA_BINARY_VERSION = '2.13';
export const SLF4J_VERSION = '2.0.17';
export const LOG4J_VERSION = '2.24.3';

/** The pom Maven resolves. Changing a version changes its hash and therefore the classpath cache key. */
export function brokerPom(): string {
  const dep = (groupId: string, artifactId: string, version: string) =>
    `    <dependency><groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId>` +
    `<version>${version}</version></dependency>`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<project xmlns="http://maven.apache.org/POM/4.0.0">',
    '  <modelVersion>4.0.0</modelVersion>',
    '  <groupId>urp-case-sync</groupId>',
    '  <artifactId>embedded-kafka-broker</artifactId>',
    `  <version>${KAFKA_VERSION}</version>`,
    '  <packaging>pom</packaging>',
    '  <dependencies>',
    dep('org.apache.kafka', `kafka_${SCALA_BINARY_VERSION}`, KAFKA_VERSION),
    dep('org.slf4j', 'slf4j-api', SLF4J_VERSION),
    dep('org.apache.logging.log4j', 'log4j-slf4j2-impl', LOG4J_VERSION),
    dep('org.apache.logging.log4j', 'log4j-core', LOG4J_VERSION),
    '  </dependencies>',
    '</project>',
    '',
  ].join('\n');
}
