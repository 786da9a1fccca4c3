package urpcasesync.reference;

import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Partitioned by urpCaseId: drops an event whose eventId the case already applied (dedupe), else applies it (the
 * latest state by order key), stores the case and forwards its record (JSON) on every change.
 */
final class CaseStateProcessor implements Processor<String, CaseEvent, String, String> {
  static final String STORE = "cases";
  static final AtomicLong APPLIED = new AtomicLong();
  static final AtomicLong DUPLICATES = new AtomicLong();

  private ProcessorContext<String, String> context;
  private KeyValueStore<String, CaseState> cases;

  @Override
  public void init(ProcessorContext<String, String> context) {
    this.context = context;
    this.cases = context.getStateStore(STORE);
  }

  @Override
  public void process(Record<String, CaseEvent> record) {
    CaseEvent event = record.value();
    CaseState state = cases.get(record.key());
    if (state == null) {
      state = new CaseState(record.key());
    } else if (state.applied(event.eventId())) {
      DUPLICATES.incrementAndGet();
      return;
    }
    state.apply(event, context.currentSystemTimeMs());
    cases.put(record.key(), state);
    context.forward(record.withValue(Json.write(state.toRecord())));
    APPLIED.incrementAndGet();
  }
}
