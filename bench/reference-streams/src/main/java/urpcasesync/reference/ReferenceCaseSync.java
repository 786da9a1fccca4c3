package urpcasesync.reference;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.state.Stores;

/**
 * The Kafka Streams reference of the case-sync benchmark: the core of the project's case-sync topology in the
 * Kafka Streams DSL (plus one Processor API processor), exactly_once_v2, commit.interval.ms=100, a RocksDB store.
 *
 * <pre>
 *   input --validate--> dlq (invalid, and status changes without urpCaseId: correlation is not part of the reference)
 *            '--> by-urp (repartition by urpCaseId) --apply [cases: dedupe + latest by order key]--> output
 * </pre>
 *
 * <p>Arguments: --bootstrap host:port --application-id ID --input T --output T --dlq T --state-dir DIR
 * [--threads N]. Prints "state RUNNING" (every state change) and, on exit, a "stats {...}" line on stdout; stops
 * cleanly on SIGTERM.
 */
public final class ReferenceCaseSync {
  static final Map<String, AtomicLong> REJECTED = new ConcurrentHashMap<>();

  private ReferenceCaseSync() {}

  public static void main(String[] argv) throws InterruptedException {
    // Before any logger exists: Kafka's INFO logging (config dumps) would only add noise and CPU to the bench.
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel",
        System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "error"));
    Map<String, String> args = parseArgs(argv);
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, required(args, "application-id"));
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, required(args, "bootstrap"));
    props.put(StreamsConfig.STATE_DIR_CONFIG, required(args, "state-dir"));
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.parseInt(args.getOrDefault("threads", "1")));
    props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);

    Topology topology =
        topology(required(args, "input"), required(args, "output"), required(args, "dlq"));
    KafkaStreams streams = new KafkaStreams(topology, props);
    CountDownLatch stopped = new CountDownLatch(1);
    streams.setStateListener(
        (now, before) -> {
          System.out.println("state " + now);
          if (now == KafkaStreams.State.NOT_RUNNING || now == KafkaStreams.State.ERROR) stopped.countDown();
        });
    streams.setUncaughtExceptionHandler(
        e -> {
          System.err.println("reference-streams: stream thread failed: " + e);
          return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
    Thread hook =
        new Thread(
            () -> {
              streams.close(Duration.ofSeconds(30));
              printStats();
            },
            "reference-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    streams.start();
    stopped.await();
    // Stopped by itself (an error): the shutdown hook closes what is left and prints the stats.
    System.exit(streams.state() == KafkaStreams.State.ERROR ? 1 : 0);
  }

  static Topology topology(String input, String output, String dlq) {
    Serde<CaseEvent> eventSerde = Json.serde(CaseEvent.class);
    StreamsBuilder builder = new StreamsBuilder();
    builder.addStateStore(
        Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(CaseStateProcessor.STORE),
                Serdes.String(),
                Json.serde(CaseState.class))
            .withCachingEnabled());

    Map<String, KStream<String, EventValidator.Outcome>> routes =
        builder.stream(input, Consumed.with(Serdes.String(), Serdes.ByteArray()).withName("ucm-events"))
            .mapValues(EventValidator::parse, Named.as("validate"))
            .split(Named.as("route-"))
            .branch((key, outcome) -> outcome.event() != null && outcome.event().urpCaseId() != null,
                Branched.as("by-urp"))
            .defaultBranch(Branched.as("dead-letter"));

    routes.get("route-dead-letter")
        .mapValues(ReferenceCaseSync::deadLetter, Named.as("dead-letter-reason"))
        .to(dlq, Produced.with(Serdes.String(), Serdes.String()).withName("dlq"));

    routes.get("route-by-urp")
        .map((key, outcome) -> KeyValue.pair(outcome.event().urpCaseId(), outcome.event()),
            Named.as("key-by-urp"))
        .repartition(Repartitioned.with(Serdes.String(), eventSerde).withName("by-urp"))
        .process(CaseStateProcessor::new, Named.as("apply"), CaseStateProcessor.STORE)
        .to(output, Produced.with(Serdes.String(), Serdes.String()).withName("output"));
    return builder.build();
  }

  /** The small JSON reason of a dead letter. */
  static String deadLetter(EventValidator.Outcome outcome) {
    EventValidator.Rejection r = outcome.rejection();
    if (r == null) {
      r = new EventValidator.Rejection(
          "UNRESOLVED_CORRELATION",
          "payload.urpCaseId",
          "a status change without urpCaseId (correlation by ucmCaseId is not part of the reference)",
          outcome.event().eventId());
    }
    REJECTED.computeIfAbsent(r.category(), c -> new AtomicLong()).incrementAndGet();
    return Json.write(r);
  }

  static void printStats() {
    Map<String, Object> stats = new HashMap<>();
    stats.put("applied", CaseStateProcessor.APPLIED.get());
    stats.put("duplicates", CaseStateProcessor.DUPLICATES.get());
    Map<String, Long> rejected = new HashMap<>();
    REJECTED.forEach((k, v) -> rejected.put(k, v.get()));
    stats.put("rejected", rejected);
    System.out.println("stats " + Json.write(stats));
    System.out.flush();
  }

  private static Map<String, String> parseArgs(String[] argv) {
    Map<String, String> args = new HashMap<>();
    for (int i = 0; i + 1 < argv.length; i += 2) {
      if (!argv[i].startsWith("--")) throw new IllegalArgumentException("expected --name value, got " + argv[i]);
      args.put(argv[i].substring(2), argv[i + 1]);
    }
    return args;
  }

  private static String required(Map<String, String> args, String name) {
    String v = args.get(name);
    if (v == null || v.isEmpty()) {
      System.err.println("reference-streams: missing --" + name);
      System.exit(2);
    }
    return v;
  }
}
